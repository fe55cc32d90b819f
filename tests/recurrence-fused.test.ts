import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { gruSequenceReference, lstmSequenceReference, rnnSequenceReference } from '../architectures/kernels/recurrence.ts';
import { gruSequenceFused, lstmSequenceFused, rnnSequenceFused } from '../architectures/kernels/recurrence-fused.ts';
import { wasmGemm } from '../architectures/kernels/matmul.ts';
import { nativeAddon, withoutNative } from '../architectures/kernels/native.ts';
import { Arena } from '../architectures/kernels/simd.ts';
import { assertClose, assertNoLeak, useBackend } from './helpers.ts';

/**
 * (b, l, h): one step of one unit; a batch with a few steps; wider and longer; a batch that is not a
 * multiple of the GEMMs' 4-row tiles; and one whose per-step products are large enough for the wasm
 * GEMM to split them over 2 threads (b·h·gh ≥ 2 × 2¹⁸ multiply-adds for every cell).
 */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [2, 5, 3],
  [3, 9, 8],
  [5, 4, 9],
  [16, 3, 183],
];

/** The kernel as models run it (native where built), and the fallback (the wasm GEMM per step) on 1 and 2 threads. */
const VARIANTS: { name: string; run: <T>(fn: () => T) => T }[] = [
  { name: nativeAddon()?.lstmForward ? 'native' : 'fallback', run: (fn) => fn() },
  ...[1, 2].map((threads) => ({
    name: `fallback, wasm GEMM on ${threads} thread(s)`,
    run: <T>(fn: () => T): T => {
      const gemm = wasmGemm()!;
      const before = gemm.threads();
      gemm.setThreads(threads);
      try {
        return withoutNative(fn);
      } finally {
        gemm.setThreads(before);
      }
    },
  })),
];

type Cell = 'lstm' | 'gru' | 'rnn';
const GATES: Record<Cell, number> = { lstm: 4, gru: 3, rnn: 1 };

/** Seeded inputs of one recurrence, scaled so gates are neither saturated nor linear. */
function inputs(cell: Cell, b: number, l: number, h: number, seed: number): Record<string, tf.Tensor> {
  const g = GATES[cell];
  const all: Record<string, tf.Tensor> = {
    xProj: tf.randomNormal([b, l, g * h], 0, 1, 'float32', seed),
    wh: tf.randomNormal([h, g * h], 0, 0.6, 'float32', seed + 1),
    h0: tf.randomNormal([b, h], 0, 0.5, 'float32', seed + 2),
  };
  if (cell === 'lstm') all.c0 = tf.randomNormal([b, h], 0, 0.5, 'float32', seed + 3);
  if (cell === 'gru') all.bh = tf.randomNormal([g * h], 0, 0.3, 'float32', seed + 4);
  return all;
}

/** Run one implementation: outputs in a fixed order. */
function apply(cell: Cell, fused: boolean, x: Record<string, tf.Tensor>): tf.Tensor[] {
  const { xProj, wh, h0, c0, bh } = x as Record<string, never>;
  if (cell === 'lstm') {
    const out = (fused ? lstmSequenceFused : lstmSequenceReference)(xProj, wh, h0, c0);
    return [out.hs, out.hT, out.cT];
  }
  const out = cell === 'gru' ? (fused ? gruSequenceFused : gruSequenceReference)(xProj, wh, bh, h0) : (fused ? rnnSequenceFused : rnnSequenceReference)(xProj, wh, h0);
  return [out.hs, out.hT];
}

