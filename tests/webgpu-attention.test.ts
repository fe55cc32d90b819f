/**
 * The WGSL attention (architectures/kernels/webgpu/attention.wgsl.ts) equals attentionReference,
 * forward and the gradients of q, k and v, on Dawn's adapter (a software one where there is no GPU):
 * causal and not, queries fewer than keys (decoding against a cache), padded keys, odd head sizes,
 * more rows than one workgroup or one tile holds, and sliding windows (of one key, narrower than a tile
 * or a workgroup's rows, against a cache).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { attention, attentionReference, type AttentionOptions } from '../architectures/kernels/attention.ts';
import { attentionWgsl } from '../architectures/kernels/webgpu/attention.wgsl.ts';
import { magnitude, maxAbsDiff, useBackend, valuesOf, webgpuSkipReason } from './helpers.ts';

const skip = (await webgpuSkipReason()) ?? false;
const NAMES = ['out', 'dq', 'dk', 'dv'];

interface Case {
  b: number;
  h: number;
  lq: number;
  lk: number;
  hs: number;
  causal: boolean;
  /** Pad every third key but the first (so every query sees one). */
  padded?: boolean;
  /** Sliding window (causal): each query sees its last `window` keys. */
  window?: number;
}

const GRID: Case[] = [
  { b: 1, h: 1, lq: 1, lk: 1, hs: 1, causal: true },
  { b: 2, h: 3, lq: 7, lk: 7, hs: 5, causal: true },
  { b: 1, h: 2, lq: 70, lk: 70, hs: 8, causal: true },
  { b: 2, h: 1, lq: 3, lk: 9, hs: 4, causal: true, padded: true },
  { b: 2, h: 2, lq: 5, lk: 75, hs: 6, causal: false, padded: true },
  { b: 1, h: 1, lq: 33, lk: 33, hs: 40, causal: true },
  { b: 1, h: 1, lq: 9, lk: 9, hs: 3, causal: true, window: 1 },
  { b: 2, h: 2, lq: 150, lk: 150, hs: 8, causal: true, padded: true, window: 20 },
  { b: 1, h: 2, lq: 33, lk: 130, hs: 6, causal: true, window: 70 },
  { b: 1, h: 1, lq: 140, lk: 140, hs: 4, causal: true, window: 100 },
];

interface Inputs {
  shapes: [number, number, number, number][];
  values: Float32Array[];
  mask: Float32Array | null;
}

async function makeInputs({ b, h, lq, lk, hs, padded }: Case, seed: number): Promise<Inputs> {
  await useBackend('cpu');
  const shapes: Inputs['shapes'] = [[b, h, lq, hs], [b, h, lk, hs], [b, h, lk, hs], [b, h, lq, hs]];
  const values = tf.tidy(() => shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', seed + i).dataSync() as Float32Array));
  const mask = padded ? Float32Array.from({ length: b * lk }, (_, i) => (i % lk === 0 || i % 3 !== 1 ? 1 : 0)) : null;
  return { shapes, values, mask };
}

type Attend = (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions) => tf.Tensor4D;

/** out and the gradients of Σ out ⊙ w with respect to q, k, v on the active backend. */
async function valueAndGrads(attend: Attend, { shapes, values, mask }: Inputs, c: Case): Promise<Float32Array[]> {
  const [q, k, v, w] = values.map((x, i) => tf.tensor4d(x, shapes[i]));
  const keyMask = mask ? tf.tensor2d(mask, [c.b, c.lk]) : undefined;
  const opts = { causal: c.causal, window: c.window, keyMask };
  const out = attend(q, k, v, opts);
  const grads = tf.grads((...xs: tf.Tensor[]) => attend(...(xs as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D]), opts).mul(w).sum())([q, k, v]);
  const result = await Promise.all([out, ...grads].map(valuesOf));
  tf.dispose([out, ...grads, q, k, v, w, ...(keyMask ? [keyMask] : [])]);
  return result;
}

test('the WGSL attention equals the reference, forward and the gradients of q, k and v', { skip }, async () => {
  for (const [index, c] of GRID.entries()) {
    const inputs = await makeInputs(c, 13 * index + 1);
    const reference = await valueAndGrads(attentionReference, inputs, c);
    await useBackend('webgpu');
    const before = tf.memory().numTensors;
    const wgsl = await valueAndGrads(attentionWgsl, inputs, c);
    assert.equal(tf.memory().numTensors, before, 'the WGSL attention leaked tensors');
    const where = JSON.stringify(c);
    reference.forEach((want, i) => {
      const err = maxAbsDiff(wgsl[i], want);
      assert.ok(err <= 1e-4 * magnitude(want), `${NAMES[i]} differs by ${err} (scale ${magnitude(want)}) at ${where}`);
    });
  }
});

test('on webgpu the models attention picks the WGSL kernel, and SEQARENA_WEBGPU_KERNELS=reference switches it off', { skip }, async () => {
  const c: Case = { b: 1, h: 1, lq: 3, lk: 3, hs: 2, causal: true };
  const { shapes, values } = await makeInputs(c, 5);
  await useBackend('webgpu');
  const [q, k, v] = values.slice(0, 3).map((x, i) => tf.tensor4d(x, shapes[i] as [number, number, number, number]));
  const kernelsRun = async (): Promise<string[]> => {
    const profile = await tf.profile(() => attention(q, k, v, { causal: true }));
    tf.dispose(profile.result as tf.Tensor);
    return profile.kernelNames;
  };
  assert.ok((await kernelsRun()).includes('SeqarenaWgslFlashAttention'));
  process.env.SEQARENA_WEBGPU_KERNELS = 'reference';
  try {
    assert.ok(!(await kernelsRun()).includes('SeqarenaWgslFlashAttention'));
  } finally {
    delete process.env.SEQARENA_WEBGPU_KERNELS;
  }
  tf.dispose([q, k, v]);
});
