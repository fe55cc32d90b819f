/**
 * The WGSL recurrences (architectures/kernels/webgpu/recurrence.wgsl.ts) equal the composed references
 * of recurrence.ts — hidden states, final states and the gradients of every input, through hs and the
 * final states both — on Dawn's adapter (a software one where there is no GPU), for LSTM, GRU and the
 * Elman RNN, with odd sizes and more hidden units than a workgroup has invocations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { gruSequence, gruSequenceReference, lstmSequence, lstmSequenceReference, rnnSequence, rnnSequenceReference } from '../architectures/kernels/recurrence.ts';
import { gruSequenceWgsl, lstmSequenceWgsl, rnnSequenceWgsl } from '../architectures/kernels/webgpu/recurrence.wgsl.ts';
import { assertModelOnWebgpuEqualsCpu, magnitude, maxAbsDiff, useBackend, valuesOf, webgpuSkipReason } from './helpers.ts';

const skip = (await webgpuSkipReason()) ?? false;

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [2, 5, 3],
  [3, 7, 5],
  [2, 4, 70],
];

type Cell = 'lstm' | 'gru' | 'rnn';
const GATES: Record<Cell, number> = { rnn: 1, gru: 3, lstm: 4 };

/**
 * The inputs of one cell's sequence function, in its argument order, and the loss weights: xProj
 * (b, l, G·h), wh (h, G·h), [bh (G·h)], h0, [c0] (b, h); then weights for hs, hT, [cT].
 */
async function makeInputs(cell: Cell, b: number, l: number, h: number, seed: number): Promise<{ shapes: number[][]; values: Float32Array[] }> {
  await useBackend('cpu');
  const gh = GATES[cell] * h;
  const inputs = cell === 'lstm' ? [[b, l, gh], [h, gh], [b, h], [b, h]] : cell === 'gru' ? [[b, l, gh], [h, gh], [gh], [b, h]] : [[b, l, gh], [h, gh], [b, h]];
  const weights = cell === 'lstm' ? [[b, l, h], [b, h], [b, h]] : [[b, l, h], [b, h]];
  const shapes = [...inputs, ...weights];
  const values = tf.tidy(() => shapes.map((s, i) => tf.randomNormal(s, 0, i === 1 ? 1 / Math.sqrt(h) : 1, 'float32', seed + i).dataSync() as Float32Array));
  return { shapes, values };
}

type Outputs = { hs: tf.Tensor; hT: tf.Tensor; cT?: tf.Tensor };
type Sequence = (...xs: tf.Tensor[]) => Outputs;

/** The outputs and the gradients of Σ hs⊙w + Σ hT⊙wT (+ Σ cT⊙wC) with respect to every input. */
async function valueAndGrads(run: Sequence, cell: Cell, shapes: number[][], values: Float32Array[]): Promise<Float32Array[]> {
  const tensors = values.map((v, i) => tf.tensor(v, shapes[i]));
  const nInputs = cell === 'rnn' ? 3 : 4;
  const inputs = tensors.slice(0, nInputs);
  const weights = tensors.slice(nInputs);
  const loss = (...xs: tf.Tensor[]): tf.Scalar => {
    const out = run(...xs);
    const parts = [out.hs, out.hT, ...(out.cT ? [out.cT] : [])];
    return tf.addN(parts.map((p, i) => p.mul(weights[i]).sum())) as tf.Scalar;
  };
  const out = run(...inputs);
  const grads = tf.grads(loss)(inputs);
  const result = await Promise.all([out.hs, out.hT, ...(out.cT ? [out.cT] : []), ...grads].map(valuesOf));
  tf.dispose([out.hs, out.hT, ...(out.cT ? [out.cT] : []), ...grads, ...tensors]);
  return result;
}

