/**
 * `seqarena slurm` on a real Slurm: a one-node cluster on localhost (scripts/slurm-local.sh; .ci/run
 * installs Debian's slurm-wlm and munge) runs the smoke suite as 2 shards and a merge job. Shard 2 is made
 * to fail first: the merge must not run and status must name the shard and why; resubmit then reruns that
 * shard alone, and the merged results must hold the runs and rows of an unsharded smoke run, each row
 * naming the Slurm job that produced it. The cluster is torn down at the end, daemons and all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { readRows } from '../harness/results/io.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import { findOnPath } from '../harness/slurm/scheduler.ts';
import { readRecord, statusText, suiteStatus, type SuiteStatus } from '../harness/slurm/submission.ts';

const ROOT = path.join(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'bin', 'seqarena.js');
const LOCAL_SLURM = path.join(ROOT, 'scripts', 'slurm-local.sh');
/** Each wait is bounded; the whole test takes well under a minute on a 2-core machine. */
const WAIT_MS = 150_000;

function skipReason(): string | null {
  const sbin = `${process.env.PATH}${path.delimiter}/usr/sbin`;
  const missing = ['slurmctld', 'slurmd', 'munged', 'sbatch'].filter((tool) => findOnPath(tool, sbin) === null);
  if (missing.length > 0) return `Slurm is not installed (no ${missing.join(', ')}): apt-get install -y slurm-wlm munge (.ci/run does)`;
  if (process.getuid?.() !== 0) return 'starting a local Slurm cluster needs root (slurmd starts jobs as their user)';
  return null;
}

const cli = (args: string[]) => execa(process.execPath, [CLI, ...args], { reject: false });
const rowKey = (r: ResultRow): string => [r.run_id, r.phase, r.metric, r.slice ?? '', r.step ?? ''].join(' · ');

async function waitFor(dir: string, what: string, done: (s: SuiteStatus) => boolean): Promise<SuiteStatus> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const status = await suiteStatus(dir);
    if (done(status)) return status;
    if (Date.now() > deadline) assert.fail(`timed out after ${WAIT_MS / 1000} s waiting for ${what}:\n${statusText(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const skip = skipReason();

test('slurm: the smoke suite as a job array of 2 shards and a merge job on a local Slurm; a failed shard stops the merge, resubmit finishes it', { skip: skip ?? false }, async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-slurm-cluster-'));
  const cluster = path.join(root, 'cluster');
  t.after(async () => {
    await execa('bash', [LOCAL_SLURM, 'down', cluster], { reject: false });
    fs.rmSync(root, { recursive: true, force: true });
  });
  await execa('bash', [LOCAL_SLURM, 'up', cluster]);
  process.env.SLURM_CONF = path.join(cluster, 'slurm.conf');
  const scontrol = (...args: string[]) => execa(findOnPath('scontrol')!, args);

  const refused = await cli(['slurm', 'submit', '--suite', 'smoke', '--out', path.join(root, 'refused'), '--sbatch-arg=--partition=nope']);
  assert.equal(refused.exitCode, 2);
  assert.match(refused.stderr, /sbatch refused the shard array .*\nsbatch: error: .*partition/);

  // The partition holds the jobs back while shard 2 is made to fail: its results directory is taken.
  const dir = path.join(root, 'smoke');
  await scontrol('update', 'PartitionName=debug', 'State=DOWN');
  const submitted = await cli(['slurm', 'submit', '--suite', 'smoke', '--shards', '2', '--out', dir]);
  assert.equal(submitted.exitCode, 0, submitted.stderr);
  assert.match(submitted.stdout, /shards: job \d+ \(array 1-2;[^]*merge: {2}job \d+ /);
  const obstacle = path.join(dir, 'shard-2', 'results.jsonl');
  fs.mkdirSync(path.dirname(obstacle));
  fs.writeFileSync(obstacle, '');
  await scontrol('update', 'PartitionName=debug', 'State=UP');
  // The unsharded run to compare with, on the same machine meanwhile.
  const reference = path.join(root, 'reference');
  const unsharded = execa(process.execPath, [CLI, 'bench', '--suite', 'smoke', '--out', reference, '--no-report'], { reject: false });

  const failed = await waitFor(dir, 'shard 1 to finish, shard 2 to fail and the merge to be given up', (s) => s.shards[0].state === 'finished' && s.shards[1].state === 'failed' && s.merge.state === 'not run');
  assert.equal(fs.existsSync(path.join(dir, 'merged')), false, 'the merge job did not run');
  const shown = await cli(['slurm', 'status', dir]);
  assert.equal(shown.exitCode, 0, shown.stderr);
  assert.match(shown.stdout, /shard 2 failed: job \d+_2 ended FAILED \(exit code 2, NonZeroExitCode\) with 1 of 1 runs unfinished; its log ends: seqarena: .*shard-2 already holds results/);
  assert.match(shown.stdout, /merge not run: a shard it waited for did not succeed \(shard 2\)/);
  assert.deepEqual(failed.shards.map((s) => [s.done, s.pending]), [[2, 0], [0, 1]]);

  fs.rmSync(obstacle);
  const again = await cli(['slurm', 'resubmit', dir]);
  assert.equal(again.exitCode, 0, again.stderr);
  assert.match(again.stdout, /resubmitted shard 2 of 2: job \d+/);
  const done = await waitFor(dir, 'the resubmitted shard and the merge', (s) => s.merge.state === 'done' || s.merge.state === 'failed' || s.shards[1].state === 'failed');
  assert.equal(done.merge.state, 'done', statusText(done));
  assert.ok(fs.existsSync(path.join(dir, 'merged', 'report', 'index.html')), 'the merge job wrote the report');

  const ref = await unsharded;
  assert.equal(ref.exitCode, 0, ref.stderr);
  const merged = readRows(path.join(dir, 'merged'));
  const expected = readRows(reference);
  assert.deepEqual([...new Set(merged.map((r) => r.run_id))].sort(), [...new Set(expected.map((r) => r.run_id))].sort(), 'the same runs as unsharded');
  assert.deepEqual(merged.map(rowKey).sort(), expected.map(rowKey).sort(), 'the same rows as unsharded');

  // Each row names its Slurm job: shard 1 from the first array, shard 2 from the resubmitted one.
  const [first, second] = readRecord(dir).submissions;
  for (const row of merged) {
    const shard = row.shard?.split('/')[0];
    assert.equal(row.slurm_array_task_id, shard, `${rowKey(row)}: array task = shard`);
    assert.equal(row.slurm_array_job_id, shard === '1' ? first.shard_job : second.shard_job, `${rowKey(row)}: array job`);
    assert.match(row.slurm_job_id ?? '', /^\d+$/);
  }
});
