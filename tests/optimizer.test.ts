/**
 * The optimizer: the composed AdamW reference against tfjs's own Adam (with decoupled decay and
 * clipping as torch.optim.AdamW + clip_grad_norm_ apply them), the fused one-call update (native on 1
 * and several threads, and the JavaScript loop) against the reference over several steps, its state
 * for checkpoints, and each family's weight-decay groups.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURES } from '../architectures/index.ts';
import { adamwFused, adamwReference, type AdamWHyper, type AdamWSlot } from '../architectures/kernels/adamw.ts';
import { nativeAddon } from '../architectures/kernels/native.ts';
import type { Architecture } from '../architectures/types.ts';
import { AdamW, type AdamWState } from '../harness/optimizer.ts';
import { TrainingSettings } from '../harness/spec.ts';
import { assertClose, useBackend } from './helpers.ts';

/** Odd shapes (none a multiple of a SIMD width or of the native kernel's chunk); every other one decays. */
const SHAPES = [[3, 5], [7], [1], [33, 17], [16391]];

function seeded(shape: number[], seed: number): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let x = seed * 7919 + 1;
  for (let i = 0; i < out.length; i++) {
    x = (x * 48271) % 2147483647;
    out[i] = (x / 2147483647) * 2 - 1;
  }
  return out;
}

/** A loss whose gradients change from step to step: Σ c·p² + d·p over all parameters. */
function makeProblem() {
  const params = SHAPES.map((s, i) => tf.tidy(() => tf.variable(tf.tensor(seeded(s, i + 1), s), true)));
  const c = SHAPES.map((s, i) => tf.tidy(() => tf.tensor(seeded(s, i + 11), s).abs()));
  const d = SHAPES.map((s, i) => tf.tidy(() => tf.tensor(seeded(s, i + 21), s).mul(3)));
  const loss = () => tf.addN(params.map((p, i) => p.square().mul(c[i]).add(p.mul(d[i])).sum())) as tf.Scalar;
  const decays = SHAPES.map((_, i) => i % 2 === 0);
  return { params, loss, decays, dispose: () => tf.dispose([...params, ...c, ...d]) };
}

/** Hyper-parameters of step t; clipping is active on the early steps (norm ≈ 200 > 50) and not later (clip 1e6). */
const hyperAt = (t: number): AdamWHyper => ({ learningRate: 0.01 * t, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1, clip: t <= 2 ? 50 : 1e6, t });

type Update = (slots: AdamWSlot[], h: AdamWHyper) => number | Promise<number>;

/** Run `steps` updates with `update` from the same start; the final parameters, moments and the norms seen. */
async function runUpdates(update: Update, steps: number) {
  const problem = makeProblem();
  const m = problem.params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  const v = problem.params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  const norms: number[] = [];
  for (let t = 1; t <= steps; t++) {
    const { value, grads } = tf.variableGrads(problem.loss, problem.params);
    value.dispose();
    const slots = problem.params.map((param, i) => ({ param, grad: grads[param.name], m: m[i], v: v[i], decay: problem.decays[i] }));
    norms.push(await update(slots, hyperAt(t)));
    tf.dispose(Object.values(grads));
  }
  const read = (ts: tf.Tensor[]) => ts.map((t) => t.dataSync() as Float32Array);
  const out = { params: read(problem.params), m: read(m), v: read(v), norms };
  problem.dispose();
  tf.dispose([...m, ...v]);
  return out;
}

/** tfjs's Adam, with the decay applied before the update and the clipping before both (torch's order). */
const tfjsAdam = (): Update => {
  const adam = tf.train.adam(1, 0.9, 0.95, 1e-8) as tf.AdamOptimizer;
  return (slots, h) => {
    const norm = tf.tidy(() => tf.sqrt(tf.addN(slots.map((s) => s.grad.square().sum()))).dataSync()[0]);
    const scale = norm > h.clip ? h.clip / norm : 1;
    (adam as unknown as { learningRate: number }).learningRate = h.learningRate;
    tf.tidy(() => {
      for (const s of slots) if (s.decay) s.param.assign(s.param.mul(1 - h.learningRate * h.weightDecay));
      const clipped: tf.NamedTensorMap = {};
      for (const s of slots) clipped[s.param.name] = s.grad.mul(scale);
      adam.applyGradients(clipped as Record<string, tf.Variable>);
    });
    return norm;
  };
};

test('the composed AdamW reference equals tfjs Adam with decoupled decay and global-norm clipping over 5 steps', async () => {
  await useBackend('cpu');
  const reference = await runUpdates(adamwReference, 5);
  const anchor = await runUpdates(tfjsAdam(), 5);
  assert.ok(reference.norms[0] > 50 && reference.norms[1] > 50, `clipping must be active on the first steps: norms ${reference.norms}`);
  assertClose(reference.norms, anchor.norms, 1e-4, 1e-5, 'norms');
  reference.params.forEach((p, i) => assertClose(p, anchor.params[i], 1e-6, 1e-4, `param ${i}`));
});

