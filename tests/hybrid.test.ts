import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { hybrid, type HybridLM } from '../architectures/hybrid.ts';
import { mamba } from '../architectures/mamba.ts';
import type { ModelIO } from '../architectures/types.ts';
import { assertClose, assertNoLeak, assertStepsMatchForward, maxAbsDiff, useBackend, assertOverfitsFixedBatch, assertParamCountsMatch } from './helpers.ts';

const IO: ModelIO = { vocabSize: 11, maxLen: 64, padId: 0 };
const TINY = { d_model: 16, n_heads: 2, d_state: 4 };

function build(pattern: string, io = IO): HybridLM {
  return hybrid.build(hybrid.config.parse({ ...TINY, pattern }), io) as HybridLM;
}

function tokens(values: number[][]): tf.Tensor2D {
  return tf.tensor2d(values, [values.length, values[0].length], 'int32');
}

test('config: a pattern of other letters, or an odd head size, is refused with the bad value', () => {
  assert.throws(() => hybrid.config.parse({ pattern: 'MAX' }), /pattern 'MAX' must be one or more of M \(Mamba block\) and A/);
  assert.throws(() => hybrid.config.parse({ pattern: '' }), /pattern '' must be/);
  assert.throws(() => hybrid.config.parse({ d_model: 24, n_heads: 8 }), /d_model 24 \/ n_heads 8 must be an even whole head size/);
});

test("pattern 'MM' is exactly the 2-layer mamba model with the same seed", async () => {
  await useBackend('wasm');
  const seq = tokens([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]);
  const h = build('MM');
  const m = mamba.build(mamba.config.parse({ ...TINY, n_layers: 2 }), IO);
  const [lh, lm] = [h, m].map((model) => tf.tidy(() => model.forward(seq).dataSync()));
  assert.deepEqual(lh, lm);
  tf.dispose([seq]);
  h.dispose();
  m.dispose();
});

for (const pattern of ['MA', 'AM']) {
  test(`hybrid ${pattern}: changing tokens after t never changes outputs at ≤ t`, async () => {
    await useBackend('wasm');
    const model = build(pattern);
    const a = [[1, 2, 3, 4, 5, 6, 7, 8]];
    const b = [[1, 2, 3, 4, 5, 10, 9, 2]];
    const [la, lb] = [a, b].map((t) => tf.tidy(() => model.forward(tokens(t)).arraySync()[0]));
    for (let t = 0; t < 8; t++) {
      if (t < 5) assertClose(lb[t], la[t], 1e-5, 0, `position ${t}`);
      else assert.ok(maxAbsDiff(lb[t], la[t]) > 1e-6, `position ${t} should see the change`);
    }
    model.dispose();
  });
}

test('hybrid MAMA: step() decoding equals the full forward; the state grows only by the KV caches', async () => {
  await useBackend('wasm');
  const model = build('MAMA');
  const seq = [[3, 1, 4, 1, 5, 9, 2], [6, 5, 3, 5, 8, 9, 7]];
  const full = tf.tidy(() => model.forward(tokens(seq)).arraySync());
  const start = () => {
    const state = model.initState(2);
    assert.equal(state.bytes(), 2 * hybrid.stateBytes(model.cfg, IO, 0), 'state bytes before decoding');
    return state;
  };
  await assertStepsMatchForward(model, start, seq, (t) => full.map((row) => row[t]), 'hybrid MAMA', {
    afterStep: (t, next) => assert.equal(next.bytes(), 2 * hybrid.stateBytes(model.cfg, IO, t + 1), `state bytes after ${t + 1} tokens`),
  });
  model.dispose();
});

test('paramCount equals the built model for every preset and other patterns', async () => {
  await useBackend('cpu');
  assertParamCountsMatch(hybrid, [{ pattern: 'A' }, { pattern: 'AMMMA', d_model: 32, n_heads: 2 }]);
  assert.deepEqual(hybrid.size(hybrid.config.parse({ pattern: 'MAMAM' })), { dModel: 64, nLayers: 5 });
});

test('costs: attention layers add FLOPs and state that grow with L; training is 3× forward', () => {
  const cfg = hybrid.config.parse({ pattern: 'MAMA' });
  const short = hybrid.flopsPerToken(cfg, IO, 64);
  const long = hybrid.flopsPerToken(cfg, IO, 1088);
  assert.equal(long.forward - short.forward, 2 * 2 * 2 * 64 * (1024 / 2)); // 2 A layers, 4·d per key, L/2 more keys
  assert.equal(short.training, 3 * short.forward);
  assert.equal(hybrid.stateBytes(cfg, IO, 11) - hybrid.stateBytes(cfg, IO, 10), 2 * 2 * 64 * 4);
});

test('a tiny hybrid overfits a fixed small batch with adam, no tensor leaks across steps (wasm)', async () => {
  await useBackend('wasm');
  const io: ModelIO = { vocabSize: 8, maxLen: 16, padId: 0 };
  const model = build('MA', io);
  assertOverfitsFixedBatch(model);
});
