/**
 * `seqarena slurm` without a cluster: the job scripts it writes, the errors a user meets (no sbatch, sbatch
 * refusing), the parsers of Slurm's job listings, and status / resubmit driven by stand-in `sbatch` and
 * `scontrol` scripts over rows written here. tests/slurm-cluster.test.ts runs the same on a real Slurm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { resolveSuite } from '../harness/commands/bench.ts';
import { slurmJob } from '../harness/provenance.ts';
import { appendRows } from '../harness/results/io.ts';
import { metricRow } from '../harness/results/rows.ts';
import type { RunStatus } from '../harness/results/schema.ts';
import { shardOf } from '../harness/runner.ts';
import { expandTaskIds, parseSacct, parseScontrol } from '../harness/slurm/scheduler.ts';
import { resubmit, statusText, suiteStatus } from '../harness/slurm/submission.ts';
import { testColumns } from './fixtures/columns.ts';

const CLI = path.join(import.meta.dirname, '..', 'bin', 'seqarena.js');
const cli = (args: string[], env: Record<string, string> = {}) => execa(process.execPath, [CLI, ...args], { reject: false, env });
const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `seqarena-${name}-`));

/**
 * A directory with stand-ins for sbatch and scontrol: sbatch logs its arguments and prints job ids from
 * 100 up (or, with a file `refuse`, prints its text and exits 1); scontrol prints jobs/<id>; scancel logs.
 */
function fakeSlurm(): string {
  const dir = tmp('fake-slurm');
  fs.mkdirSync(path.join(dir, 'jobs'));
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text, { mode: 0o755 });
  write(
    'sbatch',
    `#!/bin/bash
here=$(dirname "$0")
if [ -f "$here/refuse" ]; then cat "$here/refuse" >&2; exit 1; fi
echo "$*" >> "$here/sbatch.log"
id=$(cat "$here/next" 2>/dev/null || echo 100)
echo $((id + 1)) > "$here/next"
echo "$id"
`,
  );
  write('scancel', `#!/bin/bash\necho "$*" >> "$(dirname "$0")/scancel.log"\n`);
  write('scontrol', `#!/bin/bash\nf="$(dirname "$0")/jobs/$4"\n[ -f "$f" ] || { echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1; }\ncat "$f"\n`);
  return dir;
}

const withPath = (bin: string) => ({ PATH: `${bin}${path.delimiter}${process.env.PATH}` });

