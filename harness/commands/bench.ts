/** `seqarena bench`: run a suite (or this machine's shard of it), resumably, then write the report. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { applyThreads, THREADS_HELP } from './threads.ts';
import { BACKEND_CHOICES, checkBackend, type BackendChoice } from '../engine.ts';
import { lookup, UsageError } from '../errors.ts';
import { recordFindings } from '../findings.ts';
import { progressPrinter } from '../progress.ts';
import { environment } from '../provenance.ts';
import { writeEnv, writeFileAtomic, RESULTS_JSONL } from '../results/io.ts';
import { lockResultsDir } from '../results/lock.ts';
import { parseShard, runSuite, shardOf } from '../runner.ts';
import { SUITES } from '../suites/index.ts';
import type { Scale, Suite } from '../suites/types.ts';
import { resolveRun, type ResolvedRun, type RunSpecInput } from '../spec.ts';

export const SUITE_FILE = 'suite.json';

interface BenchOptions {
  suite?: string;
  threads?: string;
  backend?: string;
  out?: string;
  resume?: string;
  retryFailed?: boolean;
  checkpointEvery?: string;
  shard?: string;
  scale?: string;
  timeLimit?: string;
  steps?: string;
  report: boolean;
  strict?: boolean;
  dryRun?: boolean;
}

export function timestamp(): string {
  return new Date().toISOString().replace(/[:]/g, '-').replace(/\..+/, '');
}

/** The suite's specs with command-line overrides applied. */
export function suiteSpecs(suite: Suite, scale: Scale, overrides: { backend: BackendChoice; timeLimitS?: number; steps?: number; checkpointEvery?: number }): RunSpecInput[] {
  return suite.runs({ scale }).map((spec) => ({
    ...spec,
    backend: overrides.backend,
    ...(overrides.checkpointEvery ? { checkpointEvery: overrides.checkpointEvery } : {}),
    ...(overrides.timeLimitS ? { timeLimitS: overrides.timeLimitS } : {}),
    ...(overrides.steps ? { training: { ...spec.training, steps: overrides.steps } } : {}),
  }));
}

const compact = (n: number): string => (n >= 1e4 ? n.toExponential(1).replace('e+', 'e') : String(n));

/**
 * The plan of a suite without running it: one line per run (model, task, training budget, time limit,
 * training FLOPs from the architecture's closed-form count) and the total, so a paper-scale suite can be
 * read and sized before a GPU is booked.
 */
export function planText(runs: ResolvedRun[], header: string): string {
  const lines = runs.map((run) => {
    const t = run.spec.training;
    const size = run.arch.size(run.config as never);
    const params = run.arch.paramCount(run.config as never, run.io);
    const tokens = t.steps * t.batchSize * run.seqLen;
    const flops = run.arch.flopsPerToken(run.config as never, run.io, run.seqLen).training * tokens;
    // Only what differs from the task's defaults (and the length), to keep a line readable.
    const defaults = run.task.params.safeParse({}).data as Record<string, unknown> | undefined;
    const taskParams = Object.entries(run.params)
      .filter(([k, v]) => (typeof v === 'number' || typeof v === 'string') && (k === 'seq_len' || defaults?.[k] !== v))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return {
      cells: [run.runId, run.arch.name, `d=${size.dModel} L=${size.nLayers} ${compact(params)} params`, `${run.task.name} ${taskParams}`, `${compact(t.steps)}×${t.batchSize}`, String(t.learningRate), String(run.spec.seed), `${(run.spec.timeLimitS / 60).toFixed(0)} min`, flops.toExponential(1)],
      flops,
      limit: run.spec.timeLimitS,
    };
  });
  const columns = ['run', 'arch', 'model', 'task', 'steps×batch', 'lr', 'seed', 'limit', 'train FLOP'];
  const widths = columns.map((c, i) => Math.max(c.length, ...lines.map((l) => l.cells[i].length)));
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const totalFlops = lines.reduce((sum, l) => sum + l.flops, 0);
  const totalLimit = lines.reduce((sum, l) => sum + l.limit, 0);
  return [
    header,
    row(columns),
    ...lines.map((l) => row(l.cells)),
    `total: ${lines.length} runs, ${totalFlops.toExponential(2)} training FLOP (model FLOPs, forward + backward), at most ${(totalLimit / 3600).toFixed(1)} h by the runs' time limits`,
    '',
  ].join('\n');
}

function positiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got '${value}'`);
  return n;
}

/** What `bench` runs when a flag is not given. */
const BENCH_DEFAULTS = { suite: 'quick', backend: 'wasm', scale: 'cpu' } as const;

/** What names a suite's runs: the suite, backend and scale, and the overrides (as typed on the command line). */
export interface SuiteSettings {
  suite: string;
  backend: string;
  scale: string;
  timeLimit?: string;
  steps?: string;
  /** How a run is carried out, not which runs: not stored in suite.json, and free to change on --resume. */
  checkpointEvery?: string;
}

/** suite.json: the settings a results directory was started with, and its shard. */
interface SavedSuite extends SuiteSettings {
  shard: string | null;
}

/** The suite's specs and resolved runs; a bad name or number throws a UsageError here, before anything is written. */
export function resolveSuite(settings: SuiteSettings): { suite: Suite; specs: RunSpecInput[]; resolved: ResolvedRun[] } {
  const { backend, scale } = settings;
  const suite = lookup('suite', SUITES as Record<string, Suite>, settings.suite);
  if (!(BACKEND_CHOICES as readonly string[]).includes(backend)) throw new UsageError(`unknown backend '${backend}'. Valid backends: ${BACKEND_CHOICES.join(', ')}`);
  if (scale !== 'cpu' && scale !== 'paper') throw new UsageError(`--scale must be cpu or paper, got '${scale}'`);
  const specs = suiteSpecs(suite, scale, {
    backend: backend as BackendChoice,
    timeLimitS: positiveNumber(settings.timeLimit, '--time-limit'),
    steps: positiveNumber(settings.steps, '--steps'),
    checkpointEvery: positiveNumber(settings.checkpointEvery, '--checkpoint-every'),
  });
  return { suite, specs, resolved: specs.map((spec) => resolveRun(spec)) };
}

/**
 * The suite a `--resume` continues, as it was started (overrides included, so its runs keep their ids).
 * A flag that would change which runs it holds (--suite, --backend, --scale, --shard, --steps, --out)
 * and differs from the stored value is an error naming both; --time-limit may change (it is not part of
 * a run's id), so a timed-out run can be retried with more time.
 */
function resumedSuite(options: BenchOptions, dir: string): SavedSuite {
  const file = path.join(dir, SUITE_FILE);
  if (!fs.existsSync(dir)) throw new UsageError(`cannot resume ${dir}: it does not exist`);
  if (!fs.existsSync(file)) throw new UsageError(`cannot resume ${dir}: it has no ${SUITE_FILE} (was it written by seqarena bench?)`);
  let saved: SavedSuite;
  try {
    saved = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedSuite;
  } catch (e) {
    throw new UsageError(`cannot resume ${dir}: ${file} is not valid JSON (${(e as Error).message})`);
  }
  const conflicts: [string, string | undefined, string | null | undefined][] = [
    ['--suite', options.suite, saved.suite],
    ['--backend', options.backend, saved.backend],
    ['--scale', options.scale, saved.scale],
    ['--shard', options.shard, saved.shard],
    ['--steps', options.steps, saved.steps],
    ['--out', options.out === undefined ? undefined : path.resolve(options.out), path.resolve(dir)],
  ];
  for (const [flag, given, stored] of conflicts) {
    if (given === undefined || given === stored) continue;
    const was = stored === undefined || stored === null ? `started without ${flag}` : `started with ${flag} ${flag === '--out' ? dir : stored}`;
    throw new UsageError(
      `--resume ${dir} continues a suite ${was}, but this command gives ${flag} ${given}; drop ${flag} to resume it as it was, or start a new results directory with --out`,
    );
  }
  return { ...saved, timeLimit: options.timeLimit ?? saved.timeLimit };
}

export async function bench(options: BenchOptions): Promise<number> {
  let { suite: suiteName = BENCH_DEFAULTS.suite, backend = BENCH_DEFAULTS.backend, scale = BENCH_DEFAULTS.scale, shard, timeLimit, steps } = options;
  let outDir: string;
  if (options.resume) {
    outDir = options.resume;
    const saved = resumedSuite(options, outDir);
    ({ suite: suiteName, backend, scale, timeLimit, steps } = saved);
    shard = saved.shard ?? undefined;
  } else {
    if (options.retryFailed) throw new UsageError('--retry-failed reruns the failed runs of an existing results directory; give it with --resume DIR');
    outDir = options.out ?? path.join('results', `${suiteName}-${timestamp()}${shard ? `-shard${shard.replace('/', 'of')}` : ''}`);
    if (fs.existsSync(path.join(outDir, RESULTS_JSONL))) {
      throw new UsageError(`${outDir} already holds results; to finish it use --resume ${outDir}, or choose another --out`);
    }
  }
  const { suite, specs, resolved } = resolveSuite({ suite: suiteName, backend, scale, timeLimit, steps, checkpointEvery: options.checkpointEvery });
  if (shard) parseShard(shard);
  if (options.dryRun) {
    const mine = shard ? shardOf(resolved, shard) : resolved;
    process.stdout.write(planText(mine, `seqarena bench --suite ${suite.name} --scale ${scale} --backend ${backend}${shard ? ` --shard ${shard}` : ''}: ${mine.length} runs (dry run: nothing is run or written)`));
    return 0;
  }
  await checkBackend(backend as BackendChoice); // once, here, rather than in every run's process
  const release = lockResultsDir(outDir);
  try {
    return await runLocked(options, { suite, specs, outDir, backend, scale: scale as Scale, shard, timeLimit, steps });
  } finally {
    release();
  }
}

/** The bench proper, run while this process holds the results directory's lock. */
async function runLocked(
  options: BenchOptions,
  { suite, specs, outDir, backend, scale, shard, timeLimit, steps }: { suite: Suite; specs: RunSpecInput[]; outDir: string; backend: string; scale: Scale; shard?: string; timeLimit?: string; steps?: string },
): Promise<number> {
  const writeEnvironment = () => writeEnv(outDir, environment({ suite: suite.name, backend, scale, shard: shard ?? null }));
  if (!options.resume) {
    writeFileAtomic(path.join(outDir, SUITE_FILE), JSON.stringify({ suite: suite.name, backend, scale, shard: shard ?? null, timeLimit, steps, runs: specs.length }, null, 2) + '\n');
    writeEnvironment();
  }
  const retryCommand = `seqarena bench --resume ${outDir} --retry-failed`;

  const controller = new AbortController();
  const stop = (signal: string) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\n${signal}: stopping; finished runs are saved in ${outDir}. Resume with: seqarena bench --resume ${outDir}\n`);
    controller.abort();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.stderr.write(`seqarena bench: suite ${suite.name} (${specs.length} runs${shard ? `, shard ${shard}` : ''}) on ${backend} → ${outDir}\n`);
  const started = performance.now();
  let summary;
  try {
    summary = await runSuite(specs, {
      outDir,
      shard,
      onEvent: progressPrinter(),
      signal: controller.signal,
      retryFailed: options.retryFailed,
      retryCommand,
      // A resume that runs nothing leaves env.json as the runs on disk were measured.
      beforeFirstWrite: options.resume ? writeEnvironment : undefined,
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  if (controller.signal.aborted) return 130;
  const minutes = ((performance.now() - started) / 60000).toFixed(1);
  process.stderr.write(`done in ${minutes} min: ${summary.ran} ran, ${summary.skipped} resumed, ${summary.failed} not ok\n`);
  if (summary.failedEarlier > 0) {
    process.stderr.write(`${summary.failedEarlier} of the resumed runs had failed (timeout, crash, error or out of memory) and were not run again; rerun them with ${retryCommand}\n`);
  }
  process.stdout.write(`results: ${path.join(outDir, 'results.csv')} (also results.jsonl, env.json)\n`);
  if (suite.findings && shard) {
    process.stdout.write(`findings: not evaluated on shard ${shard} alone (it holds part of the suite's runs); evaluate them on the merged results\n`);
  } else if (suite.findings && fs.existsSync(path.join(outDir, RESULTS_JSONL))) {
    // The papers' expected outcomes, checked on this directory's rows; shown, never an exit code.
    process.stdout.write(recordFindings(suite, outDir, scale as Scale));
  }
  if (options.report) {
    const { writeReport } = await import('../../reports/index.ts');
    const page = await writeReport([outDir], path.join(outDir, 'report'));
    process.stdout.write(`report:  ${page}\n`);
  }
  if (summary.failed > 0 && summary.ok === 0) {
    process.stderr.write(`every run failed (${summary.failed} of ${summary.failed}); see their errors above\n`);
    return 1;
  }
  return options.strict && summary.failed > 0 ? 1 : 0;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('run a suite of runs, each in its own process; results are appended as runs finish')
    .option('--suite <name>', `suite to run (${Object.keys(SUITES).join(', ')}; default ${BENCH_DEFAULTS.suite})`)
    .option('--backend <name>', `backend (${BACKEND_CHOICES.join(', ')}; default ${BENCH_DEFAULTS.backend})`)
    .option('--scale <scale>', `cpu (sizes a 2-core machine finishes) or paper (published settings, for a GPU); default ${BENCH_DEFAULTS.scale}`)
    .option('--out <dir>', 'results directory (default results/<suite>-<timestamp>)')
    .option('--resume <dir>', 'finish an interrupted suite in <dir>: runs already there are not repeated')
    .option('--checkpoint-every <steps>', 'write a checkpoint every <steps> steps (default: every 10 minutes of training); a killed or timed-out run continues from it with --resume DIR --retry-failed')
    .option('--retry-failed', 'with --resume: run again the runs that timed out, crashed, errored or ran out of memory (their old rows are replaced)')
    .option('--shard <i/n>', "run only this machine's share i of n (see `seqarena merge`)")
    .option('--time-limit <seconds>', 'per-run wall-clock limit (default: each spec\'s, 300 s in the standard suites)')
    .option('--steps <n>', 'override the training steps of every run (smoke tests)')
    .option('--no-report', 'skip writing the HTML/Markdown report')
    .option('--strict', 'exit 1 when any run is not ok')
    .option('--dry-run', 'print the runs (model, task, steps, time limit, training FLOPs) and their total without running anything')
    .option('--threads <n>', THREADS_HELP)
    .action(async (options: BenchOptions) => {
      applyThreads(options.threads);
      process.exitCode = await bench(options);
    });
}
