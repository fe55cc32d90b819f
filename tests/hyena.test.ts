import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { fft, fftSize, hyena, HyenaLM, longConvDirect, longConvFft, longConvFlops, type HyenaConfig } from '../architectures/hyena.ts';
import { ARCHITECTURES } from '../architectures/index.ts';
import { listing } from '../harness/commands/list.ts';
import type { ModelIO } from '../architectures/types.ts';
import { assertCausal, assertClose, assertModelOnWebgpuEqualsCpu, assertNoLeak, assertOverfitsFixedBatch, assertStepsMatchForward, useBackend, valuesOf, webgpuSkipReason, assertParamCountsMatch, logitsLossAndGrads } from './helpers.ts';

// Started before any test is registered: starting webgpu switches the backend under a running test.
const webgpuSkip = (await webgpuSkipReason()) ?? false;
const IO: ModelIO = { vocabSize: 11, maxLen: 16, padId: 0 };
/** Width 8, a filter FFN of 8, order 3 by default here: two long convolutions, so the gating chain is exercised. */
const TINY = { d_model: 8, n_layers: 2, filter_order: 8, order: 3 };

function build(overrides: Partial<HyenaConfig> = {}, io = IO): HyenaLM {
  return hyena.build(hyena.config.parse({ ...TINY, ...overrides }), io);
}

/**
 * zoology's N(0, 0.02²) start leaves the filters near 1e-5, under any tolerance, so a test of the long convolution
 * through the model would pass without it: give the filter FFNs seeded weights of fan-in scale, filters of order 1.
 */
function visibleFilters(model: HyenaLM): HyenaLM {
  model.blocks.forEach((block, i) =>
    block.mixer.filter.layers.forEach((layer, j) => {
      const w = tf.randomNormal(layer.w.shape, 0, 1 / Math.sqrt(layer.w.shape[0]), 'float32', 100 * i + j + 1);
      layer.w.assign(w);
      w.dispose();
    }),
  );
  return model;
}

function tokens(values: number[][]): tf.Tensor2D {
  return tf.tensor2d(values, [values.length, values[0].length], 'int32');
}

test('fft: the FFT (DFT-matrix base, then radix-2 stages) equals the DFT summed by hand, lengths 1 to 256, bases 1 to 64, complex and real inputs', async () => {
  await useBackend('cpu');
  for (const [n, base, real] of [[1, 64, false], [2, 64, false], [4, 1, false], [8, 64, false], [16, 1, false], [16, 4, false], [16, 4, true], [128, 64, false], [128, 64, true], [256, 8, false], [256, 256, true]] as const) {
    const re = Array.from({ length: 2 * n }, (_, i) => Math.sin(3.1 * i + 0.4));
    const im = Array.from({ length: 2 * n }, (_, i) => (real ? 0 : Math.cos(1.7 * i)));
    const out = tf.tidy(() => {
      const X = fft({ re: tf.tensor2d(re, [2, n]), im: real ? null : tf.tensor2d(im, [2, n]) }, base);
      return [X.re.dataSync(), X.im.dataSync()];
    });
    const [wantRe, wantIm] = [new Float32Array(2 * n), new Float32Array(2 * n)];
    for (let row = 0; row < 2; row++) {
      for (let k = 0; k < n; k++) {
        for (let j = 0; j < n; j++) {
          const a = (-2 * Math.PI * j * k) / n;
          const [xr, xi] = [re[row * n + j], im[row * n + j]];
          wantRe[row * n + k] += xr * Math.cos(a) - xi * Math.sin(a);
          wantIm[row * n + k] += xr * Math.sin(a) + xi * Math.cos(a);
        }
      }
    }
    assertClose(out[0], wantRe, 1e-4, 1e-4, `re, n ${n}, base ${base}${real ? ', real' : ''}`);
    assertClose(out[1], wantIm, 1e-4, 1e-4, `im, n ${n}, base ${base}${real ? ', real' : ''}`);
  }
  assert.throws(() => tf.tidy(() => fft({ re: tf.zeros([6]), im: tf.zeros([6]) })), /length 6 is not a power of two/);
  assert.throws(() => tf.tidy(() => fft({ re: tf.zeros([8]), im: null }, 3)), /base 3 is not a power of two/);
  assert.deepEqual([1, 2, 3, 5, 8, 9].map(fftSize), [2, 4, 8, 16, 16, 32]);
});

