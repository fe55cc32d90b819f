import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURES } from '../architectures/index.ts';
import { visibleKeys } from '../architectures/kernels/attention-mask.ts';
import { swa, transformer, transformerConfig, transformerEncDec, type TransformerConfig } from '../architectures/transformer.ts';
import { PRESET_NAMES, type DecodeState, type LMModel, type ModelIO, type Seq2SeqModel } from '../architectures/types.ts';
import { resolveRun } from '../harness/spec.ts';
import {
  assertClose,
  assertModelOnWebgpuEqualsCpu,
  assertNoLeak,
  assertOverfitsFixedBatch,
  assertStepsMatchForward,
  maxAbsDiff,
  useBackend,
  webgpuSkipReason,
} from './helpers.ts';

const io: ModelIO = { vocabSize: 32, maxLen: 16, padId: 0 };

function config(overrides: Partial<TransformerConfig> = {}): TransformerConfig {
  return transformerConfig.parse({ d_model: 16, n_layers: 2, n_heads: 2, ...overrides });
}

/** Deterministic token ids in [1, vocabSize): never the pad id 0. */
function tokens(b: number, l: number, seed: number): number[][] {
  let s = seed * 2654435761;
  return Array.from({ length: b }, () =>
    Array.from({ length: l }, () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return 1 + (s % (io.vocabSize - 1));
    }),
  );
}

const int2d = (rows: number[][]): tf.Tensor2D => tf.tensor2d(rows, undefined, 'int32');

/**
 * GPT-2 initialisation gives logits of about ±0.1, where a wrong position or mask would hide inside the
 * tolerances: the equivalence tests draw larger weights so every path moves the logits by units.
 */
function largeWeights<M extends LMModel | Seq2SeqModel>(model: M): M {
  model.trainableWeights.forEach((w, i) => w.assign(tf.tidy(() => tf.randomNormal(w.shape, 0, 0.5, 'float32', 100 + i))));
  return model;
}

/** logits[:, from:to, :] as a flat array. */
function positions(logits: tf.Tensor3D, from: number, to: number): Float32Array {
  return tf.tidy(() => logits.slice([0, from, 0], [-1, to - from, -1]).dataSync() as Float32Array);
}

test('config: defaults are the micro preset; d_model must divide by n_heads, with both named', () => {
  const defaults = transformerConfig.parse({});
  assert.deepEqual(
    { d_model: defaults.d_model, n_layers: defaults.n_layers, n_heads: defaults.n_heads },
    { d_model: 64, n_layers: 2, n_heads: 4 },
  );
  assert.deepEqual(transformer.presets.micro, { d_model: 64, n_layers: 2, n_heads: 4 });
  assert.deepEqual(transformerEncDec.presets, transformer.presets);
  assert.equal(defaults.positions, 'learned');
  assert.equal(defaults.dropout, 0);
  const bad = transformerConfig.safeParse({ d_model: 30, n_heads: 4 });
  assert.ok(!bad.success);
  assert.match(bad.error.issues[0].message, /d_model 30 is not divisible by n_heads 4/);
  const odd = transformerConfig.safeParse({ d_model: 12, n_heads: 4, positions: 'rope' });
  assert.ok(!odd.success);
  assert.match(odd.error.issues[0].message, /rope.*d_model 12 \/ n_heads 4 is odd/);
  assert.throws(() => transformer.build({ ...defaults, n_heads: 5 }, io), /d_model 64 is not divisible by n_heads 5/);
});

test('paramCount equals the built variables for every preset, tied and untied, learned and rope', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  for (const arch of [transformer, transformerEncDec]) {
    for (const preset of PRESET_NAMES) {
      for (const tie_embeddings of [true, false]) {
        for (const positions of ['learned', 'rope'] as const) {
          const cfg = transformerConfig.parse({ ...arch.presets[preset], tie_embeddings, positions });
          const model = arch.build(cfg, io);
          const built = model.trainableWeights.reduce((s, v) => s + v.size, 0);
          assert.equal(arch.paramCount(cfg, io), built, `${arch.name} ${preset} tie_embeddings=${tie_embeddings} ${positions}`);
          model.dispose();
        }
      }
    }
  }
  assert.equal(tf.memory().numTensors, before, 'building and disposing models leaks');
  // micro, the preset compared across families: 2·(12d² + 13d) + 2d + v·d + maxLen·d at d = 64.
  assert.equal(transformer.paramCount(transformerConfig.parse(transformer.presets.micro), io), 2 * (12 * 64 * 64 + 13 * 64) + 128 + 32 * 64 + 16 * 64);
});

