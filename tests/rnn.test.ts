import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lstmSeq2Seq } from '../architectures/lstm-seq2seq.ts';
import { gruLM, lstmLM, rnnLM } from '../architectures/rnn.ts';
import { PRESET_NAMES, type LMModel, type ModelIO, type Seq2SeqModel } from '../architectures/types.ts';
import { assertClose, assertNoLeak, assertStepsMatchForward, maxAbsDiff, useBackend } from './helpers.ts';

await useBackend('cpu');

const io: ModelIO = { vocabSize: 12, maxLen: 16, padId: 0 };
const LMS = [rnnLM, lstmLM, gruLM];
const tiny = { d_model: 8, n_layers: 2, seed: 3 };
const SEQ2SEQ_VARIANTS = (['lstm', 'gru', 'rnn'] as const).flatMap((cell) => (['luong', 'bahdanau'] as const).map((attention) => ({ cell, attention })));

const buildLM = (arch: typeof rnnLM, overrides: object = {}): LMModel => arch.build(arch.config.parse({ ...tiny, ...overrides }), io) as LMModel;
const buildSeq2Seq = (overrides: object): Seq2SeqModel => lstmSeq2Seq.build(lstmSeq2Seq.config.parse({ ...tiny, ...overrides }), io) as Seq2SeqModel;
const ids = (rows: number[][]): tf.Tensor2D => tf.tensor2d(rows, undefined, 'int32');

test('paramCount equals the built variables for every preset (and untied heads, every seq2seq variant)', () => {
  const ioSmall: ModelIO = { vocabSize: 32, maxLen: 64, padId: 0 };
  const check = (arch: typeof lstmSeq2Seq | typeof rnnLM, config: object, what: string) => {
    const cfg = arch.config.parse(config);
    const model = arch.build(cfg as never, ioSmall);
    const built = model.trainableWeights.reduce((s, v) => s + v.size, 0);
    assert.equal(arch.paramCount(cfg as never, ioSmall), built, what);
    model.dispose();
  };
  for (const arch of [...LMS, lstmSeq2Seq]) {
    for (const preset of PRESET_NAMES) check(arch, arch.presets[preset], `${arch.name} ${preset}`);
    check(arch, { ...tiny, tie_embeddings: false }, `${arch.name} untied`);
  }
  for (const variant of SEQ2SEQ_VARIANTS) check(lstmSeq2Seq, { ...tiny, ...variant }, `lstm-seq2seq ${variant.cell} ${variant.attention}`);
  // micro is the model compared with PyTorch: nn.LSTM(64, 64, num_layers=2) has 66,560 parameters.
  assert.equal(lstmLM.paramCount(lstmLM.config.parse(lstmLM.presets.micro), ioSmall), 66_560 + 32 * 64);
});

test('LM forms are causal: changing token t leaves logits before t unchanged and changes them from t on', () => {
  for (const arch of LMS) {
    const model = buildLM(arch);
    tf.tidy(() => {
      const a = model.forward(ids([[1, 2, 3, 4, 5, 6]])).arraySync()[0];
      const b = model.forward(ids([[1, 2, 3, 9, 5, 6]])).arraySync()[0];
      for (let t = 0; t < 3; t++) assertClose(b[t], a[t], 0, 0, `${arch.name} logits[${t}]`);
      for (let t = 3; t < 6; t++) assert.ok(maxAbsDiff(a[t], b[t]) > 1e-6, `${arch.name} logits[${t}] ignore the changed token`);
    });
    model.dispose();
  }
});

test('LM step() decoding equals the full forward within 1e-4; the state stays the same size; nothing leaks', async () => {
  const tokens = [
    [1, 5, 2, 7, 3, 3, 9],
    [4, 4, 8, 1, 11, 6, 2],
  ];
  for (const arch of LMS) {
    const model = buildLM(arch, { tie_embeddings: arch !== gruLM });
    const full = tf.tidy(() => model.forward(ids(tokens)).arraySync());
    const cfg = arch.config.parse(tiny);
    await assertStepsMatchForward(model, () => model.initState(2), tokens, (t) => full.map((row) => row[t]), arch.name, {
      rtol: 0,
      afterStep: (t, state) => assert.equal(state.bytes(), 2 * arch.stateBytes(cfg, io, t + 1), `${arch.name} state bytes at ${t + 1}`),
    });
    assert.equal(arch.stateBytes(cfg, io, 1), arch.stateBytes(cfg, io, 4096));
    model.dispose();
  }
  assert.equal(lstmLM.stateBytes(lstmLM.config.parse({ d_model: 64, n_layers: 2 }), io, 100), 2 * 2 * 64 * 4);
});

