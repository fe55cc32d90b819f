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
import { appendRows, readRows, RESULTS_JSONL } from './results/io.ts';
import { metricRow } from './results/rows.ts';
import type { ResultRow, RunStatus } from './results/schema.ts';
import { estimateBytes, machineMemoryBytes, resolveRun, type ResolvedRun, type RunSpecInput } from './spec.ts';
import { runColumns } from './run.ts';

export const PROGRESS_PREFIX = '@@seqarena ';
/** The CLI entry each run re-executes (`seqarena _child …`); a bundled build sets SEQARENA_ENTRY to itself. */
const ENTRY = process.env.SEQARENA_ENTRY ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'seqarena.js');

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

/** Ids of runs whose outcome is already on disk (their `run` row). */
export function finishedRunIds(outDir: string): Set<string> {
  if (!fs.existsSync(path.join(outDir, RESULTS_JSONL))) return new Set();
  return new Set(readRows(outDir).filter((r) => r.phase === 'run').map((r) => r.run_id));
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
function failureRows(run: ResolvedRun, shard: string | null, status: RunStatus, error: string, seconds: number, rss: number): ResultRow[] {
  // The same device name a finished run records, so one machine is spelt one way in the results.
  const columns = runColumns(run, run.spec.backend, deviceName(run.spec.backend === 'auto' ? 'wasm' : run.spec.backend), null, shard);
  return [
    metricRow(columns, 'peak_rss_bytes', { value: rss || null, status, error }),
    metricRow(columns, 'wall_time_s', { value: seconds, status, error }),
  ];
}

/** Execute one resolved run in a child process; always returns rows (the run's, or its failure). */
export async function runInChild(run: ResolvedRun, outDir: string, shard: string | null, onEvent?: SuiteOptions['onEvent'], signal?: AbortSignal): Promise<{ rows: ResultRow[]; status: RunStatus; error: string | null; seconds: number }> {
  const workDir = path.join(outDir, 'runs');
  fs.mkdirSync(workDir, { recursive: true });
  const specFile = path.join(workDir, `${run.runId}.spec.json`);
  const rowsFile = path.join(workDir, `${run.runId}.rows.jsonl`);
  fs.writeFileSync(specFile, JSON.stringify(run.spec, null, 2) + '\n');
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
  if (fs.existsSync(rowsFile) && result.exitCode === 0) {
    const rows = readRows(rowsFile);
    fs.rmSync(rowsFile);
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
    error = `exceeded its time limit of ${run.spec.timeLimitS} s (raise it with --time-limit)`;
  } else if (OOM_PATTERNS.test(stderr) || (result.signal === 'SIGKILL' && rss > 0.8 * os.totalmem())) {
    status = 'oom';
    error = `out of memory (peak RSS ${(rss / 2 ** 30).toFixed(2)} GiB${result.signal ? `, signal ${result.signal}` : ''}); use a smaller batch, length or preset`;
  } else if (fs.existsSync(`${rowsFile}.error`)) {
    status = 'error';
    error = (JSON.parse(fs.readFileSync(`${rowsFile}.error`, 'utf8')) as { error: string }).error;
  } else {
    status = 'crashed';
    const last = stderr.trim().split('\n').slice(-3).join(' | ');
    error = `the run process ended with ${result.signal ? `signal ${result.signal}` : `exit code ${result.exitCode}`} (peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB)${last ? `: ${last}` : ''}`;
  }
  return { rows: failureRows(run, shard, status, error, seconds, rss), status, error, seconds };
}

/**
 * Run a suite's specs in order (this shard's share), appending each run's rows as it finishes.
 * Runs already in outDir are skipped, so calling it again on the same directory resumes.
 */
export async function runSuite(specs: RunSpecInput[], options: SuiteOptions): Promise<{ ran: number; skipped: number; failed: number }> {
  let runs = specs.map((s) => resolveRun(s));
  if (options.shard) runs = shardOf(runs, options.shard);
  const done = finishedRunIds(options.outDir);
  const total = runs.length;
  let ran = 0;
  let skipped = 0;
  let failed = 0;
  const memory = machineMemoryBytes();
  for (const [index, run] of runs.entries()) {
    if (options.signal?.aborted) break;
    if (done.has(run.runId)) {
      skipped++;
      options.onEvent?.({ type: 'skip', index, total, run, reason: 'already in results (resumed)' });
      continue;
    }
    const estimate = estimateBytes(run);
    if (estimate > 0.8 * memory) {
      const error = `estimated memory ${(estimate / 2 ** 30).toFixed(1)} GiB exceeds 80% of this machine's ${(memory / 2 ** 30).toFixed(1)} GiB; use a smaller batch, length or preset`;
      const rows = failureRows(run, options.shard ?? null, 'skipped', error, 0, 0);
      appendRows(options.outDir, rows);
      options.onEvent?.({ type: 'end', index, total, run, status: 'skipped', error, seconds: 0, rows });
      failed++;
      continue;
    }
    options.onEvent?.({ type: 'start', index, total, run });
    const outcome = await runInChild(run, options.outDir, options.shard ?? null, options.onEvent, options.signal);
    if (outcome.status === 'skipped' && options.signal?.aborted) break;
    appendRows(options.outDir, outcome.rows);
    ran++;
    if (outcome.status !== 'ok') failed++;
    options.onEvent?.({ type: 'end', index, total, run, ...outcome });
  }
  return { ran, skipped, failed };
}