test("init: 'gpt2' (absent) draws N(0, 0.02²) with scaled residual projections; 'pytorch' draws nn.Linear's U(±1/√fan_in) and nn.Embedding's N(0, 1)", async () => {
  await useBackend('cpu');
  const std = (v: tf.Variable) => tf.tidy(() => Math.sqrt(tf.moments(v).variance.dataSync()[0]));
  const maxAbs = (v: tf.Variable) => tf.tidy(() => v.abs().max().dataSync()[0]);
  const d = 64;
  const bigIo: ModelIO = { vocabSize: 512, maxLen: 256, padId: 0 };
  const weights = (cfg: TransformerConfig) => {
    const model = transformer.build(cfg, bigIo);
    const byName = new Map(model.trainableWeights.map((w) => [w.name.replace(/_\d+$/, ''), w]));
    const find = (part: string) => [...byName.entries()].find(([n]) => n.includes(part))?.[1] ?? assert.fail(`no weight named like ${part} in ${[...byName.keys()].join(', ')}`);
    return { model, find };
  };
  assert.equal(transformerConfig.parse({}).init, undefined, 'absent, so configs without it keep their hash');

  const gpt2 = weights(transformerConfig.parse({ d_model: d, n_layers: 2, n_heads: 4, tie_embeddings: false }));
  assert.ok(Math.abs(std(gpt2.find('wte')) - 0.02) < 0.002);
  assert.ok(Math.abs(std(gpt2.find('fc.w')) - 0.02) < 0.002);
  assert.ok(Math.abs(std(gpt2.find('mlp.proj.w')) - 0.02 / 2) < 0.001, 'residual projection scaled by 1/√(2·2)');
  assert.equal(maxAbs(gpt2.find('fc.b')), 0);
  gpt2.model.dispose();

  const torch = weights(transformerConfig.parse({ d_model: d, n_layers: 2, n_heads: 4, tie_embeddings: false, init: 'pytorch' }));
  assert.ok(Math.abs(std(torch.find('wte')) - 1) < 0.05, 'token table N(0, 1)');
  assert.ok(Math.abs(std(torch.find('wpe')) - 1) < 0.05, 'position table N(0, 1)');
  for (const [name, fanIn] of [['fc.w', d], ['mlp.proj.w', 4 * d], ['head', d], ['fc.b', d]] as const) {
    const w = torch.find(name);
    const limit = 1 / Math.sqrt(fanIn);
    assert.ok(maxAbs(w) <= limit && maxAbs(w) > 0.9 * limit, `${name}: within ±1/√${fanIn} and reaching it`);
    if (w.size > 1000) assert.ok(Math.abs(std(w) - limit / Math.sqrt(3)) < 0.05 * limit, `${name}: std of U(±${limit.toFixed(3)})`);
  }
  torch.model.dispose();
  assert.ok(!transformerConfig.safeParse({ init: 'xavier' }).success);
});

test('analytic FLOPs: at L = 0 they are 2 per matrix weight used per token; attention adds 2·d·L per causal layer', () => {
  const cfgs = [config(), config({ tie_embeddings: false, positions: 'rope' })];
  for (const cfg of cfgs) {
    for (const arch of [transformer, transformerEncDec]) {
      const model = arch.build(cfg, io);
      // Every matrix multiplies each token once, except the embedding lookups (no FLOPs) and the position
      // tables; a tied head multiplies by the embedding matrix.
      const matrices = model.trainableWeights.filter(
        (w) => w.rank === 2 && !w.name.includes('wpe') && (cfg.tie_embeddings || !w.name.startsWith('wte')),
      );
      const weights = matrices.reduce((s, w) => s + w.size, 0);
      const f0 = arch.flopsPerToken(cfg, io, 0);
      assert.equal(f0.forward, 2 * weights, `${arch.name} tie_embeddings=${cfg.tie_embeddings}`);
      model.dispose();
      const f = arch.flopsPerToken(cfg, io, 100);
      assert.equal(f.training, 3 * f.forward);
      // Per layer and token: causal self-attention sees L/2 keys, 4·d FLOPs each; the encoder and
      // cross-attention see all L.
      const attentionPerL = arch === transformer ? cfg.n_layers * 2 * cfg.d_model : cfg.n_layers * (4 + 2 + 4) * cfg.d_model;
      assert.equal(f.forward - f0.forward, attentionPerL * 100);
    }
  }
});

