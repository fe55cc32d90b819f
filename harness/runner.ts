/**
 * Runs a list of run specs, each in its own child process (execa) with a time limit. A run that
 * throws, diverges, times out, is killed or runs out of memory is recorded with its status and the
 * suite goes on. Rows are appended as each run finishes; a resumed suite skips runs already on disk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { deviceName } from './engine.ts';
import { UsageError } from './errors.ts';
import { appendRows, readRows, repairTail, replaceRunRows, RESULTS_JSONL, writeFileAtomic } from './results/io.ts';
import { metricRow } from './results/rows.ts';
import type { ResultRow, RunStatus } from './results/schema.ts';
import { estimateBytes, machineMemoryBytes, memoryRefusal, resolveRun, type ResolvedRun, type RunSpecInput } from './spec.ts';
import { runColumns } from './run.ts';

export const PROGRESS_PREFIX = '@@seqarena ';
/** Where a run's checkpoint lives, beside its rows file in RESULTS_DIR/runs/. */
export const checkpointFileOf = (rowsFile: string): string => rowsFile.replace(/\.rows\.jsonl$/, '.checkpoint.json');

/** A run process that could not write its results (full or read-only disk) says so on stderr and exits 4. */
export const DISK_PROBLEM_PREFIX = '@@seqarena-disk ';
export const DISK_PROBLEM_EXIT = 4;
/** The CLI entry each run re-executes (`seqarena _child …`); a bundled build sets SEQARENA_ENTRY to itself. */
export const ENTRY = process.env.SEQARENA_ENTRY ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'seqarena.js');

export type RunnerEvent =
  | { type: 'start'; index: number; total: number; run: ResolvedRun }
  | { type: 'skip'; index: number; total: number; run: ResolvedRun; reason: string }
  | { type: 'step'; run: ResolvedRun; step: number; total: number; loss: number; tokensPerS: number }
  | { type: 'eval'; run: ResolvedRun; step: number; accuracy: number }
  | { type: 'end'; index: number; total: number; run: ResolvedRun; status: RunStatus; error: string | null; seconds: number; rows: ResultRow[] };

export interface SuiteOptions {
  outDir: string;
  /** "i/n": run only this shard's share of the specs. */
  shard?: string | null;
  onEvent?: (event: RunnerEvent) => void;
  /** Stop starting new runs (set by the SIGINT handler). */
  signal?: AbortSignal;
  /** Run again the runs on disk whose status is one of RETRYABLE (timeout, crashed, error, oom). */
  retryFailed?: boolean;
  /** The command that reruns failed runs, for the messages that suggest a retry. */
  retryCommand?: string;
  /** Called once, before the first run starts or the first row is written (bench writes env.json then). */
  beforeFirstWrite?: () => void;
  /** Notices about the results directory (a repaired line, replaced rows); default: stderr. */
  notice?: (message: string) => void;
}

/** Outcomes that a rerun may change: `--retry-failed` runs them again. diverged and skipped are the run's answer. */
export const RETRYABLE: readonly RunStatus[] = ['timeout', 'crashed', 'error', 'oom'];

export interface SuiteSummary {
  /** Runs executed now (retried ones included). */
  ran: number;
  /** Runs already on disk, not run again. */
  skipped: number;
  /** Runs of this call that did not end ok (skipped for memory included). */
  failed: number;
  /** Runs of this call that ended ok. */
  ok: number;
  /** Runs on disk, not run again, whose status is retryable: `--retry-failed` would rerun them. */
  failedEarlier: number;
}

/** Parse "i/n" (1-based) into [i, n], or throw a readable error. */
export function parseShard(shard: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  const i = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || i < 1 || i > n) throw new Error(`--shard must be i/n with 1 ≤ i ≤ n (e.g. 1/4), got '${shard}'`);
  return [i, n];
}

/** The runs of shard i of n: runs sorted by id, every n-th from i. Each run lands in exactly one shard. */
export function shardOf<T extends { runId: string }>(runs: T[], shard: string): T[] {
  const [i, n] = parseShard(shard);
  return [...runs].sort((a, b) => (a.runId < b.runId ? -1 : 1)).filter((_, k) => k % n === i - 1);
}

/**
 * The runs that have rows in outDir: each one's status (from its `run` row), or null for a run whose
 * rows stop before its `run` row (its writer was interrupted): such a run is not finished.
 */
export function runsOnDisk(outDir: string): Map<string, RunStatus | null> {
  const runs = new Map<string, RunStatus | null>();
  if (!fs.existsSync(path.join(outDir, RESULTS_JSONL))) return runs;
  for (const row of readRows(outDir)) {
    if (row.phase === 'run') runs.set(row.run_id, row.status);
    else if (!runs.has(row.run_id)) runs.set(row.run_id, null);
  }
  return runs;
}

