/**
 * xLSTM's mLSTM, read top to bottom in the order data flows (after NX-AI/xlstm's blocks/mlstm: backends.py,
 * cell.py, layer.py): Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory", arXiv:2405.04517.
 *
 *   config → the mLSTM cell (recurrent step, recurrent reference, parallel form, chunkwise form) → headwise projection
 *   → mixer (the mLSTM block) → residual block → LM
 *
 * Glossary (the paper's symbols):
 *   b  batch size                 l  sequence length              d  d_model (residual stream width)
 *   di inner width, proj_factor · d                               h  heads (n_heads)
 *   dh head size, di / h          bs block size of the headwise q, k, v projections (qkv_blocksize)
 *   q, k, v  query, key, value per head (b, h, l, dh); k is scaled by 1/√dh
 *   ĩ  input-gate pre-activation per head (b, h, l); the input gate is exponential, i = exp(ĩ)
 *   f̃  forget-gate pre-activation per head; f = σ(f̃) (xlstm's choice) or exp(f̃); the cell reads log f
 *   F  cumulative log forget gates, F_t = Σ_{k≤t} log f_k
 *   C  matrix memory (b, h, dh, dh)    n  normaliser (b, h, dh)    m  stabiliser (b, h)
 *
 * The cell (paper §2.3, with the stabiliser of its appendix): per head,
 *   C_t = f_t C_{t−1} + i_t v_t k_tᵀ,   n_t = f_t n_{t−1} + i_t k_t,   h̃_t = C_t q_t / max(|n_tᵀ q_t|, 1).
 * exp(ĩ) overflows float32 at ĩ ≈ 89, so the states are kept scaled by exp(−m_t), where
 *   m_t = max(log f_t + m_{t−1}, ĩ_t),  f′_t = exp(log f_t + m_{t−1} − m_t),  i′_t = exp(ĩ_t − m_t) ≤ 1,
 * and the normaliser's 1 becomes exp(−m_t). Unrolled, h̃ = (C̃ / max(|C̃ 1|, exp(−m))) V per head, with
 * C̃[t, s] = (q_t · k_s) exp(F_t − F_s + ĩ_s − m_t) for s ≤ t: the parallel form of the appendix, whose log-gate
 * matrix D = F_t − F_s + ĩ_s is stabilised by its row-wise maximum, which is exactly m_t when m_0 = −∞.
 *
 * The block (the paper's mLSTM block, §2.4 and its appendix figure; xlstm's mLSTMLayer): pre-up-projection by proj_factor 2 into an
 * mLSTM branch x and a gate branch z; on x a causal depthwise conv1d and swish give q and k (by blockwise
 * projections of blocks of bs), v comes from x before the conv; the gates ĩ and f̃ are linear in (q, k, v)
 * per head; the cell; per-head group norm; a learnable skip of the conv's output; the output gate swish(z);
 * the down-projection. Blocks are pre-norm residuals.
 *
 * Where this file departs from xlstm (and why):
 * - The residual and final norms are RMSNorm and the head is tied to the embedding (N(0, 0.02²)), so the
 *   block, LM and decode state are Mamba's (mamba.ts ResidualBlock, ResidualLM): xlstm uses bias-free
 *   LayerNorm, an untied head and its small_init for the embedding.
 * - The group norm's scale is the weight itself, started at 1 and not decayed; xlstm stores it as 1 + w
 *   (residual_weight), started at w = 0: the same function, and neither decays.
 * - proj_factor is a whole number and di is not rounded up to a multiple of 64 (all presets are already).
 * - m_0 is −∞ in effect (M_START, a large finite stand-in: WGSL may assume no infinities), so the recurrent
 *   m_t equals the parallel form's row maximum and the two forms do the same arithmetic, ε included. xlstm's
 *   step starts from m_0 = 0, which only moves the ε = 1e-6 added to the normaliser.
 * - The parallel (quadratic; the default, as xlstm trains its small models), chunkwise (one level: parallel
 *   within chunks of 64, recurrent across, memory linear in l) and recurrent forms, all composed tfjs ops; no
 *   fused kernel. The parallel form holds (b, h, l, l) matrices, as composed attention does.
 * - No dropout (xlstm's default is 0).
 *
 * step() decodes one token in O(1): the state is the last d_conv − 1 conv inputs and (C, n, m) per head.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { layerNorm } from './kernels/norms.ts';
import { Linear, ParamStore, RMSNorm, silu, unstackTime, layerKernelsOption } from './layers.ts';
import { causalConv1d, ResidualBlock, ResidualLM } from './mamba.ts';
import { cumsumLast } from './mamba2.ts';
import type { Architecture, Flops, ModelIO } from './types.ts';

// ---------------------------------------------------------------------------------------------------------
// Config

/** Which form of the cell the full forward runs; the three are tested equal, forward and gradient. */
export const MLSTM_CELLS = ['parallel', 'chunkwise', 'recurrent'] as const;
export const FORGET_GATES = ['sigmoid', 'exp'] as const;

