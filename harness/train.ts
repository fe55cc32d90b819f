/**
 * Training and evaluation: masked cross-entropy on answer positions, the loop (the optimizer is in
 * optimizer.ts), periodic evaluation with early stop at a target accuracy, and greedy decoding for
 * translation metrics. Every tensor made per step is disposed.
 */
import * as tf from '@tensorflow/tfjs';
import { maskedCrossEntropy as fusedCrossEntropy } from '../architectures/kernels/cross-entropy.ts';
import type { LMModel, Model } from '../architectures/types.ts';
import { lmMetrics } from '../tasks/metrics.ts';
import { pairMetrics } from '../tasks/translation-metrics.ts';
import { SPECIALS, type Example, type LMExample, type PairExample, type TaskMetric } from '../tasks/types.ts';
import { disposeBatch, ExampleStream, makeBatch, takeExamples, type Batch } from './batches.ts';
import { AdamW } from './optimizer.ts';
import { loadCheckpoint, saveCheckpoint, type CheckpointPlan } from './checkpoint.ts';
import type { ResolvedRun, TrainingSettings } from './spec.ts';

/**
 * Mean cross-entropy over masked positions: logits (b, l, v), target (b, l), mask (b, l) → scalar; the
 * fused kernel (kernels/cross-entropy.ts) unless the run's `training.kernels` is 'reference'.
 */
export function maskedCrossEntropy(logits: tf.Tensor3D, target: tf.Tensor2D, mask: tf.Tensor2D, kernels: TrainingSettings['kernels'] = 'fused'): tf.Scalar {
  return fusedCrossEntropy(logits, target, mask, kernels ?? 'fused');
}

export function forwardBatch(model: Model, batch: Batch, training: boolean): tf.Tensor3D {
  if (model.form === 'seq2seq') {
    if (!batch.source) throw new Error('encoder–decoder batch without source');
    return model.forward(batch.source, batch.input, training);
  }
  return model.forward(batch.input, training);
}

export interface StepRecord {
  step: number;
  loss: number;
  ms: number;
  tokens: number;
  wallSeconds: number;
}

export interface EvalRecord {
  step: number;
  wallSeconds: number;
  accuracy: number;
  /** Teacher-forced cross-entropy on the validation examples' answer positions (nats/token). */
  loss: number;
}

export interface TrainOutcome {
  steps: StepRecord[];
  evals: EvalRecord[];
  /** Seconds from the start of training until valid accuracy first reached the target. */
  timeToTargetS: number | null;
  diverged: { step: number; loss: number } | null;
  peakTensorBytes: number;
}

export interface TrainHooks {
  onStep?(record: StepRecord, totalSteps: number): void;
  onEval?(record: EvalRecord): void;
  /** Write checkpoints by this plan, and continue from the plan's file when it holds one of this run. */
  checkpoint?: CheckpointPlan;
}