/** Ids of runs whose outcome is already on disk (their `run` row). */
export function finishedRunIds(outDir: string): Set<string> {
  return new Set([...runsOnDisk(outDir)].filter(([, status]) => status !== null).map(([id]) => id));
}

/** Peak resident memory of a process so far (Linux VmHWM), in bytes; 0 where unreadable. */
function peakRss(pid: number | undefined): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status);
    return kb ? Number(kb[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const OOM_PATTERNS = /heap out of memory|Out of memory|could not allocate memory|Aborted\(OOM\)|Cannot enlarge memory|Array buffer allocation failed/i;

/** Rows for a run that produced none of its own: one `run` row with its status, plus peak RSS. */
export function failureRows(run: ResolvedRun, shard: string | null, status: RunStatus, error: string, seconds: number, rss: number): ResultRow[] {
  // The same device name a finished run records, so one machine is spelt one way in the results.
  const columns = runColumns(run, run.spec.backend, deviceName(run.spec.backend === 'auto' ? 'wasm' : run.spec.backend), null, shard);
  return [
    metricRow(columns, 'peak_rss_bytes', { value: rss || null, status, error }),
    metricRow(columns, 'wall_time_s', { value: seconds, status, error }),
  ];
}

/** Execute one resolved run in a child process; always returns rows (the run's, or its failure). */
export async function runInChild(run: ResolvedRun, outDir: string, shard: string | null, onEvent?: SuiteOptions['onEvent'], signal?: AbortSignal, retryCommand = RETRY_HINT): Promise<{ rows: ResultRow[]; status: RunStatus; error: string | null; seconds: number }> {
  const workDir = path.join(outDir, 'runs');
  fs.mkdirSync(workDir, { recursive: true });
  const specFile = path.join(workDir, `${run.runId}.spec.json`);
  const rowsFile = path.join(workDir, `${run.runId}.rows.jsonl`);
  writeFileAtomic(specFile, JSON.stringify(run.spec, null, 2) + '\n');
  fs.rmSync(rowsFile, { force: true });
  fs.rmSync(`${rowsFile}.error`, { force: true });
  const started = performance.now();
  const child: ResultPromise = execa(process.execPath, [ENTRY, '_child', specFile, rowsFile, shard ?? ''], {
    timeout: run.spec.timeLimitS * 1000,
    reject: false,
    killSignal: 'SIGKILL',
    cancelSignal: signal,
    stdin: 'ignore',
    all: false,
    buffer: { stdout: false, stderr: true },
    maxBuffer: { stderr: 1_000_000 },
    env: { SEQARENA_CHILD: '1' },
  });
  let rss = 0;
  const poll = setInterval(() => (rss = Math.max(rss, peakRss(child.pid))), 250);
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith(PROGRESS_PREFIX)) continue;
      const message = JSON.parse(line.slice(PROGRESS_PREFIX.length));
      onEvent?.({ ...message, run });
    }
  });
  const result = await child;
  clearInterval(poll);
  const seconds = (performance.now() - started) / 1000;
  const stderr = String(result.stderr ?? '');
  const disk = stderr.split('\n').find((line) => line.startsWith(DISK_PROBLEM_PREFIX));
  if (result.exitCode === DISK_PROBLEM_EXIT && disk) {
    // Nothing more can be written there: stop the suite rather than record every run as crashed.
    fs.rmSync(rowsFile, { force: true });
    throw new UsageError(`run ${run.runId}: ${disk.slice(DISK_PROBLEM_PREFIX.length)}`);
  }
  if (fs.existsSync(rowsFile) && result.exitCode === 0) {
    const rows = readRows(rowsFile);
    fs.rmSync(rowsFile);
    fs.rmSync(checkpointFileOf(rowsFile), { force: true }); // finished: nothing left to resume
    const runRow = rows.find((r) => r.phase === 'run');
    return { rows, status: runRow?.status ?? 'ok', error: runRow?.error ?? null, seconds };
  }
  let status: RunStatus;
  let error: string;
  if (result.isCanceled) {
    status = 'skipped';
    error = 'interrupted (SIGINT/SIGTERM) before the run finished';
  } else if (result.timedOut) {
    status = 'timeout';
    error = `exceeded its time limit of ${run.spec.timeLimitS} s; raise it with --time-limit and rerun it with ${retryCommand}`;
  } else if (OOM_PATTERNS.test(stderr) || (result.signal === 'SIGKILL' && rss > 0.8 * os.totalmem())) {
    status = 'oom';
    error = `out of memory (peak RSS ${(rss / 2 ** 30).toFixed(2)} GiB${result.signal ? `, signal ${result.signal}` : ''}); use a smaller batch, length or preset, or rerun it with ${retryCommand} where there is more memory`;
  } else if (fs.existsSync(`${rowsFile}.error`)) {
    status = 'error';
    error = (JSON.parse(fs.readFileSync(`${rowsFile}.error`, 'utf8')) as { error: string }).error;
  } else {
    status = 'crashed';
    const last = stderr.trim().split('\n').slice(-3).join(' | ');
    error = `the run process ended with ${result.signal ? `signal ${result.signal}` : `exit code ${result.exitCode}`} (peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB)${last ? `: ${last}` : ''}; rerun it with ${retryCommand}`;
  }
  return { rows: failureRows(run, shard, status, error, seconds, rss), status, error, seconds };
}

