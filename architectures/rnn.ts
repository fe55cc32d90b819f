/**
 * The recurrent family: Elman RNN, LSTM and GRU language models, and the recurrent layers they stack,
 * which the attentional encoder–decoder (lstm-seq2seq.ts) stacks too.
 *
 *   LM (form 'lm'):   tokens → embedding → n_layers stacked recurrent layers → output head → logits
 *
 * Faithful to PyTorch's nn.RNN / nn.LSTM / nn.GRU: plain stacked layers (no norms, no residuals), dropout
 * between layers only while training, gate orders i,f,g,o and r,z,n, two biases per layer (b_ih and b_hh,
 * so parameter counts equal PyTorch's), every recurrent weight and bias drawn uniform ±1/√hidden, and
 * embeddings drawn N(0, 1) as nn.Embedding draws them (`embed_std`; at GPT-2's 0.02 the input term
 * x·W_ih is ~50× smaller than h·W_hh and the models barely learn in a few hundred steps).
 * One deliberate difference, a config field: the LSTM forget-gate bias starts 1 higher (Jozefowicz et al.
 * 2015; Keras's unit_forget_bias), which helps gradients flow early in training; `forget_bias: 0` gives
 * PyTorch's initialisation exactly.
 *
 * Glossary: b batch, l sequence length, d d_model (= hidden size h here), v vocabulary, G gates per cell
 * (rnn 1, gru 3, lstm 4).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Embedding, Linear, ParamStore, layerKernelsOption, matmulLast, tensorBytes } from './layers.ts';
import { RECURRENCE_IMPLS, gruCell, gruSequence, lstmCell, lstmSequence, rnnCell, rnnSequence, type RecurrenceImpl } from './kernels/recurrence.ts';
import type { Architecture, DecodeState, Flops, LMModel, ModelIO, PresetName, StepOutput } from './types.ts';

export const CELL_KINDS = ['rnn', 'lstm', 'gru'] as const;
export type CellKind = (typeof CELL_KINDS)[number];

/** Gate blocks per cell: the width of x·Wx is GATES·h. */
const GATES: Record<CellKind, number> = { rnn: 1, gru: 3, lstm: 4 };

export const BYTES_PER_FLOAT = 4;

/** One layer's recurrent state; `c` is the LSTM's cell state and absent for rnn and gru. */
export type LayerState = { h: tf.Tensor2D; c?: tf.Tensor2D };

/** One recurrent layer (what PyTorch calls one layer of nn.LSTM): weights and how to run them. */
export class RecurrentLayer {
  readonly wx: tf.Variable; // (in, G·h)
  readonly wh: tf.Variable; // (h, G·h)
  readonly bx: tf.Variable; // (G·h) PyTorch's b_ih
  readonly bh: tf.Variable; // (G·h) PyTorch's b_hh

  constructor(
    store: ParamStore,
    name: string,
    readonly kind: CellKind,
    inDim: number,
    readonly hidden: number,
    forgetBias: number,
    private readonly recurrence: RecurrenceImpl = 'auto',
  ) {
    const width = GATES[kind] * hidden;
    const limit = 1 / Math.sqrt(hidden);
    this.wx = store.uniform(`${name}.wx`, [inDim, width], limit, 'decay');
    this.wh = store.uniform(`${name}.wh`, [hidden, width], limit, 'decay');
    this.bx = store.uniform(`${name}.bx`, [width], limit, 'no-decay');
    this.bh = store.uniform(`${name}.bh`, [width], limit, 'no-decay');
    if (kind === 'lstm' && forgetBias !== 0) {
      tf.tidy(() => {
        const forgetGate = tf.concat([tf.zeros([hidden]), tf.fill([hidden], forgetBias), tf.zeros([2 * hidden])]); // gate order i, f, g, o
        this.bx.assign(this.bx.add(forgetGate));
      });
    }
  }

