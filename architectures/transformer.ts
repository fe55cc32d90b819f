/**
 * Transformers, read top to bottom in the order data flows (after nanoGPT's model.py):
 *
 *   config → positions → multi-head attention → MLP → blocks → decoder-only LM → encoder–decoder
 *
 * - `transformer`: a GPT-2-style decoder-only causal LM (Radford et al. 2019): token embedding, learned or
 *   rotary positions (Su et al. 2021), pre-norm blocks (LayerNorm → causal self-attention → residual;
 *   LayerNorm → GELU MLP → residual), final LayerNorm, tied or untied head.
 * - `swa`: the same LM with sliding-window attention (Beltagy et al. 2020, Longformer; Jiang et al. 2023,
 *   Mistral; zoology's "sliding window attention"): each query sees only the last `window` positions, its
 *   own included, so a layer costs L · window rather than L², and decoding keeps at most `window` keys and
 *   values per layer. Every transformer takes `window` (`--set window=64`); `swa` defaults it to 64.
 * - `transformer-encdec`: the encoder–decoder of Vaswani et al. 2017 ("Attention Is All You Need"), pre-norm:
 *   a bidirectional encoder over the source with its padding masked, and a decoder with causal
 *   self-attention, cross-attention to the encoder output, and an MLP.
 *
 * Both decode incrementally with a KV cache: step() computes one token's keys and values, appends them to
 * the cache and attends over it, so its logits equal the full forward's at that position. With a window
 * the cache keeps only the last `window` positions, all that a later query can see.
 *
 * Glossary: b batch, l length, d d_model, h heads, hs = d / h head size, v vocabulary, ls / lt source /
 * target length, L context length in the cost formulas, W the attention window.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { applyRotary, attention, rotaryTables, type AttentionOptions, type RotaryTables } from './kernels/attention.ts';
import { Embedding, LayerNorm, Linear, ParamStore, gelu, tensorBytes, layerKernelsOption } from './layers.ts';
import type { NormImpl } from './kernels/norms.ts';
import type { Architecture, DecodeState, Flops, LMModel, ModelIO, Seq2SeqModel, StepOutput } from './types.ts';

// ---------------------------------------------------------------------------------------------------------
// Config

export const transformerConfig = z
  .object({
    d_model: z.number().int().positive().default(64).describe('Width of the residual stream'),
    n_layers: z.number().int().positive().default(2).describe("Blocks in the LM; in the encoder–decoder, blocks in each stack (Vaswani's N)"),
    n_heads: z.number().int().positive().default(4).describe('Attention heads; head size is d_model / n_heads'),
    positions: z
      .enum(['learned', 'rope'])
      .default('learned')
      .describe("'learned': a table of maxLen position vectors added to the embeddings; 'rope': rotary, no length limit"),
    init: z
      .enum(['gpt2', 'pytorch'])
      // Optional, not defaulted: configs that leave it out keep the config hash (and run ids) they had before it existed.
      .optional()
      .describe(
        "Weight initialisation. 'gpt2' (absent): GPT-2's N(0, 0.02²) everywhere, residual projections scaled by 1/√(2·n_layers). " +
          "'pytorch': PyTorch's module defaults, as an unspecialised PyTorch model has them: Linear weights and biases U(±1/√fan_in), " +
          'token and position tables N(0, 1). Small attention models leave the associative-recall plateau far sooner with it (README, Reproducing published findings)',
      ),
    window: z
      .number()
      .int()
      .positive()
      // Optional, not defaulted, as `init` is: absent is full causal attention, and old config hashes stay.
      .optional()
      .describe(
        'Sliding-window attention: each causal self-attention query sees only the last `window` positions, its own included, ' +
          'and decoding caches at most `window` keys and values per layer. Absent: full causal attention. ' +
          "In the encoder–decoder it applies to the decoder's self-attention",
      ),
    tie_embeddings: z.boolean().default(true).describe('Output head is the transposed token embedding table (no head bias)'),
    dropout: z.number().min(0).lt(1).default(0).describe('Dropout on embeddings and on each residual branch while training'),
    layer_kernels: layerKernelsOption,
    seed: z.number().int().nonnegative().default(0).describe('Seed of the weight initialisation'),
  })
  .superRefine((c, ctx) => {
    if (c.d_model % c.n_heads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['n_heads'],
        message: `d_model ${c.d_model} is not divisible by n_heads ${c.n_heads}: choose n_heads that divides d_model`,
      });
    } else if (c.positions === 'rope' && (c.d_model / c.n_heads) % 2 !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['positions'],
        message: `positions 'rope' rotates pairs of head dimensions, but d_model ${c.d_model} / n_heads ${c.n_heads} is odd`,
      });
    }
  });

export type TransformerConfig = z.infer<typeof transformerConfig>;

/** micro is the model compared with the PyTorch reference; nano and small bracket it. */
const PRESETS = {
  nano: { d_model: 32, n_layers: 2, n_heads: 2 },
  micro: { d_model: 64, n_layers: 2, n_heads: 4 },
  small: { d_model: 128, n_layers: 4, n_heads: 4 },
} satisfies Architecture<typeof transformerConfig>['presets'];