for (const positionsKind of ['learned', 'rope'] as const) {
  test(`decoder-only (${positionsKind}): changing tokens after position t never changes logits at ≤ t`, async () => {
    await useBackend('cpu');
    const model = largeWeights(transformer.build(config({ positions: positionsKind }), io) as LMModel);
    const a = tokens(2, 10, 1);
    const b = a.map((row) => row.map((t, i) => (i > 5 ? ((t + 7) % (io.vocabSize - 1)) + 1 : t)));
    const [ta, tb] = [int2d(a), int2d(b)];
    const [la, lb] = [model.forward(ta), model.forward(tb)];
    assertClose(positions(lb, 0, 6), positions(la, 0, 6), 0, 0, 'logits at ≤ 5');
    assert.ok(maxAbsDiff(positions(lb, 6, 7), positions(la, 6, 7)) > 1e-4, 'the changed token must change its own logits');
    tf.dispose([ta, tb, la, lb]);
    model.dispose();
  });

  test(`decoder-only (${positionsKind}): KV-cache decoding equals the full forward at every position`, async () => {
    await useBackend('cpu');
    const cfg = config({ positions: positionsKind });
    const model = largeWeights(transformer.build(cfg, io) as LMModel);
    const [b, l] = [2, 9];
    const rows = tokens(b, l, 2);
    const full = tf.tidy(() => model.forward(int2d(rows)).arraySync());
    const start = (): DecodeState => {
      const state = model.initState(b);
      assert.equal(state.bytes(), 0);
      return state;
    };
    await assertStepsMatchForward(model, start, rows, (t) => full.map((row) => row[t]), `decoder-only (${positionsKind})`, {
      afterStep: (t, state) => assert.equal(state.bytes(), b * transformer.stateBytes(cfg, io, t + 1), `state bytes after ${t + 1} tokens`),
    });
    model.dispose();
  });
}

test('learned positions refuse sequences longer than maxLen; rotary ones do not', async () => {
  await useBackend('cpu');
  const learned = transformer.build(config(), io) as LMModel;
  const long = int2d(tokens(1, io.maxLen + 1, 3));
  assert.throws(() => learned.forward(long), /seq_len 17 exceeds maxLen 16.*positions 'rope'/);
  const rope = transformer.build(config({ positions: 'rope' }), io) as LMModel;
  const logits = rope.forward(long);
  assert.deepEqual(logits.shape, [1, io.maxLen + 1, io.vocabSize]);
  tf.dispose([long, logits]);
  learned.dispose();
  rope.dispose();
});

test('dropout acts only when training', async () => {
  await useBackend('cpu');
  const model = transformer.build(config({ dropout: 0.5 }), io) as LMModel;
  const input = int2d(tokens(2, 6, 4));
  const [eval1, eval2, train] = [model.forward(input), model.forward(input), model.forward(input, true)];
  assertClose(eval2.dataSync(), eval1.dataSync(), 0, 0, 'eval forward');
  assert.ok(maxAbsDiff(train.dataSync(), eval1.dataSync()) > 1e-3, 'training forward must drop');
  tf.dispose([input, eval1, eval2, train]);
  model.dispose();
});

test('encoder–decoder: decoder causality, and padding the source changes nothing', async () => {
  await useBackend('cpu');
  for (const positionsKind of ['learned', 'rope'] as const) {
    const model = largeWeights(transformerEncDec.build(config({ positions: positionsKind }), io) as Seq2SeqModel);
    const source = tokens(2, 5, 5);
    const target = tokens(2, 7, 6);
    const changed = target.map((row) => row.map((t, i) => (i > 3 ? ((t + 5) % (io.vocabSize - 1)) + 1 : t)));
    const padded = source.map((row) => [...row, io.padId, io.padId, io.padId]);
    const [src, srcPadded, tgt, tgtChanged] = [int2d(source), int2d(padded), int2d(target), int2d(changed)];
    const base = model.forward(src, tgt);
    const later = model.forward(src, tgtChanged);
    assertClose(positions(later, 0, 4), positions(base, 0, 4), 0, 0, `${positionsKind}: logits at ≤ 3`);
    assert.ok(maxAbsDiff(positions(later, 4, 5), positions(base, 4, 5)) > 1e-4, 'the changed token must change its own logits');
    const withPad = model.forward(srcPadded, tgt);
    assertClose(withPad.dataSync(), base.dataSync(), 1e-6, 1e-5, `${positionsKind}: padded source`);
    // Not vacuous: a real source token does reach the decoder.
    const otherSource = int2d(source.map((row) => [((row[0] + 3) % (io.vocabSize - 1)) + 1, ...row.slice(1)]));
    const moved = model.forward(otherSource, tgt);
    assert.ok(maxAbsDiff(moved.dataSync(), base.dataSync()) > 1e-4, 'the source must matter');
    tf.dispose([src, srcPadded, tgt, tgtChanged, base, later, withPad, otherSource, moved]);
    model.dispose();
  }
});

