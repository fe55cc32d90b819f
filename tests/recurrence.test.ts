import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  gruCell,
  gruSequence,
  gruSequenceReference,
  lstmCell,
  lstmSequence,
  lstmSequenceReference,
  rnnCell,
  rnnSequence,
  rnnSequenceReference,
} from '../architectures/kernels/recurrence.ts';
import { assertClose, assertNoLeak, useBackend } from './helpers.ts';

await useBackend('cpu');

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

/** Deterministic values in (−scale, scale), so failures reproduce. */
function wave(shape: number[], phase: number, scale = 1): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: size }, (_, i) => scale * Math.sin(1.7 * i + phase)), shape);
}

test('lstmCell, one unit: gates i,f,g,o from x + h·Wh, then c and h by hand', () => {
  // gates = [0.5, −0.3, 0.8, 0.1] + 0.6·[0.2, 0.4, −0.5, 0.3] = [0.62, −0.06, 0.5, 0.28]
  // σ(0.62) = 0.6502185, σ(−0.06) = 0.4850045, tanh(0.5) = 0.4621172, σ(0.28) = 0.5695462
  // c' = 0.4850045·(−0.2) + 0.6502185·0.4621172 = 0.2034762;  h' = 0.5695462·tanh(0.2034762) = 0.1143158
  tf.tidy(() => {
    const { h, c } = lstmCell(tf.tensor2d([[0.5, -0.3, 0.8, 0.1]]), tf.tensor2d([[0.2, 0.4, -0.5, 0.3]]), tf.tensor2d([[0.6]]), tf.tensor2d([[-0.2]]));
    assertClose(values(c), [0.2034762], 1e-6, 1e-5, 'c');
    assertClose(values(h), [0.1143158], 1e-6, 1e-5, 'h');
  });
});

test('gruCell, one unit: PyTorch convention, reset gate applied to h·Wh_n + bh_n', () => {
  // h·Wh + bh = 0.7·[0.4, 0.1, −0.6] + [0.05, −0.1, 0.2] = [0.33, −0.03, −0.22]
  // r = σ(0.3 + 0.33) = 0.6524895;  z = σ(−0.2 − 0.03) = 0.4427521
  // n = tanh(0.5 + 0.6524895·(−0.22)) = 0.3420853;  h' = (1 − z)·n + z·0.7 = 0.5005528
  tf.tidy(() => {
    const h = gruCell(tf.tensor2d([[0.3, -0.2, 0.5]]), tf.tensor2d([[0.4, 0.1, -0.6]]), tf.tensor1d([0.05, -0.1, 0.2]), tf.tensor2d([[0.7]]));
    assertClose(values(h), [0.5005528], 1e-6, 1e-5, 'h');
  });
});

test('rnnCell, one unit: tanh(x + h·Wh)', () => {
  // tanh(0.4 + (−0.5)·0.9) = tanh(−0.05) = −0.0499584
  tf.tidy(() => {
    const h = rnnCell(tf.tensor2d([[0.4]]), tf.tensor2d([[0.9]]), tf.tensor2d([[-0.5]]));
    assertClose(values(h), [-0.0499584], 1e-7, 1e-5, 'h');
  });
});

const [B, L, H] = [2, 5, 3];

test('lstmSequence equals looping lstmCell, and leaks nothing', async () => {
  const xProj = wave([B, L, 4 * H], 0.1) as tf.Tensor3D;
  const wh = wave([H, 4 * H], 0.7, 0.5) as tf.Tensor2D;
  const h0 = wave([B, H], 1.3) as tf.Tensor2D;
  const c0 = wave([B, H], 2.1) as tf.Tensor2D;
  const expected = tf.tidy(() => {
    let h = h0;
    let c = c0;
    const hs: number[][] = [];
    for (let t = 0; t < L; t++) {
      ({ h, c } = lstmCell(xProj.slice([0, t, 0], [B, 1, 4 * H]).squeeze([1]) as tf.Tensor2D, wh, h, c));
      hs.push(values(h));
    }
    return { hs, hT: values(h), cT: values(c) };
  });
  for (const run of [lstmSequenceReference, lstmSequence]) {
    await assertNoLeak(() => {
      const out = run(xProj, wh, h0, c0);
      assert.deepEqual(out.hs.shape, [B, L, H]);
      const hs = out.hs.arraySync();
      for (let t = 0; t < L; t++) assertClose(hs.flatMap((row) => row[t]), expected.hs[t], 1e-6, 1e-5, `hs[:, ${t}]`);
      assertClose(values(out.hT), expected.hT, 1e-6, 1e-5, 'hT');
      assertClose(values(out.cT), expected.cT, 1e-6, 1e-5, 'cT');
      tf.dispose([out.hs, out.hT, out.cT]);
    }, run.name);
  }
  tf.dispose([xProj, wh, h0, c0]);
});

