/**
 * Mamba-2, read top to bottom in the order data flows (after state-spaces/mamba's mamba2_simple.py and
 * ssd_minimal.py): Dao & Gu 2024, "Transformers are SSMs: Generalized Models and Efficient Algorithms
 * Through Structured State Space Duality", arXiv:2405.21060.
 *
 *   config → the SSD scan (sequential reference, chunked) → mixer (the Mamba-2 block) → residual block → LM
 *
 * Glossary (the paper's symbols; ngroups = 1, so B and C are shared by every head):
 *   b  batch size                 l  sequence length              d  d_model (residual stream width)
 *   di inner width, expand · d    h  heads, di / p                p  head size (headdim)
 *   n  state size (d_state)       Q  chunk length (chunk_size)    c  chunks, ⌈l / Q⌉
 *   x  the scan's input (b, l, h, p), the "values" of the duality
 *   Δ  step size per head (b, l, h): softplus(in_proj's dt + dt_bias)
 *   A  one negative scalar per head (h), A = −exp(A_log): the state matrix is A · I (the "scalar-times-identity" SSM)
 *   B  input matrix (b, l, n) and C output matrix (b, l, n), input-dependent: the "keys" and "queries"
 *   D  skip connection per head (h)
 *
 * The SSM (paper §3, eq. 2 with A_t = exp(Δ_t A) I): per head, a (p, n) state
 *   h_t = exp(Δ_t A) h_{t−1} + Δ_t x_t B_tᵀ,   y_t = h_t C_t + D x_t.
 * Unrolled, y = M x with M[t, s] = C_tᵀ B_s · exp(Σ_{s<k≤t} Δ_k A) for s ≤ t: masked attention whose mask is
 * a decay (§4, the duality). The chunked algorithm (§6, Listing 1) uses both readings: the quadratic one
 * within chunks of Q steps and the linear recurrence across chunk boundaries.
 *
 * The block (paper Fig. 6, "Mamba-2 block"): one in-projection to (z, x, B, C, Δ); a causal depthwise conv1d
 * and SiLU over (x, B, C) together; the SSD scan; gated RMSNorm, RMSNorm(y ⊙ SiLU(z)) (mamba_ssm's
 * RMSNormGated with norm_before_gate=False, the gate multiplied in before the norm); out-projection. Blocks
 * are pre-norm RMSNorm residuals, with a final RMSNorm and the head tied to the embedding, as in Mamba.
 *
 * Sizes at this suite's widths (d_model 32–128) differ from mamba_ssm's, which are set for d_model ≥ 768:
 * - headdim 16 (mamba_ssm: 64): 4 / 8 / 16 heads at nano / micro / small; 64 would leave nano one head.
 * - d_state 16 (mamba_ssm: 64 in Mamba2Simple, 128 in Mamba2): the decode state per layer, (h, p, n) = di · n,
 *   is then Mamba's (di, n) exactly, so the two families are compared at equal recurrent state, the budget
 *   that decides recall (Zoology). SSD makes a larger n cheap on GPU tensor cores, not on these CPUs.
 * - chunk_size 64 (mamba_ssm: 256, a GPU tile): within a chunk the quadratic form costs about 2·Q·(n + di)
 *   FLOPs a token, half an in-projection at micro with Q 64, twice one with Q 256.
 *
 * step() decodes one token in O(1): the state is the last d_conv − 1 conv inputs and h (b, h, p, n) per layer.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Linear, ParamStore, RMSNorm, silu, unstackTime, layerKernelsOption } from './layers.ts';
import { causalConv1d, initialDtBias, ResidualBlock, ResidualLM } from './mamba.ts';
import type { Architecture, Flops, ModelIO } from './types.ts';

// ---------------------------------------------------------------------------------------------------------
// Config

/** Which form of the SSD scan the model runs; the two are tested equal, forward and gradient. */
export const SSD_SCANS = ['chunked', 'reference'] as const;
export type SsdScan = (typeof SSD_SCANS)[number];