  /**
   * x·Wx + b for every position at once (the part of the cell with no time dependence). LSTM and Elman
   * fold both biases in here; GRU keeps b_hh apart because its reset gate multiplies h·Wh_n + bh_n.
   */
  private project(x: tf.Tensor): tf.Tensor {
    const xProj = tf.add(matmulLast(x, this.wx as tf.Tensor2D), this.bx);
    return this.kind === 'gru' ? xProj : tf.add(xProj, this.bh);
  }

  zeroState(batchSize: number): LayerState {
    const h = tf.zeros([batchSize, this.hidden]) as tf.Tensor2D;
    return this.kind === 'lstm' ? { h, c: tf.zeros([batchSize, this.hidden]) as tf.Tensor2D } : { h };
  }

  /** The whole sequence: x (b, l, in) → hs (b, l, h) and the final state. */
  run(x: tf.Tensor3D, state: LayerState): { hs: tf.Tensor3D; state: LayerState } {
    const xProj = this.project(x) as tf.Tensor3D; // (b, l, G·h)
    const wh = this.wh as tf.Tensor2D;
    switch (this.kind) {
      case 'lstm': {
        const { hs, hT, cT } = lstmSequence(xProj, wh, state.h, state.c!, this.recurrence);
        return { hs, state: { h: hT, c: cT } };
      }
      case 'gru': {
        const { hs, hT } = gruSequence(xProj, wh, this.bh as tf.Tensor1D, state.h, this.recurrence);
        return { hs, state: { h: hT } };
      }
      case 'rnn': {
        const { hs, hT } = rnnSequence(xProj, wh, state.h, this.recurrence);
        return { hs, state: { h: hT } };
      }
    }
  }

  /** One time step: x (b, in) → the next state. */
  step(x: tf.Tensor2D, state: LayerState): LayerState {
    const xProj = this.project(x) as tf.Tensor2D; // (b, G·h)
    const wh = this.wh as tf.Tensor2D;
    switch (this.kind) {
      case 'lstm':
        return lstmCell(xProj, wh, state.h, state.c!);
      case 'gru':
        return { h: gruCell(xProj, wh, this.bh as tf.Tensor1D, state.h) };
      case 'rnn':
        return { h: rnnCell(xProj, wh, state.h) };
    }
  }

  static paramCount(kind: CellKind, inDim: number, hidden: number): number {
    const width = GATES[kind] * hidden;
    return (inDim + hidden) * width + 2 * width;
  }

  /** Matmul FLOPs per token (x·Wx and h·Wh); the O(h) gate arithmetic is left out. */
  static flops(kind: CellKind, inDim: number, hidden: number): number {
    return 2 * (inDim + hidden) * GATES[kind] * hidden;
  }

  /** Bytes of one sequence's state. */
  static stateBytes(kind: CellKind, hidden: number): number {
    return (kind === 'lstm' ? 2 : 1) * hidden * BYTES_PER_FLOAT;
  }
}

/** Dropout between stacked layers, while training only (PyTorch's `dropout` argument of nn.LSTM). */
export function betweenLayers<T extends tf.Tensor>(x: T, rate: number, training: boolean): T {
  return training && rate > 0 ? (tf.dropout(x, rate) as T) : x;
}

/** Logits from hidden states: x·Eᵀ with the embedding table (tied, Press & Wolf 2017) or x·W + b. */
export class OutputHead {
  private readonly linear: Linear | null;
  constructor(
    store: ParamStore,
    private readonly embedding: Embedding,
    dim: number,
    vocabSize: number,
    tied: boolean,
  ) {
    this.linear = tied ? null : new Linear(store, 'head', dim, vocabSize);
  }

  apply(x: tf.Tensor): tf.Tensor {
    if (this.linear) return this.linear.apply(x);
    const table = this.embedding.table as tf.Tensor2D; // (v, d)
    const lead = x.shape.slice(0, -1);
    return tf.matMul(x.reshape([-1, table.shape[1]]) as tf.Tensor2D, table, false, true).reshape([...lead, table.shape[0]]);
  }

  static paramCount(dim: number, vocabSize: number, tied: boolean): number {
    return tied ? 0 : Linear.paramCount(dim, vocabSize);
  }
}

