import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { cumsumLast, mamba2, Mamba2LM, segsum, ssdChunked, ssdReference, type Mamba2Config } from '../architectures/mamba2.ts';
import type { ModelIO } from '../architectures/types.ts';
import { assertCausal, assertClose, assertModelOnWebgpuEqualsCpu, assertNoLeak, assertStepsMatchForwardAtConstantState, useBackend, valuesOf, webgpuSkipReason, assertOverfitsFixedBatch, assertParamCountsMatch, logitsLossAndGrads } from './helpers.ts';

// Started before any test is registered: starting webgpu switches the backend under a running test.
const webgpuSkip = (await webgpuSkipReason()) ?? false;
const IO: ModelIO = { vocabSize: 11, maxLen: 64, padId: 0 };
/** 2 heads of 8 (di 16), n 4, and chunks of 3: the test sequences are not multiples of the chunk. */
const TINY = { d_model: 8, n_layers: 2, d_state: 4, headdim: 8, chunk_size: 3 };

function build(overrides: Partial<Mamba2Config> = {}, io = IO): Mamba2LM {
  return mamba2.build(mamba2.config.parse({ ...TINY, ...overrides }), io);
}

function tokens(values: number[][]): tf.Tensor2D {
  return tf.tensor2d(values, [values.length, values[0].length], 'int32');
}

test('segsum: a hand-computed example, the sums of a over (s, t] on and below the diagonal, 0 above', async () => {
  await useBackend('cpu');
  const a = tf.tensor1d([1, 2, 3]);
  const out = segsum(a);
  assert.deepEqual(out.shape, [3, 3]);
  assert.deepEqual(Array.from(out.dataSync()), [0, 0, 0, 2, 0, 0, 5, 3, 0]);
  tf.dispose([a, out]);
});

/** Inputs of the scan at model-like scales: Δ = softplus(N(−1, 1)), A = −exp(N(1, 0.5)) per head. */
function scanInputs(b: number, l: number, h: number, p: number, n: number, seed: number) {
  return tf.tidy(() => [
    tf.randomNormal([b, l, h, p], 0, 1, 'float32', seed), // x
    tf.softplus(tf.randomNormal([b, l, h], -1, 1, 'float32', seed + 1)), // Δ
    tf.exp(tf.randomNormal([h], 1, 0.5, 'float32', seed + 2)).neg(), // A
    tf.randomNormal([b, l, n], 0, 1, 'float32', seed + 3), // B
    tf.randomNormal([b, l, n], 0, 1, 'float32', seed + 4), // C
    tf.randomNormal([h], 1, 0.5, 'float32', seed + 5), // D
  ]);
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`SSD: the chunked scan equals the sequential reference, forward and every gradient (${backend})`, async () => {
    await useBackend(backend);
    // (b, l, h, p, n, Q): l a multiple of Q, not a multiple, Q = l, Q > l, Q = 1
    const shapes = [
      [2, 8, 3, 2, 4, 4],
      [2, 7, 3, 2, 4, 3],
      [1, 5, 2, 3, 2, 5],
      [1, 5, 2, 3, 2, 16],
      [2, 4, 1, 2, 3, 1],
    ] as const;
    for (const [b, l, h, p, n, q] of shapes) {
      const what = `(b ${b}, l ${l}, h ${h}, p ${p}, n ${n}, Q ${q})`;
      const inputs = scanInputs(b, l, h, p, n, 10 * l + q);
      const w = tf.randomNormal([b, l, h, p], 0, 1, 'float32', 99); // a weighted loss, so every output's gradient differs
      const run = (scan: (...t: tf.Tensor[]) => tf.Tensor) => {
        const loss = (...t: tf.Tensor[]) => scan(...t).mul(w).sum();
        return tf.tidy(() => [scan(...inputs), ...tf.grads(loss)(inputs)].map((t) => t.dataSync()));
      };
      const [x, dt, A, B, C, D] = [0, 1, 2, 3, 4, 5];
      const reference = run((...t) => ssdReference(t[x] as tf.Tensor4D, t[dt] as tf.Tensor3D, t[A] as tf.Tensor1D, t[B] as tf.Tensor3D, t[C] as tf.Tensor3D, t[D] as tf.Tensor1D));
      await assertNoLeak(() => run((...t) => ssdChunked(t[x] as tf.Tensor4D, t[dt] as tf.Tensor3D, t[A] as tf.Tensor1D, t[B] as tf.Tensor3D, t[C] as tf.Tensor3D, t[D] as tf.Tensor1D, q)), `chunked ${what}`);
      const chunked = run((...t) => ssdChunked(t[x] as tf.Tensor4D, t[dt] as tf.Tensor3D, t[A] as tf.Tensor1D, t[B] as tf.Tensor3D, t[C] as tf.Tensor3D, t[D] as tf.Tensor1D, q));
      ['y', 'dx', 'dΔ', 'dA', 'dB', 'dC', 'dD'].forEach((name, i) => assertClose(chunked[i], reference[i], 1e-5, 1e-4, `${name} ${what}`));
      tf.dispose([...inputs, w]);
    }
  });
}