/** Train `model` on the run's task; returns per-step timings, the loss curve and evaluations. */
export async function train(run: ResolvedRun, model: Model, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const s = run.spec.training;
  const stream = new ExampleStream(run.task, run.params, run.spec.seed, 'train');
  const validExamples = takeExamples(run.task, run.params, run.spec.seed, 'valid', s.evalExamples);
  const optimizer = new AdamW(model.trainableWeights, model.decayedWeights, s);
  const pad = run.io.padId;
  const outcome: TrainOutcome = { steps: [], evals: [], timeToTargetS: null, diverged: null, peakTensorBytes: 0 };
  let start = performance.now();
  let firstStep = 0;
  const plan = hooks.checkpoint;
  const resumed = plan ? loadCheckpoint(plan.file, plan.runId) : null;
  if (resumed) {
    tf.tidy(() => model.trainableWeights.forEach((w, i) => w.assign(tf.tensor(resumed.weights[i], w.shape, 'float32'))));
    optimizer.loadState(resumed.optimizer);
    stream.take(resumed.step * s.batchSize); // the examples the saved steps consumed
    Object.assign(outcome, { steps: resumed.steps, evals: resumed.evals, peakTensorBytes: resumed.peakTensorBytes, timeToTargetS: resumed.timeToTargetS });
    firstStep = resumed.step;
    start -= resumed.wallSeconds * 1000;
  }
  let lastCheckpoint = performance.now();
  const saveIfDue = async (next: number) => {
    if (!plan || next >= s.steps) return;
    const byStep = plan.everySteps !== null && next % plan.everySteps === 0;
    if (!byStep && (performance.now() - lastCheckpoint) / 1000 < plan.everySeconds) return;
    const weights = await Promise.all(model.trainableWeights.map(async (w) => Float32Array.from(await w.data())));
    saveCheckpoint(plan.file, { runId: plan.runId, step: next, weights, optimizer: await optimizer.state(), steps: outcome.steps, evals: outcome.evals, peakTensorBytes: outcome.peakTensorBytes, timeToTargetS: outcome.timeToTargetS, wallSeconds: (performance.now() - start) / 1000 });
    lastCheckpoint = performance.now();
  };
  try {
    for (let step = firstStep; step < s.steps; step++) {
      const batch = makeBatch(stream.take(s.batchSize), model.form, pad);
      let loss: number;
      const t0 = performance.now();
      const update = async () => (await optimizer.step(step, () => maskedCrossEntropy(forwardBatch(model, batch, true), batch.target, batch.mask, s.kernels))).loss;
      if (step === 1) {
        // Profile one step (not the first, which pays kernel warm-up) for the peak tensor memory.
        loss = NaN;
        const info = await tf.profile(async () => {
          loss = await update();
        });
        outcome.peakTensorBytes = info.peakBytes;
      } else {
        loss = await update();
      }
      const ms = performance.now() - t0;
      const record = { step, loss, ms, tokens: batch.tokens, wallSeconds: (performance.now() - start) / 1000 };
      disposeBatch(batch);
      outcome.steps.push(record);
      hooks.onStep?.(record, s.steps);
      if (!Number.isFinite(record.loss)) {
        outcome.diverged = { step, loss: record.loss };
        break;
      }
      const last = step === s.steps - 1;
      if ((step + 1) % s.evalEvery === 0 || last) {
        const accuracy = headlineAccuracy(await evaluate(run, model, validExamples));
        const loss = await heldOutLoss(run, model, validExamples);
        const evalRecord = { step: step + 1, wallSeconds: (performance.now() - start) / 1000, accuracy, loss };
        outcome.evals.push(evalRecord);
        hooks.onEval?.(evalRecord);
        if (s.targetAccuracy !== null && accuracy >= s.targetAccuracy) {
          outcome.timeToTargetS = evalRecord.wallSeconds;
          break;
        }
      }
      await saveIfDue(step + 1);
    }
  } finally {
    optimizer.dispose();
  }
  return outcome;
}

/** The accuracy used for early stopping and time-to-target: accuracy on answers, or exact match for translation. */
export function headlineAccuracy(metrics: TaskMetric[]): number {
  const whole = (name: string) => metrics.find((m) => m.metric === name && m.slice === null)?.value;
  return whole('accuracy') ?? whole('exact_match') ?? NaN;
}

/** Argmax predictions for every position of single-sequence examples: (b, l) as number[][]. */
async function predictLM(model: LMModel, examples: LMExample[], pad: number): Promise<number[][]> {
  const batch = makeBatch(examples, 'lm', pad);
  const l = batch.input.shape[1];
  const predicted = tf.tidy(() => model.forward(batch.input, false).argMax(-1));
  const flat = (await predicted.data()) as Int32Array;
  predicted.dispose();
  disposeBatch(batch);
  return examples.map((e, i) => Array.from(flat.subarray(i * l, i * l + e.input.length)));
}

/**
 * Greedy decoding of translation pairs with cached state. Decoder-only models read each source and
 * <sep> token by token (ragged prefixes in one batch: a sequence starts generating when its prefix ends).
 */
export async function greedyDecode(model: Model, examples: PairExample[], maxNew: number): Promise<number[][]> {
  const b = examples.length;
  const outputs: number[][] = examples.map(() => []);
  const done = examples.map(() => false);
  const prefixes = examples.map((e) => (model.form === 'lm' ? [...e.source, SPECIALS.sep] : [SPECIALS.bos]));
  const ls = Math.max(...examples.map((e) => e.source.length));
  const source =
    model.form === 'seq2seq'
      ? tf.tensor2d(examples.flatMap((e) => [...e.source, ...Array(ls - e.source.length).fill(SPECIALS.pad)]), [b, ls], 'int32')
      : null;
  let state = model.form === 'seq2seq' ? model.initState(source!) : model.initState(b);
  const longest = Math.max(...prefixes.map((p) => p.length));
  let current = prefixes.map((p) => p[0]);
  for (let t = 0; t < longest - 1 + maxNew && !done.every(Boolean); t++) {
    const tokens = tf.tensor1d(current, 'int32');
    const { logits, state: next } = model.step(tokens, state);
    tokens.dispose();
    state.dispose();
    state = next;
    const argMax = logits.argMax(-1);
    const best = (await argMax.data()) as Int32Array;
    tf.dispose([argMax, logits]);
    current = current.map((_, i) => {
      const p = prefixes[i];
      if (t + 1 < p.length) return p[t + 1];
      if (!done[i]) {
        const token = best[i];
        if (token === SPECIALS.eos || outputs[i].length >= maxNew) done[i] = true;
        else outputs[i].push(token);
      }
      return best[i];
    });
  }
  state.dispose();
  source?.dispose();
  return outputs;
}

