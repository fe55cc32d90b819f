/**
 * The registered Sum over leading axes against tfjs's own kernel: equal bit for bit to tfjs's cpu Sum
 * (same order, same double accumulation) on cpu and wasm, for the JavaScript loop and native code on 1
 * and 3 threads, on shapes with odd sizes, sizes past the 32-column block and sums large enough to split;
 * keepDims and negative axes; every other sum left to tfjs's kernel; SEQARENA_SUM=tfjs switches it off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { activeKernels } from '../architectures/kernels/active.ts';
import { nativeAddon } from '../architectures/kernels/native.ts';
import { columnSumsJs, leadingAxesPlan, setSumChoice, sumInfo } from '../architectures/kernels/sum.ts';
import { assertClose, assertNoLeak, hostKernelVariants, useBackend } from './helpers.ts';

/** (shape, axes): one element; odd widths; the models' bias and position-table gradients; past one block; large enough to split over 3 threads (ragged last piece). */
const LEADING: [number[], number | number[]][] = [
  [[1, 1], 0],
  [[5, 3], 0],
  [[7, 33], [0]],
  [[3, 1, 70], [0, 1]],
  [[1, 9, 31], 1],
  [[2, 3, 5, 67], [0, 1, 2]],
  [[2, 3, 5, 67], [-4, -3]],
  [[16, 32, 64], [0, 1]],
  [[4, 16, 40], 0],
  [[300, 515], 0],
  [[2, 129, 257], [1, 0]],
];

const variants = hostKernelVariants(Boolean(nativeAddon()?.columnSums));

/** A seeded tensor with values of mixed sign and magnitude, so the order of additions shows in the last bits. */
function input(shape: number[], seed: number): tf.Tensor {
  return tf.tidy(() => tf.randomNormal(shape, 0, 1, 'float32', seed).mul(tf.randomUniform(shape, 0.01, 100, 'float32', seed + 1)));
}

async function tfjsSum(backend: 'cpu' | 'wasm', values: Float32Array, shape: number[], axis: number | number[], keepDims: boolean): Promise<tf.Tensor> {
  await useBackend(backend);
  setSumChoice('tfjs');
  try {
    return tf.tidy(() => tf.sum(tf.tensor(values, shape), axis, keepDims));
  } finally {
    setSumChoice('auto');
  }
}

test('leadingAxesPlan: leading axes (size-1 axes ignored) become (rows, cols); anything else is left to tfjs', () => {
  assert.deepEqual(leadingAxesPlan([16, 256, 64], [0, 1], false), { rows: 4096, cols: 64, outShape: [64] });
  assert.deepEqual(leadingAxesPlan([16, 256, 64], [1, 0], true), { rows: 4096, cols: 64, outShape: [1, 1, 64] });
  assert.deepEqual(leadingAxesPlan([16, 256, 64], -3, false), { rows: 16, cols: 256 * 64, outShape: [256, 64] });
  assert.deepEqual(leadingAxesPlan([1, 9, 31], 1, true), { rows: 9, cols: 31, outShape: [1, 1, 31] });
  assert.deepEqual(leadingAxesPlan([4, 1, 5], [0, 1], false), { rows: 4, cols: 5, outShape: [5] });
  assert.deepEqual(leadingAxesPlan([4, 3, 1, 5], [0, 2], false), { rows: 4, cols: 15, outShape: [3, 5] });
  assert.deepEqual(leadingAxesPlan([0, 5], 0, false), { rows: 0, cols: 5, outShape: [5] }, 'no rows: zeros');
  assert.equal(leadingAxesPlan([4, 3, 2, 5], [0, 2], false), null, 'a kept axis of size > 1 before a reduced one');
  assert.equal(leadingAxesPlan([4, 5], 1, false), null, 'the innermost axis');
  assert.equal(leadingAxesPlan([4, 5], [0, 1], false), null, 'every axis');
  assert.equal(leadingAxesPlan([4, 5], null, false), null, 'every axis (null)');
  assert.equal(leadingAxesPlan([4, 1], 0, false), null, 'one column: a full sum');
  assert.equal(leadingAxesPlan([4, 5], [0, 0], false), null, 'a repeated axis');
  assert.equal(leadingAxesPlan([4, 5], [], false), null, 'no axis');
  assert.equal(leadingAxesPlan([4, 5], 2, false), null, 'an axis outside the rank');
  assert.equal(leadingAxesPlan([5, 0], 0, false), null, 'no columns');
});

test('native column sums equal the JavaScript loop bit for bit on every instruction set and thread count', { skip: nativeAddon()?.columnSums ? false : 'the native addon is not built' }, () => {
  const addon = nativeAddon()!;
  const [isa, threads] = [addon.isa(), addon.threads()];
  try {
    for (const [rows, cols] of [[1, 2], [3, 31], [37, 45], [300, 515], [16, 2100]]) {
      const x = new Float32Array(rows * cols).map((_, i) => Math.sin(i * 0.7) * 10 ** ((i % 7) - 3));
      const expected = new Float32Array(cols);
      columnSumsJs(x, expected, rows, cols);
      for (const name of addon.isas()) {
        for (const t of [1, 3]) {
          addon.setIsa(name);
          addon.setThreads(t);
          const out = new Float32Array(cols).fill(Number.NaN);
          addon.columnSums!(x, out, rows, cols);
          assert.deepEqual(out, expected, `${name}, ${t} threads, (${rows}, ${cols})`);
        }
      }
    }
  } finally {
    addon.setIsa(isa);
    addon.setThreads(threads);
  }
});

