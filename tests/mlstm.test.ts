import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { HeadwiseLinear, mlstm, MlstmLM, mlstmChunkwise, mlstmParallel, mlstmRecurrent, type MlstmConfig } from '../architectures/mlstm.ts';
import { ParamStore } from '../architectures/layers.ts';
import { ARCHITECTURES } from '../architectures/index.ts';
import { listing } from '../harness/commands/list.ts';
import { PRESET_NAMES, type Architecture, type ModelIO } from '../architectures/types.ts';
import { assertClose, assertModelOnWebgpuEqualsCpu, assertNoLeak, assertOverfitsFixedBatch, useBackend, valuesOf, webgpuSkipReason, logitsLossAndGrads, assertCausal, assertStepsMatchForwardAtConstantState, assertParamCountsMatch } from './helpers.ts';

// Started before any test is registered: starting webgpu switches the backend under a running test.
const webgpuSkip = (await webgpuSkipReason()) ?? false;
const IO: ModelIO = { vocabSize: 11, maxLen: 64, padId: 0 };
/** di 16: 2 heads of 8, q/k/v blocks of 4. */
const TINY = { d_model: 8, n_layers: 2, n_heads: 2 };

function build(overrides: Partial<MlstmConfig> = {}, io = IO): MlstmLM {
  return mlstm.build(mlstm.config.parse({ ...TINY, ...overrides }), io);
}

function tokens(values: number[][]): tf.Tensor2D {
  return tf.tensor2d(values, [values.length, values[0].length], 'int32');
}

type Cell = typeof mlstmParallel;
const NAMES = ['h̃', 'dq', 'dk', 'dv', 'dĩ', 'dlog f'];

/** Cell inputs: q, k, v N(0, 1), ĩ N(iMean, 1), log f = log σ(N(3, 1.5)) (around xlstm's initial forget gates). */
function cellInputs(b: number, h: number, l: number, dh: number, seed: number, iMean = 0): tf.Tensor[] {
  return tf.tidy(() => [
    ...[0, 1, 2].map((i) => tf.randomNormal([b, h, l, dh], 0, 1, 'float32', seed + i)),
    tf.randomNormal([b, h, l], iMean, 1, 'float32', seed + 3),
    tf.logSigmoid(tf.randomNormal([b, h, l], 3, 1.5, 'float32', seed + 4)),
  ]);
}

/** The cell's output and every input's gradient under a weighted loss (so every output's gradient differs). */
function outputsAndGrads(cell: Cell, inputs: tf.Tensor[], weights: tf.Tensor): Float32Array[] {
  const apply = (t: tf.Tensor[]) => cell(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, t[2] as tf.Tensor4D, t[3] as tf.Tensor3D, t[4] as tf.Tensor3D);
  return tf.tidy(() => [apply(inputs), ...tf.grads((...t: tf.Tensor[]) => apply(t).mul(weights).sum())(inputs)].map((t) => t.dataSync() as Float32Array));
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`mLSTM cell: the parallel form equals the recurrent reference, forward and every gradient (${backend})`, async () => {
    await useBackend(backend);
    // (b, h, l, dh, mean of ĩ): small, one step, a long one, and large input gates (ĩ ≈ 30: exp(ĩ) ≈ 1e13)
    const shapes = [
      [2, 2, 5, 3, 0],
      [1, 3, 1, 4, 0],
      [1, 1, 17, 2, 0],
      [2, 2, 6, 3, 30],
    ] as const;
    for (const [b, h, l, dh, iMean] of shapes) {
      const what = `(b ${b}, h ${h}, l ${l}, dh ${dh}, ĩ ~ N(${iMean}, 1))`;
      const inputs = cellInputs(b, h, l, dh, 10 * l + dh, iMean);
      const w = tf.randomNormal([b, h, l, dh], 0, 1, 'float32', 99);
      const reference = outputsAndGrads(mlstmRecurrent, inputs, w);
      await assertNoLeak(() => outputsAndGrads(mlstmParallel, inputs, w), `parallel ${what}`);
      const parallel = outputsAndGrads(mlstmParallel, inputs, w);
      NAMES.forEach((name, i) => {
        assert.ok(reference[i].every(Number.isFinite) && parallel[i].every(Number.isFinite), `${name} ${what} is finite`);
        assertClose(parallel[i], reference[i], 1e-5, 1e-4, `${name} ${what}`);
      });
      // chunks of 4 (several, the last padded) and 2, and one chunk longer than the sequence
      for (const chunk of [4, 2, 64]) {
        const cell = (...t: Parameters<typeof mlstmParallel>) => mlstmChunkwise(...t, chunk);
        await assertNoLeak(() => outputsAndGrads(cell, inputs, w), `chunkwise ${chunk} ${what}`);
        const chunkwise = outputsAndGrads(cell, inputs, w);
        NAMES.forEach((name, i) => {
          assert.ok(chunkwise[i].every(Number.isFinite), `chunkwise ${chunk}: ${name} ${what} is finite`);
          assertClose(chunkwise[i], reference[i], 1e-5, 1e-4, `chunkwise ${chunk}: ${name} ${what}`);
        });
      }
      tf.dispose([...inputs, w]);
    }
  });
}