export const mlstmConfig = z
  .object({
    d_model: z.number().int().positive().default(64).describe('Width of the residual stream'),
    n_layers: z.number().int().positive().default(2).describe('Residual blocks (each one mLSTM block)'),
    n_heads: z.number().int().positive().default(4).describe('mLSTM heads; head size dh = proj_factor · d_model / n_heads (xlstm: 4)'),
    proj_factor: z.number().int().positive().default(2).describe('Inner width di = proj_factor · d_model (the pre-up-projection)'),
    qkv_blocksize: z.number().int().positive().default(4).describe('Block size of the block-diagonal q, k, v projections (xlstm: 4)'),
    d_conv: z.number().int().min(2).default(4).describe('Width of the causal depthwise convolution on the q/k path'),
    forget_gate: z.enum(FORGET_GATES).default('sigmoid').describe('f = σ(f̃) (xlstm) or exp(f̃) (the paper allows both)'),
    cell: z
      .enum(MLSTM_CELLS)
      .default('parallel')
      .describe('The full forward: the `parallel` form (training, (l, l) per head), the `chunkwise` form (parallel within chunks, recurrent across: memory linear in l) or the sequential `recurrent` reference'),
    // optional, not defaulted: a default would enter every mLSTM run's resolved config, and so its run id
    chunk_size: z.number().int().positive().optional().describe('Chunk length Q of the chunkwise form (64 when omitted)'),
    layer_kernels: layerKernelsOption,
    seed: z.number().int().nonnegative().default(0).describe('Seed of the weight initialisation'),
  })
  .superRefine((c, ctx) => {
    const di = c.proj_factor * c.d_model;
    if (di % c.n_heads !== 0) {
      ctx.addIssue({ code: 'custom', path: ['n_heads'], message: `n_heads ${c.n_heads} does not divide the inner width ${di} (proj_factor · d_model)` });
    }
    if (di % c.qkv_blocksize !== 0) {
      ctx.addIssue({ code: 'custom', path: ['qkv_blocksize'], message: `qkv_blocksize ${c.qkv_blocksize} does not divide the inner width ${di} (proj_factor · d_model)` });
    }
  });
export type MlstmConfig = z.infer<typeof mlstmConfig>;

/** Mamba's widths and depths; 4 heads of 16 / 32 / 64. */
const PRESETS = {
  nano: { d_model: 32, n_layers: 2 },
  micro: { d_model: 64, n_layers: 2 },
  small: { d_model: 128, n_layers: 4 },
} satisfies Architecture<typeof mlstmConfig>['presets'];

/** The derived sizes every part needs. */
function dims(cfg: MlstmConfig): { d: number; di: number; h: number; dh: number; bs: number; k: number } {
  const di = cfg.proj_factor * cfg.d_model;
  return { d: cfg.d_model, di, h: cfg.n_heads, dh: di / cfg.n_heads, bs: cfg.qkv_blocksize, k: cfg.d_conv };
}

// ---------------------------------------------------------------------------------------------------------
// The mLSTM cell

/** Added to the normaliser (xlstm's eps), so an all-zero row cannot divide by zero. */
const EPS = 1e-6;
/** The chunkwise form's chunk length when the config leaves it out. */
const MLSTM_CHUNK = 64;
/** m_0, and the log-gates above the diagonal: −∞ in effect (exp gives 0), finite so no kernel meets an infinity. */
const M_START = -1e30;

/** One head-batch of cell states: C (b, h, dh, dh) as k vᵀ (xlstm's layout: h̃ = qᵀ C), n (b, h, dh), m (b, h). */
export type CellState = { C: tf.Tensor4D; n: tf.Tensor3D; m: tf.Tensor2D };

export function initialCellState(b: number, h: number, dh: number): CellState {
  return { C: tf.zeros([b, h, dh, dh]), n: tf.zeros([b, h, dh]), m: tf.fill([b, h], M_START) };
}

/**
 * One stabilised step (xlstm's recurrent_step_stabilized_simple): q, k, v (b, h, dh), ĩ and log f (b, h)
 * → h̃ (b, h, dh) and the next state.
 */
