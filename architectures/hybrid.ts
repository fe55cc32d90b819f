/**
 * A hybrid of Mamba and attention layers, interleaved by a pattern string such as "MAMA" (M = a Mamba
 * block, A = an attention block), after Jamba (Lieber et al. 2024, arXiv:2403.19887), which interleaves
 * a few attention layers among Mamba layers, and Zoology (Arora et al. 2023, arXiv:2312.04927), which
 * finds that attention restores the exact associative recall that gated convolutions and SSMs lack.
 *
 *   config → attention block → hybrid LM (M blocks come from mamba.ts)
 *
 * - M is mamba.ts's block: RMSNorm → Mamba mixer → residual.
 * - A is RMSNorm → causal multi-head self-attention (Vaswani et al. 2017) with rotary positions (Su et al.
 *   2021) → residual: a sequence mixer alone, like M, so a pattern swaps mixers and nothing else.
 * Embedding, final RMSNorm and the tied head are Mamba's.
 *
 * step() keeps each M layer's fixed-size state and each A layer's KV cache, which grows with the context.
 *
 * Glossary: b batch, l length, d d_model, h heads, hs = d / h head size, v vocabulary, L context length.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { rotaryTables } from './kernels/attention.ts';
import { SCAN_IMPLS } from './kernels/selective-scan.ts';
import { Embedding, ParamStore, RMSNorm, tensorBytes, layerKernelsOption } from './layers.ts';
import { MambaBlock, mambaConfig, mambaLayerFlops, mambaLayerStateBytes, type MambaConfig, type MixerState } from './mamba.ts';
import { MultiHeadAttention, type KV } from './transformer.ts';
import type { Architecture, DecodeState, Flops, LMModel, ModelIO, StepOutput } from './types.ts';

// ---------------------------------------------------------------------------------------------------------
// Config

export const hybridConfig = z
  .object({
    d_model: z.number().int().positive().default(64).describe('Width of the residual stream'),
    pattern: z.string().default('MAMA').describe('One letter per layer, bottom to top: M a Mamba block, A an attention block'),
    n_heads: z.number().int().positive().default(4).describe('Attention heads; head size d_model / n_heads must be even (rotary positions)'),
    d_state: z.number().int().positive().default(16).describe('State size n per channel of the M blocks'),
    d_conv: z.number().int().min(2).default(4).describe("Width of the M blocks' causal depthwise convolution"),
    expand: z.number().int().positive().default(2).describe('Inner width di = expand · d_model of the M blocks'),
    dt_rank: z.number().int().positive().optional().describe("Rank of Δ's projection in the M blocks; ⌈d_model / 16⌉ when omitted"),
    scan: z
      .enum(SCAN_IMPLS)
      .default('auto')
      .describe('Scan of the M blocks: `auto` is fused on cpu/wasm, chunked elsewhere; or force fused, chunked, reference'),
    layer_kernels: layerKernelsOption,
    seed: z.number().int().nonnegative().default(0).describe('Seed of the weight initialisation'),
  })
  .superRefine((c, ctx) => {
    if (!/^[MA]+$/.test(c.pattern)) {
      ctx.addIssue({
        code: 'custom',
        path: ['pattern'],
        message: `pattern '${c.pattern}' must be one or more of M (Mamba block) and A (attention block), e.g. 'MAMA'`,
      });
    }
    if (c.d_model % c.n_heads !== 0 || (c.d_model / c.n_heads) % 2 !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['n_heads'],
        message: `d_model ${c.d_model} / n_heads ${c.n_heads} must be an even whole head size: choose n_heads so it is`,
      });
    }
  });

export type HybridConfig = z.infer<typeof hybridConfig>;

const PRESETS = {
  nano: { d_model: 32, pattern: 'MAMA', n_heads: 2 },
  micro: { d_model: 64, pattern: 'MAMA', n_heads: 4 },
  small: { d_model: 128, pattern: 'MAMA', n_heads: 4 },
} satisfies Architecture<typeof hybridConfig>['presets'];

/** The Mamba config of the M blocks; n_layers counts every layer, for the residual rescale of the out-projection. */
function mambaPart(cfg: HybridConfig): MambaConfig {
  const { d_model, d_state, d_conv, expand, dt_rank, scan, seed } = cfg;
  return mambaConfig.parse({ d_model, n_layers: cfg.pattern.length, d_state, d_conv, expand, dt_rank, scan, seed });
}

