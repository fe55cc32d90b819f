/**
 * A suite on a Slurm cluster: `submit` writes the job scripts into the results directory and submits
 * the shard array and the merge job (`--dependency=afterok`); `status` reads, per shard, which runs are
 * done, failed or pending from the shards' rows and what became of each job from Slurm; `resubmit`
 * submits again only the shards that did not finish (and the merge after them).
 *
 * The results directory holds everything: slurm.json (the suite's settings and every submission's job
 * ids), slurm/shard.sh and slurm/merge.sh, logs/, shard-K/ per shard, and merged/ with its report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { resolveSuite, timestamp, type SuiteSettings } from '../commands/bench.ts';
import { UsageError } from '../errors.ts';
import { readRows, writeFileAtomic, RESULTS_JSONL } from '../results/io.ts';
import type { ResultRow, RunStatus } from '../results/schema.ts';
import { ENTRY, shardOf } from '../runner.ts';
import { describeJob, findOnPath, isActive, jobStates, requireSbatch, sbatch, type JobState } from './scheduler.ts';
import { LAYOUT, mergeLog, mergeScript, shardLog, shardScript, type ScriptSettings } from './scripts.ts';

/** One `sbatch` of the shards (all of them, or those resubmitted) and of the merge job after them. */
export interface Submission {
  submitted_at: string;
  shards: number[];
  /** The shard array's job id (task K is job `<id>_K`); null when only the merge job was submitted again. */
  shard_job: string | null;
  merge_job: string | null;
  /** Arguments passed on to `bench --resume` by a resubmission. */
  bench_args: string[];
}

/** slurm.json: what `status` and `resubmit` need to know of a submitted suite. */
export interface SlurmRecord extends SuiteSettings {
  shards: number;
  submissions: Submission[];
}

export interface SubmitOptions extends SuiteSettings {
  shards: number;
  out: string;
  sbatchArgs: string[];
  shardSbatchArgs: string[];
  dryRun: boolean;
}

/** Each --sbatch-arg value becomes one `#SBATCH` line; refuse what cannot be one. */
function checkSbatchArgs(args: string[], flag: string): void {
  for (const arg of args) {
    if (!arg.trim().startsWith('-') || /[\n\r]/.test(arg)) {
      throw new UsageError(`${flag} takes sbatch options, one line of them (e.g. ${flag} "--time=02:00:00 --mem=8G"), got '${arg}'`);
    }
  }
}

/** The settings both scripts are written from. */
function scriptSettings(record: SlurmRecord, dir: string, findings: boolean, sbatchArgs: string[], shardSbatchArgs: string[]): ScriptSettings {
  return { ...record, dir, findings, sbatchArgs, shardSbatchArgs, workDir: process.cwd(), node: process.execPath, entry: path.resolve(ENTRY) };
}

function writeRecord(dir: string, record: SlurmRecord): void {
  writeFileAtomic(path.join(dir, LAYOUT.record), JSON.stringify(record, null, 2) + '\n');
}

