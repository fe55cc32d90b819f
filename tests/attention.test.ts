import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { applyRotary, attention, attentionReference, rotaryTables } from '../architectures/kernels/attention.ts';
import { assertClose, assertNoLeak, useBackend } from './helpers.ts';

/** Attention as plain loops over host arrays: the definition, one query and one key at a time. */
function attentionLoops(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  [b, h, lq, lk, hs]: number[],
  causal: boolean,
  keyMask?: number[][],
  window = Infinity,
): Float32Array {
  const out = new Float32Array(b * h * lq * hs);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      for (let i = 0; i < lq; i++) {
        const last = i + lk - lq; // the query's own position among the keys
        const visible = [...Array(lk).keys()].filter((j) => (!causal || (j <= last && j > last - window)) && (!keyMask || keyMask[bi][j] === 1));
        const qOff = ((bi * h + hi) * lq + i) * hs;
        const scores = visible.map((j) => {
          const kOff = ((bi * h + hi) * lk + j) * hs;
          let s = 0;
          for (let c = 0; c < hs; c++) s += q[qOff + c] * k[kOff + c];
          return s / Math.sqrt(hs);
        });
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const z = e.reduce((a, x) => a + x, 0);
        visible.forEach((j, n) => {
          const vOff = ((bi * h + hi) * lk + j) * hs;
          for (let c = 0; c < hs; c++) out[qOff + c] += (e[n] / z) * v[vOff + c];
        });
      }
    }
  }
  return out;
}

function randomArray(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * 1.5);
}

test('softmax attention on a hand-computed 2×2 example, unmasked and causal', async () => {
  await useBackend('cpu');
  // q = k = I, so scores = I / √2; each query weighs its own key by e^(1/√2) and the other by e^0.
  const q = tf.tensor4d([1, 0, 0, 1], [1, 1, 2, 2]);
  const v = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
  const a = Math.exp(1 / Math.SQRT2);
  const self = a / (a + 1);
  const other = 1 / (a + 1);
  const full = attentionReference(q, q, v, { causal: false });
  assertClose(full.dataSync(), [self * 1 + other * 3, self * 2 + other * 4, other * 1 + self * 3, other * 2 + self * 4], 1e-6, 1e-6, 'unmasked');
  // Causal: query 0 sees only key 0, so it returns v0 exactly; query 1 is as before.
  const causal = attentionReference(q, q, v, { causal: true });
  assertClose(causal.dataSync(), [1, 2, other * 1 + self * 3, other * 2 + self * 4], 1e-6, 1e-6, 'causal');
  tf.dispose([q, v, full, causal]);
});

test('causal attention with fewer queries than keys (KV cache): query i sees keys ≤ i + lk − lq', async () => {
  await useBackend('cpu');
  const [b, h, lq, lk, hs] = [2, 2, 3, 5, 4];
  const qa = randomArray(b * h * lq * hs, 1);
  const ka = randomArray(b * h * lk * hs, 2);
  const va = randomArray(b * h * lk * hs, 3);
  const expected = attentionLoops(qa, ka, va, [b, h, lq, lk, hs], true);
  const [q, k, v] = [tf.tensor4d(qa, [b, h, lq, hs]), tf.tensor4d(ka, [b, h, lk, hs]), tf.tensor4d(va, [b, h, lk, hs])];
  const out = attention(q, k, v, { causal: true });
  assertClose(out.dataSync(), expected, 1e-5, 1e-4, 'causal lq < lk');
  // The last query sees every key: it equals unmasked attention for that query.
  const lastQuery = q.slice([0, 0, lq - 1, 0], [b, h, 1, hs]);
  const unmasked = attention(lastQuery, k, v, { causal: false });
  assertClose(tf.tidy(() => out.slice([0, 0, lq - 1, 0], [b, h, 1, hs]).dataSync()), unmasked.dataSync(), 1e-6, 1e-5, 'last query');
  tf.dispose([q, k, v, out, lastQuery, unmasked]);
  assert.throws(() => tf.tidy(() => attention(tf.zeros([1, 1, 3, 2]), tf.zeros([1, 1, 2, 2]), tf.zeros([1, 1, 2, 2]), { causal: true })), /lq 3 and lk 2/);
});

