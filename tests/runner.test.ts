/**
 * The runner: each run in its own process; planted faults (throw, NaN loss, crash, hang, out of
 * memory) are each recorded with their status while the suite goes on; finished runs are never
 * repeated on resume; shards partition a suite exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readRows } from '../harness/results/io.ts';
import { finishedRunIds, runSuite, shardOf } from '../harness/runner.ts';
import { resolveRun, type RunSpecInput } from '../harness/spec.ts';
import { SUITES } from '../harness/suites/index.ts';

function tiny(seed: number, timeLimitS = 60): RunSpecInput {
  return {
    suite: 'faults',
    arch: 'lstm',
    preset: 'nano',
    task: 'mqar',
    taskParams: { seq_len: 16, num_kv_pairs: 2, vocab_size: 16 },
    training: { steps: 4, batchSize: 2, evalEvery: 4, evalExamples: 4, decodeTokens: 2 },
    seed,
    backend: 'cpu',
    timeLimitS,
  };
}

test('planted faults are recorded with their status and the suite goes on; resume repeats nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-faults-'));
  const faults = { '1': 'throw', '2': 'nan', '3': 'crash', '4': 'hang', '5': 'oom' };
  process.env.SEQARENA_PLANT_FAULT = JSON.stringify(faults);
  process.env.NODE_OPTIONS = '--max-old-space-size=256';
  try {
    const specs = [tiny(0), tiny(1), tiny(2), tiny(3), tiny(4, 15), tiny(5), tiny(6)];
    const summary = await runSuite(specs, { outDir: dir });
    assert.deepEqual(summary, { ran: 7, skipped: 0, failed: 5, ok: 2, failedEarlier: 0 });
    const rows = readRows(dir);
    const status = (seed: number) => rows.find((r) => r.phase === 'run' && r.seed === seed);
    assert.equal(status(0)?.status, 'ok');
    assert.equal(status(6)?.status, 'ok', 'the run after all the faults still ran');
    assert.equal(status(1)?.status, 'error');
    assert.match(status(1)?.error ?? '', /planted fault: the run threw at step 2/);
    assert.ok(rows.some((r) => r.seed === 1 && r.metric === 'matmul_gflops' && r.status === 'error'), 'what the failed run measured before the fault is kept');
    assert.equal(status(2)?.status, 'diverged');
    assert.match(status(2)?.error ?? '', /loss became NaN at step 2/);
    assert.equal(status(3)?.status, 'crashed');
    assert.match(status(3)?.error ?? '', /signal SIGSEGV/);
    assert.equal(status(4)?.status, 'timeout');
    assert.match(status(4)?.error ?? '', /time limit of 15 s; raise it with --time-limit and rerun it with seqarena bench --resume DIR --retry-failed/);
    assert.equal(status(5)?.status, 'oom');
    assert.match(status(5)?.error ?? '', /out of memory \(peak RSS/);
    // finished runs carry their measurements; the failed ones their peak RSS
    for (const seed of [0, 6]) {
      const metrics = new Set(rows.filter((r) => r.seed === seed).map((r) => r.metric));
      for (const m of ['tokens_per_s', 'accuracy', 'decode_tokens_per_s', 'matmul_gflops', 'peak_rss_bytes', 'loss']) assert.ok(metrics.has(m), `seed ${seed} lacks ${m}`);
    }
    // resume: nothing is run again, nothing is lost
    const before = fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8');
    const again = await runSuite(specs, { outDir: dir });
    assert.deepEqual(again, { ran: 0, skipped: 7, failed: 0, ok: 0, failedEarlier: 4 });
    assert.equal(fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8'), before);
    assert.equal(finishedRunIds(dir).size, 7);
  } finally {
    delete process.env.SEQARENA_PLANT_FAULT;
    delete process.env.NODE_OPTIONS;
  }
});

test('shards partition a suite: every run in exactly one shard', () => {
  const runs = SUITES.full.runs({ scale: 'cpu' }).map((s) => resolveRun(s));
  const ids = runs.map((r) => r.runId);
  assert.equal(new Set(ids).size, ids.length, 'run ids are unique within the suite');
  const shards = [1, 2, 3].map((i) => shardOf(runs, `${i}/3`).map((r) => r.runId));
  assert.deepEqual(shards.flat().sort(), [...ids].sort());
  assert.ok(shards.every((s) => s.length >= Math.floor(ids.length / 3)));
  assert.throws(() => shardOf(runs, '4/3'), /--shard must be i\/n with 1 ≤ i ≤ n/);
});

test("a run's id is its spec: the time limit is not part of it, the training settings are", () => {
  const id = (spec: RunSpecInput) => resolveRun(spec).runId;
  assert.equal(id(tiny(0, 60)), id(tiny(0, 900)));
  assert.notEqual(id(tiny(0)), id({ ...tiny(0), training: { ...tiny(0).training, steps: 5 } }));
  assert.notEqual(id(tiny(0)), id(tiny(1)));
});
