/** The training loop: schedule, loss, batching, greedy decoding, and every architecture training leak-free on cpu and wasm. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURES } from '../architectures/index.ts';
import type { Architecture, DecodeState, LMModel } from '../architectures/types.ts';
import { pairAsLM, makeBatch, disposeBatch } from '../harness/batches.ts';
import { resolveRun, type RunSpecInput } from '../harness/spec.ts';
import { learningRateAt } from '../harness/optimizer.ts';
import { greedyDecode } from '../harness/evaluate.ts';
import { maskedCrossEntropy } from '../harness/loss.ts';
import { train } from '../harness/train.ts';
import { SPECIALS } from '../tasks/types.ts';
import { useBackend } from './helpers.ts';

test('learning rate: linear warm-up to the peak, then cosine decay to 10%', () => {
  const s = { learningRate: 1, warmupSteps: 10, steps: 110 } as Parameters<typeof learningRateAt>[1];
  assert.equal(learningRateAt(0, s), 0.1);
  assert.equal(learningRateAt(9, s), 1);
  assert.ok(Math.abs(learningRateAt(10, s) - 1) < 1e-12);
  assert.ok(Math.abs(learningRateAt(60, s) - 0.55) < 1e-12); // halfway: 0.1 + 0.9·0.5
  assert.ok(Math.abs(learningRateAt(110, s) - 0.1) < 1e-12);
});

test('masked cross-entropy: uniform logits give log V on answer positions; unmasked positions do not count', async () => {
  await useBackend('cpu');
  const v = 8;
  const logits = tf.tidy(() => tf.zeros([1, 3, v]).add(tf.oneHot([0, 5, 0], v).mul(100).reshape([1, 3, v]))) as tf.Tensor3D;
  // position 1 is confidently wrong (predicts 5, target 2) but masked out; 0 and 2 are uniform except one big logit at 0
  const target = tf.tensor2d([[0, 2, 3]], [1, 3], 'int32');
  const mask = tf.tensor2d([[1, 0, 1]]);
  const loss = maskedCrossEntropy(logits, target, mask).dataSync()[0];
  // position 0: right with logit 100 → ≈ 0; position 2: target 3 with logit 0 vs one logit 100 → ≈ 100
  assert.ok(Math.abs(loss - 50) < 1e-3, `loss ${loss}`);
  const uniform = maskedCrossEntropy(tf.zeros([2, 4, v]) as tf.Tensor3D, tf.zeros([2, 4], 'int32') as tf.Tensor2D, tf.ones([2, 4]) as tf.Tensor2D).dataSync()[0];
  assert.ok(Math.abs(uniform - Math.log(v)) < 1e-5);
  tf.dispose([logits, target, mask]);
});

test('a translation pair becomes `source <sep> target <eos>` with loss on the target only', () => {
  const lm = pairAsLM({ form: 'pair', source: [10, 11], target: [20, 21, 22] });
  assert.deepEqual(lm.input, [10, 11, SPECIALS.sep, 20, 21, 22]);
  assert.deepEqual(lm.target, [11, SPECIALS.sep, 20, 21, 22, SPECIALS.eos]);
  assert.deepEqual(lm.answer, [2, 3, 4, 5]);
});

test('encoder–decoder batches pad sources and put BOS before and EOS after the target', async () => {
  await useBackend('cpu');
  const b = makeBatch([{ form: 'pair', source: [7], target: [8, 9] }, { form: 'pair', source: [5, 6, 4], target: [9] }], 'seq2seq', 0);
  assert.deepEqual(b.source!.arraySync(), [[7, 0, 0], [5, 6, 4]]);
  assert.deepEqual(b.input.arraySync(), [[SPECIALS.bos, 8, 9], [SPECIALS.bos, 9, 0]]);
  assert.deepEqual(b.target.arraySync(), [[8, 9, SPECIALS.eos], [9, SPECIALS.eos, 0]]);
  assert.deepEqual(b.mask.arraySync(), [[1, 1, 1], [1, 1, 0]]);
  disposeBatch(b);
});

/** A fake decoder that always predicts (last token + 1) mod v, emitting EOS after token 9. */
function countingModel(v: number): LMModel {
  const state = (n: number): DecodeState => ({ bytes: () => n, dispose: () => {} });
  return {
    form: 'lm',
    forward: () => {
      throw new Error('not used');
    },
    initState: () => state(0),
    step: (token, s) => {
      const next = tf.tidy(() => {
        const t = token.dataSync();
        const rows = Array.from(t, (x) => (x === 9 ? SPECIALS.eos : (x + 1) % v));
        return tf.oneHot(rows, v).toFloat() as tf.Tensor2D;
      });
      return { logits: next, state: state(s.bytes() + 1) };
    },
    trainableWeights: [],
    decayedWeights: new Set(),
    dispose: () => {},
  };
}

