import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectiveScan, selectiveScanChunked, selectiveScanReference } from '../architectures/kernels/selective-scan.ts';
import { fusedScanSupported, selectiveScanFused } from '../architectures/kernels/selective-scan-fused.ts';
import { jsPoolThreads, setJsPoolThreads } from '../architectures/kernels/js-pool.ts';
import { withoutNative } from '../architectures/kernels/native.ts';
import { assertClose, assertNoLeak, maxAbsDiff, useBackend } from './helpers.ts';

type ScanFn = typeof selectiveScanReference;
type Inputs = [tf.Tensor3D, tf.Tensor3D, tf.Tensor2D, tf.Tensor3D, tf.Tensor3D, tf.Tensor1D];
const NAMES = ['u', 'delta', 'A', 'B', 'C', 'D'];

/** Seeded scan inputs in the ranges the model produces: Δ > 0 (softplus), A < 0. */
function makeInputs(b: number, l: number, di: number, n: number, seed: number): Inputs {
  return tf.tidy(() => [
    tf.randomNormal([b, l, di], 0, 1, 'float32', seed),
    tf.softplus(tf.randomNormal([b, l, di], -1, 1, 'float32', seed + 1)),
    tf.exp(tf.randomNormal([di, n], 0, 0.7, 'float32', seed + 2)).neg(),
    tf.randomNormal([b, l, n], 0, 1, 'float32', seed + 3),
    tf.randomNormal([b, l, n], 0, 1, 'float32', seed + 4),
    tf.randomNormal([di], 0, 1, 'float32', seed + 5),
  ]) as Inputs;
}

