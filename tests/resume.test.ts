/**
 * Resuming a results directory: --retry-failed reruns failed runs and replaces their rows; --resume
 * refuses flags that contradict the stored suite and leaves env.json alone when nothing runs; a
 * half-written last line is cut off (and kept) before anything is appended; an interrupted run's
 * partial rows are replaced by its rerun, never pooled; two writers on one directory are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { readRows } from '../harness/results/io.ts';
import { LOCK_FILE, lockResultsDir } from '../harness/results/lock.ts';
import { metricRow } from '../harness/results/rows.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import { failureRows, runSuite } from '../harness/runner.ts';
import { resolveRun, type RunSpecInput } from '../harness/spec.ts';
import { SUITES } from '../harness/suites/index.ts';
import { cli } from './helpers.ts';
import { testColumns } from './fixtures/columns.ts';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `seqarena-${name}-`));

function tiny(seed: number): RunSpecInput {
  return {
    suite: 'faults',
    arch: 'lstm',
    preset: 'nano',
    task: 'mqar',
    taskParams: { seq_len: 16, num_kv_pairs: 2, vocab_size: 16 },
    training: { steps: 4, batchSize: 2, evalEvery: 4, evalExamples: 4, decodeTokens: 2, inference: false },
    seed,
    backend: 'cpu',
    timeLimitS: 120,
  };
}

const jsonl = (rows: ResultRow[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

test('a run skipped for its memory estimate runs on resume once the estimate no longer refuses it; one still refused stays skipped', async () => {
  const dir = tmp('skipped-memory');
  const fits = tiny(1);
  const tooBig: RunSpecInput = { arch: 'mlstm', config: { d_model: 88, n_layers: 2 }, task: 'induction-heads', taskParams: { seq_len: 2048, eval_multipliers: [] }, training: { batchSize: 4, steps: 1 }, backend: 'wasm' };
  // an earlier attempt skipped both (a smaller machine, or an estimate since corrected)
  const earlier = [fits, tooBig].flatMap((spec) => failureRows(resolveRun(spec), null, 'skipped', 'estimated memory 30.0 GiB exceeds 80% of this machine', 0, 0));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'results.jsonl'), jsonl(earlier));
  const summary = await runSuite([fits, tooBig], { outDir: dir, notice: () => {} });
  assert.deepEqual(summary, { ran: 1, skipped: 1, failed: 0, ok: 1, failedEarlier: 0 }, 'the one that fits ran; the other is kept as it was');
  const outcomes = readRows(dir).filter((r) => r.phase === 'run');
  assert.deepEqual(outcomes.map((r) => [r.run_id, r.status]).sort(), [[resolveRun(fits).runId, 'ok'], [resolveRun(tooBig).runId, 'skipped']].sort());
});

test('--retry-failed reruns a failed run and replaces its rows; without it the failure is kept and the retry named', async () => {
  const dir = tmp('retry');
  const spec = tiny(1);
  process.env.SEQARENA_PLANT_FAULT = JSON.stringify({ '1': 'throw' });
  try {
    assert.equal((await runSuite([spec], { outDir: dir })).failed, 1);
  } finally {
    delete process.env.SEQARENA_PLANT_FAULT;
  }
  const failedRows = readRows(dir).length;
  const again = await runSuite([spec], { outDir: dir });
  assert.deepEqual(again, { ran: 0, skipped: 1, failed: 0, ok: 0, failedEarlier: 1 }, 'a plain resume keeps the failure and counts it');
  const notices: string[] = [];
  const retried = await runSuite([spec], { outDir: dir, retryFailed: true, notice: (m) => notices.push(m) });
  assert.deepEqual(retried, { ran: 1, skipped: 0, failed: 0, ok: 1, failedEarlier: 0 });
  const rows = readRows(dir);
  const outcomes = rows.filter((r) => r.phase === 'run');
  assert.deepEqual(outcomes.map((r) => r.status), ['ok'], 'one outcome: the failed attempt is replaced, not pooled');
  assert.ok(rows.every((r) => r.status === 'ok'));
  const side = path.join(dir, 'runs', `${resolveRun(spec).runId}.replaced.jsonl`);
  assert.equal(readRows(side).length, failedRows, 'the replaced rows are kept beside the results');
  assert.match(notices.join('\n'), new RegExp(`its ${failedRows} rows from the earlier attempt \\(status error\\) are replaced`));
  const csvLines = fs.readFileSync(path.join(dir, 'results.csv'), 'utf8').trim().split('\n').length;
  assert.equal(csvLines, rows.length + 1, 'results.csv holds the same rows as results.jsonl');
});

/** A results directory of the smoke suite whose every run is on disk as ok (synthetic rows, nothing run). */
function finishedSmokeDir(): string {
  const dir = tmp('resume');
  fs.writeFileSync(path.join(dir, 'suite.json'), JSON.stringify({ suite: 'smoke', backend: 'cpu', scale: 'cpu', shard: null, runs: 3 }));
  const ids = SUITES.smoke.runs({ scale: 'cpu' }).map((s) => resolveRun({ ...s, backend: 'cpu' }).runId);
  fs.writeFileSync(path.join(dir, 'results.jsonl'), jsonl(ids.map((id) => metricRow(testColumns(id), 'wall_time_s', { value: 1 }))));
  fs.writeFileSync(path.join(dir, 'env.json'), '{"planted": true}\n');
  return dir;
}