export function readRecord(dir: string): SlurmRecord {
  const file = path.join(dir, LAYOUT.record);
  if (!fs.existsSync(file)) throw new UsageError(`${dir} has no ${LAYOUT.record}: it is not a directory written by \`seqarena slurm submit\` (pass the --out it printed)`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as SlurmRecord;
}

/** Write the job scripts and submit them; returns what to print. */
export async function submit(options: SubmitOptions): Promise<string> {
  const settings: SuiteSettings = { suite: options.suite, backend: options.backend, scale: options.scale, timeLimit: options.timeLimit, steps: options.steps };
  const { suite, resolved } = resolveSuite(settings);
  const shards = options.shards;
  if (!Number.isInteger(shards) || shards < 2 || shards > resolved.length) {
    throw new UsageError(`--shards must be a whole number from 2 to the suite's ${resolved.length} runs, got '${options.shards}'${shards === 1 ? ' (for one job, run seqarena bench in an sbatch script)' : ''}`);
  }
  checkSbatchArgs(options.sbatchArgs, '--sbatch-arg');
  checkSbatchArgs(options.shardSbatchArgs, '--shard-sbatch-arg');
  const dir = path.resolve(options.out);
  // #SBATCH --output takes no quoting, and % starts its patterns.
  if (/[\s%]/.test(dir)) throw new UsageError(`--out ${dir}: Slurm's log paths cannot hold spaces or '%'; choose a directory without them`);
  const record: SlurmRecord = { ...settings, suite: suite.name, shards, submissions: [] };
  const scripts = scriptSettings(record, dir, suite.findings !== undefined, options.sbatchArgs, options.shardSbatchArgs);
  const shardFile = path.join(dir, LAYOUT.shardScript);
  const mergeFile = path.join(dir, LAYOUT.mergeScript);
  if (options.dryRun) {
    return [
      `# seqarena slurm submit --dry-run: suite ${suite.name}, ${resolved.length} runs in ${shards} shards → ${dir} (nothing written or submitted)`,
      `# would write ${shardFile} and submit it: sbatch ${shardFile}`,
      shardScript(scripts),
      `# would write ${mergeFile} and submit it: sbatch --dependency=afterok:<the shard array's job id> --kill-on-invalid-dep=yes ${mergeFile}`,
      mergeScript(scripts),
    ].join('\n');
  }
  requireSbatch(); // before anything is written
  if (fs.existsSync(path.join(dir, LAYOUT.record))) {
    throw new UsageError(`${dir} was submitted already; follow it with \`seqarena slurm status ${dir}\`, rerun what failed with \`seqarena slurm resubmit ${dir}\`, or choose another --out`);
  }
  const taken = [RESULTS_JSONL, LAYOUT.merged, ...Array.from({ length: shards }, (_, i) => LAYOUT.shard(i + 1))].find((f) => fs.existsSync(path.join(dir, f)));
  if (taken !== undefined) throw new UsageError(`${dir} already holds ${taken}; choose a new --out for the submission`);
  fs.mkdirSync(path.join(dir, LAYOUT.logs), { recursive: true });
  fs.mkdirSync(path.dirname(shardFile), { recursive: true });
  fs.writeFileSync(shardFile, shardScript(scripts), { mode: 0o755 });
  fs.writeFileSync(mergeFile, mergeScript(scripts), { mode: 0o755 });

  const all = Array.from({ length: shards }, (_, i) => i + 1);
  const shardJob = await sbatch([shardFile], `the shard array (${shardFile})`);
  const submission: Submission = { submitted_at: new Date().toISOString(), shards: all, shard_job: shardJob, merge_job: null, bench_args: [] };
  record.submissions.push(submission);
  writeRecord(dir, record);
  submission.merge_job = await submitMerge(dir, [shardJob], `the shards were submitted as job ${shardJob}`);
  writeRecord(dir, record);
  return [
    `seqarena slurm: suite ${suite.name}, ${resolved.length} runs in ${shards} shards → ${dir}`,
    `  shards: job ${shardJob} (array 1-${shards}; task K writes ${path.join(dir, 'shard-K')}, log ${path.join(dir, LAYOUT.logs, `shard-K.${shardJob}.out`)})`,
    `  merge:  job ${submission.merge_job} (runs once every shard has succeeded; log ${mergeLog(dir, submission.merge_job)})`,
    `results: ${path.join(dir, LAYOUT.merged)} (report: ${path.join(dir, LAYOUT.merged, 'report', 'index.html')})`,
    `follow:  seqarena slurm status ${dir}`,
    '',
  ].join('\n');
}

/** Submit the merge job to run after `after` (job ids) have succeeded; `submitted` says what was already submitted, for the error. */
async function submitMerge(dir: string, after: string[], submitted: string | null): Promise<string> {
  const dependency = after.length > 0 ? [`--dependency=afterok:${after.join(':')}`, '--kill-on-invalid-dep=yes'] : [];
  try {
    return await sbatch([...dependency, path.join(dir, LAYOUT.mergeScript)], `the merge job (${path.join(dir, LAYOUT.mergeScript)})`);
  } catch (error) {
    if (submitted === null || !(error instanceof UsageError)) throw error;
    throw new UsageError(`${error.message}\n${submitted}; once the cause is fixed, \`seqarena slurm resubmit ${dir}\` submits the merge job after them`);
  }
}

export type ShardState = 'queued' | 'running' | 'finished' | 'failed';

export interface ShardStatus {
  shard: number;
  dir: string;
  runs: number;
  done: number;
  failed: number;
  pending: number;
  /** Runs whose outcome is not ok: id, status and error. */
  failedRuns: { run_id: string; status: RunStatus; error: string | null }[];
  job: string | null;
  job_state: JobState | null;
  state: ShardState;
  /** Why a shard failed: its job's state and the end of its log. */
  why: string | null;
  log: string | null;
}

export type MergeState = 'done' | 'queued' | 'running' | 'failed' | 'not run' | 'not submitted';

export interface MergeStatus {
  job: string | null;
  job_state: JobState | null;
  state: MergeState;
  why: string | null;
  log: string | null;
  dir: string;
  report: string;
}

export interface SuiteStatus {
  dir: string;
  suite: string;
  scale: string;
  backend: string;
  runs: number;
  shards: ShardStatus[];
  merge: MergeStatus;
}

/** The last few lines of a log, for the "why" of a failure; null when it is missing or empty. */
function logTail(file: string | null, lines = 3): string | null {
  if (file === null || !fs.existsSync(file)) return null;
  const tail = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean).slice(-lines);
  return tail.length > 0 ? tail.join(' | ') : null;
}

