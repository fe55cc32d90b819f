/**
 * Gated linear attention (GLA), read top to bottom in the order data flows (after fla-org's
 * flash-linear-attention, fla/layers/gla.py and fla/models/gla): Yang, Wang, Shen, Panda & Kim 2024,
 * "Gated Linear Attention Transformers with Hardware-Efficient Training", arXiv:2312.06635.
 *
 *   config → the GLA recurrence (sequential reference, chunked) → mixer (the GLA layer) → SwiGLU → block → LM
 *
 * Glossary (the paper's symbols):
 *   b  batch size                 l  sequence length              d  d_model (residual stream width)
 *   h  heads                      dk key width, expand_k · d      dv value width, expand_v · d
 *   kh key width per head, dk / h vh value width per head, dv / h r  rank of the gate's projection (16)
 *   Q  chunk length (chunk_size)  c  chunks, ⌈l / Q⌉              τ  the gate's temperature (16)
 *   q, k (b, l, h, kh) and v (b, l, h, vh): x W_Q (scaled by kh^−½, as fla's kernels scale it), x W_K, x W_V
 *   α  the forget gate per key channel (b, l, h, kh), data-dependent: α_t = sigmoid(x_t W_α1 W_α2 + b_α)^(1/τ)
 *   g  log α ≤ 0, the form every computation here takes (log-sigmoid / τ): products of gates are sums of g
 *   S  the state per head (kh, vh), a matrix memory
 *
 * The recurrence (paper §4.1, eq. 3 with G_t = α_tᵀ 1): per head, from S_0 = 0,
 *   S_t = diag(α_t) S_{t−1} + k_tᵀ v_t,   o_t = q_t S_t.
 * Unrolled, o_t = Σ_{s≤t} (q_t ⊙ Π_{s<j≤t} α_j) k_sᵀ v_s: causal linear attention whose every key channel
 * decays on its own, at a rate the input sets. The chunkwise form (§4.2) is the quadratic reading within
 * chunks of Q steps and the linear recurrence on S across chunk boundaries, as Mamba-2's SSD (mamba2.ts) is.
 *
 * `gate: 'fixed'` is RetNet's retention (Sun et al. 2023, arXiv:2307.08621) as GLA's special case
 * (paper §4.4, Table 1): α_t = γ_h 1, one constant per head, γ_h = 1 − 2^(−5−h) for h = 0 … H − 1, no gate
 * projection. Only the decay is RetNet's; the rest of the layer (no xPos, RMSNorm, the swish gate) stays GLA's.
 *
 * The layer (paper §4.4, "GLA Transformer"; fla's GatedLinearAttention, mode 'chunk'): q, k, v and the
 * output gate's x W_r projected from x; the gate's logits from a rank-r bottleneck x W_α1 W_α2 + b_α; the
 * recurrence; RMSNorm over each head's output (the paper's LayerNorm per head, fla's RMSNorm with one scale
 * of vh shared by the heads); times swish(x W_r); the out-projection. The block is the paper's (and fla's
 * GLABlock, LLaMA's layout): x + GLA(RMSNorm(x)), then x + SwiGLU(RMSNorm(x)), chosen over the family's
 * GELU MLP because the paper trains GLA that way and compares it with a LLaMA-style Transformer++; a final
 * RMSNorm and the head tied to the embedding, as this suite's Mamba LMs (fla unties it). Every matrix and
 * the embedding start N(0, 0.02²), biases 0 (fla's _init_weights), so α starts at sigmoid(0)^(1/16) ≈ 0.958,
 * a memory of about 16 steps.
 *
 * Sizes at this suite's widths (d_model 32–128) follow fla's defaults (expand_k ½, expand_v 1, r 16, τ 16)
 * except:
 * - heads 1 / 2 / 4 at nano / micro / small (fla: 4), so every head is 16 keys by 32 values; 4 heads would
 *   leave nano 4 keys a head. The decode state per layer is then dk · vh = 16 · d floats, half Mamba's
 *   2 · d · 16; `--set expand_k=1` doubles the key width and meets Mamba's state exactly.
 * - the SwiGLU's width 8d/3 rounded up to a multiple of 8 (fla: to a multiple of 256, set for d ≥ 1024,
 *   which would make nano's 8 · d).
 * - chunk_size 16 (fla's chunk_gla: 64, split into sub-chunks of 16). The chunked form here is one level: the
 *   pairwise decays within a chunk are computed from the gates' segment sums in log space, a (Q, Q) per key
 *   channel, which is exactly fla's innermost sub-chunk, and never as q ⊙ exp(Σg) against k ⊙ exp(−Σg), whose
 *   second factor overflows fp32 once a chunk's gates multiply to below e^−88 (fla's secondary chunking keeps
 *   that form between sub-chunks, where its exponents stay bounded). Memory within a chunk grows as Q · dk a
 *   token, so Q stays at the sub-chunk's 16.
 *
 * step() decodes one token in O(1): the state is S (b, h, kh, vh) per layer.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Linear, ParamStore, RMSNorm, silu, unstackTime, layerKernelsOption } from './layers.ts';
import { MlpResidualBlock, ResidualLM } from './mamba.ts';
import { cumsumLast, mask, segsum } from './mamba2.ts';
import type { Architecture, Flops, ModelIO } from './types.ts';

// ---------------------------------------------------------------------------------------------------------
// Config

/** Which form of the recurrence the model runs; the two are tested equal, forward and gradient. */
export const GLA_SCANS = ['chunked', 'reference'] as const;
export type GlaScan = (typeof GLA_SCANS)[number];