export const mamba2Config = z
  .object({
    d_model: z.number().int().positive().default(64).describe('Width of the residual stream'),
    n_layers: z.number().int().positive().default(2).describe('Residual blocks (each one Mamba-2 mixer)'),
    d_state: z.number().int().positive().default(16).describe('State size n per head dimension (mamba_ssm: 64–128, for d_model ≥ 768)'),
    d_conv: z.number().int().min(2).default(4).describe('Width of the causal depthwise convolution over (x, B, C)'),
    expand: z.number().int().positive().default(2).describe('Inner width di = expand · d_model'),
    headdim: z.number().int().positive().default(16).describe('Head size p; heads h = di / p (mamba_ssm: 64)'),
    chunk_size: z.number().int().positive().default(64).describe('Chunk length Q of the chunked scan (mamba_ssm: 256)'),
    A_init_range: z
      .tuple([z.number().positive(), z.number().positive()])
      .default([1, 16])
      .describe('−A of each head starts uniform in this range'),
    dt_min: z.number().positive().default(1e-3).describe('Smallest initial Δ (Δ starts log-uniform in [dt_min, dt_max])'),
    dt_max: z.number().positive().default(0.1).describe('Largest initial Δ'),
    dt_init_floor: z.number().positive().default(1e-4).describe('Floor of the initial Δ'),
    scan: z
      .enum(SSD_SCANS)
      .optional()
      .describe('The SSD scan: `chunked` (when omitted; quadratic within chunks, linear across) or the sequential `reference`'),
    layer_kernels: layerKernelsOption,
    seed: z.number().int().nonnegative().default(0).describe('Seed of the weight initialisation'),
  })
  .superRefine((c, ctx) => {
    if ((c.expand * c.d_model) % c.headdim !== 0) {
      ctx.addIssue({ code: 'custom', path: ['headdim'], message: `headdim ${c.headdim} does not divide the inner width ${c.expand * c.d_model} (expand · d_model)` });
    }
    if (c.dt_min > c.dt_max) {
      ctx.addIssue({ code: 'custom', path: ['dt_min'], message: `dt_min ${c.dt_min} exceeds dt_max ${c.dt_max}: swap them` });
    }
    if (c.A_init_range[0] > c.A_init_range[1]) {
      ctx.addIssue({ code: 'custom', path: ['A_init_range'], message: `A_init_range [${c.A_init_range}] runs backwards: write it low, high` });
    }
  });
export type Mamba2Config = z.infer<typeof mamba2Config>;

/** Mamba's widths and depths, so the two families meet at each preset with equal decode state. */
const PRESETS = {
  nano: { d_model: 32, n_layers: 2 },
  micro: { d_model: 64, n_layers: 2 },
  small: { d_model: 128, n_layers: 4 },
} satisfies Architecture<typeof mamba2Config>['presets'];

/** The derived sizes every part needs; cx is the conv's channels, x, B and C together. */
function dims(cfg: Mamba2Config): { d: number; di: number; h: number; p: number; n: number; k: number; cx: number } {
  const di = cfg.expand * cfg.d_model;
  return { d: cfg.d_model, di, h: di / cfg.headdim, p: cfg.headdim, n: cfg.d_state, k: cfg.d_conv, cx: di + 2 * cfg.d_state };
}

// ---------------------------------------------------------------------------------------------------------
// The SSD scan

/**
 * The sequential reference, one step per token: h_t = exp(Δ_t A) h_{t−1} + Δ_t x_t B_tᵀ, y_t = h_t C_t + D x_t,
 * per head, from h_0 = 0. x (b, l, h, p), Δ (b, l, h), A (h), B and C (b, l, n), D (h) → y (b, l, h, p).
 */
export function ssdReference(x: tf.Tensor4D, dt: tf.Tensor3D, A: tf.Tensor1D, B: tf.Tensor3D, C: tf.Tensor3D, D: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, l, h, p] = x.shape;
    const n = B.shape[2];
    const decays = unstackTime(tf.exp(dt.mul(A)).reshape([b, l, h, 1, 1])); // l × (b, h, 1, 1)
    const inputs = unstackTime(x.mul(dt.expandDims(-1)).expandDims(-1)); // l × (b, h, p, 1): Δ_t x_t
    const Bs = unstackTime(B.reshape([b, l, 1, 1, n])); // l × (b, 1, 1, n)
    const Cs = unstackTime(C.reshape([b, l, 1, 1, n])); // l × (b, 1, 1, n)
    let state: tf.Tensor = tf.zeros([b, h, p, n]);
    const ys: tf.Tensor[] = [];
    for (let t = 0; t < l; t++) {
      state = decays[t].mul(state).add(inputs[t].mul(Bs[t])); // (b, h, p, n)
      ys.push(state.mul(Cs[t]).sum(-1)); // (b, h, p)
    }
    return tf.stack(ys, 1).add(x.mul(D.reshape([h, 1]))) as tf.Tensor4D; // (b, l, h, p)
  });
}

