/**
 * The native C fused kernels (native/src/attention.c, recurrence.c, selective_scan.c) against the
 * WebAssembly/JavaScript fused kernels they replace (run with the addon set aside) and against the
 * composed references: forward and every gradient, on shapes that cross or miss every block size
 * (attention's 32-query and 64-key blocks, the recurrences' 4-row batch blocks and 4×16 weight tiles,
 * the scan's 8-channel blocks, the 8-lane vectors), on one thread and on three, in both compiled copies
 * (generic, and AVX2+FMA where the CPU runs it; SEQARENA_ISA / setIsa picks one). The kernels cut their
 * work so that every sum runs in the same order whatever the thread count: one and three threads must
 * agree bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { attentionReference } from '../architectures/kernels/attention.ts';
import { attentionFused, fusedAttentionImplementation } from '../architectures/kernels/attention-fused.ts';
import { nativeAddon, nativeStatus, withoutNative } from '../architectures/kernels/native.ts';
import { gruSequenceReference, lstmSequenceReference, rnnSequenceReference } from '../architectures/kernels/recurrence.ts';
import { fusedRecurrenceImplementation, gruSequenceFused, lstmSequenceFused, rnnSequenceFused } from '../architectures/kernels/recurrence-fused.ts';
import { selectiveScanReference } from '../architectures/kernels/selective-scan.ts';
import { fusedScanImplementation, selectiveScanFused } from '../architectures/kernels/selective-scan-fused.ts';
import { assertClose, assertNoLeak, useBackend } from './helpers.ts';

const addon = nativeAddon();
const skip = addon ? false : `the native addon is not built (${nativeStatus().detail})`;

/** Outputs and gradients of Σ wᵢ·outputᵢ (seeded weights) with respect to every input, as arrays. */
function outputsAndGrads(fn: (...xs: tf.Tensor[]) => tf.Tensor[], inputs: tf.Tensor[], seed: number): Float32Array[] {
  return tf.tidy(() => {
    const outs = fn(...inputs);
    const weights = outs.map((o, i) => tf.randomNormal(o.shape, 0, 1, 'float32', seed + 10 + i));
    const loss = (...xs: tf.Tensor[]): tf.Scalar => tf.addN(fn(...xs).map((y, i) => y.mul(weights[i]).sum())) as tf.Scalar;
    const grads = tf.grads(loss)(inputs);
    return [...outs, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

/** Run fn natively with one instruction set's code on `threads` threads, restoring both after. */
function onThreads<T>(isa: string, threads: number, fn: () => T): T {
  const [threadsBefore, isaBefore] = [addon!.threads(), addon!.isa()];
  addon!.setThreads(threads);
  addon!.setIsa(isa);
  try {
    return fn();
  } finally {
    addon!.setThreads(threadsBefore);
    addon!.setIsa(isaBefore);
  }
}

/** The compiled copies of the fused kernels: generic, and AVX2+FMA where the CPU runs it (which AVX-512 machines use too). */
const ISAS = addon ? addon.isas().filter((isa) => isa !== 'avx512') : [];

/**
 * Native on 1 and 3 threads (bit-identical), native against the fallback fused kernel, and native
 * against the composed reference, each array within a tolerance relative to its largest entry.
 */
function checkFamily(what: string, names: string[], fused: (...xs: tf.Tensor[]) => tf.Tensor[], reference: (...xs: tf.Tensor[]) => tf.Tensor[], inputs: tf.Tensor[], seed: number): void {
  const fallback = withoutNative(() => outputsAndGrads(fused, inputs, seed));
  const ref = outputsAndGrads(reference, inputs, seed);
  for (const isa of ISAS) {
    const one = onThreads(isa, 1, () => outputsAndGrads(fused, inputs, seed));
    const three = onThreads(isa, 3, () => outputsAndGrads(fused, inputs, seed));
    assert.equal(one.length, names.length, `${what}: ${one.length} arrays, expected ${names.length}`);
    one.forEach((values, i) => {
      assert.deepEqual(three[i], values, `${names[i]} ${what} (${isa}): 3 threads differ from 1 thread`);
      const scale = Math.max(1, ...ref[i].map(Math.abs));
      assertClose(values, fallback[i], 2e-5 * scale, 1e-4, `${names[i]} ${what} (${isa}): native vs fallback fused kernel`);
      assertClose(values, ref[i], 1e-4 * scale, 1e-4, `${names[i]} ${what} (${isa}): native vs composed reference`);
    });
  }
}

test('the fused kernels say which implementation is active', { skip }, () => {
  assert.equal(fusedAttentionImplementation(), 'native');
  assert.equal(fusedRecurrenceImplementation(), 'native');
  assert.equal(fusedScanImplementation(), 'native');
  withoutNative(() => {
    assert.equal(fusedAttentionImplementation(), 'wasm');
    assert.equal(fusedRecurrenceImplementation(), 'wasm');
    assert.equal(fusedScanImplementation(), 'js');
  });
});

/**
 * (b, h, lq, lk, hs, causal, padded, window): one of everything, odd head sizes, blocks crossed, lq < lk;
 * sliding windows of one key, narrower than a key block (whole blocks skipped), starting mid-block.
 */
const ATTENTION: [number, number, number, number, number, boolean, boolean, number?][] = [
  [1, 1, 1, 1, 1, true, false],
  [1, 1, 5, 5, 4, true, false],
  [2, 3, 70, 70, 7, true, true],
  [1, 2, 33, 130, 6, true, false],
  [2, 1, 40, 100, 16, false, true],
  [1, 1, 65, 65, 9, false, false],
  [1, 1, 9, 9, 3, true, false, 1],
  [2, 2, 150, 150, 7, true, true, 20],
  [1, 2, 33, 130, 6, true, false, 70],
];

for (const backend of ['wasm', 'cpu'] as const) {
  test(`native attention equals the fused fallback and the reference, output and q, k, v gradients (${backend})`, { skip }, async () => {
    await useBackend(backend);
    ATTENTION.forEach(([b, h, lq, lk, hs, causal, padded, window], n) => {
      const seed = 300 + 10 * n;
      const q = tf.randomNormal([b, h, lq, hs], 0, 1, 'float32', seed);
      const k = tf.randomNormal([b, h, lk, hs], 0, 1, 'float32', seed + 1);
      const v = tf.randomNormal([b, h, lk, hs], 0, 1, 'float32', seed + 2);
      // padding keeps key 0, so no query row is empty (where fused and reference differ on purpose)
      const keyMask = padded ? tf.tensor2d([...Array(b * lk)].map((_, i) => (i % lk === 0 || (i * 7919) % 5 !== 0 ? 1 : 0)), [b, lk]) : undefined;
      const run = (attention: typeof attentionReference) => (...x: tf.Tensor[]) => [attention(x[0] as tf.Tensor4D, x[1] as tf.Tensor4D, x[2] as tf.Tensor4D, { causal, window, keyMask })];
      checkFamily(`(b ${b}, h ${h}, lq ${lq}, lk ${lk}, hs ${hs}${causal ? ', causal' : ''}${padded ? ', padded' : ''}${window ? `, window ${window}` : ''})`, ['out', 'dq', 'dk', 'dv'], run(attentionFused), run(attentionReference), [q, k, v], seed);
      tf.dispose([q, k, v, ...(keyMask ? [keyMask] : [])]);
    });
  });
}

test('native attention: a query row with no visible key gives zeros and a zero gradient', { skip }, async () => {
  await useBackend('wasm');
  const q = tf.ones([1, 1, 2, 2]) as tf.Tensor4D;
  const k = tf.ones([1, 1, 2, 2]) as tf.Tensor4D;
  const v = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
  const keyMask = tf.tensor2d([[0, 1]]);
  const [out, dq] = tf.tidy(() => [attentionFused(q, k, v, { causal: true, keyMask }), tf.grad((x: tf.Tensor) => attentionFused(x as tf.Tensor4D, k, v, { causal: true, keyMask }).sum())(q)]);
  assert.deepEqual([...out.dataSync()], [0, 0, 3, 4]);
  assert.deepEqual([...dq.dataSync()], [0, 0, 0, 0]);
  tf.dispose([q, k, v, keyMask, out, dq]);
});

type Cell = 'lstm' | 'gru' | 'rnn';
const GATES: Record<Cell, number> = { lstm: 4, gru: 3, rnn: 1 };

/** (b, l, h): one unit; a batch of 5 (a full 4-row block and a ragged one); h 17 (ragged tiles and vectors); b 9. */
const RECURRENCE: [number, number, number][] = [
  [1, 1, 1],
  [5, 7, 3],
  [3, 9, 17],
  [9, 4, 8],
];

for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  test(`native ${cell} equals the fused fallback and the reference, outputs and every gradient`, { skip }, async () => {
    await useBackend('wasm');
    for (const [b, l, h] of RECURRENCE) {
      const seed = 400 + 100 * b + 10 * l + h;
      const g = GATES[cell];
      const xProj = tf.randomNormal([b, l, g * h], 0, 1, 'float32', seed);
      const wh = tf.randomNormal([h, g * h], 0, 0.6, 'float32', seed + 1);
      const h0 = tf.randomNormal([b, h], 0, 0.5, 'float32', seed + 2);
      const extra = cell === 'lstm' ? tf.randomNormal([b, h], 0, 0.5, 'float32', seed + 3) : tf.randomNormal([g * h], 0, 0.3, 'float32', seed + 4);
      const inputs = cell === 'rnn' ? [xProj, wh, h0] : [xProj, wh, h0, extra];
      const apply = (fused: boolean) => (...x: tf.Tensor[]): tf.Tensor[] => {
        const [xp, w, s0, e] = x as [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D, tf.Tensor];
        if (cell === 'lstm') {
          const out = (fused ? lstmSequenceFused : lstmSequenceReference)(xp, w, s0, e as tf.Tensor2D);
          return [out.hs, out.hT, out.cT];
        }
        const out = cell === 'gru' ? (fused ? gruSequenceFused : gruSequenceReference)(xp, w, e as tf.Tensor1D, s0) : (fused ? rnnSequenceFused : rnnSequenceReference)(xp, w, s0);
        return [out.hs, out.hT];
      };
      const outputs = cell === 'lstm' ? ['hs', 'hT', 'cT'] : ['hs', 'hT'];
      const grads = ['dxProj', 'dwh', 'dh0', ...(cell === 'lstm' ? ['dc0'] : cell === 'gru' ? ['dbh'] : [])];
      checkFamily(`${cell} (b, l, h) = (${b}, ${l}, ${h})`, [...outputs, ...grads], apply(true), apply(false), inputs, seed);
      tf.dispose([xProj, wh, h0, extra]);
    }
  });
}

/** (b, l, di, n): one of everything; di 13 (a full 8-channel block and a ragged one); n 5 and 16. */
const SCAN: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [2, 5, 3, 4],
  [3, 9, 13, 16],
  [2, 17, 8, 5],
];

test('native selective scan equals the fused fallback and the reference, forward and all six gradients', { skip }, async () => {
  await useBackend('wasm');
  for (const [b, l, di, n] of SCAN) {
    const seed = 500 + 7 * b + l;
    const inputs = tf.tidy(() => [
      tf.randomNormal([b, l, di], 0, 1, 'float32', seed),
      tf.softplus(tf.randomNormal([b, l, di], -1, 1, 'float32', seed + 1)),
      tf.exp(tf.randomNormal([di, n], 0, 0.7, 'float32', seed + 2)).neg(),
      tf.randomNormal([b, l, n], 0, 1, 'float32', seed + 3),
      tf.randomNormal([b, l, n], 0, 1, 'float32', seed + 4),
      tf.randomNormal([di], 0, 1, 'float32', seed + 5),
    ]);
    type Scan = typeof selectiveScanReference;
    const run = (scan: Scan) => (...x: tf.Tensor[]) => [scan(...(x as Parameters<Scan>))];
    checkFamily(`(b, l, di, n) = (${b}, ${l}, ${di}, ${n})`, ['y', 'du', 'ddelta', 'dA', 'dB', 'dC', 'dD'], run(selectiveScanFused), run(selectiveScanReference), inputs, seed);
    tf.dispose(inputs);
  }
});

test('native kernels leak no tensor, forward and backward', { skip }, async () => {
  await useBackend('wasm');
  const q = tf.randomNormal([1, 2, 9, 4]);
  const x = tf.randomNormal([2, 5, 12]);
  const wh = tf.randomNormal([3, 12]);
  const h0 = tf.zeros([2, 3]);
  await assertNoLeak(() => outputsAndGrads((a) => [attentionFused(a as tf.Tensor4D, a as tf.Tensor4D, a as tf.Tensor4D, { causal: true })], [q], 1), 'attention');
  await assertNoLeak(() => outputsAndGrads((a, w) => [lstmSequenceFused(a as tf.Tensor3D, w as tf.Tensor2D, h0 as tf.Tensor2D, h0 as tf.Tensor2D).hs], [x, wh], 2), 'lstm');
  tf.dispose([q, x, wh, h0]);
});

test('a native kernel given an array of the wrong length names it and both lengths', { skip }, () => {
  const f = (count: number) => new Float32Array(count);
  assert.throws(() => addon!.rnnForward!(f(6), f(4), f(2), f(5), 1, 3, 2), /argument 'hs' has 5 elements, expected 6/);
  assert.throws(() => addon!.selectiveScanForward!(f(2), f(2), f(2), f(2), f(2), f(2), f(2), 1, 2, 1, 2), /argument 'B' has 2 elements, expected 4/);
});
