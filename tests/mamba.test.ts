import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { causalConv1d, mamba, mambaLti, MambaLM, type MambaConfig } from '../architectures/mamba.ts';
import { broadcastLeading } from '../architectures/layers.ts';
import type { ModelIO } from '../architectures/types.ts';
import { assertCausal, assertClose, assertNoLeak, assertStepsMatchForwardAtConstantState, maxAbsDiff, useBackend, assertOverfitsFixedBatch, assertParamCountsMatch } from './helpers.ts';

const IO: ModelIO = { vocabSize: 11, maxLen: 64, padId: 0 };
const TINY = { d_model: 16, n_layers: 2, d_state: 4 };
const VARIANTS = [mamba, mambaLti] as const;

function build(arch: (typeof VARIANTS)[number], overrides: Partial<MambaConfig> = {}, io = IO): MambaLM {
  return arch.build(arch.config.parse({ ...TINY, ...overrides }), io);
}

function tokens(values: number[][]): tf.Tensor2D {
  return tf.tensor2d(values, [values.length, values[0].length], 'int32');
}

test('causal conv1d: a hand-computed example, zeros before the start', async () => {
  await useBackend('cpu');
  const x = tf.tensor3d([[[1, 10], [2, 20], [3, 30], [4, 40]]]); // (1, 4, 2)
  // Taps run oldest → current: channel 0 computes x_{t−2} − x_t + 0.5, channel 1 x_{t−1} + 2 x_t.
  const weight = tf.tensor2d([[1, 0, -1], [0, 1, 2]]); // (2, 3)
  const bias = tf.tensor1d([0.5, 0]);
  const y = causalConv1d(x, weight, bias);
  assert.deepEqual(y.shape, [1, 4, 2]);
  assertClose(y.dataSync(), [-0.5, 20, -1.5, 50, -1.5, 80, -1.5, 110], 1e-6, 0, 'conv');
  tf.dispose([x, weight, bias, y]);
});