test('greedy decoding handles ragged prefixes in one batch and stops at EOS', async () => {
  await useBackend('cpu');
  const model = countingModel(16);
  // prefixes: [5, 6, <sep>] and [7, <sep>]; after <sep> (3) the fake model predicts 4, 5, … until 9, then EOS.
  const out = await greedyDecode(model, [{ form: 'pair', source: [5, 6], target: [] }, { form: 'pair', source: [7], target: [] }], 10);
  assert.deepEqual(out, [
    [4, 5, 6, 7, 8, 9],
    [4, 5, 6, 7, 8, 9],
  ]);
  const capped = await greedyDecode(model, [{ form: 'pair', source: [1], target: [] }], 3);
  assert.deepEqual(capped, [[4, 5, 6]]);
});

function tinySpec(arch: Architecture, backend: 'cpu' | 'wasm'): RunSpecInput {
  const translation = arch.form === 'seq2seq';
  return {
    arch: arch.name,
    preset: 'nano',
    task: translation ? 'en-fr' : 'mqar',
    taskParams: translation ? {} : { seq_len: 16, num_kv_pairs: 2, vocab_size: 16 },
    training: { steps: 4, batchSize: 2, evalEvery: 100, evalExamples: 4, warmupSteps: 1 },
    backend,
  };
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`every architecture trains on ${backend} with finite losses and no tensor leak across steps`, async () => {
    await useBackend(backend);
    for (const arch of Object.values(ARCHITECTURES as Record<string, Architecture>)) {
      const run = resolveRun(tinySpec(arch, backend));
      const model = run.arch.build(run.config, run.io);
      const counts: number[] = [];
      const outcome = await train(run, model, { onStep: () => counts.push(tf.memory().numTensors) });
      model.dispose();
      assert.equal(outcome.steps.length, 4, arch.name);
      assert.ok(outcome.steps.every((s) => Number.isFinite(s.loss)), `${arch.name}: losses ${outcome.steps.map((s) => s.loss)}`);
      // after the optimizer's slots exist (step 1), the tensor count must not grow
      assert.equal(counts[3], counts[1], `${arch.name} on ${backend} leaked tensors across steps: ${counts}`);
      assert.ok(outcome.peakTensorBytes > 0, `${arch.name}: peak tensor bytes recorded`);
    }
  });
}

test('the same spec and seed give identical loss curves on cpu; another seed does not', async () => {
  await useBackend('cpu');
  const curve = async (seed: number) => {
    const run = resolveRun({ ...tinySpec(ARCHITECTURES.transformer as Architecture, 'cpu'), seed });
    const model = run.arch.build(run.config, run.io);
    const outcome = await train(run, model);
    model.dispose();
    return outcome.steps.map((s) => s.loss);
  };
  const first = await curve(0);
  assert.deepEqual(await curve(0), first);
  assert.notDeepEqual(await curve(1), first);
});

test('encoder–decoders train on one-token sources (tfjs cannot differentiate an unstack of a single step)', async () => {
  await useBackend('wasm');
  for (const arch of Object.values(ARCHITECTURES as Record<string, Architecture>).filter((a) => a.form === 'seq2seq')) {
    const config = arch.config.parse(arch.presets.nano);
    const model = arch.build(config, { vocabSize: 16, maxLen: 16, padId: 0 });
    if (model.form !== 'seq2seq') throw new Error('expected an encoder–decoder');
    const batch = makeBatch([{ form: 'pair', source: [5], target: [6, 7] }, { form: 'pair', source: [9], target: [8] }], 'seq2seq', 0);
    const grads = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => maskedCrossEntropy(model.forward(batch.source!, batch.input, true), batch.target, batch.mask), model.trainableWeights);
      return Object.values(grads).map((g) => g.abs().sum().dataSync()[0]);
    });
    disposeBatch(batch);
    model.dispose();
    assert.ok(grads.every(Number.isFinite) && grads.some((g) => g > 0), `${arch.name}: gradients ${grads}`);
  }
});