export function mlstmStep(state: CellState, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, iPre: tf.Tensor2D, logF: tf.Tensor2D): { h: tf.Tensor3D; state: CellState } {
  return tf.tidy(() => {
    const [b, h, dh] = q.shape;
    const kScaled = k.div(Math.sqrt(dh));
    const decayed = logF.add(state.m); // (b, h): log f_t + m_{t−1}
    const m = tf.maximum(decayed, iPre) as tf.Tensor2D; // (b, h)
    const f = tf.exp(decayed.sub(m)).reshape([b, h, 1]); // f′_t
    const i = tf.exp(iPre.sub(m)).reshape([b, h, 1]); // i′_t
    const kv = kScaled.expandDims(-1).mul(v.expandDims(-2)); // (b, h, dh, dh): k vᵀ
    const C = f.expandDims(-1).mul(state.C).add(i.expandDims(-1).mul(kv)) as tf.Tensor4D; // (b, h, dh, dh)
    const n = f.mul(state.n).add(i.mul(kScaled)) as tf.Tensor3D; // (b, h, dh)
    const num = tf.matMul(q.reshape([b * h, 1, dh]), C.reshape([b * h, dh, dh])).reshape([b, h, dh]); // qᵀ C
    const den = tf.maximum(q.mul(n).sum(-1).abs(), tf.exp(m.neg())).add(EPS); // (b, h)
    return { h: num.div(den.expandDims(-1)) as tf.Tensor3D, state: { C, n, m } };
  });
}

/** The sequential reference: mlstmStep over time from m_0 = −∞. q, k, v (b, h, l, dh), ĩ and log f (b, h, l) → h̃ (b, h, l, dh). */
export function mlstmRecurrent(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, iPre: tf.Tensor3D, logF: tf.Tensor3D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, , dh] = q.shape;
    const [qs, ks, vs] = [q, k, v].map((t) => unstackTime(t, 2) as tf.Tensor3D[]); // l × (b, h, dh)
    const [is, fs] = [iPre, logF].map((t) => unstackTime(t, 2) as tf.Tensor2D[]); // l × (b, h)
    let state = initialCellState(b, h, dh);
    const hs: tf.Tensor[] = [];
    qs.forEach((_, t) => {
      const out = mlstmStep(state, qs[t], ks[t], vs[t], is[t], fs[t]);
      hs.push(out.h);
      state = out.state;
    });
    return tf.stack(hs, 2) as tf.Tensor4D; // (b, h, l, dh)
  });
}

/** An (l, l) matrix from its entries: a constant on any backend (made on the host). */
function hostMatrix(l: number, entry: (row: number, column: number) => number): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from({ length: l * l }, (_, i) => entry(Math.floor(i / l), i % l)), [l, l]);
}

/**
 * Row maxima x (…, l) → (…, 1) with tf.max's value and gradient (dy wherever x equals its row's maximum, ties each
 * taking all of it), the comparison written x − m = 0 against a scalar, which for finite x is x = m exactly:
 * tfjs-wasm compares a broadcast pair element by element in JavaScript, 72 ms at (64, 4, 64, 64) where the
 * subtraction and a comparison with a scalar take 8 (31 % of an mLSTM step at d_model 64, MQAR batch 64).
 */
const rowMax = tf.customGrad((x, save) => {
  const m = (x as tf.Tensor).max(-1, true);
  (save as tf.GradSaveFunc)([x as tf.Tensor, m]);
  return { value: m, gradFunc: (dy: tf.Tensor, [xs, ms]: tf.Tensor[]) => dy.mul(tf.equal(xs.sub(ms), 0).cast('float32')) };
});

/**
 * The parallel form (xlstm's parallel_stabilized_simple), equal to mlstmRecurrent:
 *   log D[t, s] = F_t − F_s + ĩ_s for s ≤ t, −∞ above;  m_t = max_s log D[t, s] (row-wise);
 *   C̃ = (q kᵀ / √dh) ⊙ exp(log D − m);  h̃ = C̃ V / (max(|Σ_s C̃[t, s]|, exp(−m_t)) + ε).
 * F is the running sum of log f as mamba2.ts's cumsumLast computes it, a product with a triangle of ones
 * (O(l²), as the rest of the form; not tf.cumsum, whose webgpu shader ignores the length). Shapes as
 * mlstmRecurrent's; memory (b, h, l, l).
 */
