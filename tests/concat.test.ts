/**
 * The registered Concat, SplitV, Unpack and Pack (architectures/kernels/concat.ts) against tfjs's own
 * kernels, bit for bit: on cpu and wasm, for the JavaScript loops and native code on 1 and 3 threads, along every axis
 * (negative ones too) of shapes with odd sizes, with two to four inputs or pieces of unequal widths,
 * empty ones among them, copies large enough to split over the threads, and special values (−0, ±∞,
 * NaN, subnormals); their gradients (each is the other's); a Transformer's logits and weight gradients;
 * non-float32 tensors left to tfjs's kernels; SEQARENA_CONCAT=tfjs switches both off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { activeKernels } from '../architectures/kernels/active.ts';
import { concatInfo, concatRowsJs, setConcatChoice, splitRowsJs } from '../architectures/kernels/concat.ts';
import { nativeAddon } from '../architectures/kernels/native.ts';
import { transformer } from '../architectures/transformer.ts';
import { assertNoLeak, hostKernelVariants, useBackend } from './helpers.ts';

/** (input shapes, axis): one element each; along axis 0 (contiguous); unequal widths on every axis of ranks 1–4; an empty input; the Transformer's key/value gradient at a small size; large enough to split over 3 threads. */
const CONCATS: [number[][], number][] = [
  [[[1], [1]], 0],
  [[[3], [5], [1]], 0],
  [[[2, 3], [4, 3]], 0],
  [[[2, 3], [2, 5]], 1],
  [[[2, 3], [2, 5]], -1],
  [[[3, 1, 7], [3, 4, 7], [3, 2, 7]], 1],
  [[[5, 3, 2], [5, 3, 1]], 2],
  [[[5, 3, 2], [5, 3, 1]], -1],
  [[[1, 3, 5], [2, 3, 5]], -3],
  [[[2, 3, 5, 7], [2, 3, 5, 1], [2, 3, 5, 9], [2, 3, 5, 3]], 3],
  [[[2, 3, 5, 7], [2, 1, 5, 7]], 1],
  [[[2, 3, 5, 7], [2, 3, 2, 7]], -2],
  [[[4, 0, 3], [4, 2, 3], [4, 5, 3]], 1],
  [[[2, 33, 16], [2, 33, 16]], -1],
  [[[16, 37, 19], [16, 37, 45]], 2],
  [[[3, 129, 257], [3, 129, 100]], -1],
  [[[3, 129, 50], [4, 129, 50]], 0],
];

/** (shape, numOrSizeSplits, axis): equal and unequal pieces, a −1 piece, an empty piece, every axis, large enough to split. */
const SPLITS: [number[], number | number[], number][] = [
  [[6], 3, 0],
  [[7], [2, -1, 1], 0],
  [[4, 6], 2, 1],
  [[4, 6], [1, 3], 0],
  [[3, 5, 7], [2, 0, 3], 1],
  [[5, 4, 3], 5, 0],
  [[2, 3, 5, 7], [3, 4], -1],
  [[2, 3, 5, 8], 4, 3],
  [[2, 3, 5, 8], [1, 2], 1],
  [[2, 3, 5, 8], [2, 3], -2],
  [[2, 33, 32], 2, -1],
  [[16, 37, 128], 2, -1],
  [[3, 129, 257], [100, -1, 57], 2],
  [[6, 100, 70], [1, 5], 0],
];

/** (shape, axis) for unstack and stack: every axis of ranks 1–5, negative ones, one piece, the GLA chunk states' (b, c, h, kh, vh) along c, large enough to split. */
const UNSTACKS: [number[], number][] = [
  [[1], 0],
  [[5], 0],
  [[3, 1], 1],
  [[4, 6], 0],
  [[4, 6], 1],
  [[4, 6], -1],
  [[3, 5, 7], 1],
  [[3, 5, 7], -1],
  [[2, 3, 5, 8], 2],
  [[2, 3, 5, 8], -4],
  [[8, 4, 2, 16, 32], 1],
  [[3, 129, 257], 1],
];

