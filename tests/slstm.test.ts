/**
 * xLSTM's sLSTM (architectures/slstm.ts): the stabilised cell against the unstabilised one in float64 summed by
 * hand (large input gates included), its recurrent kernel's head structure, causality, step() against the full
 * forward, xlstm's initialisation, parameter counts and FLOPs from the built model, training, the registry and
 * `seqarena list`, and the composed ops on webgpu.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURES } from '../architectures/index.ts';
import { forgetBiases, initialSlstmState, slstm, SlstmLM, slstmSequence, type SlstmConfig } from '../architectures/slstm.ts';
import { PRESET_NAMES, type ModelIO } from '../architectures/types.ts';
import { listing } from '../harness/commands/list.ts';
import { assertCausal, assertClose, assertModelOnWebgpuEqualsCpu, assertOverfitsFixedBatch, assertParamCountsMatch, assertStepsMatchForwardAtConstantState, useBackend, webgpuSkipReason } from './helpers.ts';

// Started before any test is registered: starting webgpu switches the backend under a running test.
const webgpuSkip = (await webgpuSkipReason()) ?? false;
const IO: ModelIO = { vocabSize: 11, maxLen: 64, padId: 0 };
/** 2 heads of 4. */
const TINY = { d_model: 8, n_layers: 2, n_heads: 2 };

function build(overrides: Partial<SlstmConfig> = {}, io = IO): SlstmLM {
  return slstm.build(slstm.config.parse({ ...TINY, ...overrides }), io);
}

/**
 * The cell without a stabiliser in float64 on the host, for b = 1: per channel c_t = f c + i z, n_t = f n + i,
 * y_t = o c / n with i = exp(ĩ), f = σ(f̃), z = tanh(z̃), o = σ(õ), each pre-activation W x + R y_{t−1} + bias.
 */
function unstabilised(wx: number[][][], R: number[][][], bias: number[][], h: number): number[][] {
  const [l, d] = [wx[0].length, wx[0][0].length];
  const dh = d / h;
  let [y, c, n] = [new Array(d).fill(0), new Array(d).fill(0), new Array(d).fill(0)];
  const out: number[][] = [];
  for (let t = 0; t < l; t++) {
    const pre = [0, 1, 2, 3].map((g) =>
      Array.from({ length: d }, (_, ch) => {
        const [head, j] = [Math.floor(ch / dh), ch % dh];
        let r = 0;
        for (let k = 0; k < dh; k++) r += y[head * dh + k] * R[head][k][g * dh + j];
        return wx[g][t][ch] + r + bias[g][ch];
      }),
    );
    const sigma = (x: number) => 1 / (1 + Math.exp(-x));
    const nextC = c.map((cv, ch) => sigma(pre[1][ch]) * cv + Math.exp(pre[0][ch]) * Math.tanh(pre[2][ch]));
    const nextN = n.map((nv, ch) => sigma(pre[1][ch]) * nv + Math.exp(pre[0][ch]));
    y = nextC.map((cv, ch) => (sigma(pre[3][ch]) * cv) / nextN[ch]);
    [c, n] = [nextC, nextN];
    out.push(y);
  }
  return out;
}

test('sLSTM cell: the stabilised recurrence equals the unstabilised cell in float64, with a block-diagonal R and input gates up to ĩ ≈ 100 (cpu, wasm)', async () => {
  const [l, d, h] = [6, 4, 2];
  const values = (seed: number, n: number, scale = 1) => Array.from({ length: n }, (_, i) => scale * Math.sin(1.7 * i + seed));
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    for (const base of [0, 30, 100]) {
      const wx = [0, 1, 2, 3].map((g) => Array.from({ length: l }, (_, t) => values(10 * g + t, d).map((v) => (g === 0 ? v + base : v))));
      const R = Array.from({ length: h }, (_, head) => Array.from({ length: d / h }, (_, k) => values(50 + 7 * head + k, 4 * (d / h), 0.5)));
      const bias = [0, 1, 2, 3].map((g) => values(90 + g, d, 0.3));
      const want = unstabilised(wx, R, bias, h).flat();
      const got = tf.tidy(() => {
        const [i, f, z, o] = wx.map((g) => tf.tensor3d(g.flat(), [1, l, d]));
        return slstmSequence({ i, f, z, o }, tf.tensor3d(R.flat(2), [h, d / h, 4 * (d / h)]), tf.tensor2d(bias.flat(), [4, d]), initialSlstmState(1, d)).y.dataSync();
      });
      assert.ok(got.every(Number.isFinite), `${backend}, ĩ ≈ ${base}: ${got}`);
      assertClose(got, want, 1e-5, 1e-4, `${backend}, ĩ ≈ ${base}`);
    }
  }
});