const CELLS: { cell: Cell; reference: Sequence; wgsl: Sequence; names: string[] }[] = [
  { cell: 'lstm', reference: lstmSequenceReference as Sequence, wgsl: lstmSequenceWgsl as Sequence, names: ['hs', 'hT', 'cT', 'dxProj', 'dwh', 'dh0', 'dc0'] },
  { cell: 'gru', reference: gruSequenceReference as Sequence, wgsl: gruSequenceWgsl as Sequence, names: ['hs', 'hT', 'dxProj', 'dwh', 'dbh', 'dh0'] },
  { cell: 'rnn', reference: rnnSequenceReference as Sequence, wgsl: rnnSequenceWgsl as Sequence, names: ['hs', 'hT', 'dxProj', 'dwh', 'dh0'] },
];

for (const { cell, reference, wgsl, names } of CELLS) {
  test(`the WGSL ${cell} recurrence equals the reference: states, final states and every gradient`, { skip }, async () => {
    for (const [index, [b, l, h]] of SIZES.entries()) {
      const { shapes, values } = await makeInputs(cell, b, l, h, 17 * index + 2);
      const want = await valueAndGrads(reference, cell, shapes, values);
      await useBackend('webgpu');
      const before = tf.memory().numTensors;
      const got = await valueAndGrads(wgsl, cell, shapes, values);
      assert.equal(tf.memory().numTensors, before, `the WGSL ${cell} leaked tensors`);
      want.forEach((w, i) => {
        const err = maxAbsDiff(got[i], w);
        assert.ok(err <= 1e-4 * magnitude(w), `${cell} ${names[i]} differs by ${err} (scale ${magnitude(w)}) at (b, l, h) = (${b}, ${l}, ${h})`);
      });
    }
  });
}

test('on webgpu the recurrences pick the WGSL kernels, and SEQARENA_WEBGPU_KERNELS=reference switches them off', { skip }, async () => {
  const lstm = await makeInputs('lstm', 1, 2, 2, 3);
  const gru = await makeInputs('gru', 1, 2, 2, 4);
  const rnn = await makeInputs('rnn', 1, 2, 2, 5);
  await useBackend('webgpu');
  const tensors = (x: { shapes: number[][]; values: Float32Array[] }, count: number) => x.values.slice(0, count).map((v, i) => tf.tensor(v, x.shapes[i]));
  const [l1, l2, l3, l4] = tensors(lstm, 4);
  const [g1, g2, g3, g4] = tensors(gru, 4);
  const [r1, r2, r3] = tensors(rnn, 3);
  const kernelsRun = async (): Promise<string[]> => {
    const profile = await tf.profile(() => {
      const outs = [lstmSequence(l1 as tf.Tensor3D, l2 as tf.Tensor2D, l3 as tf.Tensor2D, l4 as tf.Tensor2D), gruSequence(g1 as tf.Tensor3D, g2 as tf.Tensor2D, g3 as tf.Tensor1D, g4 as tf.Tensor2D), rnnSequence(r1 as tf.Tensor3D, r2 as tf.Tensor2D, r3 as tf.Tensor2D)];
      return outs.flatMap((o) => Object.values(o) as tf.Tensor[]);
    });
    tf.dispose(profile.result as tf.Tensor[]);
    return profile.kernelNames;
  };
  const wgslNames = ['SeqarenaWgslLstmSequence', 'SeqarenaWgslGruSequence', 'SeqarenaWgslRnnSequence'];
  const names = await kernelsRun();
  for (const name of wgslNames) assert.ok(names.includes(name), `${name} ran`);
  process.env.SEQARENA_WEBGPU_KERNELS = 'reference';
  try {
    const off = await kernelsRun();
    for (const name of wgslNames) assert.ok(!off.includes(name), `${name} did not run`);
  } finally {
    delete process.env.SEQARENA_WEBGPU_KERNELS;
  }
  tf.dispose([l1, l2, l3, l4, g1, g2, g3, g4, r1, r2, r3]);
});

test('LSTM and GRU language models give the same loss and gradients on webgpu (WGSL recurrences) as on cpu', { skip }, async () => {
  for (const arch of ['lstm', 'gru']) await assertModelOnWebgpuEqualsCpu(arch, [...Array(32)].map((_, i) => (i * 5) % 16));
});