const variants = hostKernelVariants(Boolean(nativeAddon()?.concatRows && nativeAddon()?.splitRows));

const SPECIAL = [-0, Infinity, -Infinity, Number.NaN, 1e-45, -3.4e38];

/** Seeded values with a few special ones, so a copy that rounds, canonicalises or drops a sign shows. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n).map((_, i) => Math.sin((i + 1) * (seed + 0.37)) * 10 ** ((i % 9) - 4));
  for (let i = 0; i < Math.min(n, SPECIAL.length); i++) out[(i * 7919 + seed) % n] = SPECIAL[i];
  return out;
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** fn's results (shapes, dtypes, bits) with tfjs's own kernels. */
function withTfjs<T>(fn: () => T): T {
  setConcatChoice('tfjs');
  try {
    return fn();
  } finally {
    setConcatChoice('auto');
  }
}

type Snapshot = { shape: number[]; dtype: string; bits: Uint32Array }[];

/** The shapes, dtypes and bits of the tensors `make` returns; every tensor it makes is disposed. */
function snapshot(make: () => tf.Tensor[]): Snapshot {
  let out: Snapshot = [];
  tf.tidy(() => {
    out = make().map((t) => ({ shape: t.shape, dtype: t.dtype, bits: bits(Float32Array.from(t.dataSync() as Float32Array)) }));
  });
  return out;
}

test('native row-block copies equal the JavaScript loops bit for bit on 1, 2 and 3 threads', { skip: nativeAddon()?.concatRows ? false : 'the native addon is not built' }, () => {
  const addon = nativeAddon()!;
  const threads = addon.threads();
  try {
    for (const [rows, widths] of [[1, [1, 1]], [3, [5, 0, 2]], [37, [17, 1, 33, 64]], [4096, [64, 64]], [129, [257, 100, 3]]] as [number, number[]][]) {
      const parts = widths.map((w, i) => values(rows * w, 11 + i));
      const total = widths.reduce((a, w) => a + w, 0);
      const expected = new Float32Array(rows * total);
      concatRowsJs(parts, expected, rows);
      const back = widths.map((w) => new Float32Array(rows * w));
      splitRowsJs(expected, back, rows);
      back.forEach((b, i) => assert.deepEqual(bits(b), bits(parts[i]), `js split undoes js concat, part ${i}`));
      for (const t of [1, 2, 3]) {
        addon.setThreads(t);
        const out = new Float32Array(rows * total).fill(7);
        addon.concatRows!(parts, out, rows);
        assert.deepEqual(bits(out), bits(expected), `concat (${rows}, [${widths}]), ${t} threads`);
        const pieces = widths.map((w) => new Float32Array(rows * w).fill(7));
        addon.splitRows!(expected, pieces, rows);
        pieces.forEach((p, i) => assert.deepEqual(bits(p), bits(parts[i]), `split (${rows}, [${widths}]) part ${i}, ${t} threads`));
      }
    }
    assert.throws(() => addon.concatRows!([new Float32Array(6), new Float32Array(5)], new Float32Array(11), 2), /multiple of rows/);
    assert.throws(() => addon.splitRows!(new Float32Array(10), [new Float32Array(6), new Float32Array(2)], 2), /the parts hold 8 floats, the whole 10/);
  } finally {
    addon.setThreads(threads);
  }
});