/** The forget gate: GLA's data-dependent α per key channel, or RetNet's fixed decay per head. */
export const GLA_GATES = ['data', 'fixed'] as const;

export const glaConfig = z
  .object({
    d_model: z.number().int().positive().default(64).describe('Width of the residual stream'),
    n_layers: z.number().int().positive().default(2).describe('Blocks (each one GLA layer and one SwiGLU)'),
    n_heads: z.number().int().positive().default(2).describe('Heads h of the GLA layer (fla: 4, for d_model ≥ 1024)'),
    expand_k: z.number().positive().default(0.5).describe('Key width dk = expand_k · d_model (fla: 0.5)'),
    expand_v: z.number().positive().default(1).describe('Value width dv = expand_v · d_model (fla: 1)'),
    gate: z.enum(GLA_GATES).default('data').describe("Forget gate: GLA's data-dependent α per key channel, or `fixed`: RetNet's γ_h = 1 − 2^(−5−h) per head"),
    gate_low_rank_dim: z.number().int().positive().default(16).describe("Rank r of the gate's projection x W_α1 W_α2"),
    gate_logit_normalizer: z.number().positive().default(16).describe('Temperature τ: α = sigmoid(logits)^(1/τ)'),
    d_ff: z.number().int().positive().optional().describe("SwiGLU's hidden width; 8 · d_model / 3 rounded up to a multiple of 8 when omitted"),
    chunk_size: z.number().int().positive().default(16).describe('Chunk length Q of the chunked form'),
    scan: z
      .enum(GLA_SCANS)
      .optional()
      .describe('The recurrence: `chunked` (when omitted; quadratic within chunks, linear across) or the sequential `reference`'),
    layer_kernels: layerKernelsOption,
    seed: z.number().int().nonnegative().default(0).describe('Seed of the weight initialisation'),
  })
  .superRefine((c, ctx) => {
    for (const [field, expand] of [['expand_k', c.expand_k], ['expand_v', c.expand_v]] as const) {
      const width = expand * c.d_model;
      if (!Number.isInteger(width) || width % c.n_heads !== 0) {
        ctx.addIssue({ code: 'custom', path: [field], message: `${field} · d_model = ${width} must be a whole multiple of n_heads ${c.n_heads}` });
      }
    }
  });
export type GlaConfig = z.infer<typeof glaConfig>;

/** The Transformer's and Mamba's widths and depths; heads of 16 keys by 32 values at every preset. */
const PRESETS = {
  nano: { d_model: 32, n_layers: 2, n_heads: 1 },
  micro: { d_model: 64, n_layers: 2, n_heads: 2 },
  small: { d_model: 128, n_layers: 4, n_heads: 4 },
} satisfies Architecture<typeof glaConfig>['presets'];

/** The derived sizes every part needs. */
function dims(cfg: GlaConfig): { d: number; h: number; dk: number; dv: number; kh: number; vh: number; r: number; ff: number } {
  const d = cfg.d_model;
  const dk = cfg.expand_k * d;
  const dv = cfg.expand_v * d;
  const ff = cfg.d_ff ?? 8 * Math.ceil(d / 3);
  return { d, h: cfg.n_heads, dk, dv, kh: dk / cfg.n_heads, vh: dv / cfg.n_heads, r: cfg.gate_low_rank_dim, ff };
}

