/**
 * The WGSL selective scan (architectures/kernels/webgpu/selective-scan.wgsl.ts) equals the sequential
 * reference, forward and all six gradients, on Dawn's adapter (a software one where there is no GPU):
 * shapes with odd sizes, chunk sizes that leave a partial last chunk, and more channels than one
 * workgroup reduces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectiveScan, selectiveScanReference } from '../architectures/kernels/selective-scan.ts';
import { selectiveScanWgsl } from '../architectures/kernels/webgpu/selective-scan.wgsl.ts';
import { assertModelOnWebgpuEqualsCpu, magnitude, maxAbsDiff, useBackend, valuesOf, webgpuSkipReason } from './helpers.ts';

const skip = (await webgpuSkipReason()) ?? false;
const NAMES = ['y', 'du', 'ddelta', 'dA', 'dB', 'dC', 'dD'];

interface Case {
  b: number;
  l: number;
  di: number;
  n: number;
  chunk?: number;
}

const GRID: Case[] = [
  { b: 1, l: 1, di: 1, n: 1 },
  { b: 2, l: 5, di: 3, n: 4, chunk: 2 },
  { b: 1, l: 17, di: 8, n: 16, chunk: 4 },
  { b: 3, l: 9, di: 5, n: 2 },
  { b: 2, l: 13, di: 70, n: 3, chunk: 3 },
];

/** Seeded inputs in the model's ranges (Δ > 0, A < 0) and a weight w for the loss Σ y ⊙ w, as host arrays. */
async function makeInputs({ b, l, di, n }: Case, seed: number): Promise<{ shapes: number[][]; values: Float32Array[] }> {
  await useBackend('cpu');
  const shapes = [[b, l, di], [b, l, di], [di, n], [b, l, n], [b, l, n], [di], [b, l, di]];
  const values = tf.tidy(() =>
    [
      tf.randomNormal(shapes[0], 0, 1, 'float32', seed),
      tf.softplus(tf.randomNormal(shapes[1], -1, 1, 'float32', seed + 1)),
      tf.exp(tf.randomNormal(shapes[2], 0, 0.7, 'float32', seed + 2)).neg(),
      tf.randomNormal(shapes[3], 0, 1, 'float32', seed + 3),
      tf.randomNormal(shapes[4], 0, 1, 'float32', seed + 4),
      tf.randomNormal(shapes[5], 0, 1, 'float32', seed + 5),
      tf.randomNormal(shapes[6], 0, 1, 'float32', seed + 6),
    ].map((t) => t.dataSync() as Float32Array),
  );
  return { shapes, values };
}

type Scan = (u: tf.Tensor3D, delta: tf.Tensor3D, A: tf.Tensor2D, B: tf.Tensor3D, C: tf.Tensor3D, D: tf.Tensor1D) => tf.Tensor3D;

/** y and the six gradients of Σ y ⊙ w on the active backend. */
async function valueAndGrads(scan: Scan, shapes: number[][], values: Float32Array[]): Promise<Float32Array[]> {
  const tensors = values.map((v, i) => tf.tensor(v, shapes[i]));
  const w = tensors.pop()!;
  const inputs = tensors as [tf.Tensor3D, tf.Tensor3D, tf.Tensor2D, tf.Tensor3D, tf.Tensor3D, tf.Tensor1D];
  const y = scan(...inputs);
  const grads = tf.grads((...xs: tf.Tensor[]) => scan(...(xs as typeof inputs)).mul(w).sum())(inputs);
  const out = await Promise.all([y, ...grads].map(valuesOf));
  tf.dispose([y, ...grads, ...inputs, w]);
  return out;
}

test('the WGSL scan equals the sequential reference, forward and all six gradients', { skip }, async () => {
  for (const [index, shape] of GRID.entries()) {
    const { shapes, values } = await makeInputs(shape, 11 * index + 3);
    const reference = await valueAndGrads(selectiveScanReference, shapes, values);
    await useBackend('webgpu');
    const before = tf.memory().numTensors;
    const wgsl = await valueAndGrads((...xs) => selectiveScanWgsl(...xs, shape.chunk), shapes, values);
    assert.equal(tf.memory().numTensors, before, 'the WGSL scan leaked tensors');
    const where = `(b, l, di, n) = (${shape.b}, ${shape.l}, ${shape.di}, ${shape.n}), chunk ${shape.chunk ?? 'default'}`;
    reference.forEach((want, i) => {
      const err = maxAbsDiff(wgsl[i], want);
      assert.ok(err <= 2e-4 * magnitude(want), `${NAMES[i]} differs by ${err} (scale ${magnitude(want)}) at ${where}`);
    });
  }
});

test('on webgpu the model scan picks the WGSL kernel, and SEQARENA_WEBGPU_KERNELS=reference switches it off', { skip }, async () => {
  const { shapes, values } = await makeInputs({ b: 1, l: 3, di: 2, n: 2 }, 5);
  await useBackend('webgpu');
  const inputs = values.slice(0, 6).map((v, i) => tf.tensor(v, shapes[i])) as unknown as Parameters<Scan>;
  const kernelsRun = async (): Promise<string[]> => {
    const profile = await tf.profile(() => selectiveScan(...inputs));
    tf.dispose(profile.result as tf.Tensor);
    return profile.kernelNames;
  };
  assert.ok((await kernelsRun()).includes('SeqarenaWgslSelectiveScan'));
  process.env.SEQARENA_WEBGPU_KERNELS = 'reference';
  try {
    assert.ok(!(await kernelsRun()).includes('SeqarenaWgslSelectiveScan'));
  } finally {
    delete process.env.SEQARENA_WEBGPU_KERNELS;
  }
  tf.dispose(inputs);
});

test('a Mamba model gives the same loss and gradients on webgpu (WGSL scan) as on cpu', { skip }, async () => {
  await assertModelOnWebgpuEqualsCpu('mamba', [...Array(32)].map((_, i) => (i * 7) % 16));
});