/** How a failed run is rerun, in messages, when the caller does not say (bench gives the directory). */
const RETRY_HINT = 'seqarena bench --resume DIR --retry-failed';

/**
 * Run a suite's specs in order (this shard's share), appending each run's rows as it finishes.
 * Runs already in outDir are skipped, so calling it again on the same directory resumes; with
 * retryFailed, runs that timed out, crashed, errored or ran out of memory are run again. A run that
 * already has rows (a failed attempt, or one whose rows were cut short) gets its rows replaced by the
 * rerun's, never pooled with them; the old rows move to runs/<run_id>.replaced.jsonl.
 */
export async function runSuite(specs: RunSpecInput[], options: SuiteOptions): Promise<SuiteSummary> {
  let runs = specs.map((s) => resolveRun(s));
  if (options.shard) runs = shardOf(runs, options.shard);
  const notice = options.notice ?? ((m: string) => process.stderr.write(`${m}\n`));
  const onDisk = runsOnDisk(options.outDir);
  const total = runs.length;
  const summary: SuiteSummary = { ran: 0, skipped: 0, failed: 0, ok: 0, failedEarlier: 0 };
  const memory = machineMemoryBytes();
  let started = false;
  // Nothing in the directory is touched until something runs: a resume with nothing to do writes nothing.
  const beginWriting = () => {
    if (started) return;
    started = true;
    options.beforeFirstWrite?.();
    const repaired = repairTail(options.outDir);
    if (repaired) notice(repaired);
  };
  const record = (run: ResolvedRun, rows: ResultRow[]) => {
    beginWriting();
    if (!onDisk.has(run.runId)) return appendRows(options.outDir, rows);
    const side = path.join(options.outDir, 'runs', `${run.runId}.replaced.jsonl`);
    const earlier = onDisk.get(run.runId);
    const moved = replaceRunRows(options.outDir, run.runId, rows, side);
    notice(`run ${run.runId}: its ${moved} rows from the earlier attempt (${earlier === null ? 'interrupted before its outcome was written' : `status ${earlier}`}) are replaced by this attempt's; the old rows are kept in ${side}`);
  };
  for (const [index, run] of runs.entries()) {
    if (options.signal?.aborted) break;
    const status = onDisk.get(run.runId);
    const error = memoryRefusal(run, estimateBytes(run), memory);
    // A run skipped for its memory estimate is skipped again while the estimate still refuses it, and run once it
    // does not (a larger machine, a corrected estimate): its reason no longer holds.
    const refusalLifted = status === 'skipped' && error === null;
    if (status !== undefined && status !== null && !refusalLifted && !(options.retryFailed && RETRYABLE.includes(status))) {
      summary.skipped++;
      if (RETRYABLE.includes(status)) summary.failedEarlier++;
      options.onEvent?.({ type: 'skip', index, total, run, reason: `already in results (resumed${status === 'ok' ? '' : `; status ${status}`})` });
      continue;
    }
    if (error) {
      const rows = failureRows(run, options.shard ?? null, 'skipped', error, 0, 0);
      record(run, rows);
      options.onEvent?.({ type: 'end', index, total, run, status: 'skipped', error, seconds: 0, rows });
      summary.failed++;
      continue;
    }
    beginWriting();
    options.onEvent?.({ type: 'start', index, total, run });
    const outcome = await runInChild(run, options.outDir, options.shard ?? null, options.onEvent, options.signal, options.retryCommand);
    if (outcome.status === 'skipped' && options.signal?.aborted) break;
    record(run, outcome.rows);
    summary.ran++;
    if (outcome.status === 'ok') summary.ok++;
    else summary.failed++;
    options.onEvent?.({ type: 'end', index, total, run, ...outcome });
  }
  return summary;
}
