/**
 * The registered Identity on wasm (architectures/kernels/identity.ts) shares the input's buffer: the
 * output equals the input for every dtype, either side survives the other's disposal in any order,
 * tensor and byte counts return to where they were; the fused AdamW, the one kernel that writes into an
 * existing buffer, leaves a clone of a parameter as it was; a Transformer's and a Mamba model's loss,
 * every gradient and the weights over a few AdamW steps are identical with tfjs's copying Identity
 * (SEQARENA_IDENTITY=tfjs), which seqarena list names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { activeKernels } from '../architectures/kernels/active.ts';
import { adamwFused } from '../architectures/kernels/adamw.ts';
import { identityInfo, setIdentityChoice } from '../architectures/kernels/identity.ts';
import { nativeAddon } from '../architectures/kernels/native.ts';
import { mamba } from '../architectures/mamba.ts';
import { transformer } from '../architectures/transformer.ts';
import type { LMModel } from '../architectures/types.ts';
import { AdamW } from '../harness/optimizer.ts';
import { TrainingSettings } from '../harness/spec.ts';
import { useBackend } from './helpers.ts';

const refCount = (t: tf.Tensor): number => tf.backend().refCount(t.dataId);

/** tf.memory()'s counts, to compare before and after. */
const counts = () => {
  const { numTensors, numBytes, numDataBuffers } = tf.memory();
  return { numTensors, numBytes, numDataBuffers };
};

/** Run fn with tfjs's copying Identity, then go back to the sharing one. */
function withTfjs<T>(fn: () => T): T {
  setIdentityChoice('tfjs');
  try {
    return fn();
  } finally {
    setIdentityChoice('share');
  }
}

const INPUTS: [string, () => tf.Tensor][] = [
  ['float32', () => tf.tensor([1.5, -0, Infinity, Number.NaN, 1e-45, -3.4e38], [2, 3])],
  ['int32', () => tf.tensor([7, -2, 0, 2147483647], [4], 'int32')],
  ['bool', () => tf.tensor([true, false, true], [3], 'bool')],
  ['an empty float32', () => tf.zeros([0, 4])],
];

test('Identity on wasm shares the buffer: the output equals the input, and survives the input disposed first', async () => {
  await useBackend('wasm');
  for (const [what, make] of INPUTS) {
    const before = counts();
    const x = make();
    const expected = Array.from(x.dataSync());
    const y = tf.clone(x);
    assert.equal(y.dataId, x.dataId, `${what}: one buffer`);
    assert.equal(refCount(x), 2, `${what}: two references`);
    assert.deepEqual(y.shape, x.shape);
    assert.equal(y.dtype, x.dtype);
    x.dispose();
    assert.equal(refCount(y), 1, `${what}: one reference left`);
    assert.deepEqual(Array.from(y.dataSync()), expected, `${what}: read after the input's disposal`);
    y.dispose();
    assert.deepEqual(counts(), before, `${what}: counts back where they were`);
  }
});

test('Identity on wasm: the input survives the output disposed first, and clones disposed in any order free the buffer once', async () => {
  await useBackend('wasm');
  const before = counts();
  const x = tf.tensor([1, 2, 3, 4, 5, 6], [3, 2]);
  const y = tf.clone(x);
  y.dispose();
  assert.equal(refCount(x), 1);
  assert.deepEqual(Array.from(x.dataSync()), [1, 2, 3, 4, 5, 6], "read after the output's disposal");
  const clones = [tf.clone(x), tf.clone(x)];
  const cloneOfClone = tf.clone(clones[0]);
  assert.equal(refCount(x), 4);
  assert.equal(tf.memory().numDataBuffers, before.numDataBuffers + 1, 'one buffer for all of them');
  x.dispose();
  clones[1].dispose();
  assert.deepEqual(Array.from(clones[0].dataSync()), [1, 2, 3, 4, 5, 6]);
  clones[0].dispose();
  assert.equal(tf.memory().numDataBuffers, before.numDataBuffers + 1, 'the buffer stays while a reference does');
  assert.deepEqual(Array.from(cloneOfClone.dataSync()), [1, 2, 3, 4, 5, 6]);
  cloneOfClone.dispose();
  assert.deepEqual(counts(), before);
});

test('Identity inside tf.tidy and in a gradient: kept outputs stay, the rest is freed, counts return', async () => {
  await useBackend('wasm');
  const before = counts();
  const x = tf.tensor([3, -1, 2], [3]);
  const kept = tf.tidy(() => {
    const a = tf.clone(x);
    const b = tf.clone(a);
    return tf.keep(b.mul(1));
  });
  assert.deepEqual(Array.from(kept.dataSync()), [3, -1, 2]);
  const w = tf.variable(x);
  const { value, grads } = tf.variableGrads(() => tf.clone(w).square().sum() as tf.Scalar, [w]);
  assert.deepEqual(Array.from(grads[w.name].dataSync()), [6, -2, 4]);
  assert.equal(value.dataSync()[0], 14);
  tf.dispose([value, ...Object.values(grads), kept, x, w]);
  assert.deepEqual(counts(), before);
});