/** y and the gradients of Σ y ⊙ w with respect to all six inputs, as arrays. */
function valueAndGrads(scan: ScanFn, inputs: Inputs, w: tf.Tensor): { y: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const y = scan(...inputs).dataSync() as Float32Array;
    const grads = tf.grads((...xs: tf.Tensor[]) => scan(...(xs as Inputs)).mul(w).sum())(inputs);
    return { y, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

const scale = (a: ArrayLike<number>): number => Math.max(1, ...Array.from(a, Math.abs));

const GRID: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [2, 5, 3, 4],
  [1, 17, 8, 16],
  [3, 9, 5, 2],
];

for (const backend of ['cpu', 'wasm'] as const) {
  test(`fused scan equals the sequential reference, forward and all six gradients (${backend})`, async () => {
    await useBackend(backend);
    for (const [b, l, di, n] of GRID) {
      const inputs = makeInputs(b, l, di, n, 7 * b + l);
      const w = tf.randomNormal([b, l, di], 0, 1, 'float32', 99);
      const ref = valueAndGrads(selectiveScanReference, inputs, w);
      let fused!: ReturnType<typeof valueAndGrads>;
      await assertNoLeak(() => {
        fused = valueAndGrads(selectiveScanFused, inputs, w);
      }, 'fused scan forward+backward');
      const where = `(b, l, di, n) = (${b}, ${l}, ${di}, ${n})`;
      const yErr = maxAbsDiff(fused.y, ref.y);
      assert.ok(yErr <= 1e-4 * scale(ref.y), `y differs by ${yErr} at ${where}`);
      ref.grads.forEach((g, i) => {
        assert.equal(fused.grads[i].length, g.length, `d${NAMES[i]} size at ${where}`);
        const err = maxAbsDiff(fused.grads[i], g);
        assert.ok(err <= 1e-4 * scale(g), `d${NAMES[i]} differs by ${err} (scale ${scale(g)}) at ${where}`);
      });
      tf.dispose([...inputs, w]);
    }
  });
}

test('the fallback scan (JavaScript loops on the kernel pool) equals the reference on 1 and 2 threads, and gives the same bits on both', async () => {
  await useBackend('wasm');
  const before = jsPoolThreads();
  try {
    // channels not a multiple of the 8-channel pieces; several sequences; more pieces than threads
    for (const [b, l, di, n] of [[1, 1, 1, 1], [3, 9, 13, 4], [2, 20, 24, 16]] as const) {
      const inputs = makeInputs(b, l, di, n, 11 * b + l);
      const w = tf.randomNormal([b, l, di], 0, 1, 'float32', 97);
      const ref = valueAndGrads(selectiveScanReference, inputs, w);
      const runs = [1, 2].map((threads) => {
        setJsPoolThreads(threads);
        return withoutNative(() => valueAndGrads(selectiveScanFused, inputs, w));
      });
      const where = `(b, l, di, n) = (${b}, ${l}, ${di}, ${n})`;
      for (const [k, run] of runs.entries()) {
        assert.ok(maxAbsDiff(run.y, ref.y) <= 1e-4 * scale(ref.y), `y at ${where}, ${k + 1} thread(s)`);
        ref.grads.forEach((g, i) => assert.ok(maxAbsDiff(run.grads[i], g) <= 1e-4 * scale(g), `d${NAMES[i]} at ${where}, ${k + 1} thread(s)`));
      }
      assert.deepEqual(runs[1].y, runs[0].y, `y at ${where}: 2 threads differ from 1`);
      runs[0].grads.forEach((g, i) => assert.deepEqual(runs[1].grads[i], g, `d${NAMES[i]} at ${where}: 2 threads differ from 1`));
      tf.dispose([...inputs, w]);
    }
  } finally {
    setJsPoolThreads(before);
  }
});

test('chunked scan equals the sequential reference, forward and all six gradients, for any chunk size (cpu)', async () => {
  await useBackend('cpu');
  for (const [b, l, di, n] of GRID) {
    const inputs = makeInputs(b, l, di, n, 3 * b + l);
    const w = tf.randomNormal([b, l, di], 0, 1, 'float32', 98);
    const ref = valueAndGrads(selectiveScanReference, inputs, w);
    for (const chunk of [undefined, 1, 4, 64]) {
      const scan: ScanFn = (...xs) => selectiveScanChunked(...xs, chunk);
      let chunked!: ReturnType<typeof valueAndGrads>;
      await assertNoLeak(() => {
        chunked = valueAndGrads(scan, inputs, w);
      }, 'chunked scan forward+backward');
      const where = `(b, l, di, n) = (${b}, ${l}, ${di}, ${n}), chunk ${chunk ?? '√l'}`;
      const yErr = maxAbsDiff(chunked.y, ref.y);
      assert.ok(yErr <= 1e-4 * scale(ref.y), `y differs by ${yErr} at ${where}`);
      ref.grads.forEach((g, i) => {
        const err = maxAbsDiff(chunked.grads[i], g);
        assert.ok(err <= 1e-4 * scale(g), `d${NAMES[i]} differs by ${err} (scale ${scale(g)}) at ${where}`);
      });
    }
    tf.dispose([...inputs, w]);
  }
});

test('fused scan gradients match central finite differences (cpu, fp32 tolerance)', async () => {
  await useBackend('cpu');
  const inputs = makeInputs(1, 4, 2, 3, 3);
  const w = tf.randomNormal([1, 4, 2], 0, 1, 'float32', 5);
  const { grads } = valueAndGrads(selectiveScanFused, inputs, w);
  const values = inputs.map((t) => t.dataSync().slice() as Float32Array);
  const loss = (vals: Float32Array[]): number =>
    tf.tidy(() => {
      const xs = vals.map((v, i) => tf.tensor(v, inputs[i].shape)) as Inputs;
      return selectiveScanFused(...xs).mul(w).sum().dataSync()[0];
    });
  const eps = 1e-2;
  values.forEach((v, i) => {
    const numeric = Array.from(v, (_, j) => {
      const plus = values.map((x) => x.slice());
      const minus = values.map((x) => x.slice());
      plus[i][j] += eps;
      minus[i][j] -= eps;
      return (loss(plus) - loss(minus)) / (2 * eps);
    });
    assertClose(grads[i], numeric, 5e-4, 2e-3, `d${NAMES[i]}`);
  });
  tf.dispose([...inputs, w]);
});

test('a hand-computed scan: one channel, one state, three steps', async () => {
  await useBackend('cpu');
  // Δ = ln 2, A = −1 → decay exp(ΔA) = 1/2; B = 1 so ΔBu = u ln 2; C = 2; D = 0.5.
  const ln2 = Math.log(2);
  const u = tf.tensor3d([1, 2, 4], [1, 3, 1]);
  const delta = tf.fill([1, 3, 1], ln2) as tf.Tensor3D;
  const A = tf.tensor2d([[-1]]);
  const B = tf.ones([1, 3, 1]) as tf.Tensor3D;
  const C = tf.fill([1, 3, 1], 2) as tf.Tensor3D;
  const D = tf.tensor1d([0.5]);
  const h1 = ln2;
  const h2 = h1 / 2 + 2 * ln2;
  const h3 = h2 / 2 + 4 * ln2;
  const expected = [2 * h1 + 0.5, 2 * h2 + 1, 2 * h3 + 2];
  const chunkedBy2: ScanFn = (...xs) => selectiveScanChunked(...xs, 2);
  for (const [name, scan] of Object.entries({ selectiveScanReference, selectiveScanFused, chunkedBy2 })) {
    const y = scan(u, delta, A, B, C, D);
    assertClose(y.dataSync(), expected, 1e-6, 1e-5, name);
    y.dispose();
  }
  tf.dispose([u, delta, A, B, C, D]);
});

test('dispatcher: fused on host backends, chunked or reference when asked, clear error on a bad shape', async () => {
  await useBackend('wasm');
  const inputs = makeInputs(2, 6, 3, 4, 11);
  const fused = tf.tidy(() => selectiveScanFused(...inputs).dataSync());
  const auto = tf.tidy(() => selectiveScan(...inputs).dataSync());
  const ref = tf.tidy(() => selectiveScan(...inputs, 'reference').dataSync());
  assert.deepEqual(auto, fused, 'auto uses the fused kernel on wasm (bit-identical)');
  assert.equal(fusedScanSupported('webgpu'), false, 'webgpu gets the chunked scan');
  assert.equal(fusedScanSupported('tensorflow'), false, 'tensorflow gets the chunked scan');
  const chunked = tf.tidy(() => selectiveScan(...inputs, 'chunked').dataSync());
  assert.ok(maxAbsDiff(chunked, ref) <= 1e-4 * scale(ref));
  assert.ok(maxAbsDiff(ref, fused) <= 1e-4 * scale(ref));
  const badB = tf.zeros([2, 6, 5]) as tf.Tensor3D;
  assert.throws(() => selectiveScan(inputs[0], inputs[1], inputs[2], badB, inputs[4], inputs[5]), /B has shape \[2,6,5\], expected \[2,6,4\]/);
  tf.dispose([...inputs, badB]);
});

test('fused scan memory grows linearly in l and stays below the composed scan (no (b, l, di, n) tensors)', async () => {
  await useBackend('wasm');
  const peak = async (scan: ScanFn, l: number): Promise<number> => {
    const inputs = makeInputs(2, l, 8, 16, 1);
    const info = await tf.profile(() => {
      tf.tidy(() => {
        tf.grads((...xs: tf.Tensor[]) => scan(...(xs as Inputs)).sum())(inputs);
      });
    });
    tf.dispose(inputs);
    return info.peakBytes;
  };
  const [short, long] = [await peak(selectiveScanFused, 64), await peak(selectiveScanFused, 256)];
  const ratio = long / short;
  assert.ok(ratio > 3.5 && ratio < 4.5, `peak bytes ×${ratio.toFixed(2)} for 4× the length (${short} → ${long})`);
  const composed = await peak(selectiveScanReference, 64);
  assert.ok(short * 4 < composed, `fused peak ${short} bytes should be far below the composed scan's ${composed}`);
});