/** A (q, q) 0/1 matrix with ones where keep(row, column). Made on the host, so it is a constant on any backend. */
export function mask(q: number, keep: (row: number, column: number) => boolean): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from({ length: q * q }, (_, i) => (keep(Math.floor(i / q), i % q) ? 1 : 0)), [q, q]);
}

/**
 * Running sums along the last axis, x (…, q) → (…, q) with out[…, t] = Σ_{k≤t} x[…, k], as the product of the rows
 * with the (q, q) upper triangle of ones. Not tf.cumsum: tfjs 4.22's webgpu cumsum caches its shader under a key
 * that leaves out the length, so once a second length runs in the process its gradient (a reverse cumsum) runs
 * with the first length's bound (tests/mamba2.test.ts runs lengths 5, 9 and 3 in turn); its gradient is also
 * wrong along any axis but the last, and its webgpu kernel takes no more than rank 4. Here q is a chunk length
 * (16 by default), so the q² product costs little; its gradient is a product too.
 */
export function cumsumLast(x: tf.Tensor): tf.Tensor {
  const q = x.shape[x.rank - 1];
  return tf.tidy(() => tf.matMul(x.reshape([-1, q]), mask(q, (k, t) => k <= t)).reshape(x.shape));
}

/**
 * Segment sums of a (…, q): out[…, t, s] = Σ_{s<k≤t} a_k on and below the diagonal (so exp(out) is the decay
 * from step s to step t), 0 above it. ssd_minimal's stable form: each entry sums only its own segment
 * rather than subtracting two long cumulative sums, whose difference loses digits.
 */
export function segsum(a: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const q = a.shape[a.rank - 1];
    const segments = a.expandDims(-2).mul(mask(q, (s, k) => k > s)); // (…, q_s, q_k): a_k where k > s
    const perm = [...Array.from({ length: a.rank - 1 }, (_, i) => i), a.rank, a.rank - 1];
    return cumsumLast(segments).transpose(perm); // (…, q_t, q_s)
  });
}

/**
 * The chunked SSD algorithm (paper §6, ssd_minimal's ssd_minimal_discrete), equal to ssdReference. With
 * X = Δ x and a = Δ A (log-decays, ≤ 0), time is cut into c chunks of Q steps (the last one padded with
 * Δ = 0: decay 1, no input, so nothing before it changes), and y = y_diag + y_off + D x where
 *   1. y_diag, within chunks, all at once: the quadratic form, (C Bᵀ ⊙ exp(segsum(a))) X per head;
 *   2. S_c, the state each chunk leaves from a zero start: Σ_s exp(Σ_{s<k≤Q} a_k) X_s B_sᵀ;
 *   3. H_c, the state entering chunk c, by the linear recurrence across chunks H_{c+1} = exp(Σ_chunk a) H_c + S_c
 *      (c sequential steps; ssd_minimal writes it as one (c+1)² matrix, quadratic in the chunks);
 *   4. y_off, the entering state read out: exp(Σ_{k≤t} a_k) H_c C_t.
 * The heads' B and C are shared (ngroups = 1), so C Bᵀ is computed once and steps 2 and 4 fold h into p.
 */