/** Teacher-forced token accuracy on the target (with EOS) of pair examples. */
async function tokenAccuracy(model: Model, examples: PairExample[], pad: number): Promise<number> {
  const batch = makeBatch(examples, model.form, pad);
  const accuracy = tf.tidy(() => {
    const pred = forwardBatch(model, batch, false).argMax(-1);
    return pred.equal(batch.target).cast('float32').mul(batch.mask).sum().div(batch.mask.sum());
  });
  const value = (await accuracy.data())[0];
  accuracy.dispose();
  disposeBatch(batch);
  return value;
}

const EVAL_BATCH = 32;

/** Teacher-forced cross-entropy on the answer positions of `examples`, weighted by answer count (nats/token). */
export async function heldOutLoss(run: ResolvedRun, model: Model, examples: Example[]): Promise<number> {
  let total = 0;
  let count = 0;
  for (let i = 0; i < examples.length; i += EVAL_BATCH) {
    const batch = makeBatch(examples.slice(i, i + EVAL_BATCH), model.form, run.io.padId);
    const [lossSum, answers] = tf.tidy(() => {
      const n = batch.mask.sum();
      return [maskedCrossEntropy(forwardBatch(model, batch, false), batch.target, batch.mask, run.spec.training.kernels).mul(n.maximum(1)), n];
    });
    total += (await lossSum.data())[0];
    count += (await answers.data())[0];
    tf.dispose([lossSum, answers]);
    disposeBatch(batch);
  }
  return count === 0 ? NaN : total / count;
}

/** Task metrics of `model` on `examples` (evaluation batches of 32). */
export async function evaluate(run: ResolvedRun, model: Model, examples: Example[], params: Record<string, unknown> = run.params): Promise<TaskMetric[]> {
  if (examples.length === 0) return [];
  const chunks: Example[][] = [];
  for (let i = 0; i < examples.length; i += EVAL_BATCH) chunks.push(examples.slice(i, i + EVAL_BATCH));
  if (examples[0].form === 'lm') {
    if (model.form !== 'lm') throw new Error('single-sequence task on an encoder–decoder model');
    const lm = examples as LMExample[];
    const predictions: number[][] = [];
    for (const c of chunks) predictions.push(...(await predictLM(model, c as LMExample[], run.io.padId)));
    return lmMetrics(lm, predictions);
  }
  const pairs = examples as PairExample[];
  // Room for a target a little longer than the longest reference, within the positions the model has
  // (a decoder-only model reads `source <sep>` first).
  const prefix = model.form === 'lm' ? Math.max(...pairs.map((p) => p.source.length)) + 1 : 1;
  const maxNew = Math.min(Math.max(...pairs.map((p) => p.target.length)) + 8, run.io.maxLen - prefix + 1);
  const hypotheses: number[][] = [];
  for (const c of chunks) hypotheses.push(...(await greedyDecode(model, c as PairExample[], maxNew)));
  const detok = (tokens: number[]) => run.task.detokenize?.(params, tokens) ?? tokens.join(' ');
  const metrics = pairMetrics(
    hypotheses.map(detok),
    [pairs.map((p) => detok(p.target))],
    hypotheses,
    pairs.map((p) => p.target),
    pairs.map((p) => p.slice),
  );
  let correctWeighted = 0;
  for (const c of chunks) correctWeighted += (await tokenAccuracy(model, c as PairExample[], run.io.padId)) * c.length;
  const weightedTokenAcc = correctWeighted / pairs.length;
  metrics.push({ metric: 'token_accuracy', unit: 'fraction', direction: 'bigger', value: weightedTokenAcc, n: pairs.length, slice: null });
  return metrics;
}