export function mlstmParallel(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, iPre: tf.Tensor3D, logF: tf.Tensor3D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, l, dh] = q.shape;
    const F = cumsumLast(logF); // (b, h, l): F_t = Σ_{k≤t} log f_k
    const future = hostMatrix(l, (t, s) => (s > t ? M_START : 0));
    const logD = F.expandDims(-1).sub(F.expandDims(-2)).add(iPre.expandDims(-2)).add(future); // (b, h, l, l)
    const m = rowMax(logD) as tf.Tensor4D; // (b, h, l, 1)
    const scores = tf.matMul(q, k, false, true).div(Math.sqrt(dh)); // (b, h, l, l)
    const C = scores.mul(tf.exp(logD.sub(m))); // (b, h, l, l)
    const normaliser = tf.maximum(C.sum(-1, true).abs(), tf.exp(m.neg())).add(EPS); // (b, h, l, 1)
    return tf.matMul(C.div(normaliser), v) as tf.Tensor4D; // (b, h, l, dh)
  });
}

/**
 * The chunkwise form (xlstm's chunkwise kernels at one level), equal to mlstmParallel and mlstmRecurrent: the
 * parallel form within chunks of Q steps and the recurrence on (C, n, m) across chunk boundaries, so memory and
 * time grow as l · Q, not l². Time is cut into c chunks (the last padded with log f = 0, ĩ = M_START, q = k =
 * v = 0: no input, nothing before it changes). Within chunk j, with G_t = Σ_{start≤k≤t} log f_k (the chunk's own
 * running sum) and the state (C_j, n_j, m_j) entering it, scaled by exp(−m_j) as the recurrence keeps it:
 *   1. the intra-chunk log-gates D_ts = G_t − G_s + ĩ_s (s ≤ t), and the entering state's G_t + m_j;
 *   2. m_t = max(G_t + m_j, max_s D_ts): the parallel form's row maximum over all s ≤ t, because
 *      G_t + m_j = max_{s<start}(F_t − F_s + ĩ_s) when m_0 = −∞;
 *   3. h̃_t = (Σ_s (q_t · k_s) e^{D_ts − m_t} v_s + e^{G_t + m_j − m_t} q_tᵀ C_j) / (max(|same with n|, e^{−m_t}) + ε);
 *   4. across chunks: with a_s = G_Q − G_s + ĩ_s, its maximum a* and S_j = Σ_s e^{a_s − a*} k_s v_sᵀ (all chunks at
 *      once), m_{j+1} = max(G_Q + m_j, a*), C_{j+1} = e^{G_Q + m_j − m_{j+1}} C_j + e^{a* − m_{j+1}} S_j (n the same
 *      with k_s): c sequential steps of (b, h, dh, dh) elementwise ops.
 * Every exponent is ≤ 0. Shapes as mlstmRecurrent's; memory (b, h, l, Q).
 */
