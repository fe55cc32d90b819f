import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { attentionReference } from '../architectures/kernels/attention.ts';
import { attentionFused } from '../architectures/kernels/attention-fused.ts';
import { assertClose, assertNoLeak, useBackend } from './helpers.ts';

interface Case {
  b: number;
  h: number;
  lq: number;
  lk: number;
  hs: number;
  causal: boolean;
  masked: boolean;
  /** Sliding window (causal): each query sees its last `window` keys. */
  window?: number;
}

/**
 * Small shapes, then ones that cross the kernel's query (32) and key (64) block edges; causal with
 * lq < lk (decoding against a cache); padding masks; sliding windows of one key, of fewer keys than a
 * block (so whole key blocks are skipped), of a window that starts mid-block, and wider than the sequence.
 */
const CASES: Case[] = [
  { b: 1, h: 1, lq: 5, lk: 5, hs: 4, causal: true, masked: false },
  { b: 2, h: 2, lq: 7, lk: 7, hs: 8, causal: false, masked: true },
  { b: 1, h: 2, lq: 3, lk: 9, hs: 4, causal: true, masked: true },
  { b: 2, h: 3, lq: 70, lk: 70, hs: 8, causal: true, masked: true },
  { b: 1, h: 1, lq: 40, lk: 100, hs: 16, causal: false, masked: false },
  { b: 1, h: 1, lq: 33, lk: 130, hs: 6, causal: true, masked: false },
  { b: 1, h: 1, lq: 9, lk: 9, hs: 4, causal: true, masked: false, window: 1 },
  { b: 2, h: 2, lq: 150, lk: 150, hs: 8, causal: true, masked: true, window: 20 },
  { b: 1, h: 2, lq: 33, lk: 130, hs: 6, causal: true, masked: false, window: 70 },
  { b: 1, h: 1, lq: 1, lk: 100, hs: 4, causal: true, masked: true, window: 7 },
  { b: 1, h: 1, lq: 40, lk: 40, hs: 5, causal: true, masked: false, window: 64 },
];

const describe = (c: Case): string =>
  `(b ${c.b}, h ${c.h}, lq ${c.lq}, lk ${c.lk}, hs ${c.hs}, ${c.causal ? 'causal' : 'full'}${c.masked ? ', padded' : ''}${c.window ? `, window ${c.window}` : ''})`;

/** Seeded q, k, v and, for padded cases, a key mask that always keeps key 0 (so no query row is empty). */
function inputs(c: Case, seed: number): { q: tf.Tensor4D; k: tf.Tensor4D; v: tf.Tensor4D; keyMask?: tf.Tensor2D } {
  const q = tf.randomNormal([c.b, c.h, c.lq, c.hs], 0, 1, 'float32', seed) as tf.Tensor4D;
  const k = tf.randomNormal([c.b, c.h, c.lk, c.hs], 0, 1, 'float32', seed + 1) as tf.Tensor4D;
  const v = tf.randomNormal([c.b, c.h, c.lk, c.hs], 0, 1, 'float32', seed + 2) as tf.Tensor4D;
  if (!c.masked) return { q, k, v };
  const mask = [...Array(c.b * c.lk)].map((_, i) => (i % c.lk === 0 || (i * 7919) % 5 !== 0 ? 1 : 0));
  return { q, k, v, keyMask: tf.tensor2d(mask, [c.b, c.lk]) };
}

type Attention = typeof attentionReference;