for (const backend of ['cpu', 'wasm'] as const) {
  const variants: [string, Update][] = [['js loop', (s, h) => adamwFused(s, h, 'js')]];
  if (nativeAddon()) {
    for (const threads of [1, 3]) {
      variants.push([
        `native, ${threads} thread(s)`,
        (s, h) => {
          nativeAddon()!.setThreads(threads);
          return adamwFused(s, h, 'native');
        },
      ]);
    }
  }
  for (const [name, update] of variants) {
    test(`fused AdamW (${name}) equals the reference over 5 steps on ${backend}, in place and leak-free`, async () => {
      await useBackend(backend);
      const reference = await runUpdates(adamwReference, 5);
      const before = tf.memory().numTensors;
      const fused = await runUpdates(update, 5);
      assert.equal(tf.memory().numTensors, before, 'fused AdamW leaked tensors');
      assertClose(fused.norms, reference.norms, 1e-4, 1e-5, 'norms');
      fused.params.forEach((p, i) => assertClose(p, reference.params[i], 1e-6, 1e-4, `param ${i}`));
      fused.m.forEach((m, i) => assertClose(m, reference.m[i], 1e-6, 1e-4, `first moment ${i}`));
      fused.v.forEach((v, i) => assertClose(v, reference.v[i], 1e-6, 1e-4, `second moment ${i}`));
      nativeAddon()?.setThreads(2);
    });
  }
}

test('fused AdamW leaves a clone of a parameter (sharing its buffer) at its old value', async () => {
  await useBackend('wasm');
  const p = tf.variable(tf.tensor([1, 2, 3]));
  const snapshot = p.clone();
  const slots: AdamWSlot[] = [{ param: p, grad: tf.ones([3]), m: tf.variable(tf.zeros([3]), false), v: tf.variable(tf.zeros([3]), false), decay: false }];
  adamwFused(slots, hyperAt(3), 'js');
  assert.deepEqual(Array.from(snapshot.dataSync()), [1, 2, 3]);
  assert.ok(p.dataSync()[0] < 1, 'the parameter itself moved');
  tf.dispose([p, snapshot, slots[0].grad, slots[0].m, slots[0].v]);
});

test('AdamW: no tensor leak across steps, fused and reference agree, and a saved state resumes exactly', async () => {
  await useBackend('wasm');
  const settings = TrainingSettings.parse({ steps: 10, warmupSteps: 2, learningRate: 0.05, gradClip: 5 });
  type Saved = { params: Float32Array[]; optimizer: AdamWState };
  const run = async (kernels: 'fused' | 'reference', steps: number, resume?: Saved, start = 0) => {
    const problem = makeProblem();
    const decayed = new Set(problem.params.filter((_, i) => problem.decays[i]));
    if (resume) problem.params.forEach((p, i) => p.assign(tf.tensor(resume.params[i], p.shape)));
    const optimizer = new AdamW(problem.params, decayed, { ...settings, kernels });
    if (resume) optimizer.loadState(resume.optimizer);
    assert.equal(optimizer.fused, kernels === 'fused');
    const counts: number[] = [];
    for (let step = start; step < start + steps; step++) {
      await optimizer.step(step, problem.loss);
      counts.push(tf.memory().numTensors);
    }
    const out = { params: problem.params.map((p) => p.dataSync().slice() as Float32Array), optimizer: await optimizer.state(), counts };
    optimizer.dispose();
    problem.dispose();
    return out;
  };
  const before = tf.memory().numTensors;
  const fused = await run('fused', 6);
  const reference = await run('reference', 6);
  assert.equal(tf.memory().numTensors, before, 'AdamW leaked tensors');
  assert.ok(fused.counts.every((c) => c === fused.counts[0]), `tensor count grew across steps: ${fused.counts}`);
  fused.params.forEach((p, i) => assertClose(p, reference.params[i], 1e-6, 1e-4, `param ${i}`));
  assert.equal(fused.optimizer.updates, 6);
  // 3 steps, save, 3 more in a fresh optimizer = 6 straight steps.
  const first = await run('fused', 3);
  const resumed = await run('fused', 3, first, 3);
  resumed.params.forEach((p, i) => assertClose(p, fused.params[i], 0, 0, `resumed param ${i}`));
  assert.throws(() => new AdamW([tf.variable(tf.zeros([2]))], new Set(), settings).loadState(first.optimizer), /belongs to another model/);
});

/** The decayed variables of a built model, by name (names are `<name>_<index>_<suffix>`). */
function groups(arch: Architecture, config: Record<string, unknown> = {}) {
  const model = arch.build(arch.config.parse({ ...arch.presets.nano, ...config }), { vocabSize: 16, maxLen: 16, padId: 0 });
  const name = (v: tf.Variable) => v.name.replace(/_\d+_[a-z0-9]+$/, '');
  const out = model.trainableWeights.map((v) => ({ name: name(v), rank: v.rank, decays: model.decayedWeights.has(v) }));
  model.dispose();
  return out;
}