export function ssdChunked(x: tf.Tensor4D, dt: tf.Tensor3D, A: tf.Tensor1D, B: tf.Tensor3D, C: tf.Tensor3D, D: tf.Tensor1D, chunkSize: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, l, h, p] = x.shape;
    const n = B.shape[2];
    const q = Math.min(chunkSize, l);
    const c = Math.ceil(l / q);
    const padTime = (t: tf.Tensor): tf.Tensor => {
      const paddings: [number, number][] = t.shape.map((_, axis) => [0, axis === 1 ? c * q - l : 0]);
      return tf.pad(t, paddings);
    };
    const X = padTime(x.mul(dt.expandDims(-1))).reshape([b, c, q, h, p]); // Δ x
    const a = padTime(dt.mul(A)).reshape([b, c, q, h]).transpose([0, 1, 3, 2]); // (b, c, h, Q): Δ A
    const Bc = padTime(B).reshape([b, c, q, n]);
    const Cc = padTime(C).reshape([b, c, q, n]);
    const aCum = cumsumLast(a); // (b, c, h, Q): Σ_{k≤t} a_k within the chunk
    const toCQH = (t: tf.Tensor) => t.transpose([0, 1, 3, 2]).expandDims(-1); // (b, c, h, Q) → (b, c, Q, h, 1)

    // 1. within chunks
    const decay = tf.exp(segsum(a)).mul(mask(q, (t, s) => s <= t)); // (b, c, h, Q, Q)
    const scores = tf.matMul(Cc, Bc, false, true); // (b, c, Q, Q): C_t · B_s
    const M = decay.mul(scores.expandDims(2)).reshape([b * c * h, q, q]);
    const Xh = X.transpose([0, 1, 3, 2, 4]).reshape([b * c * h, q, p]);
    const yDiag = tf.matMul(M, Xh).reshape([b, c, h, q, p]).transpose([0, 1, 3, 2, 4]); // (b, c, Q, h, p)

    // 2. the state each chunk leaves
    const last = aCum.slice([0, 0, 0, q - 1], [-1, -1, -1, 1]); // (b, c, h, 1)
    const XtoEnd = X.mul(toCQH(tf.exp(last.sub(aCum)))).reshape([b * c, q, h * p]);
    const S = tf.matMul(XtoEnd, Bc.reshape([b * c, q, n]), true, false).reshape([b, c, h, p, n]);

    // 3. across chunks
    const chunkDecays = unstackTime(tf.exp(last).reshape([b, c, h, 1, 1])); // c × (b, h, 1, 1)
    const leaving = unstackTime(S); // c × (b, h, p, n)
    let state: tf.Tensor = tf.zeros([b, h, p, n]);
    const entering: tf.Tensor[] = [];
    for (let k = 0; k < c; k++) {
      entering.push(state);
      state = chunkDecays[k].mul(state).add(leaving[k]);
    }
    const H = tf.stack(entering, 1).reshape([b * c, h * p, n]); // (b·c, h·p, n)

    // 4. the entering state read out
    const yOff = tf.matMul(Cc.reshape([b * c, q, n]), H, false, true).reshape([b, c, q, h, p]).mul(toCQH(tf.exp(aCum)));

    const y = yDiag.add(yOff).reshape([b, c * q, h, p]).slice([0, 0, 0, 0], [b, l, h, p]); // (b, l, h, p)
    return y.add(x.mul(D.reshape([h, 1]))) as tf.Tensor4D;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Mixer (the Mamba-2 block)

/** Recurrent state of one mixer: the last k − 1 conv inputs (b, k − 1, di + 2n) and h (b, h, p, n). */
export type Mixer2State = { conv: tf.Tensor3D; ssm: tf.Tensor4D };