// ---------------------------------------------------------------------------------------------------------
// Attention block

// GPT-2's initialisation; the projection into the residual stream is scaled by 1/√layers.
const INIT_STD = 0.02;

/** Pre-norm residual: x + attention(RMSNorm(x)), causal, rotary positions (the Transformer's attention). */
class AttentionBlock {
  readonly norm: RMSNorm;
  readonly attention: MultiHeadAttention;
  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: HybridConfig,
  ) {
    this.norm = new RMSNorm(store, `${name}.norm`, cfg.d_model, cfg.layer_kernels);
    this.attention = new MultiHeadAttention(store, name, cfg.d_model, cfg.n_heads, { linear: INIT_STD, residual: INIT_STD / Math.sqrt(cfg.pattern.length) });
  }

  static paramCount(d: number): number {
    return RMSNorm.paramCount(d) + MultiHeadAttention.paramCount(d);
  }

  /** x (b, l, d) at positions start … start+l−1, after the cached keys and values `past` → output and grown cache. */
  apply(x: tf.Tensor3D, past: KV | null, start: number): { y: tf.Tensor3D; kv: KV } {
    return tf.tidy(() => {
      const [, l, d] = x.shape;
      const rotary = rotaryTables(start, l, d / this.cfg.n_heads);
      const { y, kv } = this.attention.selfAttend(this.norm.apply(x), past, { causal: true }, rotary); // (b, l, d)
      return { y: x.add(y) as tf.Tensor3D, kv };
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Hybrid LM

/** Per layer: a Mamba state (fixed size) or a KV cache (null before the first token). */
class HybridState implements DecodeState {
  constructor(
    readonly batchSize: number,
    readonly layers: (MixerState | KV | null)[],
    readonly length: number,
  ) {}

  private tensors(): tf.Tensor[] {
    return this.layers.flatMap((s) => (s ? Object.values(s) : []));
  }

  bytes(): number {
    return tensorBytes(this.tensors());
  }

  dispose(): void {
    tf.dispose(this.tensors());
  }
}

export class HybridLM implements LMModel {
  readonly form = 'lm' as const;
  readonly store: ParamStore;
  readonly embedding: Embedding;
  readonly blocks: (MambaBlock | AttentionBlock)[];
  readonly normF: RMSNorm;

  constructor(
    readonly cfg: HybridConfig,
    readonly io: ModelIO,
  ) {
    const mcfg = mambaPart(cfg);
    this.store = new ParamStore(cfg.seed);
    this.embedding = new Embedding(this.store, 'embedding', io.vocabSize, cfg.d_model, Embedding.DEFAULT_STD, cfg.layer_kernels);
    this.blocks = [...cfg.pattern].map((kind, i) =>
      kind === 'M' ? new MambaBlock(this.store, `layers.${i}`, mcfg) : new AttentionBlock(this.store, `layers.${i}`, cfg),
    );
    this.normF = new RMSNorm(this.store, 'norm_f', cfg.d_model, cfg.layer_kernels);
  }

  get trainableWeights(): tf.Variable[] {
    return this.store.variables;
  }

  get decayedWeights(): ReadonlySet<tf.Variable> {
    return this.store.decayed;
  }

  /** The tied head: hidden (…, d) → logits (…, v). */
  private head(h: tf.Tensor): tf.Tensor {
    const logits = tf.matMul(this.normF.apply(h).reshape([-1, this.cfg.d_model]), this.embedding.table, false, true);
    return logits.reshape([...h.shape.slice(0, -1), this.io.vocabSize]); // (…, v)
  }

  forward(tokens: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      let x = this.embedding.apply(tokens) as tf.Tensor3D; // (b, l, d)
      for (const block of this.blocks) x = block instanceof MambaBlock ? block.apply(x) : block.apply(x, null, 0).y;
      return this.head(x) as tf.Tensor3D; // (b, l, v)
    });
  }

  initState(batchSize: number): DecodeState {
    const layers = this.blocks.map((block) => (block instanceof MambaBlock ? block.mixer.initState(batchSize) : null));
    return new HybridState(batchSize, layers, 0);
  }

  step(token: tf.Tensor1D, state: DecodeState): StepOutput {
    if (!(state instanceof HybridState)) throw new Error("hybrid step() needs a state from this model's initState() or step()");
    if (token.shape[0] !== state.batchSize) {
      throw new Error(`step() got ${token.shape[0]} tokens for a state of batch size ${state.batchSize}`);
    }
    const out = tf.tidy(() => {
      let x = this.embedding.apply(token) as tf.Tensor2D; // (b, d)
      const layers = this.blocks.map((block, i) => {
        const past = state.layers[i];
        if (block instanceof MambaBlock) {
          const next = block.step(x, past as MixerState);
          x = next.y;
          return next.state;
        }
        const next = block.apply(x.expandDims(1) as tf.Tensor3D, past as KV | null, state.length); // (b, 1, d)
        x = next.y.squeeze([1]);
        return next.kv;
      });
      return { logits: this.head(x) as tf.Tensor2D, layers }; // (b, v)
    });
    return { logits: out.logits, state: new HybridState(state.batchSize, out.layers, state.length + 1) };
  }

  dispose(): void {
    this.store.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Costs and registry entry

const layers = (cfg: HybridConfig): { m: number; a: number } => {
  const m = [...cfg.pattern].filter((c) => c === 'M').length;
  return { m, a: cfg.pattern.length - m };
};

// Attention layers: 2 FLOPs per weight of the 4d² projections, and 2·d per key for Q·Kᵀ and again for the
// weighted sum of V, a causal query seeing L/2 keys on average (as transformer.ts counts them).
function flopsPerToken(cfg: HybridConfig, io: ModelIO, seqLen: number): Flops {
  const d = cfg.d_model;
  const { m, a } = layers(cfg);
  const attentionLayer = 2 * 4 * d * d + 2 * 2 * d * (seqLen / 2);
  const forward = m * mambaLayerFlops(mambaPart(cfg)) + a * attentionLayer + 2 * d * io.vocabSize;
  return { forward, training: 3 * forward };
}

export const hybrid = {
  name: 'hybrid',
  family: 'hybrid',
  form: 'lm',
  description: 'Mamba and rotary attention layers interleaved by a pattern like "MAMA" (after Jamba, Lieber et al. 2024)',
  config: hybridConfig,
  presets: PRESETS,
  build: (cfg, io) => new HybridLM(hybridConfig.parse(cfg), io),
  paramCount: (cfg, io) => {
    const d = cfg.d_model;
    const { m, a } = layers(cfg);
    return io.vocabSize * d + m * MambaBlock.paramCount(mambaPart(cfg)) + a * AttentionBlock.paramCount(d) + RMSNorm.paramCount(d);
  },
  flopsPerToken,
  // Each M layer's fixed state, and each A layer's keys and values of every position (fp32).
  stateBytes: (cfg, _io, seqLen) => {
    const { m, a } = layers(cfg);
    return m * mambaLayerStateBytes(mambaPart(cfg)) + a * 2 * seqLen * cfg.d_model * 4;
  },
  size: (cfg) => ({ dModel: cfg.d_model, nLayers: cfg.pattern.length }),
} satisfies Architecture<typeof hybridConfig>;
