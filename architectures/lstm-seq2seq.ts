/**
 * The attentional recurrent encoder–decoder for translation (lstm-seq2seq): the recurrent layers of
 * rnn.ts (LSTM by default, or GRU or Elman cells), stacked on each side, with Luong or Bahdanau
 * attention over the encoder outputs.
 *
 *   source → embedding → encoder layers ──(final state per layer)──┐
 *   target → embedding → decoder layers (initialised from it) → attention over the encoder outputs
 *          → attentional hidden state → output head → logits
 *
 * Layers, initialisation and dropout are PyTorch's, as in rnn.ts.
 *
 * Glossary: b batch, h hidden size (= d_model), v vocabulary, ls / lt source / target length.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Embedding, ParamStore, matmulLast, tensorBytes, unstackTime } from './layers.ts';
import { BYTES_PER_FLOAT, CELL_KINDS, OutputHead, RecurrentLayer, betweenLayers, disposeLayerStates, forgetBiasField, layerStateTensors, sizeFields, stackedLayers, type LayerState } from './rnn.ts';
import type { Architecture, DecodeState, Flops, ModelIO, PresetName, Seq2SeqModel, StepOutput } from './types.ts';
export const ATTENTION_KINDS = ['luong', 'bahdanau'] as const;
export type AttentionKind = (typeof ATTENTION_KINDS)[number];

export const Seq2SeqConfig = z.object({
  ...sizeFields,
  n_layers: z.number().int().positive().default(2).describe('Stacked recurrent layers in the encoder, and again in the decoder'),
  tie_embeddings: z.boolean().default(true).describe('Output head is the transposed target embedding table (no head bias)'),
  cell: z.enum(CELL_KINDS).default('lstm').describe('Recurrent cell of encoder and decoder'),
  attention: z
    .enum(ATTENTION_KINDS)
    .default('luong')
    .describe("'luong': general score after the decoder step; 'bahdanau': additive score before it, context fed into the step"),
  forget_bias: forgetBiasField,
});
type Seq2SeqConfigT = z.infer<typeof Seq2SeqConfig>;

/** What the decoder attends to: the encoder outputs, their keys (computed once per source) and the pad mask. */
type Memory = {
  values: tf.Tensor3D; // (b, ls, h) encoder outputs h̄_s
  keys: tf.Tensor3D; // (b, ls, h) h̄_s projected for scoring
  maskBias: tf.Tensor3D; // (b, 1, ls) 0 at source tokens, −1e9 at pads
};

const MASKED = -1e9;

/**
 * Attention over the encoder outputs. `score` turns queries (b, q, h) into scores (b, q, ls):
 *   luong (Luong et al. 2015, "general"):   score(h_t, h̄_s) = h_tᵀ W_a h̄_s     keys = h̄_s·W_a
 *   bahdanau (Bahdanau et al. 2015, additive): score(s, h̄_s) = v_aᵀ tanh(W_a s + U_a h̄_s)   keys = h̄_s·U_a
 */
class Attention {
  private readonly wa: tf.Variable; // (h, h)
  private readonly ua: tf.Variable | null; // (h, h) bahdanau only
  private readonly va: tf.Variable | null; // (h, 1) bahdanau only

  constructor(
    store: ParamStore,
    readonly kind: AttentionKind,
    hidden: number,
  ) {
    const limit = 1 / Math.sqrt(hidden);
    this.wa = store.uniform('attn.wa', [hidden, hidden], limit, 'decay');
    this.ua = kind === 'bahdanau' ? store.uniform('attn.ua', [hidden, hidden], limit, 'decay') : null;
    this.va = kind === 'bahdanau' ? store.uniform('attn.va', [hidden, 1], limit, 'decay') : null;
  }

  keys(values: tf.Tensor3D): tf.Tensor3D {
    return matmulLast(values, (this.ua ?? this.wa) as tf.Tensor2D) as tf.Tensor3D; // (b, ls, h)
  }

  /** Context vectors for queries (b, q, h): the softmax-weighted sum of encoder outputs, (b, q, h). */
  context(query: tf.Tensor3D, memory: Memory): tf.Tensor3D {
    const scores = tf.add(this.score(query, memory.keys), memory.maskBias); // (b, q, ls)
    return tf.matMul(tf.softmax(scores), memory.values); // (b, q, h)
  }

  private score(query: tf.Tensor3D, keys: tf.Tensor3D): tf.Tensor3D {
    if (this.kind === 'luong') return tf.matMul(query, keys, false, true); // (b, q, ls)
    const q = matmulLast(query, this.wa as tf.Tensor2D); // (b, q, h)
    const hiddenSum = tf.tanh(tf.add(q.expandDims(2), keys.expandDims(1))); // (b, q, ls, h)
    return matmulLast(hiddenSum, this.va as tf.Tensor2D).squeeze([3]) as tf.Tensor3D; // (b, q, ls)
  }