/** The last `run` row of each run id (a run retried later supersedes its earlier outcome). */
function outcomes(rows: ResultRow[]): Map<string, ResultRow> {
  const last = new Map<string, ResultRow>();
  for (const row of rows) if (row.phase === 'run') last.set(row.run_id, row);
  return last;
}

const readRowsQuietly = (dir: string): ResultRow[] => (fs.existsSync(path.join(dir, RESULTS_JSONL)) ? readRows(dir, { warn: () => {} }) : []);

/** Where a submitted suite stands: per shard from its rows and its job, and the merge. */
export async function suiteStatus(dirArg: string): Promise<SuiteStatus> {
  const dir = path.resolve(dirArg);
  const record = readRecord(dir);
  const { resolved } = resolveSuite(record);
  const newestFirst = [...record.submissions].reverse();
  const latest = (k: number): Submission | undefined => newestFirst.find((s) => s.shard_job !== null && s.shards.includes(k));
  const lastMerge = newestFirst.find((s) => s.merge_job !== null);
  const asked = [...record.submissions.flatMap((s) => (s.shard_job ? [s.shard_job] : [])), ...(lastMerge?.merge_job ? [lastMerge.merge_job] : [])];
  const states = await jobStates(asked);

  const shards: ShardStatus[] = [];
  for (let k = 1; k <= record.shards; k++) {
    const runs = shardOf(resolved, `${k}/${record.shards}`);
    const shardDir = path.join(dir, LAYOUT.shard(k));
    const ran = outcomes(readRowsQuietly(shardDir));
    const mine = runs.map((r) => ran.get(r.runId)).filter((r): r is ResultRow => r !== undefined);
    const failedRuns = mine.filter((r) => r.status !== 'ok').map((r) => ({ run_id: r.run_id, status: r.status, error: r.error }));
    const pending = runs.length - mine.length;
    const submission = latest(k);
    const job = submission?.shard_job ? `${submission.shard_job}_${k}` : null;
    const jobState = job ? (states.get(job) ?? null) : null;
    const log = submission?.shard_job ? shardLog(dir, k, submission.shard_job) : null;
    let state: ShardState;
    let why: string | null = null;
    if (jobState && isActive(jobState)) {
      state = jobState.state === 'PENDING' ? 'queued' : 'running';
    } else if (pending === 0) {
      state = 'finished';
    } else {
      state = 'failed';
      const ended = jobState ? `job ${job} ended ${describeJob(jobState)}` : job ? `Slurm no longer knows job ${job}` : 'never submitted';
      const tail = logTail(log);
      why = `${ended} with ${pending} of ${runs.length} runs unfinished${tail ? `; its log ends: ${tail}` : ''}`;
    }
    shards.push({ shard: k, dir: shardDir, runs: runs.length, done: mine.length - failedRuns.length, failed: failedRuns.length, pending, failedRuns, job, job_state: jobState, state, why, log: log && fs.existsSync(log) ? log : null });
  }

  const mergedDir = path.join(dir, LAYOUT.merged);
  const report = path.join(mergedDir, 'report', 'index.html');
  const merged = outcomes(readRowsQuietly(mergedDir));
  const complete = fs.existsSync(report) && resolved.every((r) => merged.has(r.runId));
  const mergeJob = lastMerge?.merge_job ?? null;
  const mergeState = mergeJob ? (states.get(mergeJob) ?? null) : null;
  const mergeLogFile = mergeJob ? mergeLog(dir, mergeJob) : null;
  let state: MergeState;
  let why: string | null = null;
  if (mergeState && isActive(mergeState)) {
    state = mergeState.state === 'PENDING' ? 'queued' : 'running';
    if (mergeState.reason) why = `waiting: ${mergeState.reason}`;
  } else if (complete && (mergeState === null || mergeState.state === 'COMPLETED')) {
    state = 'done';
  } else if (mergeJob === null) {
    state = 'not submitted';
  } else if (mergeState?.reason === 'DependencyNeverSatisfied' || (mergeState?.state === 'CANCELLED' && shards.some((s) => s.state === 'failed'))) {
    state = 'not run';
    // A shard whose runs all ended can still have failed its job (bench exits 1 when every run failed).
    const failed = shards.filter((s) => s.state === 'failed' || (s.job_state !== null && !isActive(s.job_state) && s.job_state.state !== 'COMPLETED')).map((s) => s.shard);
    why = `a shard it waited for did not succeed${failed.length ? ` (shard ${failed.join(', ')})` : ''}`;
  } else {
    state = 'failed';
    const tail = logTail(mergeLogFile);
    why = `${mergeState ? `job ${mergeJob} ended ${describeJob(mergeState)}` : `Slurm no longer knows job ${mergeJob}`}, and ${mergedDir} is not complete${tail ? `; its log ends: ${tail}` : ''}`;
  }
  return {
    dir,
    suite: record.suite,
    scale: record.scale,
    backend: record.backend,
    runs: resolved.length,
    shards,
    merge: { job: mergeJob, job_state: mergeState, state, why, log: mergeLogFile && fs.existsSync(mergeLogFile) ? mergeLogFile : null, dir: mergedDir, report },
  };
}