/**
 * Standard deviations of the initial weights; `undefined` for a Linear is PyTorch's nn.Linear default
 * (weights and biases uniform ±1/√fan_in). GPT-2 ('gpt2', the default): N(0, 0.02²), with the projections
 * that write into the residual stream scaled by 1/√(2·n_layers) so the stream's variance does not grow with
 * depth. 'pytorch': nn.Linear's and nn.Embedding's (N(0, 1)) defaults.
 */
export interface InitStds {
  linear: number | undefined;
  residual: number | undefined;
  embedding: number;
}

const INIT_STD = 0.02;

export function initStds(cfg: Pick<TransformerConfig, 'init' | 'n_layers'>): InitStds {
  if (cfg.init === 'pytorch') return { linear: undefined, residual: undefined, embedding: 1 };
  return { linear: INIT_STD, residual: INIT_STD / Math.sqrt(2 * cfg.n_layers), embedding: INIT_STD };
}

function dropout(x: tf.Tensor, cfg: TransformerConfig, training: boolean): tf.Tensor {
  return training && cfg.dropout > 0 ? tf.dropout(x, cfg.dropout) : x;
}

// ---------------------------------------------------------------------------------------------------------
// Positions

/**
 * Where position enters: `learned` adds rows start … start+l−1 of a (maxLen, d) table to the token
 * embeddings; `rope` leaves them alone and hands attention the rotation tables for those positions.
 */