/**
 * The cell without a stabiliser, in float64 on the host: h̃_t = Σ_s D_ts (q_t·k_s/√dh) v_s / max(|Σ_s D_ts q_t·k_s/√dh|, 1)
 * with D_ts = exp(F_t − F_s + ĩ_s); exp(100) is finite in float64 (not in float32).
 */
function unstabilised(q: number[][], k: number[][], v: number[][], iPre: number[], logF: number[]): number[][] {
  const dh = q[0].length;
  const F = logF.map((_, t) => logF.slice(0, t + 1).reduce((a, x) => a + x, 0));
  return q.map((qt, t) => {
    let den = 0;
    const num = new Array(dh).fill(0);
    for (let s = 0; s <= t; s++) {
      const weight = Math.exp(F[t] - F[s] + iPre[s]) * qt.reduce((a, x, j) => a + x * k[s][j], 0) / Math.sqrt(dh);
      den += weight;
      v[s].forEach((x, j) => (num[j] += weight * x));
    }
    return num.map((x) => x / Math.max(Math.abs(den), 1));
  });
}

test('mLSTM cell: large input gates (ĩ = 30 and 100) stay finite in both forms and equal the unstabilised cell in float64 (cpu)', async () => {
  await useBackend('cpu');
  const [l, dh] = [6, 3];
  const random = (seed: number, shape: number[]) => tf.tidy(() => tf.randomNormal(shape, 0, 1, 'float32', seed).arraySync()) as number[][];
  const [q, k, v] = [1, 2, 3].map((s) => random(s, [l, dh]));
  const logF = Array.from({ length: l }, (_, t) => -Math.log1p(Math.exp(-(2 + t))));
  for (const base of [0, 30, 100]) {
    const iPre = [base, base - 2, base + 1, base - 40, base + 0.5, base];
    const want = unstabilised(q, k, v, iPre, logF).flat();
    const t4 = (x: number[][]) => tf.tensor4d(x.flat(), [1, 1, l, dh]);
    const args = [t4(q), t4(k), t4(v), tf.tensor3d(iPre, [1, 1, l]), tf.tensor3d(logF, [1, 1, l])] as const;
    const chunkwise = (...t: Parameters<typeof mlstmParallel>) => mlstmChunkwise(...t, 4);
    for (const [name, cell] of [['recurrent', mlstmRecurrent], ['parallel', mlstmParallel], ['chunkwise', chunkwise]] as const) {
      const got = tf.tidy(() => cell(...args).dataSync());
      assert.ok(got.every(Number.isFinite), `${name} at ĩ ≈ ${base}: ${got}`);
      assertClose(got, want, 1e-5, 1e-4, `${name} at ĩ ≈ ${base}`);
    }
    tf.dispose([...args]);
  }
});

