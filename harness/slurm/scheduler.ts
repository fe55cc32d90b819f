/**
 * Talking to Slurm: submitting a job script with `sbatch`, and reading what became of jobs from
 * `scontrol show job` (jobs the controller still holds) and `sacct` (the accounting database, where a
 * cluster has one). Nothing here knows seqarena's suites; submission.ts does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../errors.ts';

/** A job's state as Slurm reports it: `COMPLETED`, `FAILED`, `CANCELLED`, `PENDING`, `RUNNING`, `TIMEOUT`, … */
export interface JobState {
  /** Job id as Slurm writes it: `1234` for a job, `1234_2` for task 2 of array job 1234. */
  id: string;
  state: string;
  /** Exit code of the job's script, and the signal that ended it (Slurm's `ExitCode=code:signal`). */
  exitCode: number | null;
  signal: number | null;
  /** Why a job waits or ended (`Dependency`, `DependencyNeverSatisfied`, `NonZeroExitCode`, …); null for `None`. */
  reason: string | null;
}

/** States in which a job is still queued or running (it may yet finish). */
const ACTIVE_STATES = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'RESV_DEL_HOLD']);

export const isActive = (job: JobState): boolean => ACTIVE_STATES.has(job.state);

/** The full path of an executable `name` on PATH, or null. */
export function findOnPath(name: string, pathVariable = process.env.PATH ?? ''): string | null {
  for (const dir of pathVariable.split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** `sbatch`'s path, or the error a user meets on a machine that is not a Slurm login node. */
export function requireSbatch(): string {
  const sbatch = findOnPath('sbatch');
  if (sbatch === null) {
    throw new UsageError(
      'sbatch is not on PATH: run seqarena slurm on a Slurm login node (on many clusters after `module load slurm`), ' +
        'or add --dry-run to print the job scripts without submitting them',
    );
  }
  return sbatch;
}

/**
 * Submit a job script; returns the job id. `what` names the job in the error when sbatch refuses it
 * (its message shown, exit 2).
 */
export async function sbatch(args: string[], what: string): Promise<string> {
  const result = await execa(requireSbatch(), ['--parsable', ...args], { reject: false, stdin: 'ignore' });
  // --parsable prints "id" or "id;cluster".
  const id = /^(\d+)(;\S+)?$/.exec(result.stdout.trim())?.[1];
  if (result.exitCode !== 0 || id === undefined) {
    const message = [result.stderr, result.stdout].map((s) => s.trim()).filter(Boolean).join('\n') || `exit code ${result.exitCode}`;
    throw new UsageError(`sbatch refused ${what}:\n${message}`);
  }
  return id;
}

/** "1-3,5,7-9:2%4" (an array's task ids, step and throttle) → [1, 2, 3, 5, 7, 9]. */
export function expandTaskIds(spec: string): number[] {
  const ids: number[] = [];
  for (const part of spec.replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) continue;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    for (let k = first; k <= last; k += step) ids.push(k);
  }
  return ids;
}

const parseExit = (text: string | undefined): [number | null, number | null] => {
  const m = /^(\d+):(\d+)$/.exec(text ?? '');
  return m ? [Number(m[1]), Number(m[2])] : [null, null];
};

/** Job states from `scontrol show job --oneliner` output: one line per job or array task (a pending array may be one line for many tasks). */
export function parseScontrol(text: string): JobState[] {
  const jobs: JobState[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('JobId=')) continue;
    // Fields are Key=Value separated by spaces; values of the fields read here hold no spaces.
    const fields = new Map([...line.matchAll(/(?:^|\s)([A-Za-z/:]+)=(\S*)/g)].map((m) => [m[1], m[2]]));
    const state = fields.get('JobState') ?? 'UNKNOWN';
    const reasonField = fields.get('Reason');
    const reason = reasonField && reasonField !== 'None' ? reasonField : null;
    const [exitCode, signal] = parseExit(fields.get('ExitCode'));
    const arrayJob = fields.get('ArrayJobId');
    const tasks = fields.get('ArrayTaskId');
    const ids = arrayJob && tasks ? expandTaskIds(tasks).map((k) => `${arrayJob}_${k}`) : [fields.get('JobId') ?? ''];
    for (const id of ids) jobs.push({ id, state, exitCode, signal, reason });
  }
  return jobs;
}

/** Job states from `sacct --noheader --parsable2 --allocations --format=JobID,State,ExitCode,Reason`. */
export function parseSacct(text: string): JobState[] {
  const jobs: JobState[] = [];
  for (const line of text.split('\n')) {
    const [jobId, stateText, exit, reasonText] = line.split('|');
    if (!jobId || !stateText) continue;
    // "CANCELLED by 0" → CANCELLED; a pending array is one line: "1234_[1-3%2]".
    const state = stateText.split(' ')[0];
    const [exitCode, signal] = parseExit(exit);
    const reason = reasonText && reasonText !== 'None' ? reasonText : null;
    const array = /^(\d+)_\[(.+)\]$/.exec(jobId);
    const ids = array ? expandTaskIds(array[2]).map((k) => `${array[1]}_${k}`) : [jobId];
    for (const id of ids) jobs.push({ id, state, exitCode, signal, reason });
  }
  return jobs;
}

/**
 * What Slurm knows of `jobIds` (plain or array job ids): the controller's view first (queued, running and
 * recently ended jobs), then the accounting database for the rest. Jobs neither knows (a cluster
 * without accounting, after the controller forgot them) are absent from the map.
 */
export async function jobStates(jobIds: string[]): Promise<Map<string, JobState>> {
  const states = new Map<string, JobState>();
  const scontrol = findOnPath('scontrol');
  const asked = [...new Set(jobIds)];
  if (scontrol !== null) {
    for (const id of asked) {
      const result = await execa(scontrol, ['show', 'job', '--oneliner', id], { reject: false, stdin: 'ignore' });
      if (result.exitCode === 0) for (const job of parseScontrol(result.stdout)) states.set(job.id, job);
    }
  }
  const known = (id: string) => [...states.keys()].some((k) => k === id || k.startsWith(`${id}_`));
  const unknown = asked.filter((id) => !known(id));
  const sacct = findOnPath('sacct');
  if (unknown.length > 0 && sacct !== null) {
    const result = await execa(sacct, ['--noheader', '--parsable2', '--allocations', '--format=JobID,State,ExitCode,Reason', `--jobs=${unknown.join(',')}`], { reject: false, stdin: 'ignore' });
    if (result.exitCode === 0) for (const job of parseSacct(result.stdout)) if (!states.has(job.id)) states.set(job.id, job);
  }
  return states;
}

/** "FAILED (exit code 2, NonZeroExitCode)" */
export function describeJob(job: JobState): string {
  const details = [
    job.exitCode !== null && (job.exitCode !== 0 || job.signal) ? `exit code ${job.exitCode}${job.signal ? `, signal ${job.signal}` : ''}` : null,
    job.reason,
  ].filter(Boolean);
  return `${job.state}${details.length ? ` (${details.join(', ')})` : ''}`;
}