test('a sliding window: query i sees the keys in (i + lk − lq − window, i + lk − lq], padded ones excepted', async () => {
  await useBackend('cpu');
  const [b, h, lq, lk, hs] = [2, 2, 4, 7, 4];
  const keyMask = [
    [1, 1, 1, 1, 1, 1, 1],
    [0, 1, 0, 1, 1, 1, 1], // every query sees its own key, so no row is empty (where the reference spreads)
  ];
  const qa = randomArray(b * h * lq * hs, 11);
  const ka = randomArray(b * h * lk * hs, 12);
  const va = randomArray(b * h * lk * hs, 13);
  const [q, k, v] = [tf.tensor4d(qa, [b, h, lq, hs]), tf.tensor4d(ka, [b, h, lk, hs]), tf.tensor4d(va, [b, h, lk, hs])];
  const mask = tf.tensor2d(keyMask, [b, lk]);
  for (const window of [1, 2, 3, 7]) {
    const out = attentionReference(q, k, v, { causal: true, window, keyMask: mask });
    assertClose(out.dataSync(), attentionLoops(qa, ka, va, [b, h, lq, lk, hs], true, keyMask, window), 1e-5, 1e-4, `window ${window}`);
    out.dispose();
  }
  // Window 1: each query returns its own value exactly; a window as long as the keys is plain causal attention.
  const own = attentionReference(q, k, v, { causal: true, window: 1 });
  assertClose(own.dataSync(), tf.tidy(() => v.slice([0, 0, lk - lq, 0], [b, h, lq, hs]).dataSync()), 1e-6, 0, 'window 1');
  const wide = attentionReference(q, k, v, { causal: true, window: lk });
  const causal = attentionReference(q, k, v, { causal: true });
  assertClose(wide.dataSync(), causal.dataSync(), 0, 0, 'window lk');
  tf.dispose([q, k, v, mask, own, wide, causal]);
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`key padding mask: padded keys get no weight, with and without causality (${backend})`, async () => {
    await useBackend(backend);
    const [b, h, lq, lk, hs] = [2, 2, 4, 4, 8];
    const keyMask = [
      [1, 1, 1, 0],
      [1, 1, 0, 0],
    ];
    const qa = randomArray(b * h * lq * hs, 4);
    const ka = randomArray(b * h * lk * hs, 5);
    const va = randomArray(b * h * lk * hs, 6);
    const [q, k, v] = [tf.tensor4d(qa, [b, h, lq, hs]), tf.tensor4d(ka, [b, h, lk, hs]), tf.tensor4d(va, [b, h, lk, hs])];
    const mask = tf.tensor2d(keyMask, [b, lk], 'int32');
    await assertNoLeak(() => tf.dispose(attention(q, k, v, { causal: false, keyMask: mask })), 'attention');
    for (const causal of [false, true]) {
      const out = attention(q, k, v, { causal, keyMask: mask });
      assertClose(out.dataSync(), attentionLoops(qa, ka, va, [b, h, lq, lk, hs], causal, keyMask), 1e-5, 1e-4, `causal=${causal}`);
      out.dispose();
    }
    // Changing a padded key's value cannot change the output.
    const v2 = v.add(tf.oneHot([3], lk).reshape([1, 1, lk, 1]).mul(100)) as tf.Tensor4D;
    const [o1, o2] = [attention(q, k, v, { causal: false, keyMask: mask }), attention(q, k, v2, { causal: false, keyMask: mask })];
    assertClose(o2.dataSync(), o1.dataSync(), 1e-6, 1e-6, 'padded value changed');
    tf.dispose([q, k, v, v2, mask, o1, o2]);
  });
}

test('rotary positions: rotation keeps norms, and q·k depends only on the relative position', async () => {
  await useBackend('cpu');
  const hs = 8;
  const q = tf.tensor4d(randomArray(hs, 7), [1, 1, 1, hs]);
  const k = tf.tensor4d(randomArray(hs, 8), [1, 1, 1, hs]);
  const dotAt = (m: number, n: number): number =>
    tf.tidy(() => applyRotary(q, rotaryTables(m, 1, hs)).mul(applyRotary(k, rotaryTables(n, 1, hs))).sum().dataSync()[0]);
  assertClose([dotAt(5, 2), dotAt(13, 10)], [dotAt(3, 0), dotAt(3, 0)], 1e-5, 1e-4, 'q·k at offset 3');
  assert.ok(Math.abs(dotAt(3, 0) - dotAt(0, 0)) > 1e-3, 'rotation must change q·k at a different offset');
  const norms = tf.tidy(() => applyRotary(q, rotaryTables(9, 1, hs)).norm().dataSync()[0]);
  assertClose([norms], [tf.tidy(() => q.norm().dataSync()[0])], 1e-6, 1e-5, 'norm');
  // Position 0 is the identity; a table for positions 4…6 equals rows 4…6 of one for 0…6.
  assertClose(tf.tidy(() => applyRotary(q, rotaryTables(0, 1, hs)).dataSync()), q.dataSync(), 0, 0, 'position 0');
  const tail = rotaryTables(4, 3, hs);
  const whole = rotaryTables(0, 7, hs);
  assertClose(tail.sin.dataSync(), tf.tidy(() => whole.sin.slice([4, 0], [3, hs / 2]).dataSync()), 1e-7, 0, 'table offset');
  tf.dispose([q, k, tail.cos, tail.sin, whole.cos, whole.sin]);
  assert.throws(() => rotaryTables(0, 1, 5), /even head size, got 5/);
});