test('SSD on webgpu (composed ops): the chunked scan across three chunks and its gradients equal the reference on cpu', { skip: webgpuSkip }, async () => {
  const [b, l, h, p, n, q] = [2, 7, 3, 2, 4, 3];
  const run = async (backend: 'cpu' | 'webgpu', chunked: boolean): Promise<Float32Array[]> => {
    await useBackend(backend);
    const inputs = scanInputs(b, l, h, p, n, 5);
    const w = tf.randomNormal([b, l, h, p], 0, 1, 'float32', 99);
    const scan = (...t: tf.Tensor[]) => {
      const args = [t[0] as tf.Tensor4D, t[1] as tf.Tensor3D, t[2] as tf.Tensor1D, t[3] as tf.Tensor3D, t[4] as tf.Tensor3D, t[5] as tf.Tensor1D] as const;
      return chunked ? ssdChunked(...args, q) : ssdReference(...args);
    };
    const outputs = tf.tidy(() => [scan(...inputs), ...tf.grads((...t: tf.Tensor[]) => scan(...t).mul(w).sum())(inputs)]);
    const values = await Promise.all(outputs.map(valuesOf));
    tf.dispose([...inputs, w, ...outputs]);
    return values;
  };
  const reference = await run('cpu', false);
  const gpu = await run('webgpu', true);
  ['y', 'dx', 'dΔ', 'dA', 'dB', 'dC', 'dD'].forEach((name, i) => assertClose(gpu[i], reference[i], 1e-4, 1e-4, name));
  await assertModelOnWebgpuEqualsCpu('mamba2', [...Array(32)].map((_, i) => (i * 7) % 16));
});

test('cumsumLast: running sums and their gradient on cpu, wasm and webgpu, lengths 5, 9 and 3 in turn in one process (tf.cumsum on webgpu keeps the first length)', async () => {
  const backends = webgpuSkip ? (['cpu', 'wasm'] as const) : (['cpu', 'wasm', 'webgpu'] as const);
  for (const q of [5, 9, 3]) {
    const x = Array.from({ length: 2 * 3 * q }, (_, i) => Math.sin(1.3 * i + q));
    const w = Array.from({ length: 2 * 3 * q }, (_, i) => Math.cos(0.7 * i));
    // by hand: out[t] = Σ_{k≤t} x_k; d/dx_k Σ_t w_t out_t = Σ_{t≥k} w_t
    const [sums, grads] = [new Float32Array(x.length), new Float32Array(x.length)];
    for (let row = 0; row < 6; row++) {
      for (let t = 0; t < q; t++) {
        for (let k = 0; k <= t; k++) {
          sums[row * q + t] += x[row * q + k];
          grads[row * q + k] += w[row * q + t];
        }
      }
    }
    for (const backend of backends) {
      await useBackend(backend);
      const [xt, wt] = [tf.tensor3d(x, [2, 3, q]), tf.tensor3d(w, [2, 3, q])];
      const outs = tf.tidy(() => [cumsumLast(xt), tf.grad((t: tf.Tensor) => cumsumLast(t).mul(wt).sum())(xt)]);
      const [got, grad] = await Promise.all(outs.map(valuesOf));
      assertClose(got, sums, 1e-5, 1e-5, `sums, length ${q}, ${backend}`);
      assertClose(grad, grads, 1e-5, 1e-5, `gradient, length ${q}, ${backend}`);
      tf.dispose([xt, wt, ...outs]);
    }
  }
});

test('SSD: a constant decay and unit B, C give the hand-computed moving sum (A = ln ½: halve, then add)', async () => {
  await useBackend('cpu');
  // one head, p = n = 1, Δ = 1: h_t = ½ h_{t−1} + x_t, y_t = h_t (D = 0)
  const x = tf.tensor4d([1, 2, 3, 4, 5], [1, 5, 1, 1]);
  const dt = tf.ones([1, 5, 1]) as tf.Tensor3D;
  const A = tf.tensor1d([Math.log(0.5)]);
  const ones = tf.ones([1, 5, 1]) as tf.Tensor3D;
  const D = tf.zeros([1]) as tf.Tensor1D;
  const expected = [1, 2.5, 4.25, 6.125, 8.0625];
  assertClose(ssdReference(x, dt, A, ones, ones, D).dataSync(), expected, 1e-6, 1e-6, 'reference');
  assertClose(ssdChunked(x, dt, A, ones, ones, D, 2).dataSync(), expected, 1e-6, 1e-6, 'chunked');
  tf.dispose([x, dt, A, ones, D]);
});

test('mamba2: changing tokens after t never changes outputs at ≤ t', async () => {
  await useBackend('wasm');
  const model = build();
  assertCausal(model);
  model.dispose();
});