export function stackedLayers(
  store: ParamStore,
  prefix: string,
  kind: CellKind,
  inDims: number[],
  hidden: number,
  forgetBias: number,
  recurrence: RecurrenceImpl = 'auto',
): RecurrentLayer[] {
  return inDims.map((inDim, i) => new RecurrentLayer(store, `${prefix}${i}`, kind, inDim, hidden, forgetBias, recurrence));
}

export function layerStateTensors(states: LayerState[]): tf.Tensor[] {
  return states.flatMap((s) => (s.c ? [s.h, s.c] : [s.h]));
}

export function disposeLayerStates(states: LayerState[]): void {
  tf.dispose(layerStateTensors(states));
}

// ---------------------------------------------------------------------------------------------------
// Language models: rnn, lstm, gru
// ---------------------------------------------------------------------------------------------------

export const sizeFields = {
  d_model: z.number().int().positive().default(64).describe('Embedding width and hidden size of every layer'),
  n_layers: z.number().int().positive().default(2).describe('Stacked recurrent layers'),
  dropout: z.number().min(0).lt(1).default(0).describe('Dropout between stacked layers while training'),
  tie_embeddings: z.boolean().default(true).describe('Output head is the transposed embedding table (no head bias)'),
  embed_std: z
    .number()
    .positive()
    .default(1)
    .describe("Std of the normal embedding init: 1 is PyTorch's nn.Embedding (GPT-2's 0.02 starves the ±1/√h input weights)"),
  seed: z.number().int().nonnegative().default(0).describe('Seed of the weight initialisation'),
  // Optional, not defaulted, like layer_kernels: configs that leave them out keep their config hash.
  recurrence: z
    .enum(RECURRENCE_IMPLS)
    .optional()
    .describe('Recurrence over the sequence: `auto` (when omitted) the fused kernel on cpu/wasm and the WGSL one on webgpu, the composed reference elsewhere; `fused` or `reference` force one'),
  layer_kernels: layerKernelsOption,
};
export const forgetBiasField = z.number().default(1).describe('Added to the LSTM forget-gate bias at init (0 = PyTorch)');

export const RecurrentLMConfig = z.object(sizeFields);
export const LstmLMConfig = RecurrentLMConfig.extend({ forget_bias: forgetBiasField });
type LMConfig = z.infer<typeof RecurrentLMConfig> & { forget_bias?: number };

/** Recurrent state of a decoding LM: (h, c) per layer, the same size at every position. */
class RecurrentState implements DecodeState {
  constructor(readonly layers: LayerState[]) {}
  bytes(): number {
    return tensorBytes(layerStateTensors(this.layers));
  }
  dispose(): void {
    disposeLayerStates(this.layers);
  }
}

class RecurrentLM implements LMModel {
  readonly form = 'lm' as const;
  private readonly store: ParamStore;
  private readonly embedding: Embedding;
  private readonly layers: RecurrentLayer[];
  private readonly head: OutputHead;

  constructor(
    readonly kind: CellKind,
    private readonly cfg: LMConfig,
    io: ModelIO,
  ) {
    const d = cfg.d_model;
    this.store = new ParamStore(cfg.seed);
    this.embedding = new Embedding(this.store, 'embed', io.vocabSize, d, cfg.embed_std, cfg.layer_kernels);
    this.layers = stackedLayers(this.store, 'layer', kind, Array(cfg.n_layers).fill(d), d, cfg.forget_bias ?? 0, cfg.recurrence);
    this.head = new OutputHead(this.store, this.embedding, d, io.vocabSize, cfg.tie_embeddings);
  }

  get trainableWeights(): tf.Variable[] {
    return this.store.variables;
  }

  get decayedWeights(): ReadonlySet<tf.Variable> {
    return this.store.decayed;
  }

  forward(tokens: tf.Tensor2D, training = false): tf.Tensor3D {
    return tf.tidy(() => {
      const [b] = tokens.shape;
      let x = this.embedding.apply(tokens) as tf.Tensor3D; // (b, l, d)
      this.layers.forEach((layer, i) => {
        if (i > 0) x = betweenLayers(x, this.cfg.dropout, training);
        x = layer.run(x, layer.zeroState(b)).hs; // (b, l, h)
      });
      return this.head.apply(x) as tf.Tensor3D; // (b, l, v)
    });
  }

