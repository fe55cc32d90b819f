/**
 * The contract every task meets. A task knows nothing of which model reads it (no harness or
 * architecture imports): it generates seeded examples, says where the answers are, and scores predictions.
 */
import type { z } from 'zod';

export type TaskKind = 'long-context' | 'translation';
export type Split = 'train' | 'valid' | 'test';
export const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

/** Slice labels attached to an example (by length, by number of pairs, by gap …), for per-slice accuracy. */
export type SliceLabels = Record<string, string | number>;

/**
 * A single sequence read left to right (long-context tasks). `target[i]` is what the model should
 * predict after reading `input[0..i]`; only positions listed in `answer` are scored and trained on.
 */
export interface LMExample {
  form: 'lm';
  input: number[]; // (l)
  target: number[]; // (l)
  answer: number[]; // indices into target
  slice?: SliceLabels;
  /** Labels that differ between the answers of one sequence (MQAR: the gap of each query), parallel to `answer`. */
  answerSlice?: SliceLabels[];
}

/**
 * A source/target pair (translation tasks), without special tokens: the harness adds BOS/EOS/SEP,
 * and either feeds an encoder–decoder or joins `source <sep> target` for a decoder-only model.
 */
export interface PairExample {
  form: 'pair';
  source: number[];
  target: number[];
  slice?: SliceLabels;
}

export type Example = LMExample | PairExample;

/** Reserved ids that every pair task's vocabulary starts with. */
export const SPECIALS = { pad: 0, bos: 1, eos: 2, sep: 3 } as const;
export const SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>', '<sep>'] as const;

/**
 * One task metric value (accuracy on answer positions, BLEU …). `slice` names the subset it is measured
 * on (`"gap=8-15"`, `"num_kv_pairs=8"`), null for the whole split. Metric names follow
 * harness/results/metrics.ts (accuracy, exact_match, token_accuracy, bleu, chrf).
 */
export interface TaskMetric {
  metric: string;
  unit: string;
  direction: 'bigger' | 'smaller';
  value: number;
  /** Number of items behind the value (answer positions, sequences or sentences). */
  n: number;
  slice: string | null;
}

export interface Vocab {
  size: number;
  /** Token strings by id, where tokens have text (pair tasks; ListOps). */
  tokens?: string[];
  /** Id the harness pads with (pair tasks: SPECIALS.pad). */
  pad: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyParamsSchema = z.ZodObject<any>;

export interface Task<S extends AnyParamsSchema = AnyParamsSchema> {
  name: string;
  kind: TaskKind;
  form: Example['form'];
  /** One line: what it tests and where it comes from. */
  description: string;
  params: S;
  vocab(params: z.infer<S>): Vocab;
  /**
   * Examples of one split, deterministic for (params, seed, split). Synthetic tasks yield without end
   * (the harness takes what it needs); dataset tasks (SCAN, corpora) yield their finite split once.
   */
  generate(params: z.infer<S>, seed: number, split: Split): Iterable<Example>;
  /** True when `generate` ends (a fixed dataset); the harness then cycles the train split by epochs. */
  finite: boolean;
  /** Longest example the task produces, in tokens (for pair tasks: source + target + 2 specials). */
  maxLen(params: z.infer<S>): number;
  /**
   * Parameter overrides to evaluate at besides the training params (e.g. induction heads at 2×, 4×
   * the training length); each yields its own rows, labelled by the slice `eval`.
   */
  evalVariants?(params: z.infer<S>): { label: string; params: z.infer<S> }[];
  /** Text of a token sequence (pair tasks: detokenised, as BLEU/chrF read it). */
  detokenize?(params: z.infer<S>, tokens: number[]): string;
  /** The split in the task's native format, one line per example (SCAN: `IN: … OUT: …`; others JSON Lines). */
  export(params: z.infer<S>, seed: number, split: Split): Iterable<string>;
}