/** An aligned plain-text table. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
}

export function statusText(s: SuiteStatus): string {
  const jobCell = (job: string | null, state: JobState | null): string => (job === null ? '-' : `${job} ${state ? describeJob(state) : '(unknown to Slurm)'}`);
  const lines = [
    `seqarena slurm status: suite ${s.suite} (${s.scale}, ${s.backend}), ${s.runs} runs in ${s.shards.length} shards, ${s.dir}`,
    ...table(
      ['shard', 'runs', 'done', 'failed', 'pending', 'job', 'state'],
      [
        ...s.shards.map((sh) => [`${sh.shard}/${s.shards.length}`, String(sh.runs), String(sh.done), String(sh.failed), String(sh.pending), jobCell(sh.job, sh.job_state), sh.state]),
        ['merge', '', '', '', '', jobCell(s.merge.job, s.merge.job_state), s.merge.state],
      ],
    ),
  ];
  for (const sh of s.shards) {
    if (sh.why) lines.push(`shard ${sh.shard} failed: ${sh.why}${sh.log ? ` (log ${sh.log})` : ''}`);
    for (const r of sh.failedRuns.slice(0, 5)) lines.push(`shard ${sh.shard}: run ${r.run_id} ${r.status}${r.error ? `: ${r.error}` : ''}`);
    if (sh.failedRuns.length > 5) lines.push(`shard ${sh.shard}: … and ${sh.failedRuns.length - 5} more runs not ok`);
  }
  if (s.merge.why) lines.push(`merge ${s.merge.state}: ${s.merge.why}${s.merge.log && s.merge.state === 'failed' ? ` (log ${s.merge.log})` : ''}`);
  if (s.merge.state === 'done') {
    lines.push(`results: ${s.merge.dir} (report: ${s.merge.report})`);
  } else if (s.shards.some((sh) => sh.state === 'failed') || s.merge.state === 'failed' || s.merge.state === 'not run') {
    lines.push(`next: fix what failed, then \`seqarena slurm resubmit ${s.dir}\` reruns only the shards that did not finish, and the merge`);
  }
  if (s.shards.some((sh) => sh.failed > 0)) lines.push(`to rerun the runs that failed too: \`seqarena slurm resubmit ${s.dir} --retry-failed\``);
  return lines.join('\n') + '\n';
}

export interface ResubmitOptions {
  /** Passed on to `bench --resume` in the resubmitted shards. */
  benchArgs: string[];
  /** Also rerun shards that finished with runs not ok (their failed runs rerun with the bench arguments). */
  shardsWithFailedRuns: boolean;
}