export function mlstmChunkwise(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, iPre: tf.Tensor3D, logF: tf.Tensor3D, chunkSize: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, l, dh] = q.shape;
    const Q = Math.min(chunkSize, l);
    const c = Math.ceil(l / Q);
    const pad = c * Q - l;
    const chunks = (t: tf.Tensor, fill = 0): tf.Tensor => {
      const padded = pad === 0 ? t : tf.pad(t, t.shape.map((_, axis): [number, number] => [0, axis === 2 ? pad : 0]), fill);
      return padded.reshape([b, h, c, Q, ...t.shape.slice(3)]);
    };
    const [qc, kc, vc] = [q, k.div(Math.sqrt(dh)), v].map((t) => chunks(t)); // (b, h, c, Q, dh)
    const ic = chunks(iPre, M_START); // (b, h, c, Q)
    const G = cumsumLast(chunks(logF)); // (b, h, c, Q): G_t within the chunk

    // 1. intra-chunk log-gates, −∞ (M_START) above the diagonal
    const future = hostMatrix(Q, (t, s) => (s > t ? M_START : 0));
    const D = G.expandDims(-1).sub(G.expandDims(-2)).add(ic.expandDims(-2)).add(future); // (b, h, c, Q_t, Q_s)

    // 4. the states entering each chunk, by the recurrence across chunks
    const GQ = G.slice([0, 0, 0, Q - 1], [-1, -1, -1, 1]); // (b, h, c, 1): G at the chunk's end
    const a = GQ.sub(G).add(ic); // (b, h, c, Q)
    const aMax = rowMax(a) as tf.Tensor; // (b, h, c, 1)
    const w = tf.exp(a.sub(aMax)).expandDims(-1); // (b, h, c, Q, 1)
    const S = tf.matMul(kc.mul(w), vc, true, false); // (b, h, c, dh, dh): Σ_s w_s k_s v_sᵀ
    const N = kc.mul(w).sum(3); // (b, h, c, dh)
    const [GQs, aMaxs] = [GQ, aMax].map((t) => unstackTime(t.reshape([b, h, c]), 2)); // c × (b, h)
    const [Ss, Ns] = [unstackTime(S, 2), unstackTime(N, 2)]; // c × (b, h, dh, dh), c × (b, h, dh)
    let state: CellState = initialCellState(b, h, dh);
    const entering: CellState[] = [];
    for (let j = 0; j < c; j++) {
      entering.push(state);
      const carried = GQs[j].add(state.m); // (b, h)
      const m = tf.maximum(carried, aMaxs[j]) as tf.Tensor2D;
      const keep = tf.exp(carried.sub(m)).reshape([b, h, 1]);
      const add = tf.exp(aMaxs[j].sub(m)).reshape([b, h, 1]);
      state = {
        C: keep.expandDims(-1).mul(state.C).add(add.expandDims(-1).mul(Ss[j])) as tf.Tensor4D,
        n: keep.mul(state.n).add(add.mul(Ns[j])) as tf.Tensor3D,
        m,
      };
    }
    const Cin = tf.stack(entering.map((e) => e.C), 2); // (b, h, c, dh, dh)
    const nin = tf.stack(entering.map((e) => e.n), 2); // (b, h, c, dh)
    const min = tf.stack(entering.map((e) => e.m), 2).expandDims(-1); // (b, h, c, 1)

    // 2. the row maxima, over the chunk and the entering state
    const inter = G.add(min); // (b, h, c, Q): G_t + m_j
    const m = tf.maximum(inter, rowMax(D).squeeze([4])); // (b, h, c, Q)

    // 3. read out
    const Cmat = tf.matMul(qc, kc, false, true).mul(tf.exp(D.sub(m.expandDims(-1)))); // (b, h, c, Q, Q)
    const interW = tf.exp(inter.sub(m)).expandDims(-1); // (b, h, c, Q, 1)
    const num = tf.matMul(Cmat, vc).add(interW.mul(tf.matMul(qc, Cin))); // (b, h, c, Q, dh)
    const sum = Cmat.sum(-1).add(interW.squeeze([4]).mul(qc.mul(nin.expandDims(3)).sum(-1))); // (b, h, c, Q)
    const den = tf.maximum(sum.abs(), tf.exp(m.neg())).add(EPS); // (b, h, c, Q)
    const out = num.div(den.expandDims(-1)).reshape([b, h, c * Q, dh]); // (b, h, c·Q, dh)
    return out.slice([0, 0, 0, 0], [b, h, l, dh]) as tf.Tensor4D;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Headwise projection

/**
 * Block-diagonal linear map (xlstm's LinearHeadwiseExpand, factor 1, no bias): x (…, di) cut into di / bs
 * blocks of bs, each multiplied by its own (bs, bs) matrix. small_init's N(0, 2 / (5 d)) with d the block's
 * d_model, as mLSTMLayer re-initialises it. The weight (blocks, bs, bs) decays (xlstm decays every tensor of
 * 2 or more dimensions).
 */
export class HeadwiseLinear {
  readonly w: tf.Variable; // (di / bs, bs, bs), (in, out) per block

  constructor(store: ParamStore, name: string, readonly dim: number, readonly blockSize: number, std: number) {
    this.w = store.normal(`${name}.w`, [dim / blockSize, blockSize, blockSize], std, 'decay');
  }

  apply(x: tf.Tensor): tf.Tensor {
    const blocks = this.dim / this.blockSize;
    const lead = x.shape.slice(0, -1);
    const perBlock = x.reshape([-1, blocks, this.blockSize]).transpose([1, 0, 2]); // (blocks, N, bs)
    return tf.matMul(perBlock, this.w).transpose([1, 0, 2]).reshape([...lead, this.dim]); // (…, di)
  }