for (const positionsKind of ['learned', 'rope'] as const) {
  test(`encoder–decoder (${positionsKind}): step() logits equal the teacher-forced forward, padded source included`, async () => {
    await useBackend('cpu');
    const cfg = config({ positions: positionsKind });
    const model = largeWeights(transformerEncDec.build(cfg, io) as Seq2SeqModel);
    const [b, l] = [2, 6];
    // The second source is padded: the cached cross-attention must mask it as the forward does.
    const sourceRows = tokens(b, l, 7);
    sourceRows[1] = [...sourceRows[1].slice(0, 3), io.padId, io.padId, io.padId];
    const source = int2d(sourceRows);
    const targetRows = tokens(b, l, 8);
    const full = tf.tidy(() => model.forward(source, int2d(targetRows)).arraySync());
    await assertStepsMatchForward(model, () => model.initState(source), targetRows, (t) => full.map((row) => row[t]), `encoder–decoder (${positionsKind})`, {
      // Source and target both of length l: after the last token the state is the analytic size.
      afterStep: (t, state) => t === l - 1 && assert.equal(state.bytes(), b * transformerEncDec.stateBytes(cfg, io, l)),
    });
    source.dispose();
    model.dispose();
  });
}

// ---------------------------------------------------------------------------------------------------------
// Sliding-window attention (`window`, and `swa` where it defaults to 64)

const WINDOW = 3;

test('window: absent by default (full attention, config hashes unchanged); swa is the transformer with it defaulted, registered', () => {
  assert.equal(transformerConfig.parse({}).window, undefined);
  assert.ok(!('window' in transformerConfig.parse({})), 'absent, not undefined, so the config hash is the one it had before');
  assert.equal(swa.config.parse({}).window, 64);
  assert.equal(swa.config.parse({ window: 5 }).window, 5);
  for (const bad of [0, -1, 2.5]) assert.ok(!transformerConfig.safeParse({ window: bad }).success, `window ${bad}`);
  assert.match(swa.config.safeParse({ d_model: 30, n_heads: 4 }).error?.issues[0].message ?? '', /not divisible by n_heads 4/, "swa keeps transformer's checks");
  assert.equal(ARCHITECTURES.swa, swa);
  assert.deepEqual(swa.presets, transformer.presets);
  const run = resolveRun({ arch: 'swa', preset: 'nano', task: 'mqar', taskParams: { seq_len: 16, num_kv_pairs: 2, vocab_size: 16 } });
  assert.equal(run.config.window, 64);
  const cfg = swa.config.parse(swa.presets.micro);
  const model = swa.build(cfg, io);
  assert.equal(swa.paramCount(cfg, io), model.trainableWeights.reduce((n, w) => n + w.size, 0));
  assert.equal(swa.paramCount(cfg, io), transformer.paramCount(cfg, io), 'a window adds no parameter');
  model.dispose();
});

test('window: a token reaches only the logits within the layers’ receptive field, n_layers · (W − 1) positions on', async () => {
  await useBackend('cpu');
  for (const positionsKind of ['learned', 'rope'] as const) {
    const model = largeWeights(transformer.build(config({ positions: positionsKind, window: WINDOW }), io) as LMModel);
    const reach = 2 * (WINDOW - 1); // two layers
    const a = tokens(2, 12, 11);
    const b = a.map((row) => [((row[0] + 4) % (io.vocabSize - 1)) + 1, ...row.slice(1)]);
    const [ta, tb] = [int2d(a), int2d(b)];
    const [la, lb] = [model.forward(ta), model.forward(tb)];
    assert.ok(maxAbsDiff(positions(lb, reach, reach + 1), positions(la, reach, reach + 1)) > 1e-4, `${positionsKind}: token 0 reaches position ${reach}`);
    assertClose(positions(lb, reach + 1, 12), positions(la, reach + 1, 12), 0, 0, `${positionsKind}: token 0 does not reach past position ${reach}`);
    tf.dispose([ta, tb, la, lb]);
    model.dispose();
  }
});