test('dropout acts between layers while training only', () => {
  const model = buildLM(lstmLM, { dropout: 0.5 });
  tf.tidy(() => {
    const x = ids([[1, 2, 3, 4]]);
    const evalA = model.forward(x).dataSync();
    const evalB = model.forward(x, false).dataSync();
    const train = model.forward(x, true).dataSync();
    assertClose(evalB, evalA, 0, 0, 'eval forward');
    assert.ok(maxAbsDiff(train, evalA) > 1e-6, 'training forward ignores dropout');
  });
  model.dispose();
});

test('seq2seq step() decoding equals the teacher-forced forward within 1e-4, every cell × attention, nothing leaks', async () => {
  const source = ids([
    [3, 4, 5, 6, 0, 0],
    [7, 8, 9, 10, 11, 2],
  ]);
  const targetIn = [
    [1, 6, 5, 4],
    [1, 2, 11, 10],
  ];
  for (const variant of SEQ2SEQ_VARIANTS) {
    const model = buildSeq2Seq(variant);
    const full = tf.tidy(() => model.forward(source, ids(targetIn)).arraySync());
    await assertStepsMatchForward(model, () => model.initState(source), targetIn, (t) => full.map((row) => row[t]), `${variant.cell}/${variant.attention}`, { rtol: 0 });
    model.dispose();
  }
  source.dispose();
});

test('seq2seq state holds the encoder memory: bytes grow with the source, not with decoding', () => {
  const cfg = lstmSeq2Seq.config.parse(tiny);
  const model = lstmSeq2Seq.build(cfg, io) as Seq2SeqModel;
  for (const ls of [3, 9]) {
    const source = ids([Array(ls).fill(5), Array(ls).fill(6)]);
    const state = model.initState(source);
    assert.equal(state.bytes(), 2 * lstmSeq2Seq.stateBytes(cfg, io, ls), `source length ${ls}`);
    const token = tf.tensor1d([1, 1], 'int32');
    const { logits, state: next } = model.step(token, state);
    assert.equal(next.bytes(), state.bytes(), 'a decoding step changed the state size');
    tf.dispose([logits, source, token]);
    state.dispose();
    next.dispose();
  }
  assert.ok(lstmSeq2Seq.stateBytes(cfg, io, 100) > lstmSeq2Seq.stateBytes(cfg, io, 10));
  model.dispose();
});

test('source padding does not change seq2seq outputs: pads appended, or a longer row in the batch', () => {
  const targetIn = [[1, 4, 3]];
  for (const variant of SEQ2SEQ_VARIANTS) {
    const model = buildSeq2Seq(variant);
    tf.tidy(() => {
      const alone = model.forward(ids([[3, 4, 5]]), ids(targetIn)).arraySync()[0];
      const padded = model.forward(ids([[3, 4, 5, 0, 0, 0]]), ids(targetIn)).arraySync()[0];
      const batched = model.forward(ids([[9, 8, 7, 6, 5, 4, 11], [3, 4, 5, 0, 0, 0, 0]]), ids([[1, 2, 2], ...targetIn])).arraySync()[1];
      const longerAlone = model.forward(ids([[9, 8, 7, 6, 5, 4, 11]]), ids([[1, 2, 2]])).arraySync()[0];
      const batchedLonger = model.forward(ids([[9, 8, 7, 6, 5, 4, 11], [3, 4, 5, 0, 0, 0, 0]]), ids([[1, 2, 2], ...targetIn])).arraySync()[0];
      const what = `${variant.cell}/${variant.attention}`;
      for (let t = 0; t < 3; t++) {
        assertClose(padded[t], alone[t], 1e-5, 1e-4, `${what} pads appended, position ${t}`);
        assertClose(batched[t], alone[t], 1e-5, 1e-4, `${what} batched with a longer row, position ${t}`);
        assertClose(batchedLonger[t], longerAlone[t], 1e-5, 1e-4, `${what} the longer row, position ${t}`);
      }
      // A source token (not a pad) does change the output: the test above could fail.
      const changed = model.forward(ids([[3, 4, 6]]), ids(targetIn)).arraySync()[0];
      assert.ok(maxAbsDiff(changed[0], alone[0]) > 1e-6, `${what} ignores the source`);
      // A source of pads only keeps the encoder's zero state and still decodes to finite logits.
      const empty = model.forward(ids([[0, 0, 0], [3, 4, 0]]), ids([[1, 2], [1, 3]])).dataSync();
      assert.ok(empty.every(Number.isFinite), `${what}: an all-pad source gives non-finite logits`);
    });
    model.dispose();
  }
});

/** Next-token cross-entropy of an LM, or of a seq2seq model on (source, target) pairs. */
function crossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Scalar {
  const v = logits.shape[2];
  return tf.losses.softmaxCrossEntropy(tf.oneHot(targets.flatten(), v), logits.reshape([-1, v])) as tf.Scalar;
}