  static paramCount(kind: AttentionKind, hidden: number): number {
    return kind === 'luong' ? hidden * hidden : 2 * hidden * hidden + hidden;
  }
}

/** Decoder state: (h, c) per decoder layer, plus the encoder memory, which grows with the source. */
class Seq2SeqState implements DecodeState {
  constructor(
    readonly layers: LayerState[],
    readonly memory: Memory,
  ) {}
  bytes(): number {
    return tensorBytes([...layerStateTensors(this.layers), this.memory.values, this.memory.keys, this.memory.maskBias]);
  }
  dispose(): void {
    disposeLayerStates(this.layers);
    tf.dispose([this.memory.values, this.memory.keys, this.memory.maskBias]);
  }
}

/** Length of each source row: one past its last non-pad token (sources are right-padded). */
function sourceLengths(source: tf.Tensor2D, padId: number): number[] {
  return (source.arraySync() as number[][]).map((row) => {
    let len = row.length;
    while (len > 0 && row[len - 1] === padId) len--;
    return len;
  });
}

/**
 * Encoder–decoder with attention, two variants:
 *
 * - luong: Luong et al. 2015 global attention with the general score and without input feeding. The
 *   decoder recurrence does not read the context, so the teacher-forced forward runs it over the whole
 *   target at once, then attends with every h_t:  h̃_t = tanh(W_c [c_t; h_t]),  logits = head(h̃_t).
 * - bahdanau: Bahdanau et al. 2015's decoder: the previous top decoder state s_{t−1} queries with the
 *   additive score, the context c_t joins the input embedding ([y_{t−1}; c_t] into the first layer),
 *   and the output reads h̃_t = tanh(W_c [c_t; s_t]). The forward must loop over target steps.
 *   Differences from the paper: a unidirectional encoder (as Luong's), the decoder started from the
 *   encoder's final state (not tanh(W_s h̄_1) of the backward encoder), and a tanh output layer in
 *   place of the maxout deep output.
 *
 * The encoder's final state of layer i initialises decoder layer i (Sutskever et al. 2014).
 */
class RecurrentSeq2Seq implements Seq2SeqModel {
  readonly form = 'seq2seq' as const;
  private readonly store: ParamStore;
  private readonly sourceEmbedding: Embedding;
  private readonly targetEmbedding: Embedding;
  private readonly encoder: RecurrentLayer[];
  private readonly decoder: RecurrentLayer[];
  private readonly attention: Attention;
  private readonly wc: tf.Variable; // (2h, h) combines [c_t; h_t]
  private readonly head: OutputHead;

  constructor(
    private readonly cfg: Seq2SeqConfigT,
    private readonly io: ModelIO,
  ) {
    const d = cfg.d_model;
    this.store = new ParamStore(cfg.seed);
    this.sourceEmbedding = new Embedding(this.store, 'src_embed', io.vocabSize, d, cfg.embed_std, cfg.layer_kernels);
    this.targetEmbedding = new Embedding(this.store, 'tgt_embed', io.vocabSize, d, cfg.embed_std, cfg.layer_kernels);
    this.encoder = stackedLayers(this.store, 'enc', cfg.cell, Array(cfg.n_layers).fill(d), d, cfg.forget_bias, cfg.recurrence);
    this.decoder = stackedLayers(this.store, 'dec', cfg.cell, decoderInputDims(cfg), d, cfg.forget_bias, cfg.recurrence);
    this.attention = new Attention(this.store, cfg.attention, d);
    this.wc = this.store.uniform('combine.wc', [2 * d, d], 1 / Math.sqrt(2 * d), 'decay');
    this.head = new OutputHead(this.store, this.targetEmbedding, d, io.vocabSize, cfg.tie_embeddings);
  }

  get trainableWeights(): tf.Variable[] {
    return this.store.variables;
  }

  get decayedWeights(): ReadonlySet<tf.Variable> {
    return this.store.decayed;
  }