for (const positionsKind of ['learned', 'rope'] as const) {
  test(`window (${positionsKind}): step() past the window equals the full forward, and the cache holds at most W positions`, async () => {
    await useBackend('cpu');
    const cfg = config({ positions: positionsKind, window: WINDOW });
    const model = largeWeights(transformer.build(cfg, io) as LMModel);
    const [b, l] = [2, 11];
    const rows = tokens(b, l, 12);
    const full = tf.tidy(() => model.forward(int2d(rows)).arraySync());
    // Not vacuous: past the window the full-attention model (same weights) gives other logits.
    const fullAttention = largeWeights(transformer.build(config({ positions: positionsKind }), io) as LMModel);
    const unwindowed = tf.tidy(() => fullAttention.forward(int2d(rows)).arraySync());
    fullAttention.dispose();
    assert.ok(maxAbsDiff(full[0][l - 1], unwindowed[0][l - 1]) > 1e-3, 'the window changes the last logits');
    assertClose(full[0][WINDOW - 1], unwindowed[0][WINDOW - 1], 1e-5, 1e-5, 'within the window it changes nothing');
    const positionBytes = 2 * cfg.n_layers * cfg.d_model * 4 * b; // keys and values of one position, every layer
    await assertStepsMatchForward(model, () => model.initState(b), rows, (t) => full.map((row) => row[t]), `window (${positionsKind})`, {
      afterStep: (t, state) => {
        assert.equal(state.bytes(), b * transformer.stateBytes(cfg, io, t + 1), `state bytes after ${t + 1} tokens`);
        assert.equal(state.bytes(), Math.min(t + 1, WINDOW) * positionBytes, `the cache after ${t + 1} tokens holds min(${t + 1}, W) positions`);
      },
    });
    model.dispose();
  });
}

test('window: the encoder–decoder windows its decoder self-attention; step() equals the teacher-forced forward', async () => {
  await useBackend('cpu');
  const cfg = config({ window: WINDOW });
  const model = largeWeights(transformerEncDec.build(cfg, io) as Seq2SeqModel);
  const [b, l] = [2, 9];
  const source = int2d(tokens(b, l, 13));
  const targetRows = tokens(b, l, 14);
  const full = tf.tidy(() => model.forward(source, int2d(targetRows)).arraySync());
  const floats = (positions: number) => 2 * cfg.n_layers * positions * cfg.d_model; // keys and values, every layer
  await assertStepsMatchForward(model, () => model.initState(source), targetRows, (t) => full.map((row) => row[t]), 'window (encoder–decoder)', {
    // min(t + 1, W) decoder positions, then the source's cross-attention keys and values and its mask
    afterStep: (t, state) => {
      assert.equal(state.bytes(), b * 4 * (floats(Math.min(t + 1, WINDOW)) + floats(l) + l), `after ${t + 1} tokens`);
      if (t === l - 1) assert.equal(state.bytes(), b * transformerEncDec.stateBytes(cfg, io, l), 'the closed form');
    },
  });
  source.dispose();
  model.dispose();
});

test('window: FLOPs and state bytes count min(L, W) keys per position (closed forms)', () => {
  const w = 8;
  for (const arch of [transformer, transformerEncDec]) {
    const full = config();
    const windowed = config({ window: w });
    for (const l of [1, 4, 8]) assert.deepEqual(arch.flopsPerToken(windowed, io, l), arch.flopsPerToken(full, io, l), `${arch.name} L ${l} ≤ W`);
    for (const l of [9, 100, 10_000]) {
      const keys = w - (w * w) / (2 * l);
      const saved = full.n_layers * 2 * 2 * full.d_model * (l / 2 - keys);
      assert.ok(Math.abs(arch.flopsPerToken(full, io, l).forward - arch.flopsPerToken(windowed, io, l).forward - saved) < 1e-6 * saved, `${arch.name} L ${l}`);
      // the mean number of keys a query sees, counted from the mask, is within half a key of the closed form
      const exact = [...Array(l).keys()].reduce((n, i) => n + (visibleKeys(i, l, l, true, w).end - visibleKeys(i, l, l, true, w).start), 0) / l;
      assert.ok(Math.abs(exact - keys) <= 0.5, `L ${l}: mean keys ${exact} vs ${keys}`);
    }
  }
  // Per token it tends to a constant: 2·d per key · W keys · 2 (scores and values) per layer.
  const perToken = (l: number) => transformer.flopsPerToken(config({ window: w }), io, l).forward - transformer.flopsPerToken(config({ window: w }), io, 0).forward;
  assert.ok(Math.abs(perToken(1e9) - 2 * 2 * 2 * 16 * w) < 1e-3);
  for (const l of [1, 3, 8, 9, 50]) {
    assert.equal(transformer.stateBytes(config({ window: w }), io, l), 2 * 2 * Math.min(l, w) * 16 * 4, `state bytes at L ${l}`);
  }
});