/** Adam on one fixed batch; returns the first and last loss and checks the tensor count stays flat after step 1. */
function overfit(loss: () => tf.Scalar, weights: tf.Variable[]): { first: number; last: number } {
  const optimizer = tf.train.adam(0.1);
  const losses: number[] = [];
  let tensorsAfterFirstStep = 0;
  for (let i = 0; i < FIT_STEPS; i++) {
    const value = optimizer.minimize(loss, true, weights)!;
    losses.push(value.dataSync()[0]);
    value.dispose();
    if (i === 0) tensorsAfterFirstStep = tf.memory().numTensors; // adam's moments exist from here on
  }
  assert.equal(tf.memory().numTensors, tensorsAfterFirstStep, 'training steps leaked tensors');
  optimizer.dispose();
  return { first: losses[0], last: losses[losses.length - 1] };
}

// Distinct first tokens make every next token a function of the prefix, so the loss can approach 0.
const BATCH = [
  [1, 7, 3, 9, 2, 5],
  [2, 4, 4, 10, 8, 1],
  [3, 11, 6, 2, 9, 9],
  [4, 5, 1, 6, 3, 10],
];
const FIT_STEPS = 25;
const FIT_BOUND = 0.25; // nats per token; chance is ln 12 ≈ 2.48, and these models reach 0.01–0.07
const fitSize = { d_model: 16, n_layers: 1 };

for (const backend of ['cpu', 'wasm'] as const) {
  test(`each LM form overfits a fixed batch on ${backend} (loss < ${FIT_BOUND}) without leaking`, async () => {
    await useBackend(backend);
    for (const arch of LMS) {
      const model = buildLM(arch, fitSize);
      const input = ids(BATCH.map((row) => row.slice(0, -1)));
      const target = ids(BATCH.map((row) => row.slice(1)));
      const { first, last } = overfit(() => crossEntropy(model.forward(input, true), target), model.trainableWeights);
      assert.ok(first > 1.5, `${arch.name} on ${backend}: first loss ${first} is not near chance`);
      assert.ok(last < FIT_BOUND, `${arch.name} on ${backend}: loss ${last} after ${FIT_STEPS} steps`);
      tf.dispose([input, target]);
      model.dispose();
    }
    await useBackend('cpu');
  });
}

test(`lstm-seq2seq overfits a fixed batch of padded pairs on wasm (loss < ${FIT_BOUND}) without leaking`, async () => {
  await useBackend('wasm');
  const model = buildSeq2Seq(fitSize);
  const source = ids(BATCH.map((row, i) => (i % 2 ? row.slice(0, 5) : [...row.slice(0, 4), io.padId])));
  const reversed = BATCH.map((row) => row.slice(0, 4).reverse());
  const targetIn = ids(reversed.map((row) => [1, ...row.slice(0, -1)]));
  const target = ids(reversed);
  const { last } = overfit(() => crossEntropy(model.forward(source, targetIn, true), target), model.trainableWeights);
  assert.ok(last < FIT_BOUND, `lstm-seq2seq: loss ${last} after ${FIT_STEPS} steps`);
  tf.dispose([source, targetIn, target]);
  model.dispose();
  await useBackend('cpu');
});

test("embeddings start N(0, 1) as PyTorch's nn.Embedding draws them, or at embed_std", async () => {
  await useBackend('cpu');
  const stdOf = (v: tf.Variable): number => tf.tidy(() => tf.moments(v).variance.sqrt().dataSync()[0]);
  const embeddingTables = (model: { trainableWeights: tf.Variable[] }) => model.trainableWeights.filter((v) => /embed/.test(v.name));
  const width = 64; // 12 × 64 draws per table: enough for the std to land within 10%
  for (const [what, model] of [
    ['lstm LM', buildLM(lstmLM, { d_model: width })],
    ['gru LM', buildLM(gruLM, { d_model: width })],
    ['lstm-seq2seq', buildSeq2Seq({ d_model: width })],
  ] as const) {
    const tables = embeddingTables(model);
    assert.equal(tables.length, what === 'lstm-seq2seq' ? 2 : 1, `${what}: embedding tables`);
    for (const t of tables) assert.ok(Math.abs(stdOf(t) - 1) < 0.1, `${what}: ${t.name} std ${stdOf(t)} is not ≈ 1`);
    model.dispose();
  }
  const gpt2 = buildLM(lstmLM, { d_model: width, embed_std: 0.02 });
  const std = stdOf(embeddingTables(gpt2)[0]);
  assert.ok(Math.abs(std - 0.02) < 0.002, `embed_std 0.02 gave std ${std}`);
  gpt2.dispose();
});
