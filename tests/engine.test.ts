import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { calibrate, initEngine } from '../harness/engine.ts';
import { assertClose } from './helpers.ts';

function embeddingGrad(): Float32Array {
  return tf.tidy(() => {
    const table = tf.tensor2d([...Array(24)].map((_, i) => i / 10), [6, 4]);
    const ids = tf.tensor2d([[1, 2, 1], [5, 0, 1]], [2, 3], 'int32');
    const weights = tf.tensor3d([...Array(24)].map((_, i) => Math.sin(i)), [2, 3, 4]);
    const g = tf.grad((t: tf.Tensor) => tf.gather(t, ids).mul(weights).sum())(table);
    return g.dataSync() as Float32Array;
  });
}

test('wasm gets an UnsortedSegmentSum kernel: embedding gradients equal the cpu backend', async () => {
  await initEngine('cpu');
  const reference = embeddingGrad();
  await initEngine('wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assertClose(embeddingGrad(), reference, 1e-6, 1e-6, 'embedding grad');
  // row 3 and 4 are never gathered: their gradient is exactly zero
  assert.deepEqual([...reference.slice(12, 20)], [0, 0, 0, 0, 0, 0, 0, 0]);
});

test('calibration reports a positive matmul GFLOP/s with its samples', async () => {
  await initEngine('wasm');
  const c = await calibrate({ size: 64, repeats: 3 });
  assert.equal(c.samples.length, 3);
  assert.ok(c.gflops > 0 && Number.isFinite(c.gflops));
});

test('an unknown backend is refused with the valid names', async () => {
  await assert.rejects(initEngine('tpu' as never), /unknown backend; valid ones are wasm, cpu, tensorflow, webgpu, auto/);
});
