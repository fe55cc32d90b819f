/**
 * The contract every architecture meets. A model knows nothing of how it is run (no harness imports):
 * it takes token ids and returns logits, and it can decode one token at a time from cached state.
 *
 * Glossary used in shape comments across architectures/:
 *   b batch, l sequence length, d d_model, v vocabulary size, h heads, hs head size,
 *   ls / lt source / target length (encoder–decoder), n SSM state size, di inner width (Mamba).
 */
import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';

export type Family = 'transformer' | 'rnn' | 'mamba' | 'xlstm' | 'hybrid' | 'convolution' | 'linear-attention';

/** How a model reads a task: one sequence (`lm`, decoder-only, prefix-LM for translation) or a pair (`seq2seq`). */
export type ModelForm = 'lm' | 'seq2seq';

export const PRESET_NAMES = ['nano', 'micro', 'small'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** What the task tells the model about its inputs. */
export interface ModelIO {
  /** Vocabulary size (source and target share one vocabulary in seq2seq tasks). */
  vocabSize: number;
  /** Longest sequence the model will see (learned positions are sized by it). */
  maxLen: number;
  /** Padding token id: masked out of attention keys in seq2seq encoders. */
  padId: number;
}

/**
 * Cached state for incremental decoding: the KV cache (grows with context) or a recurrent state
 * (fixed size). `step` returns a new state and never disposes the one it was given: the caller does,
 * with `dispose()`, once it no longer needs it.
 */
export interface DecodeState {
  /** Bytes held by the state's tensors now (KV caches grow with each step; recurrent states do not). */
  bytes(): number;
  dispose(): void;
}

export interface StepOutput {
  logits: tf.Tensor2D; // (b, v)
  state: DecodeState;
}

/** Decoder-only causal model: every family has this form. */
export interface LMModel {
  readonly form: 'lm';
  /** Full forward (training and prefill): tokens (b, l) int32 → logits (b, l, v). */
  forward(tokens: tf.Tensor2D, training?: boolean): tf.Tensor3D;
  /** Empty decoding state for a batch of b sequences. */
  initState(batchSize: number): DecodeState;
  /** One token per sequence: token (b) int32 at position `state`'s length → logits (b, v) and the next state. */
  step(token: tf.Tensor1D, state: DecodeState): StepOutput;
  readonly trainableWeights: tf.Variable[];
  /** The trainable weights AdamW decays, as each family's reference does (README, "Weight decay"). */
  readonly decayedWeights: ReadonlySet<tf.Variable>;
  dispose(): void;
}

/** Encoder–decoder model (translation): the encoder reads the source, the decoder cross-attends to it. */
export interface Seq2SeqModel {
  readonly form: 'seq2seq';
  /** Teacher-forced forward: source (b, ls), decoder input (b, lt) → logits (b, lt, v). Pad ids in source are masked. */
  forward(source: tf.Tensor2D, targetIn: tf.Tensor2D, training?: boolean): tf.Tensor3D;
  /** Encode once, then decode step by step from the returned state. */
  initState(source: tf.Tensor2D): DecodeState;
  step(token: tf.Tensor1D, state: DecodeState): StepOutput;
  readonly trainableWeights: tf.Variable[];
  readonly decayedWeights: ReadonlySet<tf.Variable>;
  dispose(): void;
}

export type Model = LMModel | Seq2SeqModel;

/** Analytic cost of one token at context length L (multiply-add = 2 FLOPs). */
export interface Flops {
  forward: number;
  /** Forward + backward, conventionally 3 × forward for the matmuls. */
  training: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyConfigSchema = z.ZodObject<any>;

export interface Architecture<S extends AnyConfigSchema = AnyConfigSchema> {
  name: string;
  family: Family;
  form: ModelForm;
  /** One line: what it is and which paper it follows. */
  description: string;
  /** zod schema: the one source of defaults, validation and types. */
  config: S;
  /** Named presets at matched parameter budgets across families (nano ≈ 25k, micro ≈ 100k, small ≈ 400k at vocab 32). */
  presets: Record<PresetName, Partial<z.infer<S>>>;
  build(config: z.infer<S>, io: ModelIO): Model;
  /** Closed-form parameter count (tested equal to the built model's). */
  paramCount(config: z.infer<S>, io: ModelIO): number;
  flopsPerToken(config: z.infer<S>, io: ModelIO, seqLen: number): Flops;
  /** Bytes of decoding state per sequence after `seqLen` tokens (fp32). */
  stateBytes(config: z.infer<S>, io: ModelIO, seqLen: number): number;
  /** Config fields that describe size, copied into result rows (d_model, n_layers). */
  size(config: z.infer<S>): { dModel: number; nLayers: number };
}
