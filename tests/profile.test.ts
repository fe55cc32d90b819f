import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { formatProfile, profileSteps } from '../harness/profile.ts';

test('profile: one training step by kernel, matmuls among them, shares that add up to the wall time, no leaks', async () => {
  const before = tf.memory().numTensors;
  const profile = await profileSteps(
    { arch: 'transformer', preset: 'nano', task: 'induction-heads', taskParams: { seq_len: 16, vocab_size: 8, eval_multipliers: [] }, training: { batchSize: 2 }, backend: 'wasm' },
    { warmupSteps: 1, steps: 1 },
  );
  assert.equal(tf.memory().numTensors, before, 'profiling leaked tensors');
  assert.equal(profile.stepMs.length, 1);
  assert.equal(profile.tokensPerStep, 2 * 16);
  const matmul = profile.byKernel.find((k) => k.kernel === 'BatchMatMul');
  assert.ok(matmul && matmul.calls >= 3, 'the projections and their gradients run as BatchMatMul');
  assert.deepEqual(profile.byKernel.map((k) => k.totalMs), [...profile.byKernel.map((k) => k.totalMs)].sort((a, b) => b - a), 'largest first');
  assert.ok(profile.kernels.matmul.length > 0, 'says which GEMM ran');

  const text = formatProfile(profile, 3);
  const lines = text.split('\n');
  assert.match(lines[0], /transformer\/nano on induction-heads, batch 2, L 16: wasm backend, \d+ threads; matmul: /);
  assert.match(text, /\(\d+ more kernels\)/);
  const shares = lines.filter((l) => /%/.test(l)).map((l) => Number(/([\d.-]+)%/.exec(l)![1]));
  const sum = shares.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 100) < 0.5, `shares (listed, the rest, outside kernels) add up to 100%, got ${sum}`);
});