for (const backend of ['cpu', 'wasm'] as const) {
  for (const variant of variants) {
    test(`Concat on ${backend} (${variant.name}) equals tfjs's ${backend} kernel bit for bit`, async () => {
      await useBackend(backend);
      for (const [i, [shapes, axis]] of CONCATS.entries()) {
        const inputs = shapes.map((shape, j) => tf.tensor(values(tf.util.sizeFromShape(shape), 3 * i + j), shape));
        const expected = withTfjs(() => snapshot(() => [tf.concat(inputs, axis)]));
        const got = variant.run(() => snapshot(() => [tf.concat(inputs, axis)]));
        assert.deepEqual(got, expected, `concat [${shapes.map((s) => `[${s}]`)}] along ${axis}`);
        tf.dispose(inputs);
      }
    });

    test(`SplitV on ${backend} (${variant.name}) equals tfjs's ${backend} kernel bit for bit`, async () => {
      await useBackend(backend);
      for (const [i, [shape, splits, axis]] of SPLITS.entries()) {
        const x = tf.tensor(values(tf.util.sizeFromShape(shape), 5 + i), shape);
        const copy = () => (Array.isArray(splits) ? [...splits] : splits);
        const expected = withTfjs(() => snapshot(() => tf.split(x, copy(), axis)));
        const got = variant.run(() => snapshot(() => tf.split(x, copy(), axis)));
        assert.deepEqual(got, expected, `split [${shape}] by ${JSON.stringify(splits)} along ${axis}`);
        x.dispose();
      }
    });

    test(`Unpack and Pack on ${backend} (${variant.name}) equal tfjs's ${backend} kernels bit for bit, gradients too`, async () => {
      await useBackend(backend);
      for (const [i, [shape, axis]] of UNSTACKS.entries()) {
        const x = tf.tensor(values(tf.util.sizeFromShape(shape), 17 + i), shape);
        const both = () => snapshot(() => {
          const pieces = tf.unstack(x, axis);
          return [...pieces, tf.stack(pieces.reverse(), axis)];
        });
        assert.deepEqual(variant.run(both), withTfjs(both), `unstack and stack [${shape}] along ${axis}`);
        x.dispose();
      }
      // unstack's gradient is a Pack, stack's an Unpack
      const a = tf.tensor(values(3 * 4 * 5, 4).map((v) => (Number.isFinite(v) ? v : 0.5)), [3, 4, 5]);
      const loss = (x: tf.Tensor) => {
        const rows = tf.unstack(x.sin(), 1);
        return tf.stack([rows[3], rows[0].square(), rows[2], rows[1]], 2).mul(tf.range(1, 5)).sum() as tf.Scalar;
      };
      const grads = () => snapshot(() => tf.grads(loss)([a]));
      assert.deepEqual(variant.run(grads), withTfjs(grads));
      await assertNoLeak(() => variant.run(() => tf.dispose([...tf.unstack(a, 2), tf.stack([a, a], 1)])), 'Unpack and Pack');
      a.dispose();
    });

    test(`on ${backend} (${variant.name}), the gradients through concat and split equal tfjs's bit for bit`, async () => {
      await useBackend(backend);
      const a = tf.tensor(values(3 * 37 * 19, 1), [3, 37, 19]);
      const b = tf.tensor(values(3 * 37 * 45, 2), [3, 37, 45]);
      const w = tf.tensor(values(3 * 37 * 64, 3).map((v) => (Number.isFinite(v) ? v : 0.5)), [3, 37, 64]);
      // concat's gradient is a SplitV, split's a Concat
      const loss = (x: tf.Tensor, y: tf.Tensor) => {
        const [p, q, r] = tf.split(tf.concat([x, y], -1).mul(w), [10, 40, -1], 2);
        return tf.concat([r, p.square(), q.sin()], 2).sum(1).mul(tf.range(1, 65)).sum() as tf.Scalar;
      };
      const grads = () => snapshot(() => tf.grads(loss)([a, b]));
      const expected = withTfjs(grads);
      assert.deepEqual(variant.run(grads), expected);
      await assertNoLeak(() => variant.run(() => tf.dispose([tf.concat([a, b], 2), ...tf.split(b, [5, 40], 2)])), 'Concat and SplitV');
      tf.dispose([a, b, w]);
    });
  }

  test(`on ${backend}, Concat and SplitV of other dtypes (and cpu's int32-backed float32 casts) give what tfjs's kernels give`, async () => {
    await useBackend(backend);
    const tensors = [
      [tf.tensor([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor([5, 6], [2, 1], 'int32')],
      [tf.tensor([true, false], [2, 1], 'bool'), tf.tensor([false, true, true, true], [2, 2], 'bool')],
      [tf.tensor([1, 2, 3, 4], [2, 2], 'int32').cast('float32'), tf.tensor([0.5, 0.25], [2, 1])],
      [tf.tensor([1, 2], [1, 2]), tf.zeros([0, 2])],
    ];
    for (const pair of tensors) {
      const run = () => tf.tidy(() => {
        const joined = tf.concat(pair, -1 + (pair[1].shape[0] === 0 ? 1 : 0));
        return [joined, ...tf.split(joined, [1, -1], -1)].map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }));
      });
      assert.deepEqual(run(), withTfjs(run), `${pair.map((t) => `${t.dtype} [${t.shape}]`)}`);
    }
    tf.dispose(tensors.flat());
  });
}