test('--resume: a flag that contradicts the stored suite is an error naming both values; nothing to run leaves env.json alone', async () => {
  const dir = finishedSmokeDir();
  const conflicts: [string[], RegExp][] = [
    [['--suite', 'quick'], /continues a suite started with --suite smoke, but this command gives --suite quick; drop --suite/],
    [['--steps', '7'], /started without --steps, but this command gives --steps 7/],
    [['--backend', 'wasm'], /started with --backend cpu, but this command gives --backend wasm/],
    [['--out', path.join(dir, 'elsewhere')], new RegExp(`started with --out ${dir}, but this command gives --out ${dir}/elsewhere`)],
  ];
  for (const [flags, message] of conflicts) {
    const { code, stderr } = await cli('bench', '--resume', dir, ...flags, '--no-report');
    assert.equal(code, 2, flags.join(' '));
    assert.match(stderr, message);
  }
  const same = await cli('bench', '--resume', dir, '--suite', 'smoke', '--time-limit', '60', '--no-report');
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stderr, /0 ran, 3 resumed, 0 not ok/);
  assert.equal(fs.readFileSync(path.join(dir, 'env.json'), 'utf8'), '{"planted": true}\n', 'env.json is not rewritten when nothing ran');
  const missing = await cli('bench', '--resume', path.join(dir, 'nope'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot resume .*nope: it does not exist/);
  const retryAlone = await cli('bench', '--retry-failed', '--out', path.join(dir, 'new'));
  assert.equal(retryAlone.code, 2);
  assert.match(retryAlone.stderr, /--retry-failed .* give it with --resume DIR/);
});

test('a half-written last line is cut off and kept before appending; an interrupted run is rerun and its partial rows replaced', async () => {
  const dir = tmp('torn');
  const spec = tiny(0);
  const id = resolveRun(spec).runId;
  // An earlier attempt that wrote two of its rows and then died in the middle of the third.
  const partial = [metricRow(testColumns(id), 'params', { value: 12345 }), metricRow(testColumns(id), 'steps', { value: 2 })];
  const torn = JSON.stringify(metricRow(testColumns(id), 'loss', { value: 1 })).slice(0, 57);
  fs.writeFileSync(path.join(dir, 'results.jsonl'), jsonl(partial) + torn);
  const notices: string[] = [];
  const summary = await runSuite([spec], { outDir: dir, notice: (m) => notices.push(m) });
  assert.equal(summary.ran, 1, 'a run without its outcome row is not finished');
  const text = notices.join('\n');
  assert.match(text, /results\.jsonl ended in a half-written line \(57 bytes from an interrupted write\); cut it off before appending and kept those bytes in .*results\.jsonl\.cut-/);
  const cut = fs.readdirSync(dir).find((f) => f.startsWith('results.jsonl.cut-'));
  assert.equal(fs.readFileSync(path.join(dir, cut!), 'utf8'), torn, 'the cut bytes are kept');
  const warnings: string[] = [];
  const rows = readRows(dir, { warn: (m) => warnings.push(m) });
  assert.deepEqual(warnings, [], 'every line of the repaired file is a valid row');
  assert.equal(rows.filter((r) => r.phase === 'run').length, 1);
  assert.ok(!rows.some((r) => r.metric === 'params' && r.value === 12345), "the interrupted attempt's rows are not pooled with the rerun");
  assert.equal(rows.filter((r) => r.metric === 'steps').length, 1);
  assert.match(text, /its 2 rows from the earlier attempt \(interrupted before its outcome was written\) are replaced/);
  assert.equal(readRows(path.join(dir, 'runs', `${id}.replaced.jsonl`)).length, 2);
});