test('gruSequence and rnnSequence equal looping their cells', async () => {
  const xGru = wave([B, L, 3 * H], 0.4) as tf.Tensor3D;
  const whGru = wave([H, 3 * H], 0.9, 0.5) as tf.Tensor2D;
  const bh = wave([3 * H], 1.9, 0.3) as tf.Tensor1D;
  const xRnn = wave([B, L, H], 0.2) as tf.Tensor3D;
  const whRnn = wave([H, H], 1.1, 0.5) as tf.Tensor2D;
  const h0 = wave([B, H], 1.3) as tf.Tensor2D;
  const loop = (cell: (xt: tf.Tensor2D, h: tf.Tensor2D) => tf.Tensor2D, x: tf.Tensor3D): number[][] =>
    tf.tidy(() => {
      let h = h0;
      return tf.unstack(x, 1).map((xt) => values((h = cell(xt as tf.Tensor2D, h))));
    });
  const expectedGru = loop((xt, h) => gruCell(xt, whGru, bh, h), xGru);
  const expectedRnn = loop((xt, h) => rnnCell(xt, whRnn, h), xRnn);
  const cases = [
    { name: 'gruSequenceReference', run: () => gruSequenceReference(xGru, whGru, bh, h0), expected: expectedGru },
    { name: 'gruSequence', run: () => gruSequence(xGru, whGru, bh, h0), expected: expectedGru },
    { name: 'rnnSequenceReference', run: () => rnnSequenceReference(xRnn, whRnn, h0), expected: expectedRnn },
    { name: 'rnnSequence', run: () => rnnSequence(xRnn, whRnn, h0), expected: expectedRnn },
  ];
  for (const { name, run, expected } of cases) {
    await assertNoLeak(() => {
      const out = run();
      const hs = out.hs.arraySync();
      for (let t = 0; t < L; t++) assertClose(hs.flatMap((row) => row[t]), expected[t], 1e-6, 1e-5, `${name} hs[:, ${t}]`);
      assertClose(values(out.hT), expected[L - 1], 1e-6, 1e-5, `${name} hT`);
      tf.dispose([out.hs, out.hT]);
    }, name);
  }
  tf.dispose([xGru, whGru, bh, xRnn, whRnn, h0]);
});

test('an empty sequence is refused with its shape', () => {
  tf.tidy(() => {
    assert.throws(() => rnnSequence(tf.zeros([1, 0, 2]) as tf.Tensor3D, tf.zeros([2, 2]) as tf.Tensor2D, tf.zeros([1, 2]) as tf.Tensor2D), /empty sequence.*1,0,2/);
  });
});

/**
 * Autodiff gradients of a scalar loss of the sequence outputs, against central finite differences
 * of every input element. float32 forward passes: eps 1e-2, and a 1e-2 relative tolerance.
 */
function checkGradients(name: string, inputs: tf.Tensor[], run: (...xs: tf.Tensor[]) => tf.Tensor[]): void {
  const weights = tf.tidy(() => run(...inputs).map((out, k) => wave(out.shape, 0.3 + k)));
  const loss = (...xs: tf.Tensor[]): tf.Scalar => tf.addN(run(...xs).map((out, k) => tf.sum(tf.mul(out, weights[k])))) as tf.Scalar;
  const grads = tf.tidy(() => tf.grads(loss)(inputs).map(values));
  const eps = 1e-2;
  inputs.forEach((input, k) => {
    const base = values(input);
    const numeric = base.map((_, i) => {
      const at = (delta: number): number =>
        tf.tidy(() => {
          const shifted = base.slice();
          shifted[i] += delta;
          const xs = inputs.map((x, j) => (j === k ? tf.tensor(shifted, input.shape) : x));
          return loss(...xs).dataSync()[0];
        });
      return (at(eps) - at(-eps)) / (2 * eps);
    });
    assertClose(grads[k], numeric, 1e-3, 1e-2, `${name} d/d input ${k}`);
  });
  tf.dispose(weights);
}

test('gradients of the three recurrences match finite differences', async () => {
  const [b, l, h] = [2, 3, 2];
  await assertNoLeak(() => {
    const h0 = wave([b, h], 1.3, 0.5);
    const lstmInputs = [wave([b, l, 4 * h], 0.1), wave([h, 4 * h], 0.7, 0.8), h0, wave([b, h], 2.1, 0.5)];
    checkGradients('lstm', lstmInputs, (x, wh, h0, c0) => {
      const out = lstmSequence(x as tf.Tensor3D, wh as tf.Tensor2D, h0 as tf.Tensor2D, c0 as tf.Tensor2D);
      return [out.hs, out.cT];
    });
    const gruInputs = [wave([b, l, 3 * h], 0.4), wave([h, 3 * h], 0.9, 0.8), wave([3 * h], 1.9, 0.5), h0];
    checkGradients('gru', gruInputs, (x, wh, bh, h0) => [gruSequence(x as tf.Tensor3D, wh as tf.Tensor2D, bh as tf.Tensor1D, h0 as tf.Tensor2D).hs]);
    const rnnInputs = [wave([b, l, h], 0.2), wave([h, h], 1.1, 0.8), h0];
    checkGradients('rnn', rnnInputs, (x, wh, h0) => [rnnSequence(x as tf.Tensor3D, wh as tf.Tensor2D, h0 as tf.Tensor2D).hs]);
    tf.dispose([...lstmInputs, ...gruInputs, ...rnnInputs]);
  }, 'gradient checks');
});