for (const arch of VARIANTS) {
  test(`${arch.name}: changing tokens after t never changes outputs at ≤ t`, async () => {
    await useBackend('wasm');
    const model = build(arch);
    assertCausal(model);
    model.dispose();
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    test(`${arch.name}: step() decoding equals the full forward, with constant state size (${backend})`, async () => {
      await useBackend(backend);
      const model = build(arch);
      await assertStepsMatchForwardAtConstantState(model, arch.stateBytes(model.cfg, IO, 0), arch.name);
      model.dispose();
    });
  }
}

test('scan: the model gives the same logits with the fused, chunked and reference scans (wasm)', async () => {
  await useBackend('wasm');
  const seq = tokens([[2, 7, 1, 8, 2, 8], [1, 4, 1, 4, 2, 1]]);
  const [fused, chunked, reference] = (['fused', 'chunked', 'reference'] as const).map((scan) => {
    const model = build(mamba, { scan });
    const logits = tf.tidy(() => model.forward(seq).dataSync());
    model.dispose();
    return logits;
  });
  assertClose(fused, reference, 1e-5, 1e-4, 'fused logits');
  assertClose(chunked, reference, 1e-5, 1e-4, 'chunked logits');
  seq.dispose();
});

test('mamba-lti: Δ, B, C do not depend on the input; in mamba they do', async () => {
  await useBackend('cpu');
  for (const [arch, selective] of [
    [mambaLti, false],
    [mamba, true],
  ] as const) {
    const model = build(arch);
    const mixer = model.blocks[0].mixer;
    const di = 2 * TINY.d_model;
    const [x1, x2] = [1, 2].map((seed) => tf.randomNormal([2, 5, di], 0, 1, 'float32', seed) as tf.Tensor3D);
    const [s1, s2] = [x1, x2].map((x) => mixer.scanInputs(x));
    for (const key of ['delta', 'B', 'C'] as const) {
      const diff = maxAbsDiff(s1[key].dataSync(), s2[key].dataSync());
      if (selective) assert.ok(diff > 1e-3, `${arch.name}: ${key} should change with the input`);
      else assert.equal(diff, 0, `${arch.name}: ${key} changed with the input`);
    }
    assert.deepEqual(s1.delta.shape, [2, 5, di]);
    assert.deepEqual(s1.B.shape, [2, 5, TINY.d_state]);
    tf.dispose([x1, x2, ...Object.values(s1), ...Object.values(s2)]);
    model.dispose();
  }
});

test('paramCount equals the built model for every preset, both variants (and an explicit dt_rank)', async () => {
  await useBackend('cpu');
  for (const arch of VARIANTS) assertParamCountsMatch(arch, [{ d_model: 24, dt_rank: 5, d_conv: 3, expand: 3 }]);
  const micro = mamba.config.parse(mamba.presets.micro);
  assert.deepEqual(mamba.size(micro), { dModel: 64, nLayers: 2 });
  assert.equal(mambaLti.config.parse({}).selective, false);
  assert.equal(mamba.config.parse({}).selective, true);
});

test('costs: training is 3× forward, both constant in the context length', () => {
  const cfg = mamba.config.parse(mamba.presets.micro);
  const io: ModelIO = { vocabSize: 32, maxLen: 4096, padId: 0 };
  const short = mamba.flopsPerToken(cfg, io, 64);
  const long = mamba.flopsPerToken(cfg, io, 4096);
  assert.deepEqual(long, short);
  assert.equal(short.training, 3 * short.forward);
  // the matmuls alone are 2 FLOPs per weight outside the embedding (plus the tied head)
  assert.ok(short.forward > 2 * (mamba.paramCount(cfg, io) - 32 * 64));
  assert.equal(mamba.stateBytes(cfg, io, 64), mamba.stateBytes(cfg, io, 4096));
  assert.equal(mamba.stateBytes(cfg, io, 1), 2 * (3 * 128 + 128 * 16) * 4);
});

for (const backend of ['cpu', 'wasm'] as const) {
  for (const arch of VARIANTS) {
    test(`${arch.name} overfits a fixed small batch with adam, no tensor leaks across steps (${backend})`, async () => {
      await useBackend(backend);
      const io: ModelIO = { vocabSize: 8, maxLen: 16, padId: 0 };
      const model = build(arch, { d_model: 16, n_layers: 2, d_state: 4 }, io);
      assertOverfitsFixedBatch(model, 1.8);
    });
  }
}

test('broadcastLeading: the value and the gradient of tf.broadcastTo, with the gradient one sum instead of a Slice and Add per copy', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    for (const [tail, lead] of [[[5], [3, 7]], [[2, 3], [4]], [[1], [2, 1, 3]], [[6], []]] as const) {
      const x = tf.randomNormal([...tail], 0, 1, 'float32', 7);
      const shape = [...lead, ...tail];
      const w = tf.randomNormal(shape, 0, 1, 'float32', 8); // a weighted loss, so each copy's gradient differs
      const loss = (f: (v: tf.Tensor) => tf.Tensor) => (v: tf.Tensor) => f(v).mul(w).sum();
      const ours = tf.valueAndGrad(loss((v) => broadcastLeading(v, shape)))(x);
      const theirs = tf.valueAndGrad(loss((v) => tf.broadcastTo(v, shape)))(x);
      assertClose(ours.value.dataSync(), theirs.value.dataSync(), 1e-6, 1e-5, `${backend} value ${shape}`);
      assertClose(ours.grad.dataSync(), theirs.grad.dataSync(), 1e-6, 1e-5, `${backend} gradient ${shape}`);
      assert.deepEqual(ours.grad.shape, x.shape);
      tf.dispose([x, w, ours.value, ours.grad, theirs.value, theirs.grad]);
    }
    // Mamba-LTI's (b, l) = (16, 64) broadcasts: a handful of kernels, not one Slice and one Add per position.
    const x = tf.variable(tf.ones([8]));
    const profile = await tf.profile(() => tf.grad((v: tf.Tensor) => broadcastLeading(v, [16, 64, 8]).sum())(x).dispose());
    const slices = profile.kernels.filter((k) => k.name === 'Slice').length;
    assert.ok(profile.kernels.length < 20 && slices === 0, `${backend}: ${profile.kernels.length} kernels, ${slices} Slice`);
    x.dispose();
  }
  assert.throws(() => broadcastLeading(tf.ones([3]), [2, 4]), /does not end in x's shape \[3\]/);
});