/** RetNet's decays in log space, one a head: log γ_h = log(1 − 2^(−5−h)). */
export function retnetLogDecays(heads: number): Float32Array {
  return Float32Array.from({ length: heads }, (_, i) => Math.log1p(-(2 ** (-5 - i))));
}

// ---------------------------------------------------------------------------------------------------------
// The GLA recurrence

/**
 * One step of the recurrence, per head: S_t = diag(exp g_t) S_{t−1} + k_tᵀ v_t, o_t = q_t S_t. The reference's
 * loop body and the decode step. S (b, h, kh, vh); q, k, g (b, h, kh); v (b, h, vh) → o (b, h, vh) and S_t.
 */
export function glaStep(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, g: tf.Tensor, S: tf.Tensor): { o: tf.Tensor; S: tf.Tensor4D } {
  return tf.tidy(() => {
    const next = tf.exp(g).expandDims(-1).mul(S).add(k.expandDims(-1).mul(v.expandDims(-2))) as tf.Tensor4D; // (b, h, kh, vh)
    return { o: q.expandDims(-1).mul(next).sum(-2), S: next }; // (b, h, vh)
  });
}

/** The sequential reference, one step per token from S_0 = 0. q, k, g (b, l, h, kh), v (b, l, h, vh) → o (b, l, h, vh). */
export function glaReference(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, g: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, l, h, kh] = q.shape;
    const [qs, ks, vs, gs] = [q, k, v, g].map((t) => unstackTime(t)); // l × (b, h, ·)
    let S: tf.Tensor = tf.zeros([b, h, kh, v.shape[3]]);
    const os: tf.Tensor[] = [];
    for (let t = 0; t < l; t++) {
      const out = glaStep(qs[t], ks[t], vs[t], gs[t], S);
      S = out.S;
      os.push(out.o);
    }
    return tf.stack(os, 1) as tf.Tensor4D; // (b, l, h, vh)
  });
}

/**
 * The chunkwise-parallel form (paper §4.2, Algorithm 1 at one level), equal to glaReference. Time is cut into
 * c chunks of Q steps (the last padded with g = 0, k = v = 0: decay 1, no input, so nothing before it changes),
 * each (batch, chunk, head) is one of N = b·c·h groups, G_t = Σ_{j≤t} g_j is the running log-decay within
 * the chunk, and o = o_intra + o_inter where
 *   1. o_intra, within chunks, all at once: P V with P[t, s] = Σ_i q_ti k_si exp(Σ_{s<j≤t} g_ji) for s ≤ t;
 *      the exponents are segment sums (mamba2.ts segsum, each summing only its own segment), never above 0;
 *   2. S_c, the state each chunk leaves from a zero start: Σ_s (k_s ⊙ exp(G_Q − G_s))ᵀ v_s;
 *   3. H_c, the state entering chunk c, by the recurrence across chunks H_{c+1} = diag(exp G_Q) H_c + S_c;
 *   4. o_inter, the entering state read out: (q_t ⊙ exp G_t) H_c.
 * Every exponent is ≤ 0, so no factor exceeds 1 however small the gates become.
 */