  initState(batchSize: number): RecurrentState {
    return new RecurrentState(this.layers.map((layer) => layer.zeroState(batchSize)));
  }

  step(token: tf.Tensor1D, state: DecodeState): StepOutput {
    if (!(state instanceof RecurrentState)) throw new Error(`${this.kind} step() needs the state from its own initState() or step()`);
    const { logits, layers } = tf.tidy(() => {
      let x = this.embedding.apply(token) as tf.Tensor2D; // (b, d)
      const next = this.layers.map((layer, i) => {
        const s = layer.step(x, state.layers[i]);
        x = s.h; // (b, h)
        return s;
      });
      return { logits: this.head.apply(x) as tf.Tensor2D, layers: next }; // (b, v)
    });
    return { logits, state: new RecurrentState(layers) };
  }

  dispose(): void {
    this.store.dispose();
  }
}

function lmParamCount(kind: CellKind, cfg: LMConfig, io: ModelIO): number {
  const d = cfg.d_model;
  return io.vocabSize * d + cfg.n_layers * RecurrentLayer.paramCount(kind, d, d) + OutputHead.paramCount(d, io.vocabSize, cfg.tie_embeddings);
}

/** Per token and independent of context length: the recurrence does the same work at every position. */
function lmFlops(kind: CellKind, cfg: LMConfig, io: ModelIO): Flops {
  const d = cfg.d_model;
  const forward = cfg.n_layers * RecurrentLayer.flops(kind, d, d) + 2 * d * io.vocabSize;
  return { forward, training: 3 * forward };
}

/**
 * Presets. micro (h 64, 2 layers) is the model compared with PyTorch. small keeps h 128 with 4 layers
 * (plain stacks are rarely run deeper): at vocab 32 an LSTM has 0.53M parameters, a GRU 0.40M and an
 * Elman RNN 0.14M, against ~0.8M for a 4-layer d_model-128 Transformer, which an LSTM would match
 * only at 6 layers.
 */
const LM_PRESETS = {
  nano: { d_model: 32, n_layers: 2 },
  micro: { d_model: 64, n_layers: 2 },
  small: { d_model: 128, n_layers: 4 },
} satisfies Record<PresetName, Partial<LMConfig>>;

/** What the three LM entries share; each adds its own config schema. */
function lmEntry(kind: CellKind, description: string) {
  return {
    name: kind,
    family: 'rnn' as const,
    form: 'lm' as const,
    description,
    presets: LM_PRESETS,
    build: (cfg: LMConfig, io: ModelIO) => new RecurrentLM(kind, cfg, io),
    paramCount: (cfg: LMConfig, io: ModelIO) => lmParamCount(kind, cfg, io),
    flopsPerToken: (cfg: LMConfig, io: ModelIO, _seqLen: number) => lmFlops(kind, cfg, io),
    stateBytes: (cfg: LMConfig, _io: ModelIO, _seqLen: number) => cfg.n_layers * RecurrentLayer.stateBytes(kind, cfg.d_model),
    size: (cfg: LMConfig) => ({ dModel: cfg.d_model, nLayers: cfg.n_layers }),
  };
}

export const rnnLM = {
  ...lmEntry('rnn', 'Elman RNN language model (Elman 1990; tanh, stacked like PyTorch nn.RNN)'),
  config: RecurrentLMConfig,
} satisfies Architecture<typeof RecurrentLMConfig>;
export const lstmLM = {
  ...lmEntry('lstm', 'LSTM language model (Hochreiter & Schmidhuber 1997; stacked like PyTorch nn.LSTM)'),
  config: LstmLMConfig,
} satisfies Architecture<typeof LstmLMConfig>;
export const gruLM = {
  ...lmEntry('gru', 'GRU language model (Cho et al. 2014; PyTorch nn.GRU convention)'),
  config: RecurrentLMConfig,
} satisfies Architecture<typeof RecurrentLMConfig>;