test('a second process on a locked results directory exits 2 naming the holder; a stale lock is taken over', async () => {
  const dir = tmp('lock');
  const holderScript = `import { lockResultsDir } from ${JSON.stringify(path.join(import.meta.dirname, '..', 'harness', 'results', 'lock.ts'))}; lockResultsDir(${JSON.stringify(dir)}); console.log('locked'); setTimeout(() => {}, 60000);`;
  const holder = execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', holderScript], { reject: false });
  try {
    await new Promise<void>((resolve) => holder.stdout?.on('data', () => resolve()));
    for (const args of [['bench', '--suite', 'smoke', '--backend', 'cpu', '--out', dir], ['run', '--arch', 'lstm', '--task', 'mqar', '--backend', 'cpu', '--out', dir]]) {
      const { code, stderr } = await cli(...args);
      assert.equal(code, 2, args[0]);
      assert.match(stderr, new RegExp(`${dir} is in use by seqarena process PID ${holder.pid} on `));
      assert.match(stderr, /wait for it to finish or choose another --out/);
    }
    assert.equal(fs.existsSync(path.join(dir, 'results.jsonl')), false, 'the second process wrote nothing');
  } finally {
    holder.kill('SIGKILL');
    await holder;
  }
  // kill -9 left the lock behind; its PID is gone, so the next writer takes it over.
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid, holder.pid);
  const release = lockResultsDir(dir);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  release();
  assert.equal(fs.existsSync(path.join(dir, LOCK_FILE)), false);
});

test('checkpoints: a run killed (kill -9) at 60% of its steps continues from its checkpoint on --retry-failed, with the same final loss', async () => {
  const spec: RunSpecInput = { ...tiny(3), training: { ...tiny(3).training, steps: 10, evalEvery: 5, warmupSteps: 2 }, checkpointEvery: 2 };
  const id = resolveRun(spec).runId;
  const whole = tmp('uninterrupted');
  await runSuite([spec], { outDir: whole });
  const killed = tmp('killed');
  process.env.SEQARENA_PLANT_FAULT = JSON.stringify({ '3': 'kill@6' });
  try {
    const first = await runSuite([spec], { outDir: killed });
    assert.equal(first.failed, 1);
  } finally {
    delete process.env.SEQARENA_PLANT_FAULT;
  }
  assert.equal(readRows(killed).find((r) => r.phase === 'run')?.status, 'crashed');
  const checkpoint = path.join(killed, 'runs', `${id}.checkpoint.json`);
  const saved = JSON.parse(fs.readFileSync(checkpoint, 'utf8'));
  assert.equal(saved.step, 6, 'the last checkpoint before the kill, after step 6 of 10');
  // Mark the checkpoint's record of step 0: a resumed run reports it as saved; a run from scratch would recompute it.
  saved.steps[0].loss = 42;
  fs.writeFileSync(checkpoint, JSON.stringify(saved));
  const retried = await runSuite([spec], { outDir: killed, retryFailed: true, notice: () => {} });
  assert.equal(retried.ok, 1);
  assert.equal(fs.existsSync(checkpoint), false, 'a finished run leaves no checkpoint');
  const losses = (dir: string) => readRows(dir).filter((r) => r.metric === 'loss' || r.metric === 'final_loss').map((r) => [r.metric, r.step, r.value]);
  assert.equal(losses(whole).length, 11);
  const expected = losses(whole).map(([metric, step, value]) => [metric, step, metric === 'loss' && step === 0 ? 42 : value]);
  assert.deepEqual(losses(killed), expected, 'steps 0-5 come from the checkpoint; steps 6-9 and the final loss equal the uninterrupted run');
  const accuracy = (dir: string) => readRows(dir).find((r) => r.metric === 'accuracy' && r.slice === null)?.value;
  assert.equal(accuracy(killed), accuracy(whole));
});