test('long convolution: the direct form is the causal sum, hand-computed', async () => {
  await useBackend('cpu');
  // one channel, h = (1, ½, ¼), u = (1, 2, 3): y = (1, 2 + ½, 3 + 1 + ¼)
  const u = tf.tensor3d([1, 2, 3], [1, 3, 1]);
  const h = tf.tensor2d([1, 0.5, 0.25], [3, 1]);
  assertClose(longConvDirect(u, h).dataSync(), [1, 2.5, 4.25], 1e-6, 1e-6, 'direct');
  assertClose(longConvFft(u, h).dataSync(), [1, 2.5, 4.25], 1e-5, 1e-5, 'fft');
  tf.dispose([u, h]);
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`long convolution: the FFT form equals the direct O(l²) form, forward and both gradients (${backend})`, async () => {
    await useBackend(backend);
    // (b, l, c): lengths not powers of two (the padding), one step, and l where 2l is a power of two
    for (const [b, l, c] of [[2, 7, 3], [1, 1, 2], [2, 8, 1], [1, 13, 4]] as const) {
      const what = `(b ${b}, l ${l}, c ${c})`;
      const inputs = tf.tidy(() => [tf.randomNormal([b, l, c], 0, 1, 'float32', l), tf.randomNormal([l, c], 0, 1, 'float32', l + 1)]);
      const w = tf.randomNormal([b, l, c], 0, 1, 'float32', 99); // a weighted loss, so every output's gradient differs
      const run = (conv: (u: tf.Tensor3D, h: tf.Tensor2D) => tf.Tensor) => {
        const loss = (u: tf.Tensor, h: tf.Tensor) => conv(u as tf.Tensor3D, h as tf.Tensor2D).mul(w).sum();
        return tf.tidy(() => [conv(inputs[0] as tf.Tensor3D, inputs[1] as tf.Tensor2D), ...tf.grads(loss)(inputs)].map((t) => t.dataSync()));
      };
      const direct = run(longConvDirect);
      await assertNoLeak(() => run(longConvFft), `fft ${what}`);
      const viaFft = run(longConvFft);
      ['y', 'du', 'dh'].forEach((name, i) => assertClose(viaFft[i], direct[i], 1e-4, 1e-4, `${name} ${what}`));
      tf.dispose([...inputs, w]);
    }
  });
}