export function glaChunked(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, g: tf.Tensor4D, chunkSize: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, l, h, kh] = q.shape;
    const vh = v.shape[3];
    const Q = Math.min(chunkSize, l);
    const c = Math.ceil(l / Q);
    const n = b * c * h;
    const groups = (t: tf.Tensor): tf.Tensor3D => {
      const width = t.shape[3] as number;
      const padded = tf.pad(t, [[0, 0], [0, c * Q - l], [0, 0], [0, 0]]);
      return padded.reshape([b, c, Q, h, width]).transpose([0, 1, 3, 2, 4]).reshape([n, Q, width]) as tf.Tensor3D; // (N, Q, ·)
    };
    const [qc, kc, vc, gc] = [q, k, v, g].map(groups); // (N, Q, kh), (N, Q, kh), (N, Q, vh), (N, Q, kh)
    const gT = gc.transpose([0, 2, 1]); // (N, kh, Q)
    const G = cumsumLast(gT).transpose([0, 2, 1]); // (N, Q, kh): Σ_{j≤t} g_j within the chunk

    // 1. within chunks
    const decay = tf.exp(segsum(gT.reshape([n * kh, Q]))).mul(mask(Q, (t, s) => s <= t)).reshape([n, kh, Q, Q]); // (N, kh, Q_t, Q_s)
    const P = qc.transpose([0, 2, 1]).expandDims(-1).mul(decay).mul(kc.transpose([0, 2, 1]).expandDims(2)).sum(1); // (N, Q_t, Q_s)
    const oIntra = tf.matMul(P as tf.Tensor3D, vc); // (N, Q, vh)

    // 2. the state each chunk leaves
    const last = G.slice([0, Q - 1, 0], [-1, 1, -1]); // (N, 1, kh): G_Q
    const S = tf.matMul(kc.mul(tf.exp(last.sub(G))), vc, true, false).reshape([b, c, h, kh, vh]); // (b, c, h, kh, vh)

    // 3. across chunks
    const chunkDecays = unstackTime(tf.exp(last).reshape([b, c, h, kh, 1])); // c × (b, h, kh, 1)
    const leaving = unstackTime(S); // c × (b, h, kh, vh)
    let state: tf.Tensor = tf.zeros([b, h, kh, vh]);
    const entering: tf.Tensor[] = [];
    for (let i = 0; i < c; i++) {
      entering.push(state);
      state = chunkDecays[i].mul(state).add(leaving[i]);
    }
    const H = tf.stack(entering, 1).reshape([n, kh, vh]); // (N, kh, vh)

    // 4. the entering state read out
    const oInter = tf.matMul(qc.mul(tf.exp(G)), H as tf.Tensor3D); // (N, Q, vh)

    const o = oIntra.add(oInter).reshape([b, c, h, Q, vh]).transpose([0, 1, 3, 2, 4]).reshape([b, c * Q, h, vh]); // (b, c·Q, h, vh)
    return o.slice([0, 0, 0, 0], [b, l, h, vh]) as tf.Tensor4D; // (b, l, h, vh)
  });
}

// ---------------------------------------------------------------------------------------------------------
// Mixer (the GLA layer)

/**
 * The forget gate in log space from its logits: g = log α = log sigmoid(logits) / τ, written −softplus(−x) / τ
 * and differentiated through softplus: tf.logSigmoid's own gradient reads a tensor that tf.variableGrads has
 * already disposed (tfjs 4.22), so a model that calls it cannot train.
 */
export function logForgetGate(logits: tf.Tensor, temperature: number): tf.Tensor {
  return tf.softplus(logits.neg()).neg().div(temperature);
}

/** Recurrent state of one mixer: S (b, h, kh, vh). */
export type GlaState = { S: tf.Tensor4D };

/** fla's initialisation of every matrix (initializer_range), biases 0. */
const INIT_STD = 0.02;