export class Mamba2Mixer {
  readonly inProj: Linear; // d → (z, x, B, C, Δ): di + di + n + n + h
  readonly convWeight: tf.Variable; // (di + 2n, k)
  readonly convBias: tf.Variable; // (di + 2n)
  readonly dtBias: tf.Variable; // (h)
  readonly aLog: tf.Variable; // (h)
  readonly D: tf.Variable; // (h)
  readonly norm: RMSNorm; // (di), gated
  readonly outProj: Linear;

  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: Mamba2Config,
  ) {
    const { d, di, h, n, k, cx } = dims(cfg);
    this.inProj = new Linear(store, `${name}.in_proj`, d, 2 * di + 2 * n + h, { bias: false });
    // PyTorch's Conv1d default (fan-in k per channel); mamba_ssm leaves the weight decayed.
    this.convWeight = store.uniform(`${name}.conv.w`, [cx, k], 1 / Math.sqrt(k), 'decay');
    this.convBias = store.uniform(`${name}.conv.b`, [cx], 1 / Math.sqrt(k), 'no-decay');
    this.dtBias = store.fromValues(`${name}.dt_bias`, initialDtBias(store, h, cfg), [h], 'no-decay');
    // Each head's −A uniform in A_init_range, heads from fast to slow forgetting. Neither A_log, D nor dt_bias
    // decays (mamba2_simple's `_no_weight_decay`): decay would pull every head towards A = −1 and D towards 0.
    const [lowA, highA] = cfg.A_init_range;
    const aLog = Array.from(store.random(h), (u) => Math.log(lowA + u * (highA - lowA)));
    this.aLog = store.fromValues(`${name}.A_log`, aLog, [h], 'no-decay');
    this.D = store.constant(`${name}.D`, [h], 1, 'no-decay');
    this.norm = new RMSNorm(store, `${name}.norm`, di, cfg.layer_kernels);
    // Mamba's prenorm-residual rescale (as mamba.ts): the out-projection's std is divided by √n_layers.
    this.outProj = new Linear(store, `${name}.out_proj`, di, d, { bias: false, std: 1 / Math.sqrt(3 * di * cfg.n_layers) });
  }

  static paramCount(cfg: Mamba2Config): number {
    const { d, di, h, n, k, cx } = dims(cfg);
    return Linear.paramCount(d, 2 * di + 2 * n + h, false) + cx * k + cx + 3 * h + RMSNorm.paramCount(di) + Linear.paramCount(di, d, false);
  }

  /** A = −exp(A_log) (h). */
  A(): tf.Tensor1D {
    return this.aLog.exp().neg() as tf.Tensor1D;
  }

  /** in_proj of u (…, d) split into z (…, di), x B C before the conv (…, di + 2n), and Δ before softplus (…, h). */
  private project(u: tf.Tensor): { z: tf.Tensor; xBC: tf.Tensor; dtRaw: tf.Tensor } {
    const { di, h, cx } = dims(this.cfg);
    const [z, xBC, dtRaw] = tf.split(this.inProj.apply(u), [di, cx, h], -1);
    return { z, xBC, dtRaw };
  }

  /** The gate and the rest of the block: out_proj(RMSNorm(y ⊙ SiLU(z))), y and z (…, di) → (…, d). */
  private output(y: tf.Tensor, z: tf.Tensor): tf.Tensor {
    return this.outProj.apply(this.norm.apply(y.mul(silu(z, this.cfg.layer_kernels))));
  }

  /** u (b, l, d) → (b, l, d). */
  apply(u: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, l] = u.shape;
      const { di, h, p, n } = dims(this.cfg);
      const { z, xBC, dtRaw } = this.project(u); // (b, l, di), (b, l, di + 2n), (b, l, h)
      const xBCc = silu(causalConv1d(xBC, this.convWeight, this.convBias), this.cfg.layer_kernels); // (b, l, di + 2n)
      const [x, B, C] = tf.split(xBCc, [di, n, n], -1); // (b, l, di), (b, l, n), (b, l, n)
      const dt = tf.softplus(dtRaw.add(this.dtBias)) as tf.Tensor3D; // (b, l, h)
      const xh = x.reshape([b, l, h, p]) as tf.Tensor4D;
      const D = this.D as tf.Tensor1D;
      const y =
        this.cfg.scan === 'reference'
          ? ssdReference(xh, dt, this.A(), B as tf.Tensor3D, C as tf.Tensor3D, D)
          : ssdChunked(xh, dt, this.A(), B as tf.Tensor3D, C as tf.Tensor3D, D, this.cfg.chunk_size); // (b, l, h, p)
      return this.output(y.reshape([b, l, di]), z) as tf.Tensor3D; // (b, l, d)
    });
  }

  initState(batchSize: number): Mixer2State {
    const { h, p, n, k, cx } = dims(this.cfg);
    return { conv: tf.zeros([batchSize, k - 1, cx]), ssm: tf.zeros([batchSize, h, p, n]) };
  }

  /** One token u (b, d) → (b, d), from the previous state to the next; the recurrence of ssdReference. */
  step(u: tf.Tensor2D, state: Mixer2State): { y: tf.Tensor2D; state: Mixer2State } {
    return tf.tidy(() => {
      const [b] = u.shape;
      const { di, h, p, n } = dims(this.cfg);
      const { z, xBC, dtRaw } = this.project(u); // (b, di), (b, di + 2n), (b, h)
      const window = tf.concat([state.conv, xBC.expandDims(1)], 1); // (b, k, di + 2n)
      const xBCc = silu(window.mul(this.convWeight.transpose()).sum(1).add(this.convBias), this.cfg.layer_kernels); // (b, di + 2n)
      const [x, B, C] = tf.split(xBCc, [di, n, n], -1); // (b, di), (b, n), (b, n)
      const dt = tf.softplus(dtRaw.add(this.dtBias)); // (b, h)
      const xh = x.reshape([b, h, p]);
      const decay = tf.exp(dt.mul(this.A())).reshape([b, h, 1, 1]);
      const input = xh.mul(dt.expandDims(-1)).expandDims(-1).mul(B.reshape([b, 1, 1, n])); // (b, h, p, n): Δ x Bᵀ
      const ssm = decay.mul(state.ssm).add(input) as tf.Tensor4D; // (b, h, p, n)
      const y = ssm.mul(C.reshape([b, 1, 1, n])).sum(-1).add(xh.mul(this.D.reshape([h, 1]))); // (b, h, p)
      const conv = window.slice([0, 1, 0], [-1, -1, -1]) as tf.Tensor3D; // (b, k − 1, di + 2n)
      return { y: this.output(y.reshape([b, di]), z) as tf.Tensor2D, state: { conv, ssm } };
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Residual block and LM

/** Pre-norm residual: x + mixer(RMSNorm(x)), as Mamba's (mamba.ts ResidualBlock). */
export class Mamba2Block extends ResidualBlock<Mamba2Mixer, Mixer2State> {
  constructor(store: ParamStore, name: string, cfg: Mamba2Config) {
    super(store, name, cfg.d_model, cfg.layer_kernels, (s, n) => new Mamba2Mixer(s, n, cfg));
  }

  static paramCount(cfg: Mamba2Config): number {
    return RMSNorm.paramCount(cfg.d_model) + Mamba2Mixer.paramCount(cfg);
  }
}

/** Mamba's language model (mamba.ts ResidualLM) with Mamba-2 blocks; per-layer states of constant size. */
export class Mamba2LM extends ResidualLM<Mamba2Mixer, Mixer2State> {
  constructor(cfg: Mamba2Config, io: ModelIO) {
    super('mamba2', cfg, io, (store, name) => new Mamba2Block(store, name, cfg));
  }

  declare readonly cfg: Mamba2Config;
}

// ---------------------------------------------------------------------------------------------------------
// Costs and registry entry

function paramCount(cfg: Mamba2Config, io: ModelIO): number {
  const d = cfg.d_model;
  return io.vocabSize * d + cfg.n_layers * Mamba2Block.paramCount(cfg) + RMSNorm.paramCount(d);
}

/**
 * One layer's forward FLOPs per token, counted as Mamba's are (mamba.ts): matmuls at 2 FLOPs per
 * multiply-add, the conv's 2 per tap and channel, and the recurrence: 5 per (head, p, n) — Ā·h, (Δx)·B, the
 * add, C·h's multiply-add — plus Δ·x per (head, p) and Δ·A and its exp per head. Constant in the context
 * length. These are the model's FLOPs, whichever form runs: the chunked scan does more arithmetic than the
 * recurrence (about 2·Q·(n + di) + 4·di·n a token), as matmuls.
 */
export function mamba2LayerFlops(cfg: Mamba2Config): number {
  const { d, di, h, n, k, cx } = dims(cfg);
  return 2 * d * (2 * di + 2 * n + h) + 2 * k * cx + 5 * di * n + di + 2 * h + 2 * di * d;
}

function flopsPerToken(cfg: Mamba2Config, io: ModelIO): Flops {
  const forward = cfg.n_layers * mamba2LayerFlops(cfg) + 2 * cfg.d_model * io.vocabSize;
  return { forward, training: 3 * forward };
}

/** fp32 bytes per sequence of one layer's conv window ((k − 1) · (di + 2n)) and state (h · p · n = di · n); independent of L. */
export function mamba2LayerStateBytes(cfg: Mamba2Config): number {
  const { di, n, k, cx } = dims(cfg);
  return ((k - 1) * cx + di * n) * 4;
}

/** The costs, typed as the contract has them (callers pass the context length, which none of them needs). */
const costs: Pick<Architecture<typeof mamba2Config>, 'paramCount' | 'flopsPerToken' | 'stateBytes' | 'size'> = {
  paramCount,
  flopsPerToken: (cfg, io) => flopsPerToken(cfg, io),
  stateBytes: (cfg) => cfg.n_layers * mamba2LayerStateBytes(cfg),
  size: (cfg) => ({ dModel: cfg.d_model, nLayers: cfg.n_layers }),
};

export const mamba2 = {
  ...costs,
  name: 'mamba2',
  family: 'mamba',
  form: 'lm',
  description: 'Mamba-2 SSD LM (Dao & Gu 2024): scalar-times-identity A per head, chunked state-space-duality scan, gated RMSNorm, tied head',
  config: mamba2Config,
  presets: PRESETS,
  build: (cfg: Mamba2Config, io: ModelIO) => new Mamba2LM(mamba2Config.parse(cfg), io),
} satisfies Architecture<typeof mamba2Config>;