test('weight-decay groups: Transformers, RNNs and GLA decay exactly the ≥2-D weights (nanoGPT: wte and wpe too)', async () => {
  await useBackend('cpu');
  const families = ['transformer', 'rnn', 'linear-attention'];
  for (const arch of Object.values(ARCHITECTURES as Record<string, Architecture>).filter((a) => families.includes(a.family))) {
    const config = arch.name === 'transformer' ? { positions: 'learned' } : {};
    const g = groups(arch, config);
    for (const p of g) assert.equal(p.decays, p.rank >= 2, `${arch.name}: ${p.name} (rank ${p.rank}) decays: ${p.decays}`);
    assert.ok(g.some((p) => !p.decays) && g.some((p) => p.decays), arch.name);
  }
  const transformer = groups(ARCHITECTURES.transformer as Architecture, { positions: 'learned' });
  for (const table of ['wte.table', 'wpe.table']) assert.ok(transformer.find((p) => p.name === table)?.decays, `${table} decays as in nanoGPT`);
});

test('weight-decay groups: Mamba leaves A_log, D and dt_bias undecayed (mamba_simple, mamba2_simple _no_weight_decay), norms and biases too', async () => {
  await useBackend('cpu');
  for (const arch of Object.values(ARCHITECTURES as Record<string, Architecture>).filter((a) => a.family === 'mamba' || a.family === 'hybrid')) {
    const g = groups(arch);
    const aLog = g.filter((p) => p.name.endsWith('A_log'));
    // Mamba's A is (di, n); Mamba-2's is one scalar per head (h).
    const aRank = arch.name === 'mamba2' ? 1 : 2;
    assert.ok(aLog.length > 0 && aLog.every((p) => p.rank === aRank && !p.decays), `${arch.name}: A_log is ${aRank}-D and not decayed`);
    for (const suffix of ['.D', '.dt_bias']) {
      const found = g.filter((p) => p.name.endsWith(suffix));
      assert.ok(found.length > 0 && found.every((p) => !p.decays), `${arch.name}: ${suffix.slice(1)} not decayed`);
    }
    for (const p of g.filter((q) => !q.name.endsWith('A_log'))) assert.equal(p.decays, p.rank >= 2, `${arch.name}: ${p.name} (rank ${p.rank})`);
  }
});

test('weight-decay groups: Hyena decays the projections, the short conv, the MLP and the embedding; not the filter FFN (safari\'s `_optim` wd 0), its Sin frequency, D, biases or norms', async () => {
  await useBackend('cpu');
  const g = groups(ARCHITECTURES.hyena as Architecture);
  const decayed = g.filter((p) => p.decays).map((p) => p.name);
  assert.deepEqual(decayed.sort(), ['embedding.table', ...[0, 1].flatMap((i) => ['mixer.in_proj.w', 'mixer.short_filter.w', 'mixer.out_proj.w', 'mlp.fc.w', 'mlp.proj.w'].map((n) => `layers.${i}.${n}`))].sort());
  for (const name of ['implicit_filter.0.w', 'implicit_filter.out.w', 'filter_fn.freq', 'filter_fn.bias']) {
    assert.ok(g.some((p) => p.name.endsWith(name) && !p.decays), `${name} is not decayed`);
  }
});

test('weight-decay groups: sLSTM decays the gates\' weights, the recurrent kernel, the conv, the feed-forward and the embedding; not the gates\' biases, the conv\'s bias or norms', async () => {
  await useBackend('cpu');
  const g = groups(ARCHITECTURES.slstm as unknown as Architecture);
  for (const p of g) assert.equal(p.decays, p.rank >= 2 && !p.name.endsWith('mixer.bias'), `slstm: ${p.name} (rank ${p.rank}) decays: ${p.decays}`);
  for (const name of ['igate.w', 'recurrent_kernel', 'conv.w', 'proj_up.w', 'proj_down.w']) assert.ok(g.some((p) => p.name.endsWith(name) && p.decays), `${name} decays`);
  for (const name of ['mixer.bias', 'group_norm.w', 'conv.b']) assert.ok(g.some((p) => p.name.endsWith(name) && !p.decays), `${name} does not decay`);
});

test('weight-decay groups: mLSTM decays every tensor of 2 or more dimensions (xlstm: projections, blockwise q/k/v, gates, conv), not biases, norms or the skip', async () => {
  await useBackend('cpu');
  const g = groups(ARCHITECTURES.mlstm as unknown as Architecture);
  for (const p of g) assert.equal(p.decays, p.rank >= 2, `mlstm: ${p.name} (rank ${p.rank}) decays: ${p.decays}`);
  for (const name of ['q_proj.w', 'igate.w', 'fgate.w', 'conv.w']) assert.ok(g.some((p) => p.name.endsWith(name) && p.decays), `${name} decays`);
  for (const name of ['learnable_skip', 'outnorm.w', 'igate.b', 'fgate.b']) assert.ok(g.some((p) => p.name.endsWith(name) && !p.decays), `${name} does not decay`);
});
