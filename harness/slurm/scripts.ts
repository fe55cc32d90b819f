/**
 * The two job scripts of a suite on Slurm: a job array with one task per shard (each runs this
 * checkout's `seqarena bench --shard K/N`), and the merge job that joins the shards and writes the
 * findings and the report. The scripts name everything by absolute path (node, the CLI, the results
 * directory), so they run the same from any node and can be resubmitted as they are.
 */
import path from 'node:path';
import type { SuiteSettings } from '../commands/bench.ts';

/** The layout of a submission's results directory. */
export const LAYOUT = {
  record: 'slurm.json',
  shardScript: path.join('slurm', 'shard.sh'),
  mergeScript: path.join('slurm', 'merge.sh'),
  logs: 'logs',
  shard: (k: number): string => `shard-${k}`,
  merged: 'merged',
} as const;

/** Slurm's log of shard k's job in array `arrayJob`, and of merge job `job` (the scripts' --output patterns, filled in). */
export const shardLog = (dir: string, k: number, arrayJob: string): string => path.join(dir, LAYOUT.logs, `shard-${k}.${arrayJob}.out`);
export const mergeLog = (dir: string, job: string): string => path.join(dir, LAYOUT.logs, `merge.${job}.out`);

export interface ScriptSettings extends SuiteSettings {
  /** Absolute results directory of the submission. */
  dir: string;
  shards: number;
  /** Whether the suite has findings to judge on the merged set. */
  findings: boolean;
  /** `#SBATCH` lines of both jobs, and of the shard array only (e.g. a GPU request). */
  sbatchArgs: string[];
  shardSbatchArgs: string[];
  /** Where the jobs run: the directory the suite was submitted from, the node binary and the CLI entry. */
  workDir: string;
  node: string;
  entry: string;
}

/** A word for bash, quoted unless it is plainly safe. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

const sbatchLines = (args: string[]): string[] => args.map((a) => `#SBATCH ${a}`);

/** The shard array's script: task K runs shard K/N into DIR/shard-K, or resumes it when it was started before. */
export function shardScript(s: ScriptSettings): string {
  const cli = `${shellQuote(s.node)} ${shellQuote(s.entry)}`;
  const overrides = [
    ...(s.timeLimit !== undefined ? ['--time-limit', s.timeLimit] : []),
    ...(s.steps !== undefined ? ['--steps', s.steps] : []),
  ].map(shellQuote);
  const start = ['bench', '--suite', s.suite, '--scale', s.scale, '--backend', s.backend, ...overrides].map(shellQuote).join(' ');
  return [
    '#!/bin/bash',
    `# Shard K of ${s.shards} of seqarena's ${s.suite} suite, K = this array task's id; written by \`seqarena slurm submit\`.`,
    '# A task run again (seqarena slurm resubmit, a requeue) resumes its shard: runs already in its results',
    '# are not repeated. Arguments to this script are passed on to `seqarena bench --resume`.',
    `#SBATCH --job-name=seqarena-${s.suite}`,
    `#SBATCH --array=1-${s.shards}`,
    `#SBATCH --output=${path.join(s.dir, LAYOUT.logs, 'shard-%a.%A.out')}`,
    ...sbatchLines([...s.sbatchArgs, ...s.shardSbatchArgs]),
    'set -euo pipefail',
    `cd ${shellQuote(s.workDir)}`,
    `shard_dir=${shellQuote(s.dir)}/shard-$SLURM_ARRAY_TASK_ID`,
    'if [ -f "$shard_dir/suite.json" ]; then',
    `  exec ${cli} bench --resume "$shard_dir" --no-report "$@"`,
    'fi',
    `exec ${cli} ${start} --shard "$SLURM_ARRAY_TASK_ID/${s.shards}" --out "$shard_dir" --no-report`,
    '',
  ].join('\n');
}

/** The merge job's script: merge the shards into DIR/merged, judge the suite's findings there, write its report. */
export function mergeScript(s: ScriptSettings): string {
  const cli = `${shellQuote(s.node)} ${shellQuote(s.entry)}`;
  const shardDirs = Array.from({ length: s.shards }, (_, i) => shellQuote(path.join(s.dir, LAYOUT.shard(i + 1))));
  const merged = shellQuote(path.join(s.dir, LAYOUT.merged));
  return [
    '#!/bin/bash',
    `# Joins the ${s.shards} shards of seqarena's ${s.suite} suite into ${path.join(s.dir, LAYOUT.merged)}, then writes`,
    `# ${s.findings ? 'its findings and ' : ''}its report; written by \`seqarena slurm submit\`, submitted to run once every shard has succeeded.`,
    `#SBATCH --job-name=seqarena-${s.suite}-merge`,
    `#SBATCH --output=${path.join(s.dir, LAYOUT.logs, 'merge.%j.out')}`,
    ...sbatchLines(s.sbatchArgs),
    'set -euo pipefail',
    `cd ${shellQuote(s.workDir)}`,
    '# The merged set is made wholly from the shards, so running this job again makes it afresh.',
    `rm -rf ${merged}`,
    `${cli} merge ${shardDirs.join(' ')} --out ${merged}`,
    ...(s.findings ? [`${cli} findings ${merged}`] : []),
    `${cli} report ${merged}`,
    '',
  ].join('\n');
}