  /**
   * The encoder over a right-padded batch, run the way PyTorch runs packed sequences: rows are grouped
   * by length and each group runs over its real tokens only, so a row's final state (which starts the
   * decoder) is taken at its last token and pads never enter the recurrence. Groups are put back in
   * batch order at the end. Finding the lengths reads the source on the host (one small sync).
   */
  private encode(source: tf.Tensor2D, training: boolean): { memory: Memory; final: LayerState[] } {
    const [b, ls] = source.shape;
    const lengths = sourceLengths(source, this.io.padId);
    const rowsByLength = new Map<number, number[]>();
    lengths.forEach((len, row) => rowsByLength.set(len, [...(rowsByLength.get(len) ?? []), row]));

    const order: number[] = [];
    const valueParts: tf.Tensor3D[] = [];
    const finalParts: LayerState[][] = this.encoder.map(() => []);
    for (const [len, rows] of rowsByLength) {
      order.push(...rows);
      const n = rows.length;
      let x = this.sourceEmbedding.apply(tf.gather(source, rows).slice([0, 0], [n, len])) as tf.Tensor3D; // (n, len, d)
      this.encoder.forEach((layer, i) => {
        if (i > 0) x = betweenLayers(x, this.cfg.dropout, training);
        const start = layer.zeroState(n);
        const out = len > 0 ? layer.run(x, start) : { hs: x, state: start }; // an all-pad row keeps the zero state
        x = out.hs; // (n, len, h)
        finalParts[i].push(out.state);
      });
      valueParts.push(tf.pad(x, [[0, 0], [0, ls - len], [0, 0]])); // (n, ls, h)
    }

    const restore = Array<number>(b);
    order.forEach((row, position) => (restore[row] = position));
    const inBatchOrder = <T extends tf.Tensor>(parts: T[]): T => tf.gather(tf.concat(parts, 0), restore) as T;
    const values = inBatchOrder(valueParts); // (b, ls, h)
    const final = finalParts.map((parts) => {
      const h = inBatchOrder(parts.map((s) => s.h)); // (b, h)
      return this.cfg.cell === 'lstm' ? { h, c: inBatchOrder(parts.map((s) => s.c!)) } : { h };
    });
    const maskBias = tf.notEqual(source, this.io.padId).toFloat().sub(1).mul(-MASKED).reshape([b, 1, ls]) as tf.Tensor3D;
    return { memory: { values, keys: this.attention.keys(values), maskBias }, final };
  }

  /** h̃ = tanh(W_c [context; h]): the attentional hidden state the output head reads. */
  private attentional(context: tf.Tensor, h: tf.Tensor): tf.Tensor {
    return tf.tanh(matmulLast(tf.concat([context, h], -1), this.wc as tf.Tensor2D));
  }

  /** One decoder token for either attention kind: x (b, d) embedded → h̃ (b, h) and the next layer states. */
  private decodeStep(x: tf.Tensor2D, layers: LayerState[], memory: Memory, training: boolean): { out: tf.Tensor2D; layers: LayerState[] } {
    const bahdanau = this.cfg.attention === 'bahdanau';
    const previousTop = layers[layers.length - 1].h; // s_{t−1}, (b, h)
    const earlyContext = bahdanau ? (this.attention.context(previousTop.expandDims(1), memory).squeeze([1]) as tf.Tensor2D) : null; // (b, h)
    let input = earlyContext ? (tf.concat([x, earlyContext], 1) as tf.Tensor2D) : x; // (b, 2d) or (b, d)
    const next = this.decoder.map((layer, i) => {
      if (i > 0) input = betweenLayers(input, this.cfg.dropout, training);
      const s = layer.step(input, layers[i]);
      input = s.h; // (b, h)
      return s;
    });
    const top = next[next.length - 1].h; // (b, h)
    const context = earlyContext ?? (this.attention.context(top.expandDims(1), memory).squeeze([1]) as tf.Tensor2D); // (b, h)
    return { out: this.attentional(context, top) as tf.Tensor2D, layers: next };
  }

  forward(source: tf.Tensor2D, targetIn: tf.Tensor2D, training = false): tf.Tensor3D {
    return tf.tidy(() => {
      const { memory, final } = this.encode(source, training);
      const y = this.targetEmbedding.apply(targetIn) as tf.Tensor3D; // (b, lt, d)
      if (this.cfg.attention === 'bahdanau') {
        let layers = final;
        const outs: tf.Tensor2D[] = [];
        for (const x of unstackTime(y) as tf.Tensor2D[]) {
          const step = this.decodeStep(x, layers, memory, training);
          outs.push(step.out);
          layers = step.layers;
        }
        return this.head.apply(tf.stack(outs, 1)) as tf.Tensor3D; // (b, lt, v)
      }
      let h = y;
      this.decoder.forEach((layer, i) => {
        if (i > 0) h = betweenLayers(h, this.cfg.dropout, training);
        h = layer.run(h, final[i]).hs; // (b, lt, h)
      });
      const context = this.attention.context(h, memory); // (b, lt, h)
      return this.head.apply(this.attentional(context, h)) as tf.Tensor3D; // (b, lt, v)
    });
  }

  initState(source: tf.Tensor2D): Seq2SeqState {
    const { memory, final } = tf.tidy(() => this.encode(source, false));
    return new Seq2SeqState(final, memory);
  }