test('mamba2: the model gives the same logits and gradients with the chunked and reference scans (wasm)', async () => {
  await useBackend('wasm');
  const seq = tokens([[2, 7, 1, 8, 2, 8, 1], [1, 4, 1, 4, 2, 1, 3]]);
  const [chunked, reference] = (['chunked', 'reference'] as const).map((scan) => {
    const model = build({ scan });
    return logitsLossAndGrads(model, seq);
  });
  chunked.forEach((c, i) => assertClose(c, reference[i], 1e-5, 1e-4, i === 0 ? 'logits' : i === 1 ? 'loss' : `gradient ${i - 2}`));
  seq.dispose();
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`mamba2: step() decoding equals the full forward, with constant state size (${backend})`, async () => {
    await useBackend(backend);
    const model = build();
    await assertStepsMatchForwardAtConstantState(model, mamba2.stateBytes(model.cfg, IO, 0), 'mamba2');
    model.dispose();
  });
}

test('mamba2: initialisation as mamba2_simple: −A uniform in A_init_range, Δ = softplus(dt_bias) in [dt_min, dt_max], D = 1', async () => {
  await useBackend('cpu');
  const model = build({ d_model: 64, headdim: 4 }); // 32 heads a layer
  for (const { mixer } of model.blocks) {
    const minusA = mixer.A().neg().dataSync();
    assert.ok(minusA.every((a) => a >= 1 - 1e-5 && a <= 16 + 1e-4), `−A in [1, 16]: ${minusA}`);
    const dt = tf.softplus(mixer.dtBias).dataSync();
    assert.ok(dt.every((v) => v >= 1e-3 * (1 - 1e-4) && v <= 0.1 * (1 + 1e-4)), `Δ in [dt_min, dt_max]: ${dt}`);
    assert.ok(Math.max(...dt) / Math.min(...dt) > 10, 'Δ spreads over the log-uniform range');
    assert.deepEqual(Array.from(mixer.D.dataSync()), Array(32).fill(1));
    assert.deepEqual(mixer.aLog.shape, [32]);
  }
  model.dispose();
});

test('mamba2: paramCount equals the built model for every preset and other shapes; configs are checked', async () => {
  await useBackend('cpu');
  assertParamCountsMatch(mamba2, [{ d_model: 24, headdim: 8, d_state: 5, d_conv: 3, expand: 3 }]);
  const micro = mamba2.config.parse(mamba2.presets.micro);
  assert.deepEqual(mamba2.size(micro), { dModel: 64, nLayers: 2 });
  assert.equal(micro.scan, undefined, 'an absent scan is the chunked one, and stays out of the config hash');
  assert.throws(() => mamba2.config.parse({ d_model: 32, headdim: 24 }), /headdim 24 does not divide the inner width 64/);
  assert.throws(() => mamba2.config.parse({ dt_min: 0.5, dt_max: 0.1 }), /dt_min 0.5 exceeds dt_max 0.1/);
  assert.throws(() => mamba2.config.parse({ A_init_range: [8, 2] }), /A_init_range \[8,2\] runs backwards/);
});

test('mamba2: FLOPs per token from the built model (matmul weights, conv taps, the recurrence), 3× for training, constant in L', async () => {
  await useBackend('cpu');
  const cfg = mamba2.config.parse(mamba2.presets.micro);
  const io: ModelIO = { vocabSize: 32, maxLen: 4096, padId: 0 };
  const model = mamba2.build(cfg, io);
  const [di, h, n] = [128, 8, 16];
  const perLayer = model.blocks.map(({ mixer }) => 2 * (mixer.inProj.w.size + mixer.outProj.w.size + mixer.convWeight.size) + 5 * di * n + di + 2 * h);
  const head = 2 * model.embedding.table.size;
  model.dispose();
  const short = mamba2.flopsPerToken(cfg, io, 64);
  assert.equal(short.forward, perLayer.reduce((s, f) => s + f, 0) + head);
  assert.deepEqual(mamba2.flopsPerToken(cfg, io, 4096), short);
  assert.equal(short.training, 3 * short.forward);
  // per layer: the conv window (k − 1) · (di + 2n) and the state (h, p, n) = di · n, 2 layers, fp32
  assert.equal(mamba2.stateBytes(cfg, io, 64), mamba2.stateBytes(cfg, io, 4096));
  assert.equal(mamba2.stateBytes(cfg, io, 1), 2 * (3 * 160 + 128 * 16) * 4);
});

test('mamba2 overfits a fixed small batch with adam, no tensor leaks across steps (cpu)', async () => {
  await useBackend('cpu');
  const io: ModelIO = { vocabSize: 8, maxLen: 16, padId: 0 };
  const model = build({ d_model: 16, headdim: 8, chunk_size: 4 }, io);
  assertOverfitsFixedBatch(model, 1.8);
});