class Positions {
  readonly table: Embedding | null;
  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: TransformerConfig,
    private readonly maxLen: number,
  ) {
    this.table = cfg.positions === 'learned' ? new Embedding(store, name, maxLen, cfg.d_model, initStds(cfg).embedding) : null;
  }

  /** x (b, l, d) token embeddings at positions start … start+l−1. */
  apply(x: tf.Tensor, start: number): { x: tf.Tensor; rotary?: RotaryTables } {
    const l = (x as tf.Tensor3D).shape[1];
    if (!this.table) return { x, rotary: rotaryTables(start, l, this.cfg.d_model / this.cfg.n_heads) };
    if (start + l > this.maxLen) {
      throw new Error(
        `seq_len ${start + l} exceeds maxLen ${this.maxLen}, the length of the learned position table: ` +
          `build the model with a larger io.maxLen or use positions 'rope'`,
      );
    }
    return { x: x.add(tf.slice(this.table.table, [start, 0], [l, this.cfg.d_model])) }; // (b, l, d)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Multi-head attention

/** Keys and values split into heads: (b, h, l, hs) each. (A type alias, so tf.tidy can return it.) */
export type KV = { k: tf.Tensor4D; v: tf.Tensor4D };

function splitHeads(x: tf.Tensor, h: number): tf.Tensor4D {
  const [b, l, d] = x.shape;
  return x.reshape([b, l, h, d / h]).transpose([0, 2, 1, 3]); // (b, h, l, hs)
}

function mergeHeads(x: tf.Tensor4D): tf.Tensor {
  const [b, h, l, hs] = x.shape;
  return x.transpose([0, 2, 1, 3]).reshape([b, l, h * hs]); // (b, l, d)
}

/**
 * Self- or cross-attention: queries from x, keys and values from x itself or from the encoder output.
 * `init` gives the standard deviations of the weights (`residual`: the projection into the residual stream).
 */
export class MultiHeadAttention {
  readonly query: Linear;
  readonly keyValue: Linear;
  readonly proj: Linear;
  constructor(
    store: ParamStore,
    name: string,
    d: number,
    private readonly nHeads: number,
    init: Pick<InitStds, 'linear' | 'residual'>,
  ) {
    this.query = new Linear(store, `${name}.query`, d, d, { std: init.linear });
    this.keyValue = new Linear(store, `${name}.key_value`, d, 2 * d, { std: init.linear });
    this.proj = new Linear(store, `${name}.proj`, d, d, { std: init.residual });
  }

  static paramCount(d: number): number {
    return Linear.paramCount(d, d) + Linear.paramCount(d, 2 * d) + Linear.paramCount(d, d);
  }

  /** Keys and values of x (b, l, d); keys rotated to their positions when positions are rotary. */
  keysValues(x: tf.Tensor, rotary?: RotaryTables): KV {
    const [k, v] = tf.split(this.keyValue.apply(x), 2, -1); // (b, l, d) each
    const kh = splitHeads(k, this.nHeads);
    return { k: rotary ? applyRotary(kh, rotary) : kh, v: splitHeads(v, this.nHeads) };
  }

  /** Queries from x (b, lq, d) attend to kv → (b, lq, d). */
  attend(x: tf.Tensor, kv: KV, opts: AttentionOptions, rotary?: RotaryTables): tf.Tensor {
    const q = splitHeads(this.query.apply(x), this.nHeads); // (b, h, lq, hs)
    const y = attention(rotary ? applyRotary(q, rotary) : q, kv.k, kv.v, opts); // (b, h, lq, hs)
    return this.proj.apply(mergeHeads(y)); // (b, lq, d)
  }

  /**
   * Self-attention of x (b, l, d) over the cached keys and values of earlier positions followed by its
   * own; returns the output and the grown cache. The full forward is the case past = null.
   */
  selfAttend(x: tf.Tensor, past: KV | null, opts: AttentionOptions, rotary?: RotaryTables): { y: tf.Tensor; kv: KV } {
    const fresh = this.keysValues(x, rotary); // (b, h, l, hs)
    const kv = past
      ? { k: tf.concat([past.k, fresh.k], 2) as tf.Tensor4D, v: tf.concat([past.v, fresh.v], 2) as tf.Tensor4D } // (b, h, past + l, hs)
      : fresh;
    return { y: this.attend(x, kv, opts, rotary), kv };
  }
}

// ---------------------------------------------------------------------------------------------------------
// MLP

/** d → 4d → GELU → d; Hyena's blocks use it too. */
export class MLP {
  readonly fc: Linear;
  readonly proj: Linear;
  private readonly impl: NormImpl;
  constructor(store: ParamStore, name: string, cfg: Pick<TransformerConfig, 'd_model' | 'n_layers' | 'init' | 'layer_kernels'>) {
    this.impl = cfg.layer_kernels ?? 'fused';
    this.fc = new Linear(store, `${name}.fc`, cfg.d_model, 4 * cfg.d_model, { std: initStds(cfg).linear });
    this.proj = new Linear(store, `${name}.proj`, 4 * cfg.d_model, cfg.d_model, { std: initStds(cfg).residual });
  }

  static paramCount(d: number): number {
    return Linear.paramCount(d, 4 * d) + Linear.paramCount(4 * d, d);
  }

  apply(x: tf.Tensor): tf.Tensor {
    return this.proj.apply(gelu(this.fc.apply(x), this.impl)); // (b, l, d)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Blocks

/** Pre-norm block: x + attn(ln1(x)), then x + mlp(ln2(x)). Causal in the LM, bidirectional in the encoder. */
class Block {
  readonly ln1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: TransformerConfig,
  ) {
    this.ln1 = new LayerNorm(store, `${name}.ln1`, cfg.d_model, cfg.layer_kernels);
    this.attn = new MultiHeadAttention(store, `${name}.attn`, cfg.d_model, cfg.n_heads, initStds(cfg));
    this.ln2 = new LayerNorm(store, `${name}.ln2`, cfg.d_model, cfg.layer_kernels);
    this.mlp = new MLP(store, `${name}.mlp`, cfg);
  }

  static paramCount(d: number): number {
    return 2 * LayerNorm.paramCount(d) + MultiHeadAttention.paramCount(d) + MLP.paramCount(d);
  }

  apply(x: tf.Tensor, past: KV | null, opts: AttentionOptions, rotary: RotaryTables | undefined, training: boolean): { x: tf.Tensor; kv: KV } {
    const { y, kv } = this.attn.selfAttend(this.ln1.apply(x), past, opts, rotary);
    const h = x.add(dropout(y, this.cfg, training)); // (b, l, d)
    return { x: h.add(dropout(this.mlp.apply(this.ln2.apply(h)), this.cfg, training)), kv };
  }
}

/** Decoder block of the encoder–decoder: causal self-attention, cross-attention to the encoder output, MLP. */
class DecoderBlock {
  readonly ln1: LayerNorm;
  readonly selfAttn: MultiHeadAttention;
  readonly ln2: LayerNorm;
  readonly crossAttn: MultiHeadAttention;
  readonly ln3: LayerNorm;
  readonly mlp: MLP;
  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: TransformerConfig,
  ) {
    this.ln1 = new LayerNorm(store, `${name}.ln1`, cfg.d_model, cfg.layer_kernels);
    this.selfAttn = new MultiHeadAttention(store, `${name}.self_attn`, cfg.d_model, cfg.n_heads, initStds(cfg));
    this.ln2 = new LayerNorm(store, `${name}.ln2`, cfg.d_model, cfg.layer_kernels);
    this.crossAttn = new MultiHeadAttention(store, `${name}.cross_attn`, cfg.d_model, cfg.n_heads, initStds(cfg));
    this.ln3 = new LayerNorm(store, `${name}.ln3`, cfg.d_model, cfg.layer_kernels);
    this.mlp = new MLP(store, `${name}.mlp`, cfg);
  }

  static paramCount(d: number): number {
    return 3 * LayerNorm.paramCount(d) + 2 * MultiHeadAttention.paramCount(d) + MLP.paramCount(d);
  }

  /** x (b, lt, d); cross holds the encoder output's keys and values, sourceMask (b, ls) its padding. */
  apply(
    x: tf.Tensor,
    past: KV | null,
    cross: KV,
    sourceMask: tf.Tensor2D,
    rotary: RotaryTables | undefined,
    training: boolean,
  ): { x: tf.Tensor; kv: KV } {
    const { y, kv } = this.selfAttn.selfAttend(this.ln1.apply(x), past, { causal: true, window: this.cfg.window }, rotary);
    const h1 = x.add(dropout(y, this.cfg, training)); // (b, lt, d)
    // Source and target positions are unrelated, so cross-attention is not rotated.
    const c = this.crossAttn.attend(this.ln2.apply(h1), cross, { causal: false, keyMask: sourceMask });
    const h2 = h1.add(dropout(c, this.cfg, training)); // (b, lt, d)
    return { x: h2.add(dropout(this.mlp.apply(this.ln3.apply(h2)), this.cfg, training)), kv };
  }
}

/** Logits from the final hidden states: the token embedding transposed (tied) or a separate matrix. */
class Head {
  private readonly untied: Linear | null;
  constructor(
    store: ParamStore,
    private readonly wte: Embedding,
    cfg: TransformerConfig,
    vocabSize: number,
  ) {
    this.untied = cfg.tie_embeddings ? null : new Linear(store, 'head', cfg.d_model, vocabSize, { bias: false, std: initStds(cfg).linear });
  }

  apply(x: tf.Tensor): tf.Tensor {
    if (this.untied) return this.untied.apply(x); // (b, l, v)
    const [b, l, d] = x.shape;
    return tf.matMul(x.reshape([b * l, d]), this.wte.table, false, true).reshape([b, l, -1]); // (b, l, v)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoding state

/** Per-layer keys and values of the positions decoded so far: all of them, or the last `window`. */
class KVCache implements DecodeState {
  constructor(
    readonly batchSize: number,
    /** One entry per layer, (b, h, min(length, W), hs) each; empty before the first step. */
    readonly layers: KV[],
    /** Positions decoded so far: the next token's position. */
    readonly length: number,
  ) {}

  bytes(): number {
    return tensorBytes(this.layers.flatMap(({ k, v }) => [k, v]));
  }

  dispose(): void {
    for (const { k, v } of this.layers) tf.dispose([k, v]);
  }
}

/** The decoder's growing KV cache, plus what stays fixed while decoding: cross-attention K/V and the source mask. */
class EncDecState implements DecodeState {
  constructor(
    readonly self: KVCache,
    /** Per decoder layer: keys and values of the encoder output, (b, h, ls, hs) each. */
    readonly cross: KV[],
    readonly sourceMask: tf.Tensor2D, // (b, ls)
  ) {}

  bytes(): number {
    return this.self.bytes() + tensorBytes([...this.cross.flatMap(({ k, v }) => [k, v]), this.sourceMask]);
  }

  dispose(): void {
    this.self.dispose();
    for (const { k, v } of this.cross) tf.dispose([k, v]);
    this.sourceMask.dispose();
  }
}

/**
 * A layer's cache after a step: with a window, only its last W positions, the keys the next query can
 * still see (it sees its own and the W − 1 before it; the oldest cached one the window's mask hides).
 */
function bounded(kv: KV, window: number | undefined): KV {
  const [b, h, l, hs] = kv.k.shape;
  if (window === undefined || l <= window) return kv;
  const keep = (x: tf.Tensor4D): tf.Tensor4D => tf.slice(x, [0, 0, l - window, 0], [b, h, window, hs]); // (b, h, W, hs)
  return { k: keep(kv.k), v: keep(kv.v) };
}

function checkStep(token: tf.Tensor1D, cache: KVCache): void {
  if (token.shape[0] !== cache.batchSize) {
    throw new Error(`step() got ${token.shape[0]} tokens for a state of batch size ${cache.batchSize}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoder-only causal LM

class TransformerLM implements LMModel {
  readonly form = 'lm' as const;
  private readonly store: ParamStore;
  private readonly wte: Embedding;
  private readonly positions: Positions;
  private readonly blocks: Block[];
  private readonly lnF: LayerNorm;
  private readonly head: Head;

  constructor(
    private readonly cfg: TransformerConfig,
    io: ModelIO,
  ) {
    this.store = new ParamStore(cfg.seed);
    this.wte = new Embedding(this.store, 'wte', io.vocabSize, cfg.d_model, initStds(cfg).embedding, cfg.layer_kernels);
    this.positions = new Positions(this.store, 'wpe', cfg, io.maxLen);
    this.blocks = Array.from({ length: cfg.n_layers }, (_, i) => new Block(this.store, `h${i}`, cfg));
    this.lnF = new LayerNorm(this.store, 'ln_f', cfg.d_model, cfg.layer_kernels);
    this.head = new Head(this.store, this.wte, cfg, io.vocabSize);
  }

  get trainableWeights(): tf.Variable[] {
    return this.store.variables;
  }

  get decayedWeights(): ReadonlySet<tf.Variable> {
    return this.store.decayed;
  }

  /** tokens (b, l) at positions start … start+l−1, after `past` (one KV per layer, or none) → logits and grown caches. */
  private run(tokens: tf.Tensor2D, past: KV[], start: number, training: boolean): { logits: tf.Tensor; kv: KV[] } {
    const { x: embedded, rotary } = this.positions.apply(this.wte.apply(tokens), start); // (b, l, d)
    let x = dropout(embedded, this.cfg, training);
    const kv: KV[] = [];
    this.blocks.forEach((block, i) => {
      const out = block.apply(x, past[i] ?? null, { causal: true, window: this.cfg.window }, rotary, training);
      x = out.x;
      kv.push(out.kv);
    });
    return { logits: this.head.apply(this.lnF.apply(x)), kv }; // (b, l, v)
  }

  forward(tokens: tf.Tensor2D, training = false): tf.Tensor3D {
    return tf.tidy(() => this.run(tokens, [], 0, training).logits as tf.Tensor3D);
  }

  initState(batchSize: number): DecodeState {
    return new KVCache(batchSize, [], 0);
  }

  step(token: tf.Tensor1D, state: DecodeState): StepOutput {
    if (!(state instanceof KVCache)) throw new Error('transformer step() needs a state from its own initState() or step()');
    checkStep(token, state);
    const { logits, kv } = tf.tidy(() => {
      const out = this.run(token.reshape([-1, 1]), state.layers, state.length, false);
      return { logits: out.logits.squeeze([1]) as tf.Tensor2D, kv: out.kv.map((kv) => bounded(kv, this.cfg.window)) }; // (b, v)
    });
    return { logits, state: new KVCache(state.batchSize, kv, state.length + 1) };
  }

  dispose(): void {
    this.store.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoder–decoder

class TransformerEncDec implements Seq2SeqModel {
  readonly form = 'seq2seq' as const;
  private readonly store: ParamStore;
  // One vocabulary: the same embedding reads source and target (and, tied, writes the logits).
  private readonly wte: Embedding;
  private readonly encoderPositions: Positions;
  private readonly encoderBlocks: Block[];
  private readonly encoderLn: LayerNorm;
  private readonly decoderPositions: Positions;
  private readonly decoderBlocks: DecoderBlock[];
  private readonly decoderLn: LayerNorm;
  private readonly head: Head;

  constructor(
    private readonly cfg: TransformerConfig,
    private readonly io: ModelIO,
  ) {
    this.store = new ParamStore(cfg.seed);
    this.wte = new Embedding(this.store, 'wte', io.vocabSize, cfg.d_model, initStds(cfg).embedding, cfg.layer_kernels);
    this.encoderPositions = new Positions(this.store, 'encoder.wpe', cfg, io.maxLen);
    this.encoderBlocks = Array.from({ length: cfg.n_layers }, (_, i) => new Block(this.store, `encoder.h${i}`, cfg));
    this.encoderLn = new LayerNorm(this.store, 'encoder.ln_f', cfg.d_model, cfg.layer_kernels);
    this.decoderPositions = new Positions(this.store, 'decoder.wpe', cfg, io.maxLen);
    this.decoderBlocks = Array.from({ length: cfg.n_layers }, (_, i) => new DecoderBlock(this.store, `decoder.h${i}`, cfg));
    this.decoderLn = new LayerNorm(this.store, 'decoder.ln_f', cfg.d_model, cfg.layer_kernels);
    this.head = new Head(this.store, this.wte, cfg, io.vocabSize);
  }

  get trainableWeights(): tf.Variable[] {
    return this.store.variables;
  }

  get decayedWeights(): ReadonlySet<tf.Variable> {
    return this.store.decayed;
  }

  /** 1 for real source tokens, 0 for padding: (b, ls). */
  private sourceMask(source: tf.Tensor2D): tf.Tensor2D {
    return tf.notEqual(source, this.io.padId).toFloat() as tf.Tensor2D;
  }

  /** Source (b, ls) → per decoder layer, the keys and values of the encoder output (b, h, ls, hs). */
  private encode(source: tf.Tensor2D, sourceMask: tf.Tensor2D, training: boolean): KV[] {
    const { x: embedded, rotary } = this.encoderPositions.apply(this.wte.apply(source), 0); // (b, ls, d)
    let x = dropout(embedded, this.cfg, training);
    for (const block of this.encoderBlocks) x = block.apply(x, null, { causal: false, keyMask: sourceMask }, rotary, training).x;
    const memory = this.encoderLn.apply(x); // (b, ls, d)
    return this.decoderBlocks.map((block) => block.crossAttn.keysValues(memory));
  }

  /** Target tokens (b, lt) at positions start …, after `past` → logits (b, lt, v) and grown self-attention caches. */
  private decode(
    tokens: tf.Tensor2D,
    past: KV[],
    start: number,
    cross: KV[],
    sourceMask: tf.Tensor2D,
    training: boolean,
  ): { logits: tf.Tensor; kv: KV[] } {
    const { x: embedded, rotary } = this.decoderPositions.apply(this.wte.apply(tokens), start); // (b, lt, d)
    let x = dropout(embedded, this.cfg, training);
    const kv: KV[] = [];
    this.decoderBlocks.forEach((block, i) => {
      const out = block.apply(x, past[i] ?? null, cross[i], sourceMask, rotary, training);
      x = out.x;
      kv.push(out.kv);
    });
    return { logits: this.head.apply(this.decoderLn.apply(x)), kv }; // (b, lt, v)
  }

  forward(source: tf.Tensor2D, targetIn: tf.Tensor2D, training = false): tf.Tensor3D {
    return tf.tidy(() => {
      const mask = this.sourceMask(source);
      const cross = this.encode(source, mask, training);
      return this.decode(targetIn, [], 0, cross, mask, training).logits as tf.Tensor3D;
    });
  }

  initState(source: tf.Tensor2D): DecodeState {
    const { cross, mask } = tf.tidy(() => {
      const mask = this.sourceMask(source);
      return { cross: this.encode(source, mask, false), mask };
    });
    return new EncDecState(new KVCache(source.shape[0], [], 0), cross, mask);
  }

  step(token: tf.Tensor1D, state: DecodeState): StepOutput {
    if (!(state instanceof EncDecState)) throw new Error('transformer-encdec step() needs a state from its own initState() or step()');
    checkStep(token, state.self);
    const { logits, kv, cross, mask } = tf.tidy(() => {
      const out = this.decode(token.reshape([-1, 1]), state.self.layers, state.self.length, state.cross, state.sourceMask, false);
      return {
        logits: out.logits.squeeze([1]) as tf.Tensor2D, // (b, v)
        kv: out.kv.map((kv) => bounded(kv, this.cfg.window)),
        // Each state owns its tensors, so the caller can dispose the old one; clones share the data.
        cross: state.cross.map(({ k, v }) => ({ k: tf.clone(k), v: tf.clone(v) })),
        mask: tf.clone(state.sourceMask),
      };
    });
    const self = new KVCache(state.self.batchSize, kv, state.self.length + 1);
    return { logits, state: new EncDecState(self, cross, mask) };
  }

  dispose(): void {
    this.store.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Costs (closed forms, checked against the built models in tests/transformer.test.ts)

const BYTES_PER_FLOAT = 4;

function positionParams(cfg: TransformerConfig, io: ModelIO): number {
  return cfg.positions === 'learned' ? io.maxLen * cfg.d_model : 0;
}

function headParams(cfg: TransformerConfig, io: ModelIO): number {
  return cfg.tie_embeddings ? 0 : io.vocabSize * cfg.d_model;
}

// FLOPs count matmuls only (2 per multiply-add); norms, GELU and softmax are O(d) per token and left out.
// Projections cost 2 FLOPs per weight per token: attention 4d² weights (q, k, v, out), MLP 8d², cross-attention 4d².
// Attention itself costs 2·d per key for the scores Q·Kᵀ and 2·d per key for the weighted sum of V.
// FLOPs per token are averaged over a forward of a length-L sequence: a causal query sees L/2 keys on average.
// With a window of W keys the query at position l sees min(l, W): the mean is L/2 up to L = W, then
// (W²/2 + (L − W)·W) / L = W − W²/(2L), which tends to W (counted continuously, as L/2 is).
const projectionFlops = (d: number, weightsPerD2: number): number => 2 * weightsPerD2 * d * d;
const attentionFlops = (d: number, keys: number): number => 2 * 2 * d * keys;
const causalKeys = (seqLen: number, window = Infinity): number => (seqLen <= window ? seqLen / 2 : window - (window * window) / (2 * seqLen));
/** Positions a causal self-attention cache holds after L tokens. */
const cachedPositions = (seqLen: number, window = Infinity): number => Math.min(seqLen, window);
const withTraining = (forward: number): Flops => ({ forward, training: 3 * forward });

export const transformer = {
  name: 'transformer',
  family: 'transformer',
  form: 'lm',
  description: 'Decoder-only causal Transformer LM, GPT-2 style pre-norm (Radford et al. 2019), learned or rotary positions',
  config: transformerConfig,
  presets: PRESETS,
  build: (config, io) => new TransformerLM(transformerConfig.parse(config), io),
  paramCount: (cfg, io) =>
    io.vocabSize * cfg.d_model +
    positionParams(cfg, io) +
    cfg.n_layers * Block.paramCount(cfg.d_model) +
    LayerNorm.paramCount(cfg.d_model) +
    headParams(cfg, io),
  flopsPerToken: (cfg, io, seqLen) => {
    const d = cfg.d_model;
    const perLayer = projectionFlops(d, 4 + 8) + attentionFlops(d, causalKeys(seqLen, cfg.window));
    return withTraining(cfg.n_layers * perLayer + 2 * d * io.vocabSize);
  },
  // Keys and values of every layer at every position (the last W with a window).
  stateBytes: (cfg, _io, seqLen) => 2 * cfg.n_layers * cachedPositions(seqLen, cfg.window) * cfg.d_model * BYTES_PER_FLOAT,
  size: (cfg) => ({ dModel: cfg.d_model, nLayers: cfg.n_layers }),
} satisfies Architecture<typeof transformerConfig>;

/** `swa`'s window where the config names none; `--set window=…` sets another. */
const SWA_WINDOW = 64;

/** `transformer` with its window defaulted: one model, two names, so suites and tables can say `swa`. */
export const swaConfig = transformerConfig.safeExtend({
  window: z.number().int().positive().default(SWA_WINDOW).describe(transformerConfig.shape.window.description ?? ''),
});

export const swa = {
  ...transformer,
  name: 'swa',
  description: `Sliding-window attention (Longformer, Mistral): the transformer LM with each query seeing its last window keys (default ${SWA_WINDOW})`,
  config: swaConfig,
  build: (config, io) => new TransformerLM(swaConfig.parse(config), io),
} satisfies Architecture<typeof swaConfig>;

/**
 * Costs of the encoder–decoder are per target token with the source as long as the target (ls = lt = L):
 * every source token passes the encoder once and every target token the decoder once.
 */
export const transformerEncDec = {
  name: 'transformer-encdec',
  family: 'transformer',
  form: 'seq2seq',
  description: 'Encoder–decoder Transformer for translation (Vaswani et al. 2017), pre-norm, with source padding masks',
  config: transformerConfig,
  presets: PRESETS,
  build: (config, io) => new TransformerEncDec(transformerConfig.parse(config), io),
  paramCount: (cfg, io) =>
    io.vocabSize * cfg.d_model +
    2 * positionParams(cfg, io) +
    cfg.n_layers * (Block.paramCount(cfg.d_model) + DecoderBlock.paramCount(cfg.d_model)) +
    2 * LayerNorm.paramCount(cfg.d_model) +
    headParams(cfg, io),
  flopsPerToken: (cfg, io, seqLen) => {
    const d = cfg.d_model;
    const encoderLayer = projectionFlops(d, 4 + 8) + attentionFlops(d, seqLen);
    const decoderLayer = projectionFlops(d, 4 + 4 + 8) + attentionFlops(d, causalKeys(seqLen, cfg.window)) + attentionFlops(d, seqLen);
    return withTraining(cfg.n_layers * (encoderLayer + decoderLayer) + 2 * d * io.vocabSize);
  },
  // The decoder's self-attention cache after L target tokens (the last W with a window), plus the fixed
  // cross-attention keys and values and padding mask of an L-token source.
  stateBytes: (cfg, _io, seqLen) =>
    (2 * cfg.n_layers * cachedPositions(seqLen, cfg.window) * cfg.d_model + 2 * cfg.n_layers * seqLen * cfg.d_model + seqLen) * BYTES_PER_FLOAT,
  size: (cfg) => ({ dModel: cfg.d_model, nLayers: cfg.n_layers }),
} satisfies Architecture<typeof transformerConfig>;