test('the fused AdamW leaves a clone of a parameter as it was: a shared buffer gets a copy before the in-place write', async () => {
  await useBackend('wasm');
  for (const implementation of nativeAddon() ? (['native', 'js'] as const) : (['js'] as const)) {
    const param = tf.variable(tf.tensor([1, 2, 3, 4]));
    const m = tf.variable(tf.zeros([4]), false);
    const v = tf.variable(tf.zeros([4]), false);
    const grad = tf.tensor([0.5, -0.5, 1, -1]);
    const [paramClone, mClone] = [tf.clone(param), tf.clone(m)];
    assert.equal(paramClone.dataId, param.dataId, 'the clone shares the buffer');
    adamwFused([{ param, grad, m, v, decay: true }], { learningRate: 0.1, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.01, clip: 10, t: 1 }, implementation);
    assert.deepEqual(Array.from(paramClone.dataSync()), [1, 2, 3, 4], `${implementation}: the clone keeps the old value`);
    assert.deepEqual(Array.from(mClone.dataSync()), [0, 0, 0, 0], `${implementation}: the moment's clone too`);
    assert.notDeepEqual(Array.from(param.dataSync()), [1, 2, 3, 4], `${implementation}: the parameter moved`);
    assert.notEqual(param.dataId, paramClone.dataId);
    tf.dispose([param, m, v, grad, paramClone, mClone]);
  }
});

/** Per step: the loss and every weight's gradient; then the weights after the steps, all read back. */
async function trainFewSteps(model: LMModel, tokens: tf.Tensor2D, steps: number): Promise<Float32Array[][]> {
  const settings = TrainingSettings.parse({ steps, warmupSteps: 1, learningRate: 1e-2, gradClip: 1 });
  const optimizer = new AdamW(model.trainableWeights, model.decayedWeights, settings);
  const input = tokens.slice([0, 0], [-1, tokens.shape[1] - 1]);
  const target = tokens.slice([0, 1], [-1, -1]);
  const lossFn = () => tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(target, 13), model.forward(input, true) as tf.Tensor) as tf.Scalar);
  const record: Float32Array[][] = [];
  for (let step = 0; step < steps; step++) {
    const { value, grads } = tf.variableGrads(lossFn, model.trainableWeights);
    record.push([value.dataSync() as Float32Array, ...model.trainableWeights.map((w) => grads[w.name].dataSync() as Float32Array)]);
    tf.dispose([value, ...Object.values(grads)]);
    const { loss } = await optimizer.step(step, lossFn);
    assert.equal(loss, record[step][0][0], 'the update saw the same loss');
  }
  record.push(model.trainableWeights.map((w) => w.dataSync() as Float32Array));
  optimizer.dispose();
  tf.dispose([input, target]);
  return record;
}

const MODELS: [string, () => LMModel][] = [
  ['Transformer', () => transformer.build(transformer.config.parse({ d_model: 16, n_layers: 2, n_heads: 2, seed: 4 }), { vocabSize: 13, maxLen: 12, padId: 0 }) as LMModel],
  ['Mamba', () => mamba.build(mamba.config.parse({ d_model: 16, n_layers: 2, d_state: 4, seed: 4 }), { vocabSize: 13, maxLen: 12, padId: 0 }) as LMModel],
];

for (const [name, build] of MODELS) {
  test(`a ${name}'s loss, every gradient and its weights over 3 AdamW steps are identical with tfjs's copying Identity`, async () => {
    await useBackend('wasm');
    const tokens = tf.tensor2d([[1, 5, 3, 9, 2, 7, 4, 10, 6, 12], [3, 3, 8, 1, 11, 2, 5, 9, 9, 0]], undefined, 'int32');
    const before = counts();
    const run = async (): Promise<Float32Array[][]> => {
      const model = build();
      try {
        return await trainFewSteps(model, tokens, 3);
      } finally {
        model.dispose();
      }
    };
    const profile = await tf.profile(() => run());
    const identities = profile.kernels.filter((k) => k.name === 'Identity').length;
    assert.ok(identities > 0, `the steps run Identity (${identities} calls)`);
    const shared = await run();
    assert.deepEqual(counts(), before, 'nothing leaked with the sharing Identity');
    setIdentityChoice('tfjs');
    let copied: Float32Array[][];
    try {
      copied = await run();
    } finally {
      setIdentityChoice('share');
    }
    assert.deepEqual(counts(), before, "nothing leaked with tfjs's Identity");
    assert.deepEqual(shared, copied);
    tokens.dispose();
  });
}

test("SEQARENA_IDENTITY=tfjs (setIdentityChoice) hands Identity to tfjs's copying kernel, and seqarena list says which runs", async () => {
  await useBackend('wasm');
  assert.equal(activeKernels().identity, identityInfo());
  assert.match(identityInfo(), /shares the input's buffer/);
  const x = tf.tensor([1, 2, 3]);
  const copy = withTfjs(() => {
    assert.match(identityInfo(), /^tfjs's own kernel, a copy .*SEQARENA_IDENTITY=tfjs/);
    assert.equal(activeKernels().identity, identityInfo());
    return tf.clone(x);
  });
  assert.notEqual(copy.dataId, x.dataId, "tfjs's kernel copies");
  assert.equal(refCount(x), 1);
  assert.deepEqual(Array.from(copy.dataSync()), [1, 2, 3]);
  const strings = tf.tensor(['a', 'bc']);
  const stringCopy = tf.clone(strings);
  assert.deepEqual(stringCopy.dataSync(), ['a', 'bc'], "strings go to tfjs's kernel");
  tf.dispose([x, copy, strings, stringCopy]);
});