export class GlaMixer {
  readonly qProj: Linear; // d → dk
  readonly kProj: Linear; // d → dk
  readonly vProj: Linear; // d → dv
  readonly gProj: Linear; // d → dv, the output gate's x W_r
  readonly gateDown: Linear | null; // d → r (data gate only)
  readonly gateUp: Linear | null; // r → dk, with the bias b_α (data gate only)
  readonly norm: RMSNorm; // (vh), shared by the heads
  readonly outProj: Linear; // dv → d

  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: GlaConfig,
  ) {
    const { d, dk, dv, vh, r } = dims(cfg);
    const std = { bias: false, std: INIT_STD };
    this.qProj = new Linear(store, `${name}.q_proj`, d, dk, std);
    this.kProj = new Linear(store, `${name}.k_proj`, d, dk, std);
    this.vProj = new Linear(store, `${name}.v_proj`, d, dv, std);
    this.gProj = new Linear(store, `${name}.g_proj`, d, dv, std);
    const data = cfg.gate === 'data';
    this.gateDown = data ? new Linear(store, `${name}.gk_proj.0`, d, r, std) : null;
    this.gateUp = data ? new Linear(store, `${name}.gk_proj.1`, r, dk, { std: INIT_STD }) : null;
    this.norm = new RMSNorm(store, `${name}.g_norm`, vh, cfg.layer_kernels);
    this.outProj = new Linear(store, `${name}.o_proj`, dv, d, std);
  }

  static paramCount(cfg: GlaConfig): number {
    const { d, dk, dv, vh, r } = dims(cfg);
    const gate = cfg.gate === 'data' ? Linear.paramCount(d, r, false) + Linear.paramCount(r, dk) : 0;
    return 2 * Linear.paramCount(d, dk, false) + 2 * Linear.paramCount(d, dv, false) + gate + RMSNorm.paramCount(vh) + Linear.paramCount(dv, d, false);
  }

  /** x (…, d) → q (scaled by kh^−½), k, g = log α (…, h, kh) and v (…, h, vh). */
  private project(x: tf.Tensor): { q: tf.Tensor; k: tf.Tensor; v: tf.Tensor; g: tf.Tensor } {
    const { h, kh, vh } = dims(this.cfg);
    const lead = x.shape.slice(0, -1);
    const heads = (t: tf.Tensor, width: number) => t.reshape([...lead, h, width]);
    const q = heads(this.qProj.apply(x), kh).mul(kh ** -0.5);
    const k = heads(this.kProj.apply(x), kh);
    const v = heads(this.vProj.apply(x), vh);
    const g =
      this.gateDown && this.gateUp
        ? heads(logForgetGate(this.gateUp.apply(this.gateDown.apply(x)), this.cfg.gate_logit_normalizer), kh) // log α
        : tf.broadcastTo(tf.tensor(retnetLogDecays(h), [h, 1]), [...lead, h, kh]); // log γ_h
    return { q, k, v, g };
  }

  /** RMSNorm per head, the swish output gate, the out-projection: o (…, h, vh) and x (…, d) → (…, d). */
  private output(o: tf.Tensor, x: tf.Tensor): tf.Tensor {
    const { dv } = dims(this.cfg);
    const normed = this.norm.apply(o).reshape([...x.shape.slice(0, -1), dv]); // (…, dv)
    return this.outProj.apply(normed.mul(silu(this.gProj.apply(x), this.cfg.layer_kernels)));
  }

  /** x (b, l, d) → (b, l, d). */
  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const { q, k, v, g } = this.project(x); // (b, l, h, kh), (b, l, h, kh), (b, l, h, vh), (b, l, h, kh)
      const [q4, k4, v4, g4] = [q, k, v, g] as tf.Tensor4D[];
      const o = this.cfg.scan === 'reference' ? glaReference(q4, k4, v4, g4) : glaChunked(q4, k4, v4, g4, this.cfg.chunk_size); // (b, l, h, vh)
      return this.output(o, x) as tf.Tensor3D; // (b, l, d)
    });
  }

  initState(batchSize: number): GlaState {
    const { h, kh, vh } = dims(this.cfg);
    return { S: tf.zeros([batchSize, h, kh, vh]) };
  }

  /** One token x (b, d) → (b, d), from the previous state to the next; the reference's step. */
  step(x: tf.Tensor2D, state: GlaState): { y: tf.Tensor2D; state: GlaState } {
    return tf.tidy(() => {
      const { q, k, v, g } = this.project(x); // (b, h, kh), (b, h, kh), (b, h, vh), (b, h, kh)
      const { o, S } = glaStep(q, k, v, g, state.S); // (b, h, vh), (b, h, kh, vh)
      return { y: this.output(o, x) as tf.Tensor2D, state: { S } };
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// SwiGLU, block and LM

/** LLaMA's MLP (fla's GatedMLP): down(SiLU(x W_gate) ⊙ x W_up), d → ff → d, no biases. */
export class SwiGLU {
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;
  constructor(
    store: ParamStore,
    name: string,
    d: number,
    ff: number,
    private readonly impl: GlaConfig['layer_kernels'],
  ) {
    this.gate = new Linear(store, `${name}.gate_proj`, d, ff, { bias: false, std: INIT_STD });
    this.up = new Linear(store, `${name}.up_proj`, d, ff, { bias: false, std: INIT_STD });
    this.down = new Linear(store, `${name}.down_proj`, ff, d, { bias: false, std: INIT_STD });
  }

  static paramCount(d: number, ff: number): number {
    return 3 * Linear.paramCount(d, ff, false);
  }

  apply(x: tf.Tensor): tf.Tensor {
    return this.down.apply(silu(this.gate.apply(x), this.impl).mul(this.up.apply(x))); // (…, d)
  }
}

/** fla's GLABlock: x + GLA(RMSNorm(x)), then x + SwiGLU(RMSNorm(x)) (mamba.ts MlpResidualBlock). */
export class GlaBlock extends MlpResidualBlock<GlaMixer, GlaState, SwiGLU> {
  constructor(store: ParamStore, name: string, cfg: GlaConfig) {
    const mixer = (s: ParamStore, n: string) => new GlaMixer(s, n, cfg);
    super(store, name, cfg.d_model, cfg.layer_kernels, mixer, 'mlp_norm', (s, n) => new SwiGLU(s, `${n}.mlp`, cfg.d_model, dims(cfg).ff, cfg.layer_kernels));
  }

  static paramCount(cfg: GlaConfig): number {
    const { d, ff } = dims(cfg);
    return 2 * RMSNorm.paramCount(d) + GlaMixer.paramCount(cfg) + SwiGLU.paramCount(d, ff);
  }
}

/** The residual LM (mamba.ts ResidualLM) with GLA blocks; per-layer states of constant size. */
export class GlaLM extends ResidualLM<GlaMixer, GlaState> {
  constructor(cfg: GlaConfig, io: ModelIO) {
    super('gla', cfg, io, (store, name) => new GlaBlock(store, name, cfg));
  }

  declare readonly cfg: GlaConfig;
  declare readonly blocks: GlaBlock[];
}

// ---------------------------------------------------------------------------------------------------------
// Costs and registry entry

function paramCount(cfg: GlaConfig, io: ModelIO): number {
  const d = cfg.d_model;
  return io.vocabSize * d + cfg.n_layers * GlaBlock.paramCount(cfg) + RMSNorm.paramCount(d);
}

/**
 * One layer's forward FLOPs per token, counted as Mamba's are (mamba.ts): matmuls at 2 FLOPs per
 * multiply-add (q, k, v, the output gate, the gate's two factors, out, the SwiGLU's three), and the recurrence:
 * 5 per state element (h · kh · vh) — α·S, kᵀv, the add, q·S's multiply-add — plus q's scale and the gate's
 * log-sigmoid, ÷τ and exp per key channel (the exp alone for the fixed gate). Constant in the context length.
 * These are the model's FLOPs whichever form runs: the chunked form does more arithmetic (about
 * 4·Q·dk + 2·Q·dv a token within chunks), as elementwise products and matmuls.
 */
export function glaLayerFlops(cfg: GlaConfig): number {
  const { d, h, dk, dv, kh, vh, r, ff } = dims(cfg);
  const gateProjection = cfg.gate === 'data' ? 2 * d * r + 2 * r * dk : 0;
  const gateElementwise = cfg.gate === 'data' ? 3 * dk : dk;
  return 2 * d * (2 * dk + 2 * dv) + gateProjection + 2 * dv * d + 3 * 2 * d * ff + 5 * h * kh * vh + dk + gateElementwise;
}

function flopsPerToken(cfg: GlaConfig, io: ModelIO): Flops {
  const forward = cfg.n_layers * glaLayerFlops(cfg) + 2 * cfg.d_model * io.vocabSize;
  return { forward, training: 3 * forward };
}

/** fp32 bytes per sequence of one layer's state S (h · kh · vh); independent of L. */
export function glaLayerStateBytes(cfg: GlaConfig): number {
  const { h, kh, vh } = dims(cfg);
  return h * kh * vh * 4;
}

/** The costs, typed as the contract has them (callers pass the context length, which none of them needs). */
const costs: Pick<Architecture<typeof glaConfig>, 'paramCount' | 'flopsPerToken' | 'stateBytes' | 'size'> = {
  paramCount,
  flopsPerToken: (cfg, io) => flopsPerToken(cfg, io),
  stateBytes: (cfg) => cfg.n_layers * glaLayerStateBytes(cfg),
  size: (cfg) => ({ dModel: cfg.d_model, nLayers: cfg.n_layers }),
};

export const gla = {
  ...costs,
  name: 'gla',
  family: 'linear-attention',
  form: 'lm',
  description: 'Gated linear attention LM (Yang et al. 2024): data-dependent forget gate per key channel, chunked form, SwiGLU, tied head; `--set gate=fixed` for RetNet decay',
  config: glaConfig,
  presets: PRESETS,
  build: (cfg: GlaConfig, io: ModelIO) => new GlaLM(glaConfig.parse(cfg), io),
} satisfies Architecture<typeof glaConfig>;