for (const backend of ['cpu', 'wasm'] as const) {
  for (const variant of variants) {
    test(`Sum over leading axes on ${backend} (${variant.name}) equals tfjs's cpu Sum bit for bit, and tfjs's ${backend} Sum within rounding`, async () => {
      for (const [i, [shape, axis]] of LEADING.entries()) {
        for (const keepDims of [false, true]) {
          await useBackend('cpu');
          const x = input(shape, 7 + i);
          const values = x.dataSync() as Float32Array;
          x.dispose();
          const reference = await tfjsSum('cpu', values, shape, axis, keepDims);
          const own = await tfjsSum(backend, values, shape, axis, keepDims);
          await useBackend(backend);
          const fast = variant.run(() => tf.tidy(() => tf.sum(tf.tensor(values, shape), axis, keepDims)));
          const what = `[${shape}] over ${JSON.stringify(axis)} keepDims ${keepDims}`;
          assert.deepEqual(fast.shape, reference.shape, what);
          assert.equal(fast.dtype, 'float32');
          assert.deepEqual(fast.dataSync(), reference.dataSync(), what);
          assertClose(fast.dataSync(), own.dataSync(), 1e-3, 1e-5, `${what} against tfjs's ${backend} kernel`);
          tf.dispose([reference, own, fast]);
        }
      }
    });
  }

  test(`on ${backend}, sums that are not over leading float32 axes give what tfjs's kernel gives`, async () => {
    await useBackend(backend);
    const cases: [tf.Tensor, number | number[] | undefined][] = [
      [tf.tensor([1, 2, 3, 4, 5, 6], [2, 3]), 1],
      [tf.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), [0, 2]],
      [tf.tensor([1.5, 2, 3, 4], [2, 2]), undefined],
      [tf.tensor([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0],
      [tf.tensor([true, false, true, true], [2, 2], 'bool'), 0],
    ];
    for (const [x, axis] of cases) {
      const ours = tf.sum(x, axis);
      setSumChoice('tfjs');
      const theirs = tf.sum(x, axis);
      setSumChoice('auto');
      assert.deepEqual([ours.shape, ours.dtype], [theirs.shape, theirs.dtype]);
      assert.deepEqual(ours.dataSync(), theirs.dataSync(), `[${x.shape}] ${x.dtype} over ${JSON.stringify(axis)}`);
      tf.dispose([x, ours, theirs]);
    }
  });

  // tfjs-wasm's own kernel leaves such an output unwritten (whatever the heap held); tfjs-cpu gives zeros
  test(`on ${backend}, a sum over no rows is zeros`, async () => {
    await useBackend(backend);
    const sum = tf.tidy(() => tf.sum(tf.zeros([2, 0, 3]), [0, 1], true));
    assert.deepEqual(sum.shape, [1, 1, 3]);
    assert.deepEqual(sum.dataSync(), new Float32Array(3));
    sum.dispose();
  });

  test(`on ${backend}, a bias gradient (the Sum autodiff emits for a broadcast add) equals the reference and nothing leaks`, async () => {
    await useBackend(backend);
    const x = input([4, 37, 45], 3);
    const bias = input([45], 4);
    const w = input([4, 37, 45], 5);
    const grad = () => tf.tidy(() => tf.grads((b: tf.Tensor) => tf.add(x, b).mul(w).sum())([bias])[0].dataSync() as Float32Array);
    const fast = grad();
    setSumChoice('tfjs');
    const reference = grad();
    setSumChoice('auto');
    assertClose(fast, reference, 1e-3, 1e-5, '∂bias');
    await assertNoLeak(() => tf.dispose(tf.sum(x, [0, 1], true)), 'Sum');
    tf.dispose([x, bias, w]);
  });
}

test("SEQARENA_SUM=tfjs (setSumChoice) hands every sum to tfjs's kernel, and seqarena list says which Sum runs", async () => {
  await useBackend('wasm');
  assert.equal(activeKernels().sum, sumInfo());
  assert.match(sumInfo(), nativeAddon()?.columnSums ? /^native C .* leading axes/ : /^js .* leading axes/);
  setSumChoice('js');
  assert.match(sumInfo(), /^js /);
  const addon = nativeAddon();
  const columnSums = addon?.columnSums;
  let nativeCalls = 0;
  if (addon && columnSums) addon.columnSums = (...args) => (nativeCalls++, columnSums.apply(addon, args));
  const x = tf.tensor([1, 2, 3, 4], [2, 2]);
  const sumOverRows = () => tf.tidy(() => Array.from(tf.sum(x, 0).dataSync()));
  try {
    setSumChoice('auto');
    assert.deepEqual(sumOverRows(), [4, 6]);
    assert.equal(nativeCalls, columnSums ? 1 : 0, 'auto runs the native column sums where built');
    setSumChoice('tfjs');
    assert.match(sumInfo(), /^tfjs's own kernel \(SEQARENA_SUM=tfjs\)/);
    assert.deepEqual(sumOverRows(), [4, 6]);
    assert.equal(nativeCalls, columnSums ? 1 : 0, 'tfjs runs no native code');
  } finally {
    setSumChoice('auto');
    if (addon && columnSums) addon.columnSums = columnSums;
    x.dispose();
  }
});