/** Submit again the shards that did not finish, then the merge job after them and after the shards still queued. */
export async function resubmit(dirArg: string, options: ResubmitOptions): Promise<string> {
  requireSbatch();
  const status = await suiteStatus(dirArg);
  const { dir } = status;
  const record = readRecord(dir);
  const rerun = status.shards.filter((s) => s.state === 'failed' || (options.shardsWithFailedRuns && s.state === 'finished' && s.failed > 0)).map((s) => s.shard);
  const waiting = status.shards.filter((s) => s.state === 'queued' || s.state === 'running');
  const mergeActive = status.merge.state === 'queued' || status.merge.state === 'running';
  if (rerun.length === 0 && (status.merge.state === 'done' || mergeActive)) {
    return `nothing to resubmit: ${status.merge.state === 'done' ? `every shard finished and ${status.merge.dir} is merged` : `merge job ${status.merge.job} is ${status.merge.state}`}; see \`seqarena slurm status ${dir}\`\n`;
  }
  const lines: string[] = [];
  const submission: Submission = { submitted_at: new Date().toISOString(), shards: rerun, shard_job: null, merge_job: null, bench_args: options.benchArgs };
  if (rerun.length > 0) {
    submission.shard_job = await sbatch([`--array=${rerun.join(',')}`, path.join(dir, LAYOUT.shardScript), ...options.benchArgs], `the shards ${rerun.join(', ')} (${path.join(dir, LAYOUT.shardScript)})`);
    record.submissions.push(submission);
    writeRecord(dir, record);
    lines.push(`resubmitted shard${rerun.length > 1 ? 's' : ''} ${rerun.join(', ')} of ${status.shards.length}: job ${submission.shard_job} (logs ${path.join(dir, LAYOUT.logs, `shard-K.${submission.shard_job}.out`)})`);
    // A merge still waiting would join the shards before the rerun ones finish.
    if (mergeActive && status.merge.job) {
      const scancel = findOnPath('scancel');
      if (scancel !== null) await execa(scancel, [status.merge.job], { reject: false, stdin: 'ignore' });
      lines.push(`cancelled merge job ${status.merge.job}, which would not wait for them`);
    }
  } else {
    record.submissions.push(submission);
  }
  const after = [...(submission.shard_job ? [submission.shard_job] : []), ...waiting.map((s) => s.job).filter((j): j is string => j !== null)];
  submission.merge_job = await submitMerge(dir, after, submission.shard_job ? `shards ${rerun.join(', ')} were resubmitted as job ${submission.shard_job}` : null);
  writeRecord(dir, record);
  lines.push(`merge: job ${submission.merge_job}${after.length ? ` (after job${after.length > 1 ? 's' : ''} ${after.join(', ')})` : ''}; log ${mergeLog(dir, submission.merge_job)}`);
  lines.push(`follow: seqarena slurm status ${dir}`);
  return lines.join('\n') + '\n';
}

/** The default results directory of a submission. */
export const defaultOut = (suite: string): string => path.join('results', `${suite}-${timestamp()}-slurm`);
