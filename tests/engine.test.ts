import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { adapterName, calibrate, initEngine, isSoftwareAdapter } from '../harness/engine.ts';
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

test('software WebGPU adapters (SwiftShader, llvmpipe, fallback) are told from hardware ones, and named', () => {
  const info = (fields: Partial<Parameters<typeof isSoftwareAdapter>[0]>) => ({ vendor: '', architecture: '', device: '', description: '', ...fields });
  // What Dawn reported here on Mesa's OpenGL, and what its Vulkan SwiftShader and a fallback flag look like.
  const llvmpipe = info({ device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version 4.5 (Core Profile) Mesa 22.3.6', isFallbackAdapter: false });
  assert.equal(isSoftwareAdapter(llvmpipe), true);
  assert.equal(isSoftwareAdapter(info({ vendor: 'google', architecture: 'swiftshader', device: 'subzero', description: 'SwiftShader driver' })), true);
  assert.equal(isSoftwareAdapter(info({ vendor: 'mesa', device: 'lavapipe' })), true);
  assert.equal(isSoftwareAdapter(info({ vendor: 'acme', device: 'gpu', isFallbackAdapter: true })), true);
  const h200 = info({ vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H200', description: 'NVIDIA: 580.95.05', isFallbackAdapter: false });
  assert.equal(isSoftwareAdapter(h200), false);
  assert.equal(isSoftwareAdapter(info({ vendor: 'amd', architecture: 'rdna-3', description: 'AMD proprietary driver' })), false);
  assert.equal(adapterName(h200), 'nvidia hopper NVIDIA H200 (NVIDIA: 580.95.05)');
  assert.equal(adapterName(llvmpipe), 'llvmpipe-llvm-15-0-6-256-bits- (OpenGL version 4.5 (Core Profile) Mesa 22.3.6) [software]');
  assert.equal(adapterName(info({})), 'unnamed WebGPU adapter');
});
