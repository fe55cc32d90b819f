/**
 * Evaluation of a model on a task's examples: argmax predictions for single-sequence tasks (accuracy
 * on answer positions, per slice), greedy decoding with cached state for translation (exact match,
 * BLEU, chrF and teacher-forced token accuracy), and the held-out loss. Every tensor is disposed.
 */
import * as tf from '@tensorflow/tfjs';
import type { LMModel, Model } from '../architectures/types.ts';
import { lmMetrics } from '../tasks/metrics.ts';
import { pairMetrics } from '../tasks/translation-metrics.ts';
import { SPECIALS, type Example, type LMExample, type PairExample, type TaskMetric } from '../tasks/types.ts';
import { disposeBatch, makeBatch } from './batches.ts';
import { forwardBatch, maskedCrossEntropy } from './loss.ts';
import { EVAL_BATCH, type ResolvedRun } from './spec.ts';

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