  step(token: tf.Tensor1D, state: DecodeState): StepOutput {
    if (!(state instanceof Seq2SeqState)) throw new Error('lstm-seq2seq step() needs the state from its own initState() or step()');
    const { logits, layers, memory } = tf.tidy(() => {
      const x = this.targetEmbedding.apply(token) as tf.Tensor2D; // (b, d)
      const { out, layers } = this.decodeStep(x, state.layers, state.memory, false);
      // The next state owns its own handles on the memory (clones share the data), so the caller may dispose the old state.
      const m = state.memory;
      const memory = { values: tf.clone(m.values), keys: tf.clone(m.keys), maskBias: tf.clone(m.maskBias) };
      return { logits: this.head.apply(out) as tf.Tensor2D, layers, memory }; // (b, v)
    });
    return { logits, state: new Seq2SeqState(layers, memory) };
  }

  dispose(): void {
    this.store.dispose();
  }
}

/** The Bahdanau decoder's first layer reads [embedding; context]. */
function decoderInputDims(cfg: Seq2SeqConfigT): number[] {
  const d = cfg.d_model;
  return Array.from({ length: cfg.n_layers }, (_, i) => (i === 0 && cfg.attention === 'bahdanau' ? 2 * d : d));
}

function seq2seqParamCount(cfg: Seq2SeqConfigT, io: ModelIO): number {
  const d = cfg.d_model;
  const layers = (inDims: number[]) => inDims.reduce((s, inDim) => s + RecurrentLayer.paramCount(cfg.cell, inDim, d), 0);
  return (
    2 * io.vocabSize * d + // source and target embeddings
    layers(Array(cfg.n_layers).fill(d)) +
    layers(decoderInputDims(cfg)) +
    Attention.paramCount(cfg.attention, d) +
    2 * d * d + // W_c
    OutputHead.paramCount(d, io.vocabSize, cfg.tie_embeddings)
  );
}

/**
 * Per target token, with source and target both seqLen long (so each target token also carries one
 * source token's encoder work and key projection). Attention scores and contexts grow with seqLen.
 */
function seq2seqFlops(cfg: Seq2SeqConfigT, io: ModelIO, seqLen: number): Flops {
  const d = cfg.d_model;
  const layers = (inDims: number[]) => inDims.reduce((s, inDim) => s + RecurrentLayer.flops(cfg.cell, inDim, d), 0);
  const keys = 2 * d * d;
  const query = cfg.attention === 'bahdanau' ? 2 * d * d : 0;
  const scoresAndContext = 2 * (2 * seqLen * d);
  const forward = layers(Array(cfg.n_layers).fill(d)) + layers(decoderInputDims(cfg)) + keys + query + scoresAndContext + 2 * (2 * d) * d + 2 * d * io.vocabSize;
  return { forward, training: 3 * forward };
}

/**
 * Per sequence after a source of seqLen tokens: the decoder's recurrent state (constant) plus what
 * attention keeps of the encoder — outputs and keys (ls·h floats each) and the pad mask (ls floats) —
 * which grows linearly with the source and stays fixed while decoding.
 */
function seq2seqStateBytes(cfg: Seq2SeqConfigT, seqLen: number): number {
  const recurrent = cfg.n_layers * RecurrentLayer.stateBytes(cfg.cell, cfg.d_model);
  return recurrent + (2 * seqLen * cfg.d_model + seqLen) * BYTES_PER_FLOAT;
}

/** Same widths as the LMs; small keeps 2 layers each side (~0.6M with LSTM cells) near the ~0.8M Transformer budget. */
const SEQ2SEQ_PRESETS = {
  nano: { d_model: 32, n_layers: 2 },
  micro: { d_model: 64, n_layers: 2 },
  small: { d_model: 128, n_layers: 2 },
} satisfies Record<PresetName, Partial<Seq2SeqConfigT>>;

export const lstmSeq2Seq: Architecture<typeof Seq2SeqConfig> = {
  name: 'lstm-seq2seq',
  family: 'rnn',
  form: 'seq2seq',
  description: 'Recurrent encoder–decoder with Luong (2015) or Bahdanau (2015) attention; LSTM cells by default, GRU or Elman by config',
  config: Seq2SeqConfig,
  presets: SEQ2SEQ_PRESETS,
  build: (cfg, io) => new RecurrentSeq2Seq(cfg, io),
  paramCount: seq2seqParamCount,
  flopsPerToken: seq2seqFlops,
  stateBytes: (cfg, _io, seqLen) => seq2seqStateBytes(cfg, seqLen),
  size: (cfg) => ({ dModel: cfg.d_model, nLayers: cfg.n_layers }),
};