  static paramCount(dim: number, blockSize: number): number {
    return dim * blockSize;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Mixer (the mLSTM block)

/** Recurrent state of one mixer: the last k − 1 conv inputs (b, k − 1, di) and the cell's C, n, m. */
export type MlstmMixerState = { conv: tf.Tensor3D } & CellState;

/** torch.linspace(start, end, count). */
const linspace = (start: number, end: number, count: number): number[] =>
  Array.from({ length: count }, (_, i) => (count === 1 ? start : start + ((end - start) * i) / (count - 1)));

export class MlstmMixer {
  readonly projUp: Linear; // d → (x, z): 2 di
  readonly convWeight: tf.Variable; // (di, k)
  readonly convBias: tf.Variable; // (di)
  readonly qProj: HeadwiseLinear;
  readonly kProj: HeadwiseLinear;
  readonly vProj: HeadwiseLinear;
  readonly igateW: tf.Variable; // (3 di, h)
  readonly igateB: tf.Variable; // (h)
  readonly fgateW: tf.Variable; // (3 di, h)
  readonly fgateB: tf.Variable; // (h)
  readonly normWeight: tf.Variable; // (di), the group norm's scale
  readonly skip: tf.Variable; // (di)
  readonly projDown: Linear;

  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: MlstmConfig,
  ) {
    const { d, di, h, bs, k } = dims(cfg);
    // small_init (Nguyen & Salazar 2019): N(0, 2 / (5 d)), for the up-projection and q, k, v alike.
    const smallStd = Math.sqrt(2 / (5 * d));
    this.projUp = new Linear(store, `${name}.proj_up`, d, 2 * di, { bias: false, std: smallStd });
    // PyTorch's Conv1d default (fan-in k per channel), as xlstm's CausalConv1d; its weight decays (3-D), its bias not.
    this.convWeight = store.uniform(`${name}.conv.w`, [di, k], 1 / Math.sqrt(k), 'decay');
    this.convBias = store.uniform(`${name}.conv.b`, [di], 1 / Math.sqrt(k), 'no-decay');
    this.qProj = new HeadwiseLinear(store, `${name}.q_proj`, di, bs, smallStd);
    this.kProj = new HeadwiseLinear(store, `${name}.k_proj`, di, bs, smallStd);
    this.vProj = new HeadwiseLinear(store, `${name}.v_proj`, di, bs, smallStd);
    // mLSTMCell.reset_parameters: both gates start independent of the input; the input gate's bias N(0, 0.1²);
    // the forget gate's bias linspace(3, 6) over the heads, f = σ(3) … σ(6) ≈ 0.95 … 0.998: long memories at first.
    // An exp forget gate starts at the same f, its bias log σ(linspace(3, 6)).
    this.igateW = store.constant(`${name}.igate.w`, [3 * di, h], 0, 'decay');
    this.igateB = store.normal(`${name}.igate.b`, [h], 0.1, 'no-decay');
    this.fgateW = store.constant(`${name}.fgate.w`, [3 * di, h], 0, 'decay');
    const fBias = linspace(3, 6, h).map((x) => (cfg.forget_gate === 'exp' ? -Math.log1p(Math.exp(-x)) : x));
    this.fgateB = store.fromValues(`${name}.fgate.b`, fBias, [h], 'no-decay');
    this.normWeight = store.constant(`${name}.outnorm.w`, [di], 1, 'no-decay');
    this.skip = store.constant(`${name}.learnable_skip`, [di], 1, 'no-decay');
    // wang_init: N(0, (2 / n_layers / √d)²), the depth-scaled output projection of GPT-NeoX.
    this.projDown = new Linear(store, `${name}.proj_down`, di, d, { bias: false, std: 2 / cfg.n_layers / Math.sqrt(d) });
  }

  static paramCount(cfg: MlstmConfig): number {
    const { d, di, h, bs, k } = dims(cfg);
    const gates = 2 * (3 * di * h + h);
    return Linear.paramCount(d, 2 * di, false) + di * k + di + 3 * HeadwiseLinear.paramCount(di, bs) + gates + 2 * di + Linear.paramCount(di, d, false);
  }

  /** After the conv: q, k from xc, v from x (…, di); the gates' pre-activations ĩ and log f (…, h) from (q, k, v). */
  private cellInputs(x: tf.Tensor, xc: tf.Tensor): { q: tf.Tensor; k: tf.Tensor; v: tf.Tensor; iPre: tf.Tensor; logF: tf.Tensor } {
    const q = this.qProj.apply(xc);
    const k = this.kProj.apply(xc);
    const v = this.vProj.apply(x);
    const gateIn = tf.concat([q, k, v], -1); // (…, 3 di)
    const gate = (w: tf.Variable, bias: tf.Variable) => tf.matMul(gateIn.reshape([-1, gateIn.shape[gateIn.rank - 1]]), w).add(bias).reshape([...x.shape.slice(0, -1), this.cfg.n_heads]);
    const fPre = gate(this.fgateW, this.fgateB);
    return { q, k, v, iPre: gate(this.igateW, this.igateB), logF: this.cfg.forget_gate === 'exp' ? fPre : tf.logSigmoid(fPre) };
  }

  /**
   * The rest of the block, from the cell's h̃ (…, h, dh): per-head group norm (xlstm's MultiHeadLayerNorm:
   * each head normalised over its dh, then scaled per channel), plus the learnable skip of xc, gated by
   * swish(z), down-projected: (…, d).
   */
  private output(hTilde: tf.Tensor, xc: tf.Tensor, z: tf.Tensor): tf.Tensor {
    const dh = hTilde.shape[hTilde.rank - 1];
    const normed = layerNorm(hTilde, tf.ones([dh]), tf.zeros([dh]), 1e-5, this.cfg.layer_kernels).reshape(xc.shape).mul(this.normWeight); // (…, di)
    return this.projDown.apply(normed.add(xc.mul(this.skip)).mul(silu(z, this.cfg.layer_kernels)));
  }

  /** u (b, l, d) → (b, l, d). */
  apply(u: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, l] = u.shape;
      const { h, dh } = dims(this.cfg);
      const [x, z] = tf.split(this.projUp.apply(u), 2, -1); // (b, l, di) each
      const xc = silu(causalConv1d(x, this.convWeight, this.convBias), this.cfg.layer_kernels); // (b, l, di)
      const { q, k, v, iPre, logF } = this.cellInputs(x, xc); // (b, l, di) × 3, (b, l, h) × 2
      const heads = (t: tf.Tensor) => t.reshape([b, l, h, dh]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // (b, h, l, dh)
      const gates = (t: tf.Tensor) => t.transpose([0, 2, 1]) as tf.Tensor3D; // (b, h, l)
      const args = [heads(q), heads(k), heads(v), gates(iPre), gates(logF)] as const;
      const form = this.cfg.cell;
      const cellOut = form === 'recurrent' ? mlstmRecurrent(...args) : form === 'chunkwise' ? mlstmChunkwise(...args, this.cfg.chunk_size ?? MLSTM_CHUNK) : mlstmParallel(...args);
      const hTilde = cellOut.transpose([0, 2, 1, 3]); // (b, l, h, dh)
      return this.output(hTilde, xc, z) as tf.Tensor3D; // (b, l, d)
    });
  }

  initState(batchSize: number): MlstmMixerState {
    const { di, h, dh, k } = dims(this.cfg);
    return { conv: tf.zeros([batchSize, k - 1, di]), ...initialCellState(batchSize, h, dh) };
  }

  /** One token u (b, d) → (b, d), from the previous state to the next; the recurrence of mlstmRecurrent. */
  step(u: tf.Tensor2D, state: MlstmMixerState): { y: tf.Tensor2D; state: MlstmMixerState } {
    return tf.tidy(() => {
      const [b] = u.shape;
      const { h, dh } = dims(this.cfg);
      const [x, z] = tf.split(this.projUp.apply(u), 2, -1); // (b, di) each
      const window = tf.concat([state.conv, x.expandDims(1)], 1); // (b, k, di)
      const xc = silu(window.mul(this.convWeight.transpose()).sum(1).add(this.convBias), this.cfg.layer_kernels); // (b, di)
      const { q, k, v, iPre, logF } = this.cellInputs(x, xc); // (b, di) × 3, (b, h) × 2
      const heads = (t: tf.Tensor) => t.reshape([b, h, dh]) as tf.Tensor3D;
      const out = mlstmStep(state, heads(q), heads(k), heads(v), iPre as tf.Tensor2D, logF as tf.Tensor2D); // (b, h, dh)
      const conv = window.slice([0, 1, 0], [-1, -1, -1]) as tf.Tensor3D; // (b, k − 1, di)
      return { y: this.output(out.h, xc, z) as tf.Tensor2D, state: { conv, ...out.state } };
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Residual block and LM

/** Pre-norm residual: x + mLSTM(RMSNorm(x)) (mamba.ts ResidualBlock). */
export class MlstmBlock extends ResidualBlock<MlstmMixer, MlstmMixerState> {
  constructor(store: ParamStore, name: string, cfg: MlstmConfig) {
    super(store, name, cfg.d_model, cfg.layer_kernels, (s, n) => new MlstmMixer(s, n, cfg));
  }

  static paramCount(cfg: MlstmConfig): number {
    return RMSNorm.paramCount(cfg.d_model) + MlstmMixer.paramCount(cfg);
  }
}

/** Mamba's language model (mamba.ts ResidualLM) with mLSTM blocks: xLSTM[1:0], mLSTM blocks only. */
export class MlstmLM extends ResidualLM<MlstmMixer, MlstmMixerState> {
  constructor(cfg: MlstmConfig, io: ModelIO) {
    super('mlstm', cfg, io, (store, name) => new MlstmBlock(store, name, cfg));
  }

  declare readonly cfg: MlstmConfig;
}

// ---------------------------------------------------------------------------------------------------------
// Costs and registry entry

function paramCount(cfg: MlstmConfig, io: ModelIO): number {
  const d = cfg.d_model;
  return io.vocabSize * d + cfg.n_layers * MlstmBlock.paramCount(cfg) + RMSNorm.paramCount(d);
}

/**
 * The cell's forward FLOPs per token and head. Recurrent form: 4 dh² for C (k vᵀ, the two scalings, the add),
 * 2 dh² for qᵀ C, 7 dh for n (k / √dh, two scalings, the add), q · n and the division, and 12 scalar operations
 * for the stabiliser and the normaliser. Parallel form, at the causal average of L / 2 earlier positions (as
 * the Transformer counts attention): 2 dh for q · k and 2 dh for the weighted sum of v per position, and 8
 * for F's running sum, the log-gate, exp, product, row sum and division. Chunkwise form: that per-position cost
 * over the (Q + 1) / 2 positions of the chunk a query sees on average, plus 4 dh² + 4 dh + 4 a token for the
 * entering state's read-out and mix (qᵀ C, q · n) and the chunk's state (k vᵀ and the sum of k).
 */
export function mlstmCellFlops(cfg: MlstmConfig, seqLen: number): number {
  const { dh } = dims(cfg);
  if (cfg.cell === 'recurrent') return 6 * dh * dh + 7 * dh + 12;
  if (cfg.cell === 'chunkwise') {
    // within the chunk, as the parallel form over (Q + 1) / 2 positions on average; the entering state read out
    // (qᵀ C, q · n: 2 dh² + 2 dh) and mixed in (4); the chunk's state k vᵀ and k sums (2 dh² + 2 dh) once a token
    const Q = Math.min(cfg.chunk_size ?? MLSTM_CHUNK, Math.max(1, seqLen));
    return ((Q + 1) / 2) * (4 * dh + 8) + 4 * dh * dh + 4 * dh + 4;
  }
  return (seqLen / 2) * (4 * dh + 8);
}

/**
 * One layer's forward FLOPs per token: matmuls at 2 FLOPs per multiply-add (up-projection, the blockwise q,
 * k, v, the two gates, down-projection), the conv's 2 per tap and channel, and the cell per head. Norms and
 * element-wise gates are not counted (as in mamba.ts).
 */
export function mlstmLayerFlops(cfg: MlstmConfig, seqLen: number): number {
  const { d, di, h, bs, k } = dims(cfg);
  return 2 * d * 2 * di + 2 * k * di + 3 * 2 * di * bs + 2 * 2 * 3 * di * h + h * mlstmCellFlops(cfg, seqLen) + 2 * di * d;
}

function flopsPerToken(cfg: MlstmConfig, io: ModelIO, seqLen: number): Flops {
  const forward = cfg.n_layers * mlstmLayerFlops(cfg, seqLen) + 2 * cfg.d_model * io.vocabSize;
  return { forward, training: 3 * forward };
}

/** fp32 bytes per sequence of one layer's conv window ((k − 1) · di) and cell state (h · (dh² + dh + 1)); independent of L. */
export function mlstmLayerStateBytes(cfg: MlstmConfig): number {
  const { di, h, dh, k } = dims(cfg);
  return ((k - 1) * di + h * (dh * dh + dh + 1)) * 4;
}

export const mlstm = {
  name: 'mlstm',
  family: 'xlstm',
  form: 'lm',
  description: "xLSTM's mLSTM LM (Beck et al. 2024): matrix memory, exponential input gate with stabiliser, parallel training form, recurrent decoding",
  config: mlstmConfig,
  presets: PRESETS,
  build: (cfg: MlstmConfig, io: ModelIO) => new MlstmLM(mlstmConfig.parse(cfg), io),
  paramCount,
  flopsPerToken,
  stateBytes: (cfg: MlstmConfig) => cfg.n_layers * mlstmLayerStateBytes(cfg),
  size: (cfg: MlstmConfig) => ({ dModel: cfg.d_model, nLayers: cfg.n_layers }),
} satisfies Architecture<typeof mlstmConfig>;