test('hyena: changing tokens after t never changes outputs at ≤ t (fft)', async () => {
  await useBackend('wasm');
  const model = visibleFilters(build());
  assertCausal(model, 1e-5);
  model.dispose();
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`hyena: the model gives the same logits and every gradient with the FFT and direct convolutions, orders 2 and 3 (${backend})`, async () => {
    await useBackend(backend);
    const seq = tokens([[2, 7, 1, 8, 2, 8, 1], [1, 4, 1, 4, 2, 1, 3]]);
    for (const order of [2, 3]) {
      const [viaFft, direct] = (['fft', 'direct'] as const).map((form) => {
        const model = visibleFilters(build({ long_conv: form, order }));
        return logitsLossAndGrads(model, seq);
      });
      viaFft.forEach((c, i) => {
        const scale = Math.max(1e-12, ...Array.from(direct[i], Math.abs));
        assertClose(c, direct[i], 1e-4 * scale, 1e-3, `order ${order} ${i === 0 ? 'logits' : i === 1 ? 'loss' : `gradient ${i - 2}`}`);
      });
    }
    seq.dispose();
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`hyena: step() decoding equals the full forward, its state growing by one position a token (${backend})`, async () => {
    await useBackend(backend);
    for (const order of [2, 3]) {
      const model = visibleFilters(build({ order }));
      const seq = [[3, 1, 4, 1, 5, 9, 2, 6, 5], [6, 5, 3, 5, 8, 9, 7, 9, 3]];
      const full = tf.tidy(() => model.forward(tokens(seq)).arraySync());
      const start = () => {
        const state = model.initState(2);
        assert.equal(state.bytes(), 2 * hyena.stateBytes(model.cfg, IO, 0));
        return state;
      };
      await assertStepsMatchForward(model, start, seq, (t) => full.map((row) => row[t]), `hyena order ${order}`, {
        afterStep: (t, next) => assert.equal(next.bytes(), 2 * hyena.stateBytes(model.cfg, IO, t + 1), 'the history grows by one position'),
      });
      model.dispose();
    }
  });
}

test('hyena: a sequence longer than l_max (maxLen) is refused, in the forward and in decoding', async () => {
  await useBackend('cpu');
  const model = build({}, { vocabSize: 11, maxLen: 4, padId: 0 });
  assert.throws(() => model.forward(tokens([[1, 2, 3, 4, 5]])), /5 positions exceed l_max 4/);
  const token = tf.tensor1d([1], 'int32');
  let state = model.initState(1);
  for (let t = 0; t < 4; t++) {
    const { logits, state: next } = model.step(token, state);
    tf.dispose([logits]);
    state.dispose();
    state = next;
  }
  assert.throws(() => model.step(token, state), /5 positions exceed l_max 4/);
  tf.dispose([token]);
  state.dispose();
  model.dispose();
});

test('hyena: initialisation as zoology and safari: the decay window from 1 to 1 % at 30 % / 150 % of l_max, Sin frequency w, D ~ N(0, 1)', async () => {
  await useBackend('cpu');
  const model = build({ d_model: 16, order: 2, w: 2 }, { vocabSize: 11, maxLen: 64, padId: 0 });
  const { filter } = model.blocks[0].mixer;
  assert.deepEqual(Array.from(filter.freq.dataSync()), Array(8).fill(2));
  const D = filter.D.dataSync();
  assert.ok(D.some((v) => Math.abs(v) > 0.5) && D.some((v) => v < 0), `D is drawn N(0, 1): ${D}`);
  const window = tf.tidy(() => filter.window(64).arraySync());
  assertClose(window[0], Array(16).fill(1), 1e-6, 0, 'the window starts at 1 (t = 0)');
  // at t = 1 (the last position) the slowest channel is at 0.01^(1 / 1.5), the fastest at 0.01^(1 / 0.3)
  assertClose([window[63][0], window[63][15]], [0.01 ** (1 / 1.5), 0.01 ** (1 / 0.3)], 1e-7, 1e-4, 'the window at t = 1');
  assert.ok(window[63].every((v, c) => c === 0 || v < window[63][c - 1]), 'each channel decays faster than the one before');
  model.dispose();
});

test('hyena: paramCount equals the built model for every preset and other shapes; configs are checked', async () => {
  await useBackend('cpu');
  assertParamCountsMatch(hyena, [{ d_model: 24, order: 4, filter_order: 7, emb_dim: 5, num_inner_mlps: 0, short_filter_order: 2 }]);
  const micro = hyena.config.parse(hyena.presets.micro);
  assert.deepEqual(hyena.size(micro), { dModel: 64, nLayers: 2 });
  assert.equal(micro.long_conv, undefined, 'an absent long_conv is the FFT one, and stays out of the config hash');
  assert.throws(() => hyena.config.parse({ emb_dim: 4 }), /emb_dim 4 must be odd/);
  assert.throws(() => hyena.config.parse({ order: 1 }), /order/);
  assert.throws(() => hyena.config.parse({ fast_decay_pct: 2 }), /fast_decay_pct 2 exceeds slow_decay_pct 1.5/);
});

test('hyena: FLOPs per token from the built model (matmuls, convs, filter, the FFT), 3× for training; state bytes linear in L', async () => {
  await useBackend('cpu');
  const cfg = hyena.config.parse(hyena.presets.micro);
  const io: ModelIO = { vocabSize: 32, maxLen: 4096, padId: 0 };
  const model = hyena.build(cfg, io);
  const [d, fo] = [64, 32];
  const perLayer = (l: number, conv: (l: number) => number) =>
    model.blocks.map(({ mixer, mlp }) => {
      const matmuls = [mixer.inProj, mixer.outProj, ...mixer.filter.layers, mlp.fc, mlp.proj].reduce((s, layer) => s + 2 * layer.w.size, 0);
      const sinAndWindow = 2 * fo * 3 + 2 * d;
      const gates = 2 * d;
      return matmuls + 2 * mixer.convWeight.size + sinAndWindow + gates + 2 * d + (d * conv(l)) / l;
    });
  const head = 2 * model.embedding.table.size;
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  // FFT of size n = 2l (a power of two here): three transforms of 5 n log₂ n, the product's 6 n and the scale's n
  const fftFlops = (l: number) => 3 * 5 * (2 * l) * Math.log2(2 * l) + 7 * 2 * l;
  for (const l of [64, 1024]) {
    const f = hyena.flopsPerToken(cfg, io, l);
    assert.equal(f.forward, sum(perLayer(l, fftFlops)) + head, `fft, L ${l}`);
    assert.equal(f.training, 3 * f.forward);
    const direct = hyena.flopsPerToken({ ...cfg, long_conv: 'direct' }, io, l);
    assert.equal(direct.forward, sum(perLayer(l, (n) => n * (n + 1))) + head, `direct, L ${l}`);
  }
  model.dispose();
  // per token, the FFT's cost grows as log L, the direct sum's as L
  assert.ok(longConvFlops(4096, 'fft') / 4096 < 2 * (longConvFlops(64, 'fft') / 64));
  assert.equal(longConvFlops(4096, 'direct') / 4096, 4097);
  // per layer: the short conv's window (k − 1)·3d, and the history of the long convolution's inputs L·d, 2 layers, fp32
  assert.equal(hyena.stateBytes(cfg, io, 0), 2 * (2 * 192) * 4);
  assert.equal(hyena.stateBytes(cfg, io, 100), 2 * (2 * 192 + 100 * 64) * 4);
});

test('hyena overfits a fixed small batch with adam, no tensor leaks across steps (cpu)', async () => {
  await useBackend('cpu');
  const io: ModelIO = { vocabSize: 8, maxLen: 16, padId: 0 };
  const model = build({ d_model: 16, order: 2 }, io);
  assertOverfitsFixedBatch(model, 1.8);
});

test('hyena is registered and `seqarena list` shows it, with each preset\'s parameter count', async () => {
  assert.equal(ARCHITECTURES.hyena, hyena);
  const entry = (await listing()).architectures.find((a) => a.name === 'hyena');
  assert.ok(entry, 'seqarena list names hyena');
  assert.equal(entry.family, 'convolution');
  assert.deepEqual(Object.values(entry.presets).map((p) => p.dModel), [32, 64, 128]);
  assert.ok(Object.values(entry.presets).every((p) => p.params > 0));
});

test('hyena on webgpu (composed ops): the FFT convolution and its gradients equal the direct one on cpu; the nano model too', { skip: webgpuSkip }, async () => {
  const [b, l, c] = [2, 7, 3];
  const run = async (backend: 'cpu' | 'webgpu', viaFft: boolean): Promise<Float32Array[]> => {
    await useBackend(backend);
    const inputs = tf.tidy(() => [tf.randomNormal([b, l, c], 0, 1, 'float32', 1), tf.randomNormal([l, c], 0, 1, 'float32', 2)]);
    const w = tf.randomNormal([b, l, c], 0, 1, 'float32', 99);
    const conv = (u: tf.Tensor, h: tf.Tensor) => (viaFft ? longConvFft : longConvDirect)(u as tf.Tensor3D, h as tf.Tensor2D);
    const outputs = tf.tidy(() => [conv(inputs[0], inputs[1]), ...tf.grads((u: tf.Tensor, h: tf.Tensor) => conv(u, h).mul(w).sum())(inputs)]);
    const values = await Promise.all(outputs.map(valuesOf));
    tf.dispose([...inputs, w, ...outputs]);
    return values;
  };
  const reference = await run('cpu', false);
  const gpu = await run('webgpu', true);
  ['y', 'du', 'dh'].forEach((name, i) => assertClose(gpu[i], reference[i], 1e-4, 1e-4, name));
  await assertModelOnWebgpuEqualsCpu('hyena', [...Array(32)].map((_, i) => (i * 7) % 16));
});