test('mLSTM cell: one head, dh 1, by hand: h̃ = C q / max(|n q|, 1) with f = ½, i = e^ĩ', async () => {
  await useBackend('cpu');
  // q = k = v = 1 (k / √1), f = ½, ĩ = (0, ln 2, ln 4): C = n = 1, 2.5, 5.25; h̃ = C / max(n, 1) = 1 each step,
  // and with v = (1, 2, 3): C = 1, 0.5 + 4, 2.25 + 12 → h̃ = 1, 4.5 / 2.5, 14.25 / 5.25
  const ones = tf.ones([1, 1, 3, 1]) as tf.Tensor4D;
  const v = tf.tensor4d([1, 2, 3], [1, 1, 3, 1]);
  const iPre = tf.tensor3d([0, Math.log(2), Math.log(4)], [1, 1, 3]);
  const logF = tf.fill([1, 1, 3], Math.log(0.5)) as tf.Tensor3D;
  const chunkwise = (...t: Parameters<typeof mlstmParallel>) => mlstmChunkwise(...t, 2);
  for (const [name, cell] of [['recurrent', mlstmRecurrent], ['parallel', mlstmParallel], ['chunkwise', chunkwise]] as const) {
    assertClose(cell(ones, ones, ones, iPre, logF).dataSync(), [1, 1, 1], 1e-5, 1e-5, name);
    assertClose(cell(ones, ones, v, iPre, logF).dataSync(), [1, 4.5 / 2.5, 14.25 / 5.25], 1e-5, 1e-5, name);
  }
  tf.dispose([ones, v, iPre, logF]);
});

test('HeadwiseLinear: each block of the input multiplies its own matrix (block-diagonal), shapes kept', async () => {
  await useBackend('cpu');
  const store = new ParamStore(3);
  const layer = new HeadwiseLinear(store, 'p', 6, 2, 1);
  const x = tf.randomNormal([2, 3, 6], 0, 1, 'float32', 5);
  const blocks = tf.unstack(layer.w) as tf.Tensor2D[]; // 3 × (2, 2)
  const dense = tf.tidy(() => {
    const full = tf.buffer([6, 6]);
    blocks.forEach((w, i) => w.arraySync().forEach((row, r) => row.forEach((val, c) => full.set(val, 2 * i + r, 2 * i + c))));
    return tf.matMul(x.reshape([6, 6]), full.toTensor() as tf.Tensor2D).reshape([2, 3, 6]);
  });
  const y = layer.apply(x);
  assert.deepEqual(y.shape, [2, 3, 6]);
  assertClose(y.dataSync(), dense.dataSync(), 1e-6, 1e-5, 'block-diagonal product');
  tf.dispose([x, y, dense, ...blocks]);
  store.dispose();
});

test('mlstm: changing tokens after t never changes outputs at ≤ t', async () => {
  await useBackend('wasm');
  const model = build();
  assertCausal(model);
  model.dispose();
});