/** Outputs, and gradients of Σ wᵢ·outputᵢ (random weights on every output) for every input. */
function outputsAndGrads(cell: Cell, fused: boolean, x: Record<string, tf.Tensor>, seed: number): Float32Array[] {
  return tf.tidy(() => {
    const names = Object.keys(x).sort();
    const outs = apply(cell, fused, x);
    const weights = outs.map((o, i) => tf.randomNormal(o.shape, 0, 1, 'float32', seed + 10 + i));
    const loss = (...args: tf.Tensor[]): tf.Scalar => {
      const ys = apply(cell, fused, Object.fromEntries(names.map((n, i) => [n, args[i]])));
      return tf.addN(ys.map((y, i) => y.mul(weights[i]).sum())) as tf.Scalar;
    };
    const grads = tf.grads(loss)(names.map((n) => x[n]));
    return [...outs, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    test(`${cell}SequenceFused equals the reference, outputs and every gradient, on ${backend} (${VARIANTS.map((v) => v.name).join('; ')})`, async () => {
      await useBackend(backend);
      for (const [b, l, h] of SHAPES) {
        const seed = 100 * b + 10 * l + h;
        const x = inputs(cell, b, l, h, seed);
        const reference = outputsAndGrads(cell, false, x, seed);
        const names = [...(cell === 'lstm' ? ['hs', 'hT', 'cT'] : ['hs', 'hT']), ...Object.keys(x).sort().map((n) => `d${n}`)];
        for (const variant of VARIANTS) {
          const fused = variant.run(() => outputsAndGrads(cell, true, x, seed));
          reference.forEach((expected, i) => {
            const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
            assertClose(fused[i], expected, 1e-4 * scale, 1e-4, `${cell} ${names[i]} at (b, l, h) = (${b}, ${l}, ${h}), ${variant.name}`);
          });
        }
        tf.dispose(Object.values(x));
      }
    });
  }

  test(`fused recurrences leak no tensor, forward alone or with gradients, on ${backend}`, async () => {
    await useBackend(backend);
    const x = inputs('lstm', 2, 4, 3, 7);
    await assertNoLeak(() => tf.dispose(apply('lstm', true, x)), 'lstm forward');
    await assertNoLeak(() => outputsAndGrads('lstm', true, x, 7), 'lstm forward + backward');
    const g = inputs('gru', 2, 4, 3, 8);
    await assertNoLeak(() => outputsAndGrads('gru', true, g, 8), 'gru forward + backward');
    const r = inputs('rnn', 2, 4, 3, 9);
    await assertNoLeak(() => outputsAndGrads('rnn', true, r, 9), 'rnn forward + backward');
    tf.dispose([...Object.values(x), ...Object.values(g), ...Object.values(r)]);
  });
}

test('a wrongly shaped recurrent weight, or an empty sequence, is refused naming the shapes', async () => {
  await useBackend('cpu');
  const xProj = tf.zeros([1, 2, 8]) as tf.Tensor3D;
  const wh = tf.zeros([2, 6]) as tf.Tensor2D;
  const h0 = tf.zeros([1, 2]) as tf.Tensor2D;
  assert.throws(() => lstmSequenceFused(xProj, wh, h0, h0), /wh has shape \[2,6\], expected \[2,8\]/);
  const empty = tf.zeros([1, 0, 2]) as tf.Tensor3D;
  const square = tf.zeros([2, 2]) as tf.Tensor2D;
  assert.throws(() => rnnSequenceFused(empty, square, h0), /empty sequence \(xProj shape 1,0,2\)/);
  tf.dispose([xProj, wh, h0, empty, square]);
});

test('the WebAssembly SIMD loops equal their plain-JavaScript reference, ragged tails included', () => {
  const simd = new Arena(true);
  const plain = new Arena(false);
  assert.ok(simd.simd, 'Node 20 runs WebAssembly SIMD');
  assert.ok(!plain.simd);
  for (const [h, n] of [[1, 1], [3, 7], [5, 16], [17, 33]]) {
    const values = (count: number, seed: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(seed * 31 + i * 1.7));
    for (const loop of ['gemvAcc', 'gemvT', 'ger'] as const) {
      const [fast, slow] = [simd, plain].map((arena) => {
        arena.begin(2 * h * n + 3 * (h + n) + 64);
        const w = arena.alloc(h * n, values(h * n, 1));
        const x = arena.alloc(Math.max(h, n), values(Math.max(h, n), 2));
        const y = arena.alloc(n, values(n, 3));
        const out = arena.alloc(Math.max(h, n), values(Math.max(h, n), 4));
        if (loop === 'gemvAcc') arena.loops.gemvAcc(out, x, w, h, n);
        else if (loop === 'gemvT') arena.loops.gemvT(out, x, w, h, n);
        else arena.loops.ger(w, x, y, h, n);
        return [...arena.copyOut(w, h * n), ...arena.copyOut(out, Math.max(h, n))];
      });
      assertClose(fast, slow, 1e-5, 1e-5, `${loop} (h ${h}, n ${n})`);
    }
  }
});
