/**
 * Exports: github-action-benchmark's customBiggerIsBetter / customSmallerIsBetter files hold arrays of
 * { name: string, unit: string, value: number, range?: string, extra?: string } (the action's README),
 * split by direction, with unique names; the Markdown export lists every figure.
 */
import { testColumns } from './fixtures/columns.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { z } from 'zod';
import { formatValue, githubBenchmarkEntries, markdownTable, resultsMarkdown, GITHUB_BENCHMARK_FILES } from '../harness/exports.ts';
import { appendRows } from '../harness/results/io.ts';
import { METRICS } from '../harness/results/metrics.ts';
import { metricRow, type RunColumns } from '../harness/results/rows.ts';
import type { ResultRow } from '../harness/results/schema.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The documented shape of one entry, independent of the exporter's own type. */
const Entry = z.strictObject({
  name: z.string().min(1),
  unit: z.string(),
  value: z.number().refine(Number.isFinite, 'finite'),
  range: z.string().optional(),
  extra: z.string().optional(),
});
const BenchmarkFile = z.array(Entry);

const columns = (runId: string, arch: string, extra: Partial<RunColumns> = {}): RunColumns => testColumns(runId, arch, { host: null, ...extra });

function rows(): ResultRow[] {
  const run = (c: RunColumns, scale: number): ResultRow[] => [
    metricRow(c, 'matmul_gflops', { samples: [40, 42] }),
    metricRow(c, 'params', { value: 10_000 }),
    metricRow(c, 'tokens_per_s', { samples: [1000 * scale, 1100 * scale, 1200 * scale] }),
    metricRow(c, 'step_latency_ms', { samples: [8, 9, 10] }),
    metricRow(c, 'accuracy', { value: 0.5 * scale, slice: 'num_kv_pairs=8' }),
    metricRow(c, 'peak_rss_bytes', { value: 2e8 }),
    metricRow(c, 'loss', { value: 1.5, step: 10 }),
  ];
  return [
    ...run(columns('m0', 'mamba'), 1),
    ...run(columns('m1', 'mamba', { seed: 1 }), 2),
    // The same model at another config: its names must not collide with the first.
    ...run(columns('m2', 'mamba', { config_hash: 'cfg-mamba-wide' }), 1),
    ...run(columns('l0', 'lstm'), 1).map((r) => ({ ...r, status: 'oom' as const, error: 'out of memory' })),
  ];
}

test('github-benchmark entries match the documented shape and split by direction', () => {
  const { bigger, smaller } = githubBenchmarkEntries(rows());
  BenchmarkFile.parse(bigger);
  BenchmarkFile.parse(smaller);
  const metricOf = (name: string): string => name.split('/').at(-1)!.split(/[[ ]/)[0];
  for (const e of bigger) assert.equal(METRICS[metricOf(e.name) as keyof typeof METRICS].direction, 'bigger', e.name);
  for (const e of smaller) assert.equal(METRICS[metricOf(e.name) as keyof typeof METRICS].direction, 'smaller', e.name);
  const names = [...bigger, ...smaller].map((e) => e.name);
  assert.equal(new Set(names).size, names.length, 'names are unique');
  // mamba at two configs × (matmul, tokens/s, accuracy | latency, rss); params (none), curves and the failed lstm left out.
  assert.equal(bigger.length, 6);
  assert.equal(smaller.length, 4);
  assert.ok(!names.some((n) => n.includes('lstm') || n.includes('params') || n.includes('/loss')));

  const tps = bigger.find((e) => e.name === 'mqar/mamba-nano/L=64/train/tokens_per_s (wasm) #cfg-mamba');
  assert.ok(tps, `names: ${names.join(', ')}`);
  // Two seeds pooled sample by sample: mean of 1000, 1100, 1200, 2000, 2200, 2400.
  assert.equal(tps.value, 1650);
  assert.equal(tps.unit, 'tokens/s');
  assert.match(tps.range!, /^± \d/);
  assert.match(tps.extra!, /n=6 over 2 runs/);
  const acc = bigger.find((e) => e.name.startsWith('mqar/mamba-nano/L=64/eval/accuracy[num_kv_pairs=8] (wasm) #cfg-mamba'));
  assert.ok(acc);
  assert.equal(acc.value, 0.75);
});

test('CLI: export github-benchmark writes both files, each valid', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-export-'));
  const dir = path.join(tmp, 'results');
  appendRows(dir, rows());
  const out = path.join(tmp, 'bench');
  const result = await execa('node', [path.join(ROOT, 'bin/seqarena.js'), 'export', 'github-benchmark', dir, '--out', out], { cwd: tmp, reject: false });
  assert.equal(result.exitCode, 0, result.stderr);
  const bigger = BenchmarkFile.parse(JSON.parse(fs.readFileSync(path.join(out, GITHUB_BENCHMARK_FILES.bigger), 'utf8')));
  const smaller = BenchmarkFile.parse(JSON.parse(fs.readFileSync(path.join(out, GITHUB_BENCHMARK_FILES.smaller), 'utf8')));
  assert.deepEqual({ bigger, smaller }, githubBenchmarkEntries(readBack(dir)));
});

/** The rows as the CLI saw them (read back from disk). */
function readBack(dir: string): ResultRow[] {
  return fs
    .readFileSync(path.join(dir, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ResultRow);
}

test('Markdown export: one table per task with every figure, failures named', () => {
  const markdown = resultsMarkdown(rows());
  assert.match(markdown, /^## seqarena results/);
  assert.match(markdown, /### mqar/);
  assert.match(markdown, /\| mamba \(nano\) #cfg-mamba \| 64 \| wasm \| train\/tokens_per_s \|  \| 1,650 tokens\/s \| ± .* \| 6 \| ↑ \| ok \|/);
  assert.match(markdown, /\| mamba \(nano\) #cfg-mamba-wide \| 64 \| wasm \| train\/tokens_per_s \|  \| 1,100 tokens\/s \| ± 100 tokens\/s \| 3 \| ↑ \| ok \|/);
  assert.match(markdown, /\| lstm \(nano\) \| 64 \| wasm \| eval\/accuracy \| num_kv_pairs=8 \|  \|  \|  \| ↑ \| oom: out of memory \|/);
  assert.ok(!markdown.includes('train/loss'), 'curve rows are left out');
});

test('formatting: units, bytes in binary prefixes, pipes escaped in cells', () => {
  assert.equal(formatValue(2e8, 'bytes'), '191 MiB');
  assert.equal(formatValue(512, 'bytes'), '512 B');
  assert.equal(formatValue(0.912345, 'fraction'), '91.2 %');
  assert.equal(formatValue(1234.5678, 'tokens/s'), '1,235 tokens/s');
  assert.equal(markdownTable(['a', 'b'], [['x|y', '1']], ['left', 'right']), '| a | b |\n| --- | ---: |\n| x\\|y | 1 |');
});
