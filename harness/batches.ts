/**
 * From task examples to model tensors. Single-sequence tasks feed every model as they are; translation
 * pairs are joined as `source <sep> target <eos>` for decoder-only models (prefix-LM: loss on the target
 * only) or split into encoder source and decoder input/output for encoder–decoder models.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelForm } from '../architectures/types.ts';
import { rng } from '../util/rng.ts';
import { SPECIALS, type Example, type LMExample, type PairExample, type Task } from '../tasks/types.ts';

/** A padded batch: targets and mask are (b, l) like the decoder input. */
export interface Batch {
  form: ModelForm;
  /** Decoder-only: the sequence; encoder–decoder: the decoder input (BOS + target). (b, l) int32 */
  input: tf.Tensor2D;
  /** Encoder–decoder only: the source, pad-filled. (b, ls) int32 */
  source: tf.Tensor2D | null;
  target: tf.Tensor2D; // (b, l) int32
  mask: tf.Tensor2D; // (b, l) float32: 1 on answer positions
  /** Number of tokens the model reads in this batch (for throughput). */
  tokens: number;
}

export function disposeBatch(batch: Batch): void {
  tf.dispose([batch.input, batch.source, batch.target, batch.mask].filter((t): t is tf.Tensor2D => t !== null));
}

/** A pair as one decoder-only sequence: input, next-token target and answer positions. */
export function pairAsLM(example: PairExample): LMExample {
  const seq = [...example.source, SPECIALS.sep, ...example.target, SPECIALS.eos];
  const input = seq.slice(0, -1);
  const target = seq.slice(1);
  const first = example.source.length; // the <sep> position predicts the first target token
  const answer = Array.from({ length: target.length - first }, (_, i) => first + i);
  return { form: 'lm', input, target, answer, slice: example.slice };
}

function padTo(rows: number[][], length: number, pad: number): number[] {
  return rows.flatMap((r) => [...r, ...Array(length - r.length).fill(pad)]);
}

function lmBatch(examples: LMExample[], pad: number): Batch {
  const l = Math.max(...examples.map((e) => e.input.length));
  const b = examples.length;
  const mask = new Float32Array(b * l);
  examples.forEach((e, i) => e.answer.forEach((p) => (mask[i * l + p] = 1)));
  return {
    form: 'lm',
    input: tf.tensor2d(padTo(examples.map((e) => e.input), l, pad), [b, l], 'int32'),
    source: null,
    target: tf.tensor2d(padTo(examples.map((e) => e.target), l, pad), [b, l], 'int32'),
    mask: tf.tensor2d(mask, [b, l]),
    tokens: examples.reduce((s, e) => s + e.input.length, 0),
  };
}

function seq2seqBatch(examples: PairExample[]): Batch {
  const b = examples.length;
  const ls = Math.max(...examples.map((e) => e.source.length));
  const lt = Math.max(...examples.map((e) => e.target.length)) + 1;
  const decoderIn = examples.map((e) => [SPECIALS.bos, ...e.target]);
  const decoderOut = examples.map((e) => [...e.target, SPECIALS.eos]);
  const mask = new Float32Array(b * lt);
  decoderOut.forEach((row, i) => row.forEach((_, p) => (mask[i * lt + p] = 1)));
  return {
    form: 'seq2seq',
    input: tf.tensor2d(padTo(decoderIn, lt, SPECIALS.pad), [b, lt], 'int32'),
    source: tf.tensor2d(padTo(examples.map((e) => e.source), ls, SPECIALS.pad), [b, ls], 'int32'),
    target: tf.tensor2d(padTo(decoderOut, lt, SPECIALS.pad), [b, lt], 'int32'),
    mask: tf.tensor2d(mask, [b, lt]),
    tokens: examples.reduce((s, e) => s + e.source.length + e.target.length + 1, 0),
  };
}

/** Tensors for a model of `form` from examples of one task. */
export function makeBatch(examples: Example[], form: ModelForm, pad: number): Batch {
  if (examples.length === 0) throw new Error('makeBatch: no examples');
  if (form === 'seq2seq') {
    if (examples.some((e) => e.form !== 'pair')) throw new Error('an encoder–decoder model needs pair examples');
    return seq2seqBatch(examples as PairExample[]);
  }
  return lmBatch(
    examples.map((e) => (e.form === 'pair' ? pairAsLM(e) : e)),
    pad,
  );
}

/**
 * Draws examples from a task split: synthetic tasks stream without end; finite datasets are shuffled
 * into epochs (a new seeded order each epoch) and cycled.
 */
export class ExampleStream {
  private iterator: Iterator<Example>;
  private epoch = 0;
  constructor(
    private readonly task: Task,
    private readonly params: Record<string, unknown>,
    private readonly seed: number,
    private readonly split: 'train' | 'valid' | 'test',
  ) {
    this.iterator = this.open();
  }

  private open(): Iterator<Example> {
    const examples = this.task.generate(this.params, this.seed + this.epoch * 7919, this.split);
    if (!this.task.finite) return examples[Symbol.iterator]();
    const all = [...examples];
    if (all.length === 0) throw new Error(`task ${this.task.name} has no ${this.split} examples with these params`);
    if (this.split === 'train') rng(this.seed * 31 + this.epoch).shuffle(all);
    return all[Symbol.iterator]();
  }

  take(n: number): Example[] {
    const out: Example[] = [];
    while (out.length < n) {
      const next = this.iterator.next();
      if (next.done) {
        this.epoch++;
        this.iterator = this.open();
        continue;
      }
      out.push(next.value);
    }
    return out;
  }
}

/** Up to `n` examples of a split, without cycling (for evaluation). */
export function takeExamples(task: Task, params: Record<string, unknown>, seed: number, split: 'valid' | 'test', n: number): Example[] {
  const out: Example[] = [];
  for (const e of task.generate(params, seed, split)) {
    out.push(e);
    if (out.length >= n) break;
  }
  return out;
}