/** Output, and gradients of Σ w ⊙ output for q, k, v. */
function outputAndGrads(fn: Attention, x: ReturnType<typeof inputs>, c: Pick<Case, 'causal' | 'window'>, seed: number): Float32Array[] {
  return tf.tidy(() => {
    const opts = { causal: c.causal, window: c.window, keyMask: x.keyMask };
    const out = fn(x.q, x.k, x.v, opts);
    const w = tf.randomNormal(out.shape, 0, 1, 'float32', seed + 3);
    const grads = tf.grads((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => fn(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, opts).mul(w).sum())([x.q, x.k, x.v]);
    return [out, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`attentionFused equals attentionReference, output and q, k, v gradients, on ${backend}`, async () => {
    await useBackend(backend);
    CASES.forEach((c, n) => {
      const seed = 50 + 10 * n;
      const x = inputs(c, seed);
      const fused = outputAndGrads(attentionFused, x, c, seed);
      const reference = outputAndGrads(attentionReference, x, c, seed);
      ['out', 'dq', 'dk', 'dv'].forEach((name, i) => {
        const scale = Math.max(1, ...reference[i].map(Math.abs));
        assertClose(fused[i], reference[i], 1e-4 * scale, 1e-4, `${name} ${describe(c)}`);
      });
      tf.dispose(Object.values(x));
    });
  });

  test(`attentionFused leaks no tensor, forward alone or with gradients, on ${backend}`, async () => {
    await useBackend(backend);
    const c = CASES[3];
    const x = inputs(c, 1);
    await assertNoLeak(() => attentionFused(x.q, x.k, x.v, { causal: true, keyMask: x.keyMask }).dispose(), 'forward');
    await assertNoLeak(() => outputAndGrads(attentionFused, x, { causal: true }, 1), 'forward + backward');
    await assertNoLeak(() => outputAndGrads(attentionFused, x, { causal: true, window: 9 }, 1), 'forward + backward with a window');
    tf.dispose(Object.values(x));
  });
}

test('attentionFused holds O(L) memory where the reference holds the (L, L) scores', async () => {
  await useBackend('wasm');
  const l = 256;
  const hs = 8;
  const x = inputs({ b: 1, h: 1, lq: l, lk: l, hs, causal: true, masked: false }, 3);
  const peak = async (fn: Attention): Promise<number> =>
    (await tf.profile(() => tf.grads((q: tf.Tensor) => fn(q as tf.Tensor4D, x.k, x.v, { causal: true }).sum())([x.q])[0])).peakBytes;
  const qkvBytes = 3 * l * hs * 4;
  const scoreBytes = l * l * 4;
  const fusedPeak = await peak(attentionFused);
  const referencePeak = await peak(attentionReference);
  assert.ok(fusedPeak < 6 * qkvBytes, `fused peak ${fusedPeak} B should be a few times q, k, v (${qkvBytes} B)`);
  assert.ok(referencePeak > scoreBytes, `reference peak ${referencePeak} B should exceed one score matrix (${scoreBytes} B)`);
  tf.dispose(Object.values(x));
});

test('a query row with no visible key gives zeros (the reference spreads it over hidden keys)', async () => {
  await useBackend('cpu');
  const q = tf.ones([1, 1, 2, 2]) as tf.Tensor4D;
  const k = tf.ones([1, 1, 2, 2]) as tf.Tensor4D;
  const v = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
  const keyMask = tf.tensor2d([[0, 1]]);
  const out = attentionFused(q, k, v, { causal: true, keyMask });
  // query 0 sees only key 0, which is padding; query 1 sees key 1 alone
  assert.deepEqual([...out.dataSync()], [0, 0, 3, 4]);
  tf.dispose([q, k, v, keyMask, out]);
});

test('a window is a positive integer on causal attention, in the reference and the fused kernel', async () => {
  await useBackend('cpu');
  const x = tf.ones([1, 1, 3, 2]) as tf.Tensor4D;
  for (const fn of [attentionReference, attentionFused]) {
    assert.throws(() => fn(x, x, x, { causal: false, window: 2 }), /window 2 needs causal attention/);
    assert.throws(() => fn(x, x, x, { causal: true, window: 0 }), /window must be a positive integer, got 0/);
    assert.throws(() => fn(x, x, x, { causal: true, window: 1.5 }), /window must be a positive integer, got 1.5/);
  }
  x.dispose();
});