test("a Transformer's logits and every weight's gradient are the same with tfjs's Concat and SplitV, which its key/value split runs", async () => {
  await useBackend('wasm');
  const io = { vocabSize: 11, maxLen: 12, padId: 0 };
  const model = transformer.build(transformer.config.parse({ d_model: 16, n_layers: 2, n_heads: 2, seed: 4 }), io);
  const tokens = tf.tensor2d([[1, 5, 3, 9, 2, 7, 4, 10, 6], [3, 3, 8, 1, 0, 2, 5, 9, 9]], undefined, 'int32');
  const w = tf.randomNormal([2, 9, 11], 0, 1, 'float32', 9);
  const run = () =>
    snapshot(() => {
      const { value, grads } = tf.variableGrads(() => (model.forward(tokens, true) as tf.Tensor).mul(w).sum() as tf.Scalar, model.trainableWeights);
      return [value, ...model.trainableWeights.map((v) => grads[v.name])];
    });
  const kernels = (await tf.profile(() => tf.dispose(Object.values(tf.variableGrads(() => (model.forward(tokens, true) as tf.Tensor).mul(w).sum() as tf.Scalar, model.trainableWeights).grads)))).kernels.map((k) => k.name);
  assert.ok(kernels.includes('SplitV') && kernels.includes('Concat'), `the step runs SplitV and Concat: ${[...new Set(kernels)].join(', ')}`);
  assert.deepEqual(run(), withTfjs(run));
  model.dispose();
  tf.dispose([tokens, w]);
});

test("SEQARENA_CONCAT=tfjs (setConcatChoice) hands Concat and SplitV to tfjs's kernels, and seqarena list says which run", async () => {
  await useBackend('wasm');
  assert.equal(activeKernels().concat, concatInfo());
  const addon = nativeAddon();
  const built = Boolean(addon?.concatRows && addon.splitRows);
  assert.match(concatInfo(), built ? /^native C .* Concat, SplitV, Unpack and Pack/ : /^js .* Concat, SplitV, Unpack and Pack/);
  const [concatRows, splitRows] = [addon?.concatRows, addon?.splitRows];
  let nativeCalls = 0;
  if (addon && concatRows && splitRows) {
    addon.concatRows = (...args) => (nativeCalls++, concatRows.apply(addon, args));
    addon.splitRows = (...args) => (nativeCalls++, splitRows.apply(addon, args));
  }
  const x = tf.tensor([1, 2, 3, 4], [2, 2]);
  const roundTrip = () => tf.tidy(() => Array.from(tf.concat(tf.split(x, 2, 1).reverse(), 1).dataSync()));
  try {
    assert.deepEqual(roundTrip(), [2, 1, 4, 3]);
    assert.equal(nativeCalls, built ? 2 : 0, 'auto runs the native copies where built');
    setConcatChoice('js');
    assert.match(concatInfo(), /^js .*SEQARENA_CONCAT=js/);
    assert.deepEqual(roundTrip(), [2, 1, 4, 3]);
    assert.equal(nativeCalls, built ? 2 : 0, 'js runs no native code');
    setConcatChoice('tfjs');
    assert.match(concatInfo(), /^tfjs's own kernels \(SEQARENA_CONCAT=tfjs\)/);
    assert.deepEqual(roundTrip(), [2, 1, 4, 3]);
    assert.equal(nativeCalls, built ? 2 : 0, 'tfjs runs no native code');
  } finally {
    setConcatChoice('auto');
    if (addon && concatRows && splitRows) Object.assign(addon, { concatRows, splitRows });
    x.dispose();
  }
});
