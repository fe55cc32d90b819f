/** The figures one run writes: throughput as Σ tokens / Σ time, and the held-out loss rows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executeRun } from '../harness/run.ts';

const rows = await executeRun({
  arch: 'lstm',
  preset: 'nano',
  task: 'mqar',
  taskParams: { seq_len: 16, num_kv_pairs: 2, vocab_size: 16 },
  training: { steps: 8, batchSize: 2, evalEvery: 4, evalExamples: 4, warmupSteps: 1, inference: false },
  backend: 'cpu',
});
const find = (metric: string) => rows.filter((r) => r.metric === metric);

test('tokens_per_s is Σ tokens / Σ time over the timed steps, not the mean of per-step rates', () => {
  const [tps] = find('tokens_per_s');
  const [latency] = find('step_latency_ms');
  const samples = tps.samples as number[];
  assert.ok(samples.length >= 2);
  // Every step has the same token count here, so Σ tokens / Σ time is the harmonic mean of the rates.
  const harmonic = samples.length / samples.reduce((s, r) => s + 1 / r, 0);
  const arithmetic = samples.reduce((s, r) => s + r, 0) / samples.length;
  assert.ok(Math.abs((tps.value as number) - harmonic) <= 1e-4 * harmonic, `${tps.value} vs harmonic ${harmonic}`);
  assert.ok(Math.abs(harmonic - arithmetic) > 0 || samples.every((s) => s === samples[0]));
  // And it agrees with the step latencies: tokens per step / mean latency.
  const tokensPerStep = samples[0] * ((latency.samples as number[])[0] / 1000);
  assert.ok(Math.abs((tps.value as number) - tokensPerStep / ((latency.value as number) / 1000)) <= 1e-3 * (tps.value as number));
});

test('eval_loss: one validation row per evaluation (a curve) and one test-split summary row, finite', () => {
  const curve = find('eval_loss').filter((r) => r.step !== null);
  const summary = find('eval_loss').filter((r) => r.step === null);
  assert.deepEqual(curve.map((r) => r.step), [4, 8]);
  assert.ok(curve.every((r) => r.slice === 'split=valid' && Number.isFinite(r.value)));
  assert.equal(summary.length, 1);
  assert.ok(Number.isFinite(summary[0].value) && (summary[0].value as number) > 0);
  assert.equal(summary[0].unit, 'nats/token');
});

test('peak_device_bytes: no row where the backend reports no device memory (cpu)', () => {
  assert.deepEqual(find('peak_device_bytes'), []);
});