for (const forget_gate of ['sigmoid', 'exp'] as const) {
  test(`mlstm: the model gives the same logits and gradients with the parallel, chunkwise and recurrent cells (wasm, ${forget_gate} forget gate)`, async () => {
    await useBackend('wasm');
    const seq = tokens([[2, 7, 1, 8, 2, 8, 1], [1, 4, 1, 4, 2, 1, 3]]);
    const [parallel, chunkwise, recurrent] = (['parallel', 'chunkwise', 'recurrent'] as const).map((cell) => {
      const model = build({ cell, forget_gate, chunk_size: 3 });
      return logitsLossAndGrads(model, seq);
    });
    const label = (i: number) => (i === 0 ? 'logits' : i === 1 ? 'loss' : `gradient ${i - 2}`);
    parallel.forEach((p, i) => assertClose(p, recurrent[i], 1e-5, 1e-4, label(i)));
    chunkwise.forEach((p, i) => assertClose(p, recurrent[i], 1e-5, 1e-4, `chunkwise: ${label(i)}`));
    seq.dispose();
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`mlstm: step() decoding equals the full (parallel) forward, with constant state size (${backend})`, async () => {
    await useBackend(backend);
    const model = build();
    await assertStepsMatchForwardAtConstantState(model, mlstm.stateBytes(model.cfg), 'mlstm');
    model.dispose();
  });
}

test('mlstm on webgpu (composed ops): the parallel and chunkwise cells and their gradients equal the recurrent one on cpu; the nano model too', { skip: webgpuSkip }, async () => {
  const [b, h, l, dh] = [2, 2, 7, 3];
  const run = async (backend: 'cpu' | 'webgpu', cell: Cell): Promise<Float32Array[]> => {
    await useBackend(backend);
    const inputs = cellInputs(b, h, l, dh, 5);
    const w = tf.randomNormal([b, h, l, dh], 0, 1, 'float32', 99);
    const apply = (t: tf.Tensor[]) => cell(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, t[2] as tf.Tensor4D, t[3] as tf.Tensor3D, t[4] as tf.Tensor3D);
    const outputs = tf.tidy(() => [apply(inputs), ...tf.grads((...t: tf.Tensor[]) => apply(t).mul(w).sum())(inputs)]);
    const values = await Promise.all(outputs.map(valuesOf));
    tf.dispose([...inputs, w, ...outputs]);
    return values;
  };
  const reference = await run('cpu', mlstmRecurrent);
  const gpu = await run('webgpu', mlstmParallel);
  NAMES.forEach((name, i) => assertClose(gpu[i], reference[i], 1e-4, 1e-4, name));
  const chunkwise = await run('webgpu', (...t) => mlstmChunkwise(...t, 3));
  NAMES.forEach((name, i) => assertClose(chunkwise[i], reference[i], 1e-4, 1e-4, `chunkwise: ${name}`));
  await assertModelOnWebgpuEqualsCpu('mlstm', [...Array(32)].map((_, i) => (i * 7) % 16));
});

test('mlstm: initialisation as xlstm: gates independent of the input, forget biases linspace(3, 6), skip and norm scale 1', async () => {
  await useBackend('cpu');
  for (const forget_gate of ['sigmoid', 'exp'] as const) {
    const model = build({ d_model: 16, n_heads: 4, forget_gate });
    for (const { mixer } of model.blocks) {
      assert.ok(mixer.igateW.dataSync().every((x) => x === 0) && mixer.fgateW.dataSync().every((x) => x === 0));
      const f = Array.from(forget_gate === 'exp' ? tf.exp(mixer.fgateB).dataSync() : tf.sigmoid(mixer.fgateB).dataSync());
      assertClose(f, [3, 4, 5, 6].map((x) => 1 / (1 + Math.exp(-x))), 1e-6, 1e-6, `${forget_gate}: initial f`);
      const i = mixer.igateB.dataSync();
      assert.ok(i.every((x) => Math.abs(x) < 0.5) && i.some((x) => x !== 0), `ĩ bias ~ N(0, 0.1²): ${i}`);
      assert.ok(mixer.skip.dataSync().every((x) => x === 1) && mixer.normWeight.dataSync().every((x) => x === 1));
      assert.deepEqual(mixer.qProj.w.shape, [8, 4, 4], 'di 32 in blocks of 4');
    }
    model.dispose();
  }
});

test('mlstm: paramCount equals the built model for every preset and other shapes; configs are checked', async () => {
  await useBackend('cpu');
  assertParamCountsMatch(mlstm as unknown as Architecture, [{ d_model: 24, n_heads: 3, qkv_blocksize: 8, d_conv: 3, proj_factor: 3, n_layers: 1 }]);
  const micro = mlstm.config.parse(mlstm.presets.micro);
  assert.deepEqual(mlstm.size(micro), { dModel: 64, nLayers: 2 });
  assert.equal(micro.cell, 'parallel');
  assert.throws(() => mlstm.config.parse({ d_model: 32, n_heads: 5 }), /n_heads 5 does not divide the inner width 64/);
  assert.throws(() => mlstm.config.parse({ d_model: 32, qkv_blocksize: 6 }), /qkv_blocksize 6 does not divide the inner width 64/);
});

test('mlstm: FLOPs per token from the built model (matmul weights, conv taps, the cell), 3× for training; state bytes', async () => {
  await useBackend('cpu');
  const io: ModelIO = { vocabSize: 32, maxLen: 4096, padId: 0 };
  const [h, dh] = [4, 32]; // micro: di 128 in 4 heads
  for (const cell of ['recurrent', 'parallel', 'chunkwise'] as const) {
    const cfg = mlstm.config.parse({ ...mlstm.presets.micro, cell });
    const model = mlstm.build(cfg, io);
    const weights = model.blocks.map(({ mixer }) =>
      [mixer.projUp.w, mixer.convWeight, mixer.qProj.w, mixer.kProj.w, mixer.vProj.w, mixer.igateW, mixer.fgateW, mixer.projDown.w].reduce((s, w) => s + w.size, 0),
    );
    const head = 2 * model.embedding.table.size;
    model.dispose();
    const chunk = (l: number) => Math.min(64, l); // chunk_size 64
    const cellFlops = (l: number) =>
      h * (cell === 'recurrent' ? 6 * dh * dh + 7 * dh + 12 : cell === 'chunkwise' ? ((chunk(l) + 1) / 2) * (4 * dh + 8) + 4 * dh * dh + 4 * dh + 4 : (l / 2) * (4 * dh + 8));
    for (const l of [64, 4096]) {
      const f = mlstm.flopsPerToken(cfg, io, l);
      assert.equal(f.forward, weights.reduce((s, w) => s + 2 * w + cellFlops(l), 0) + head, `${cell} at L ${l}`);
      assert.equal(f.training, 3 * f.forward);
    }
    // per layer: the conv window (k − 1) · di and per head C (dh²), n (dh), m (1); 2 layers, fp32
    assert.equal(mlstm.stateBytes(cfg), 2 * (3 * 128 + h * (dh * dh + dh + 1)) * 4);
  }
  const recurrentCfg = mlstm.config.parse({ ...mlstm.presets.micro, cell: 'recurrent' });
  assert.deepEqual(mlstm.flopsPerToken(recurrentCfg, io, 64), mlstm.flopsPerToken(recurrentCfg, io, 4096), 'the recurrence is constant in L');
  const chunkwiseCfg = mlstm.config.parse({ ...mlstm.presets.micro, cell: 'chunkwise' });
  assert.deepEqual(mlstm.flopsPerToken(chunkwiseCfg, io, 64), mlstm.flopsPerToken(chunkwiseCfg, io, 4096), 'the chunkwise form is constant in L past one chunk');
});

test("mlstm: a config that leaves out chunk_size resolves without it (the chunkwise form's option keeps earlier runs' ids), and runs 64-step chunks", async () => {
  await useBackend('cpu');
  assert.equal('chunk_size' in mlstm.config.parse({ d_model: 32 }), false);
  const seq = tokens([[2, 7, 1, 8, 2, 8, 1], [1, 4, 1, 4, 2, 1, 3]]);
  const [omitted, explicit] = [{}, { chunk_size: 64 }].map((extra) => logitsLossAndGrads(build({ cell: 'chunkwise', ...extra }), seq));
  omitted.forEach((v, i) => assert.deepEqual(v, explicit[i], `output ${i}`));
  seq.dispose();
});

test('mlstm overfits a fixed small batch with adam, no tensor leaks across steps (cpu)', async () => {
  await useBackend('cpu');
  const io: ModelIO = { vocabSize: 8, maxLen: 16, padId: 0 };
  const model = build({ d_model: 16, n_heads: 2 }, io);
  assertOverfitsFixedBatch(model, 1.8);
});

test('seqarena list shows mlstm (family xlstm) with its presets, parameter counts and cell option', async () => {
  assert.equal(ARCHITECTURES.mlstm, mlstm);
  const entry = (await listing()).architectures.find((a) => a.name === 'mlstm');
  assert.ok(entry, 'mlstm is listed');
  assert.equal(entry.family, 'xlstm');
  const io = { vocabSize: 32, maxLen: 256, padId: 0 };
  for (const p of PRESET_NAMES) assert.equal(entry.presets[p].params, mlstm.paramCount(mlstm.config.parse(mlstm.presets[p]), io), p);
  assert.deepEqual(entry.presets.micro.dModel, 64);
  assert.ok(entry.config.some((f) => f.name === 'cell' && f.default === 'parallel'));
});