test('submit --dry-run prints the shard array and merge scripts: one task per shard, options where they belong, findings for a paper suite; writes nothing', async () => {
  const out = path.join(tmp('slurm-dry'), 'sub');
  const child = await cli(['slurm', 'submit', '--suite', 'selective-copying', '--shards', '3', '--out', out, '--steps', '5', '--sbatch-arg', '--time=01:00:00 --mem=2G', '--shard-sbatch-arg=--gres=gpu:1', '--dry-run']);
  assert.equal(child.exitCode, 0, child.stderr);
  const [, shard, merge] = child.stdout.split(/^# would write .*$/m);
  assert.match(shard, /^#SBATCH --array=1-3$/m);
  assert.match(shard, /^#SBATCH --output=.*\/sub\/logs\/shard-%a\.%A\.out$/m);
  assert.match(shard, /^#SBATCH --time=01:00:00 --mem=2G$/m);
  assert.match(shard, /^#SBATCH --gres=gpu:1$/m);
  assert.match(shard, /bench --suite selective-copying --scale cpu --backend wasm --steps 5 --shard "\$SLURM_ARRAY_TASK_ID\/3" --out "\$shard_dir" --no-report$/m);
  assert.match(shard, /bench --resume "\$shard_dir" --no-report "\$@"$/m, 'a task run again resumes its shard');
  assert.match(merge, /^#SBATCH --time=01:00:00 --mem=2G$/m);
  assert.doesNotMatch(merge, /gres/, 'shard-only options stay off the merge job');
  assert.match(merge, new RegExp(`merge ${out}/shard-1 ${out}/shard-2 ${out}/shard-3 --out ${out}/merged$`, 'm'));
  assert.match(merge, new RegExp(`findings ${out}/merged$`, 'm'));
  assert.match(merge, new RegExp(`report ${out}/merged$`, 'm'));
  assert.match(child.stdout, /sbatch --dependency=afterok:<the shard array's job id> --kill-on-invalid-dep=yes/);
  assert.equal(fs.existsSync(out), false, 'a dry run writes nothing');

  const smoke = await cli(['slurm', 'submit', '--suite', 'smoke', '--out', out, '--dry-run']);
  assert.doesNotMatch(smoke.stdout, / findings /, 'a suite without findings gets no findings step');
});

test('submit: no sbatch on PATH, sbatch refusing, and bad input are exit 2 with the message; a refused submission can be made again', async () => {
  const out = path.join(tmp('slurm-errors'), 'sub');
  const none = await cli(['slurm', 'submit', '--suite', 'smoke', '--out', out], { PATH: tmp('empty-path') });
  assert.equal(none.exitCode, 2);
  assert.match(none.stderr, /sbatch is not on PATH: run seqarena slurm on a Slurm login node.*--dry-run/);
  assert.equal(fs.existsSync(out), false, 'nothing is written before sbatch is found');

  const bin = fakeSlurm();
  fs.writeFileSync(path.join(bin, 'refuse'), 'sbatch: error: invalid partition specified: nope\n');
  const refused = await cli(['slurm', 'submit', '--suite', 'smoke', '--out', out, '--sbatch-arg=--partition=nope'], withPath(bin));
  assert.equal(refused.exitCode, 2);
  assert.match(refused.stderr, /sbatch refused the shard array .*\nsbatch: error: invalid partition specified: nope/);
  assert.equal(fs.existsSync(path.join(out, 'slurm.json')), false, 'nothing was submitted, so nothing is recorded');

  fs.rmSync(path.join(bin, 'refuse'));
  const again = await cli(['slurm', 'submit', '--suite', 'smoke', '--out', out], withPath(bin));
  assert.equal(again.exitCode, 0, again.stderr);
  assert.match(again.stdout, /shards: job 100 \(array 1-2;/);
  assert.match(again.stdout, /merge: {2}job 101 /);
  assert.deepEqual(fs.readFileSync(path.join(bin, 'sbatch.log'), 'utf8').trim().split('\n'), [
    `--parsable ${out}/slurm/shard.sh`,
    `--parsable --dependency=afterok:100 --kill-on-invalid-dep=yes ${out}/slurm/merge.sh`,
  ]);
  const resubmitted = await cli(['slurm', 'submit', '--suite', 'smoke', '--out', out], withPath(bin));
  assert.equal(resubmitted.exitCode, 2);
  assert.match(resubmitted.stderr, /was submitted already; follow it with `seqarena slurm status/);

  const shards = await cli(['slurm', 'submit', '--suite', 'smoke', '--shards', '4', '--out', path.join(out, 'x'), '--dry-run']);
  assert.equal(shards.exitCode, 2);
  assert.match(shards.stderr, /--shards must be a whole number from 2 to the suite's 3 runs, got '4'/);
  const arg = await cli(['slurm', 'submit', '--suite', 'smoke', '--sbatch-arg', 'time=1', '--dry-run']);
  assert.equal(arg.exitCode, 2);
  assert.match(arg.stderr, /--sbatch-arg takes sbatch options.*got 'time=1'/);
});

test("Slurm's job listings parse into per-task states: scontrol's one-liners (an array task, a pending array, a cancelled dependant) and sacct's", () => {
  const scontrol = [
    'JobId=1 ArrayJobId=1 ArrayTaskId=2 JobName=j.sh UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 RunTime=00:00:02',
    'JobId=3 ArrayJobId=1 ArrayTaskId=1 JobName=j.sh UserId=root(0) JobState=COMPLETED Reason=None Dependency=(null) ExitCode=0:0',
    'JobId=4 ArrayJobId=4 ArrayTaskId=1-3,5%2 JobName=j.sh JobState=PENDING Reason=PartitionDown ExitCode=0:0',
    'JobId=2 JobName=wrap JobState=CANCELLED Reason=DependencyNeverSatisfied Dependency=afterok:1_*(failed) ExitCode=0:0 KillOInInvalidDependent=Yes',
  ].join('\n');
  const jobs = parseScontrol(scontrol);
  assert.deepEqual(
    jobs.map((j) => [j.id, j.state, j.exitCode, j.reason]),
    [
      ['1_2', 'FAILED', 3, 'NonZeroExitCode'],
      ['1_1', 'COMPLETED', 0, null],
      ['4_1', 'PENDING', 0, 'PartitionDown'],
      ['4_2', 'PENDING', 0, 'PartitionDown'],
      ['4_3', 'PENDING', 0, 'PartitionDown'],
      ['4_5', 'PENDING', 0, 'PartitionDown'],
      ['2', 'CANCELLED', 0, 'DependencyNeverSatisfied'],
    ],
  );
  const sacct = parseSacct('1234_1|COMPLETED|0:0|None\n1234_2|TIMEOUT|0:15|TimeLimit\n1235|CANCELLED by 0|0:0|Dependency\n1240_[3-4]|PENDING|0:0|Priority\n');
  assert.deepEqual(
    sacct.map((j) => [j.id, j.state, j.exitCode, j.signal, j.reason]),
    [
      ['1234_1', 'COMPLETED', 0, 0, null],
      ['1234_2', 'TIMEOUT', 0, 15, 'TimeLimit'],
      ['1235', 'CANCELLED', 0, 0, 'Dependency'],
      ['1240_3', 'PENDING', 0, 0, 'Priority'],
      ['1240_4', 'PENDING', 0, 0, 'Priority'],
    ],
  );
  assert.deepEqual(expandTaskIds('1-9:4,12'), [1, 5, 9, 12]);
});

test('the Slurm job is read from the environment sbatch gives a job, and is null outside one', () => {
  assert.deepEqual(slurmJob({ SLURM_JOB_ID: '1236', SLURM_ARRAY_JOB_ID: '1234', SLURM_ARRAY_TASK_ID: '2' }), { slurm_job_id: '1236', slurm_array_job_id: '1234', slurm_array_task_id: '2' });
  assert.deepEqual(slurmJob({}), { slurm_job_id: null, slurm_array_job_id: null, slurm_array_task_id: null });
});

test('status counts each shard’s runs from its rows and names a failed shard and why; resubmit reruns only that shard, with the merge after it', async (t) => {
  const bin = fakeSlurm();
  const out = path.join(tmp('slurm-status'), 'sub');
  const submitted = await cli(['slurm', 'submit', '--suite', 'smoke', '--out', out], withPath(bin));
  assert.equal(submitted.exitCode, 0, submitted.stderr);
  const runs = resolveSuite({ suite: 'smoke', backend: 'wasm', scale: 'cpu' }).resolved;
  // Shard 1 finished, one of its runs not ok; shard 2's job failed before writing anything.
  const [first, second] = shardOf(runs, '1/2');
  const runRows = (runId: string, status: RunStatus, error: string | null) => [metricRow(testColumns(runId, 'lstm', { suite: 'smoke', shard: '1/2' }), 'wall_time_s', { value: 1, status, error })];
  appendRows(path.join(out, 'shard-1'), [...runRows(first.runId, 'ok', null), ...runRows(second.runId, 'timeout', 'exceeded its time limit of 120 s')]);
  fs.writeFileSync(path.join(out, 'logs', 'shard-2.100.out'), 'seqarena bench: suite smoke (3 runs, shard 2/2)\nseqarena: out of disk space\n');
  const jobs = path.join(bin, 'jobs');
  fs.writeFileSync(
    path.join(jobs, '100'),
    'JobId=102 ArrayJobId=100 ArrayTaskId=1 JobState=COMPLETED Reason=None ExitCode=0:0\nJobId=100 ArrayJobId=100 ArrayTaskId=2 JobState=FAILED Reason=NonZeroExitCode ExitCode=2:0\n',
  );
  fs.writeFileSync(path.join(jobs, '101'), 'JobId=101 JobState=CANCELLED Reason=DependencyNeverSatisfied ExitCode=0:0\n');
  const savedPath = process.env.PATH;
  process.env.PATH = withPath(bin).PATH;
  t.after(() => (process.env.PATH = savedPath));

  const status = await suiteStatus(out);
  assert.deepEqual(
    status.shards.map((s) => [s.shard, s.runs, s.done, s.failed, s.pending, s.job, s.state]),
    [
      [1, 2, 1, 1, 0, '100_1', 'finished'],
      [2, 1, 0, 0, 1, '100_2', 'failed'],
    ],
  );
  assert.equal(status.merge.state, 'not run');
  const text = statusText(status);
  assert.match(text, /shard 2 failed: job 100_2 ended FAILED \(exit code 2, NonZeroExitCode\) with 1 of 1 runs unfinished; its log ends: .*seqarena: out of disk space/);
  assert.match(text, new RegExp(`shard 1: run ${second.runId} timeout: exceeded its time limit`));
  assert.match(text, /merge not run: a shard it waited for did not succeed \(shard 2\)/);

  const printed = await resubmit(out, { benchArgs: [], shardsWithFailedRuns: false });
  assert.match(printed, /resubmitted shard 2 of 2: job 102/);
  assert.match(printed, /merge: job 103 \(after job 102\)/);
  const log = fs.readFileSync(path.join(bin, 'sbatch.log'), 'utf8').trim().split('\n').slice(2);
  assert.deepEqual(log, [`--parsable --array=2 ${out}/slurm/shard.sh`, `--parsable --dependency=afterok:102 --kill-on-invalid-dep=yes ${out}/slurm/merge.sh`]);
  fs.writeFileSync(path.join(jobs, '102'), 'JobId=102 ArrayJobId=102 ArrayTaskId=2 JobState=RUNNING Reason=None ExitCode=0:0\n');
  fs.writeFileSync(path.join(jobs, '103'), 'JobId=103 JobState=PENDING Reason=Dependency ExitCode=0:0\n');
  const after = await suiteStatus(out);
  assert.deepEqual(after.shards.map((s) => [s.job, s.state]), [['100_1', 'finished'], ['102_2', 'running']]);
  assert.equal(after.merge.state, 'queued');
  assert.match(await resubmit(out, { benchArgs: [], shardsWithFailedRuns: false }), /nothing to resubmit: merge job 103 is queued/);

  // --retry-failed: shard 1 finished with a run not ok, so it reruns too; the queued merge would not wait for it.
  const retried = await resubmit(out, { benchArgs: ['--retry-failed'], shardsWithFailedRuns: true });
  assert.match(retried, /resubmitted shard 1 of 2: job 104[^]*cancelled merge job 103[^]*merge: job 105 \(after jobs 104, 102_2\)/);
  assert.deepEqual(fs.readFileSync(path.join(bin, 'sbatch.log'), 'utf8').trim().split('\n').slice(4), [
    `--parsable --array=1 ${out}/slurm/shard.sh --retry-failed`,
    `--parsable --dependency=afterok:104:102_2 --kill-on-invalid-dep=yes ${out}/slurm/merge.sh`,
  ]);
  assert.equal(fs.readFileSync(path.join(bin, 'scancel.log'), 'utf8').trim(), '103');
});