test("sLSTM: changing tokens after t never changes outputs at ≤ t; a head's channels never mix with another head's", async () => {
  await useBackend('cpu');
  const model = build();
  // give R and the gates' weights non-zero values, so memory mixing is exercised
  tf.tidy(() => model.trainableWeights.forEach((v, i) => v.shape.length >= 2 && v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', i))));
  assertCausal(model);
  const R = model.blocks[0].mixer.recurrent;
  assert.deepEqual(R.shape, [2, 4, 16], 'one (dh, 4 dh) kernel per head');
  model.dispose();
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`sLSTM: step() decoding equals the full forward, with constant state size (${backend})`, async () => {
    await useBackend(backend);
    const model = build();
    tf.tidy(() => model.blocks.forEach(({ mixer }, i) => mixer.recurrent.assign(tf.randomNormal(mixer.recurrent.shape, 0, 0.3, 'float32', 7 + i))));
    await assertStepsMatchForwardAtConstantState(model, slstm.stateBytes(model.cfg), 'slstm');
    model.dispose();
  });
}

test('sLSTM: initialisation as xlstm: R zero, forget biases a power law per head and block, other biases 0, gates N(0, 2/(5d))', async () => {
  await useBackend('cpu');
  const model = build({ d_model: 16, n_heads: 2, n_layers: 3 });
  model.blocks.forEach(({ mixer }, block) => {
    assert.ok(mixer.recurrent.dataSync().every((x) => x === 0));
    const bias = mixer.bias.arraySync() as number[][];
    for (const g of [0, 2, 3]) assert.ok(bias[g].every((x) => x === 0), `gate ${g}'s bias`);
    // per head of 8: 5 − 12 (j / 7)^(0.3 + 1.3 r), r = block / 2
    const p = 0.3 + 1.3 * (block / 2);
    const want = Array.from({ length: 16 }, (_, c) => 5 - 12 * ((c % 8) / 7) ** p);
    assertClose(bias[1], want, 1e-6, 1e-6, `block ${block} forget biases`);
    assert.ok(Math.abs(bias[1][0] - 5) < 1e-6 && Math.abs(bias[1][7] + 7) < 1e-5, 'σ(5) … σ(−7) in every head');
    assert.ok(mixer.normWeight.dataSync().every((x) => x === 1));
    const w = Array.from(mixer.iGate.w.dataSync());
    const std = Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);
    assert.ok(Math.abs(std - Math.sqrt(2 / 80)) < 0.06, `small_init std ${std}`);
  });
  assert.deepEqual(Array.from(forgetBiases(4, 1, 0, 1)), [5, 5 - 12 * (1 / 3) ** 0.3, 5 - 12 * (2 / 3) ** 0.3, -7].map(Math.fround));
  model.dispose();
});

test('sLSTM: paramCount equals the built model for every preset and other shapes; configs are checked', async () => {
  await useBackend('cpu');
  assertParamCountsMatch(slstm, [{ d_model: 24, n_layers: 3, n_heads: 3, d_conv: 2, ff_proj_factor: 2 }]);
  assert.throws(() => slstm.config.parse({ d_model: 30, n_heads: 4 }), /n_heads 4 does not divide d_model 30/);
});

test('sLSTM: FLOPs per token from the built model (matmul weights, conv taps, the cell), 3× for training; state bytes', async () => {
  await useBackend('cpu');
  const io: ModelIO = { vocabSize: 32, maxLen: 4096, padId: 0 };
  const cfg = slstm.config.parse(slstm.presets.micro);
  const model = slstm.build(cfg, io);
  const perLayer = model.blocks.map(({ mixer, mlp }) => {
    const matrices = [mixer.iGate.w, mixer.fGate.w, mixer.zGate.w, mixer.oGate.w, mixer.recurrent, mlp.up.w, mlp.down.w].reduce((s, w) => s + w.size, 0);
    return 2 * matrices + 2 * mixer.convWeight.size + 18 * 64;
  });
  const head = 2 * model.embedding.table.size;
  model.dispose();
  const f = slstm.flopsPerToken(cfg, io);
  assert.equal(f.forward, perLayer.reduce((a, b) => a + b, 0) + head);
  assert.equal(f.training, 3 * f.forward, 'and constant in L: the costs take no context length');
  // per layer: the conv window (k − 1) · d and y, c, n, m (4 · d); 2 layers, fp32
  assert.equal(slstm.stateBytes(cfg), 2 * (3 * 64 + 4 * 64) * 4);
});

test('sLSTM overfits a fixed small batch with adam, no tensor leaks across steps (cpu)', async () => {
  await useBackend('cpu');
  const model = build({ d_model: 16, n_heads: 2 }, { vocabSize: 8, maxLen: 16, padId: 0 });
  assertOverfitsFixedBatch(model, 1.8);
});

test('seqarena list shows slstm (family xlstm) with its presets and parameter counts', async () => {
  assert.equal(ARCHITECTURES.slstm, slstm);
  const entry = (await listing()).architectures.find((a) => a.name === 'slstm');
  assert.ok(entry, 'slstm is listed');
  assert.equal(entry.family, 'xlstm');
  const io = { vocabSize: 32, maxLen: 256, padId: 0 };
  for (const p of PRESET_NAMES) assert.equal(entry.presets[p].params, slstm.paramCount(slstm.config.parse(slstm.presets[p]), io), p);
});

test('sLSTM on webgpu (composed ops): the nano model gives cpu\'s logits and gradients', { skip: webgpuSkip }, async () => {
  await assertModelOnWebgpuEqualsCpu('slstm', [...Array(32)].map((_, i) => (i * 5) % 16));
});