test('a tiny sliding-window model overfits a fixed batch (wasm)', async () => {
  await useBackend('wasm');
  // PyTorch's initialisation: at nano, GPT-2's leaves the loss near 0.6 after the helper's 25 steps, window or not.
  const cfg = swa.config.parse({ ...swa.presets.nano, window: 4, init: 'pytorch' });
  assertOverfitsFixedBatch(swa.build(cfg, { vocabSize: 8, maxLen: 16, padId: 0 }) as LMModel, 1.8);
});

test('on webgpu a sliding-window LM gives the loss and gradients it gives on cpu', { skip: (await webgpuSkipReason()) ?? false }, async () => {
  await assertModelOnWebgpuEqualsCpu('swa', [...Array(32)].map((_, i) => (i * 5) % 16), 1e-4, { window: 4 });
});

/** Mean cross-entropy of logits (b, l, v) against target ids (b, l). */
function crossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Scalar {
  const v = logits.shape[2];
  return tf.losses.softmaxCrossEntropy(tf.oneHot(targets.flatten(), v), logits.reshape([-1, v])) as tf.Scalar;
}

/** Adam on a fixed batch; returns the first and last losses, and checks one step for leaks. */
async function overfit(lossFn: () => tf.Scalar, weights: tf.Variable[], steps: number): Promise<{ first: number; last: number }> {
  const optimizer = tf.train.adam(2e-2);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    // Adam makes its moment variables on the first step; after that a step must leave nothing behind.
    if (i === 2) await assertNoLeak(() => optimizer.minimize(lossFn, false, weights), 'a training step');
    const loss = optimizer.minimize(lossFn, true, weights)!;
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  optimizer.dispose();
  return { first: losses[0], last: losses[losses.length - 1] };
}

// One layer at d_model 16 falls below 0.2 nats in about 25 steps on both backends; 40 leave a margin.
const overfitConfig = (): TransformerConfig => config({ n_layers: 1 });
const OVERFIT_STEPS = 40;

for (const backend of ['cpu', 'wasm'] as const) {
  test(`a tiny decoder-only model overfits a fixed batch (${backend})`, async () => {
    await useBackend(backend);
    const model = transformer.build(overfitConfig(), io) as LMModel;
    const rows = tokens(4, 9, 9);
    const input = int2d(rows.map((r) => r.slice(0, 8)));
    const target = int2d(rows.map((r) => r.slice(1)));
    const lossFn = (): tf.Scalar => crossEntropy(model.forward(input, true), target);
    const { first, last } = await overfit(lossFn, model.trainableWeights, OVERFIT_STEPS);
    assert.ok(first > 3, `initial loss ${first} should be near ln 32 ≈ 3.47`);
    assert.ok(last < 0.2, `loss fell only from ${first} to ${last} nats`);
    tf.dispose([input, target]);
    model.dispose();
  });
}

test('a tiny encoder–decoder learns to reverse a fixed batch (wasm)', async () => {
  await useBackend('wasm');
  const model = transformerEncDec.build(overfitConfig(), io) as Seq2SeqModel;
  const bos = 1;
  const sourceRows = tokens(4, 6, 10);
  const targetRows = sourceRows.map((r) => [...r].reverse());
  const source = int2d(sourceRows);
  const decoderIn = int2d(targetRows.map((r) => [bos, ...r.slice(0, -1)]));
  const target = int2d(targetRows);
  const lossFn = (): tf.Scalar => crossEntropy(model.forward(source, decoderIn, true), target);
  const { first, last } = await overfit(lossFn, model.trainableWeights, OVERFIT_STEPS);
  assert.ok(first > 3, `initial loss ${first} should be near ln 32 ≈ 3.47`);
  assert.ok(last < 0.2, `loss fell only from ${first} to ${last} nats`);
  tf.dispose([source, decoderIn, target]);
  model.dispose();
});
