/** `seqarena micro`: micro-benchmarks of each sequence mixer (reference and fused) across lengths, and decode steps. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { applyThreads, THREADS_HELP } from './threads.ts';
import { BACKEND_CHOICES, type BackendChoice } from '../engine.ts';
import { UsageError } from '../errors.ts';
import { DEFAULT_MICRO_OPTIONS, MIXERS, formatMicroTable, parseIntegers, parseMixers, runMicro } from '../micro.ts';
import { environment } from '../provenance.ts';
import { appendRows, RESULTS_JSONL, writeEnv } from '../results/io.ts';
import { timestamp } from './bench.ts';

interface MicroCliOptions {
  threads?: string;
  backend: string;
  mixers: string;
  lengths: string;
  width: string;
  batch: string;
  out?: string;
  timeBudgetMs: string;
  minSamples: string;
  maxMemoryMb: string;
  maxSampleMs: string;
  decodeContexts: string;
  seed: string;
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got '${value}'`);
  return n;
}

function seedOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--seed must be a non-negative integer, got '${value}'`);
  return n;
}

export async function micro(cli: MicroCliOptions): Promise<number> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(cli.backend)) {
    throw new UsageError(`unknown backend '${cli.backend}'. Valid backends: ${BACKEND_CHOICES.join(', ')}`);
  }
  const outDir = cli.out ?? path.join('results', `micro-${timestamp()}`);
  if (fs.existsSync(path.join(outDir, RESULTS_JSONL))) throw new UsageError(`${outDir} already holds results; choose another --out`);
  const options = {
    backend: cli.backend as BackendChoice,
    mixers: parseMixers(cli.mixers),
    lengths: parseIntegers(cli.lengths, '--lengths'),
    width: parseIntegers(cli.width, '--width')[0],
    batch: parseIntegers(cli.batch, '--batch')[0],
    timeBudgetMs: positive(cli.timeBudgetMs, '--time-budget-ms'),
    minSamples: parseIntegers(cli.minSamples, '--min-samples')[0],
    maxMemoryBytes: positive(cli.maxMemoryMb, '--max-memory-mb') * 1024 ** 2,
    maxSampleMs: positive(cli.maxSampleMs, '--max-sample-ms'),
    decodeContexts: parseIntegers(cli.decodeContexts, '--decode-contexts'),
    seed: seedOf(cli.seed),
  };
  writeEnv(outDir, environment({ suite: 'micro', backend: options.backend }));
  process.stderr.write(`seqarena micro: ${options.mixers.join(', ')} at width ${options.width}, batch ${options.batch}, L ∈ {${options.lengths.join(', ')}} on ${options.backend} → ${outDir}\n`);
  const rows = await runMicro(options, (group) => {
    appendRows(outDir, group);
    for (const r of group) {
      const what = r.status === 'ok' ? `${r.value} ${r.unit}` : `${r.status} (${r.error})`;
      process.stderr.write(`  ${r.arch}${r.seq_len === null ? '' : ` L=${r.seq_len}`} ${r.metric}${r.slice ? ` [${r.slice}]` : ''}: ${what}\n`);
    }
  });
  process.stdout.write(`${formatMicroTable(rows)}\n\nresults: ${path.join(outDir, 'results.csv')} (also results.jsonl, env.json)\n`);
  return 0;
}

const d = DEFAULT_MICRO_OPTIONS;

export function register(program: Command): void {
  program
    .command('micro')
    .description('micro-benchmark each sequence mixer (composed reference vs fused kernel) across sequence lengths, with scaling exponents and decode-step latency')
    .option('--backend <name>', `backend (${BACKEND_CHOICES.join(', ')})`, d.backend)
    .option('--mixers <list>', `comma-separated mixers (${MIXERS.join(', ')})`, d.mixers.join(','))
    .option('--lengths <list>', 'comma-separated sequence lengths', d.lengths.join(','))
    .option('--width <d>', 'model width (hidden size, inner width, d_model)', String(d.width))
    .option('--batch <b>', 'sequences per call', String(d.batch))
    .option('--out <dir>', 'results directory (default results/micro-<timestamp>)')
    .option('--time-budget-ms <ms>', 'tinybench time budget per measurement', String(d.timeBudgetMs))
    .option('--min-samples <n>', 'at least this many timed calls per measurement', String(d.minSamples))
    .option('--max-memory-mb <mb>', 'skip a length whose estimated peak tensor memory is larger', String(d.maxMemoryBytes / 1024 ** 2))
    .option('--max-sample-ms <ms>', 'skip a length whose forward + backward is estimated (from shorter lengths) to take longer', String(d.maxSampleMs))
    .option('--decode-contexts <list>', 'context lengths at which one decode step is timed', d.decodeContexts.join(','))
    .option('--seed <n>', 'seed of the inputs and models', String(d.seed))
    .option('--threads <n>', THREADS_HELP)
    .action(async (options: MicroCliOptions) => {
      applyThreads(options.threads);
      process.exitCode = await micro(options);
    });
}
