/**
 * xLSTM's sLSTM, read top to bottom in the order data flows (after NX-AI/xlstm's blocks/slstm: layer.py, cell.py,
 * src/vanilla/slstm.py, and components/feedforward.py): Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory",
 * arXiv:2405.04517, §2.2 and appendix A.
 *
 *   config → the sLSTM cell (stabilised step, sequence) → mixer (the sLSTM layer) → gated feed-forward → block → LM
 *
 * Glossary (the paper's symbols):
 *   b  batch size                 l  sequence length              d  d_model, also the cell's hidden size
 *   h  heads (n_heads)            dh head size, d / h             k  the causal conv's width (d_conv)
 *   z̃, ĩ, f̃, õ  the four gates' pre-activations (b, d): W x (headwise) + R y_{t−1} (per head) + bias
 *   c  cell state, n normaliser, m stabiliser, y the cell's output: scalars per channel (b, d)
 *   R  the recurrent kernel, block-diagonal: one (dh, 4 dh) matrix per head ("memory mixing" within a head only)
 *
 * The cell (paper eq. 8–15 with the stabiliser of eq. 15–17): per channel,
 *   z_t = tanh(z̃_t),  i_t = exp(ĩ_t),  f_t = σ(f̃_t),  o_t = σ(õ_t)
 *   c_t = f_t c_{t−1} + i_t z_t,   n_t = f_t n_{t−1} + i_t,   y_t = o_t c_t / n_t.
 * exp(ĩ) overflows float32 at ĩ ≈ 89, so c and n are kept scaled by exp(−m_t), where
 *   m_t = max(log f_t + m_{t−1}, ĩ_t),  f′_t = exp(log f_t + m_{t−1} − m_t),  i′_t = exp(ĩ_t − m_t) ≤ 1;
 * y_t = o_t c_t / n_t is unchanged by the common scale. The gates read y_{t−1}, so unlike the mLSTM the sLSTM has
 * no parallel form: training runs the recurrence step by step (xlstm trains it with a fused CUDA kernel).
 *
 * The layer (xlstm's sLSTMLayer): a causal depthwise conv (width 4) and swish on the input give the input and
 * forget gates' x; the cell input and output gates read the input itself; each gate's W is block-diagonal by head
 * (LinearHeadwiseExpand, no bias); the cell; a per-head group norm (MultiHeadLayerNorm, scale only). No output
 * projection. The block (xlstm's xLSTMBlock with an sLSTM layer and its GatedFeedForward): x + sLSTM(norm(x)),
 * then x + FFN(norm(x)) with FFN(x) = W_down(gelu(x W_gate) ⊙ x W_up), width proj_factor 1.3 · d.
 *
 * Initialisation (xlstm): W of every gate N(0, 2 / (5 d)) (small_init), R zeros, biases 0 except the forget gate's,
 * "powerlaw_blockdependent": in every head, channel j of dh gets 5 − 12 (j / (dh − 1))^(0.3 + 1.3 r), r = the
 * block's index / (n_layers − 1) (0 with one block), so each head holds memories from σ(5) ≈ 0.993 down to
 * σ(−7) ≈ 0.001, and later blocks lean longer. The feed-forward's up-projection small_init, its down-projection
 * wang_init N(0, (2 / n_layers / √d)²). m_0 is −∞ in effect (M_START): xlstm's step sets m_t = ĩ_t while n is
 * all zero, which is the same.
 *
 * Where this file departs from xlstm (and why):
 * - The residual and final norms are RMSNorm and the head is tied to the embedding, so the block, LM and decode
 *   state are Mamba's and the mLSTM's here (mamba.ts MlpResidualBlock, ResidualLM): xlstm uses bias-free LayerNorm.
 * - The feed-forward's width 1.3 · d is rounded up to a multiple of 8 (xlstm: of 64, set for d ≥ 1024, which would
 *   give nano 2 · d); its GELU is the suite's tanh form (transformer.ts), xlstm's the erf form.
 * - Composed tfjs ops, one step at a time (as the RNN family's references): no fused kernel, so long sequences are
 *   slow, and tfjs cannot backpropagate through thousands of steps ("Maximum call stack size exceeded").
 * - No dropout (xlstm's default is 0).
 *
 * step() decodes one token in O(1): the state is the last k − 1 conv inputs and (y, c, n, m) per layer.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { logForgetGate } from './gla.ts';
import { layerNorm } from './kernels/norms.ts';
import { gelu, Linear, ParamStore, RMSNorm, silu, unstackTime, layerKernelsOption } from './layers.ts';
import { causalConv1d, MlpResidualBlock, ResidualLM } from './mamba.ts';
import { HeadwiseLinear } from './mlstm.ts';
import type { Architecture, Flops, ModelIO } from './types.ts';

// ---------------------------------------------------------------------------------------------------------
// Config

export const slstmConfig = z
  .object({
    d_model: z.number().int().positive().default(64).describe("Width of the residual stream and the cell's hidden size"),
    n_layers: z.number().int().positive().default(2).describe('Residual blocks (each one sLSTM layer and one gated feed-forward)'),
    n_heads: z.number().int().positive().default(4).describe('Heads: the recurrent kernel and the gates are block-diagonal by head (xlstm: 4)'),
    d_conv: z.number().int().min(2).default(4).describe("Width of the causal conv on the input and forget gates' path"),
    ff_proj_factor: z.number().positive().default(1.3).describe("The gated feed-forward's width, ff_proj_factor · d_model rounded up to a multiple of 8 (xlstm: 1.3)"),
    layer_kernels: layerKernelsOption,
    seed: z.number().int().nonnegative().default(0).describe('Seed of the weight initialisation'),
  })
  .superRefine((c, ctx) => {
    if (c.d_model % c.n_heads !== 0) ctx.addIssue({ code: 'custom', path: ['n_heads'], message: `n_heads ${c.n_heads} does not divide d_model ${c.d_model}` });
  });
export type SlstmConfig = z.infer<typeof slstmConfig>;

/** The suite's widths and depths; 4 heads as xlstm (nano's heads are 8 wide). */
const PRESETS = {
  nano: { d_model: 32, n_layers: 2 },
  micro: { d_model: 64, n_layers: 2 },
  small: { d_model: 128, n_layers: 4 },
} satisfies Architecture<typeof slstmConfig>['presets'];

function dims(cfg: SlstmConfig): { d: number; h: number; dh: number; k: number; ff: number } {
  const d = cfg.d_model;
  return { d, h: cfg.n_heads, dh: d / cfg.n_heads, k: cfg.d_conv, ff: 8 * Math.ceil((cfg.ff_proj_factor * d) / 8) };
}

// ---------------------------------------------------------------------------------------------------------
// The sLSTM cell

/** m_0: −∞ in effect (exp gives 0), finite so no kernel meets an infinity (as mlstm.ts's). */
const M_START = -1e30;

/** The cell's state per layer, each (b, d): the output y (which the gates read back), c, n and m. */
export type SlstmCellState = { y: tf.Tensor2D; c: tf.Tensor2D; n: tf.Tensor2D; m: tf.Tensor2D };

export function initialSlstmState(b: number, d: number): SlstmCellState {
  return { y: tf.zeros([b, d]), c: tf.zeros([b, d]), n: tf.zeros([b, d]), m: tf.fill([b, d], M_START) };
}

/** The four gates' input parts W x, each (…, d); the recurrent parts are added step by step. */
export type GateInputs = { i: tf.Tensor; f: tf.Tensor; z: tf.Tensor; o: tf.Tensor };

/**
 * One stabilised step (xlstm's slstm_forward_pointwise), from the gates' input parts at this step (b, d) each, the
 * recurrent kernel R (h, dh, 4 dh: gates i, f, z, o in that order along the last axis) and the gates' biases
 * (4, d) → the next state, whose y is the step's output.
 */
export function slstmStep(state: SlstmCellState, wx: GateInputs, R: tf.Tensor3D, bias: tf.Tensor2D): SlstmCellState {
  return tf.tidy(() => {
    const [b, d] = state.y.shape;
    const [h, dh] = R.shape;
    // R y_{t−1} per head: (h, b, dh) × (h, dh, 4 dh) → (h, b, 4 dh) → four (b, d)
    const ry = tf.matMul(state.y.reshape([b, h, dh]).transpose([1, 0, 2]), R).reshape([h, b, 4, dh]).transpose([2, 1, 0, 3]).reshape([4, b, d]);
    const [ri, rf, rz, ro] = tf.unstack(ry);
    const [bi, bf, bz, bo] = tf.unstack(bias);
    const iPre = wx.i.add(ri).add(bi);
    const logF = logForgetGate(wx.f.add(rf).add(bf), 1); // log σ(f̃)
    const zPre = wx.z.add(rz).add(bz);
    const oPre = wx.o.add(ro).add(bo);
    const decayed = logF.add(state.m); // log f_t + m_{t−1}
    const m = tf.maximum(decayed, iPre) as tf.Tensor2D;
    const f = tf.exp(decayed.sub(m)); // f′_t
    const i = tf.exp(iPre.sub(m)); // i′_t
    const c = f.mul(state.c).add(i.mul(tf.tanh(zPre))) as tf.Tensor2D;
    const n = f.mul(state.n).add(i) as tf.Tensor2D;
    const y = tf.sigmoid(oPre).mul(c).div(n) as tf.Tensor2D;
    return { y, c, n, m };
  });
}

/** The cell over a sequence from `state`: gate inputs (b, l, d) each → y (b, l, d) and the last state. */
export function slstmSequence(wx: GateInputs, R: tf.Tensor3D, bias: tf.Tensor2D, start: SlstmCellState): { y: tf.Tensor3D; state: SlstmCellState } {
  return tf.tidy(() => {
    const [is, fs, zs, os] = [wx.i, wx.f, wx.z, wx.o].map((t) => unstackTime(t)); // l × (b, d)
    let state = start;
    const ys: tf.Tensor[] = [];
    is.forEach((_, t) => {
      state = slstmStep(state, { i: is[t], f: fs[t], z: zs[t], o: os[t] }, R, bias);
      ys.push(state.y);
    });
    return { y: tf.stack(ys, 1) as tf.Tensor3D, state };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Mixer (the sLSTM layer)

/** Recurrent state of one mixer: the last k − 1 conv inputs (b, k − 1, d) and the cell's y, c, n, m. */
export type SlstmMixerState = { conv: tf.Tensor3D } & SlstmCellState;

/** xlstm's forget-gate biases ("powerlaw_blockdependent") for block `block` of `blocks`, per channel of every head. */
export function forgetBiases(d: number, heads: number, block: number, blocks: number): Float32Array {
  const dh = d / heads;
  const ratio = blocks > 1 ? block / (blocks - 1) : 0;
  return Float32Array.from({ length: d }, (_, c) => {
    const j = c % dh;
    return 5 - 12 * (dh > 1 ? j / (dh - 1) : 0) ** (0.3 + 1.3 * ratio);
  });
}

export class SlstmMixer {
  readonly convWeight: tf.Variable; // (d, k)
  readonly convBias: tf.Variable; // (d)
  readonly iGate: HeadwiseLinear; // d → d, block-diagonal by head, from the conv's output
  readonly fGate: HeadwiseLinear;
  readonly zGate: HeadwiseLinear; // from the input itself
  readonly oGate: HeadwiseLinear;
  readonly recurrent: tf.Variable; // R (h, dh, 4 dh)
  readonly bias: tf.Variable; // (4, d): i, f, z, o
  readonly normWeight: tf.Variable; // (d), the group norm's scale

  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: SlstmConfig,
    block: number,
  ) {
    const { d, h, dh, k } = dims(cfg);
    // PyTorch's Conv1d default (fan-in k per channel), as xlstm's CausalConv1d; its weight decays (2-D), its bias not.
    this.convWeight = store.uniform(`${name}.conv.w`, [d, k], 1 / Math.sqrt(k), 'decay');
    this.convBias = store.uniform(`${name}.conv.b`, [d], 1 / Math.sqrt(k), 'no-decay');
    const smallStd = Math.sqrt(2 / (5 * d));
    this.iGate = new HeadwiseLinear(store, `${name}.igate`, d, dh, smallStd);
    this.fGate = new HeadwiseLinear(store, `${name}.fgate`, d, dh, smallStd);
    this.zGate = new HeadwiseLinear(store, `${name}.zgate`, d, dh, smallStd);
    this.oGate = new HeadwiseLinear(store, `${name}.ogate`, d, dh, smallStd);
    this.recurrent = store.constant(`${name}.recurrent_kernel`, [h, dh, 4 * dh], 0, 'decay');
    const biases = new Float32Array(4 * d);
    biases.set(forgetBiases(d, h, block, cfg.n_layers), d); // row 1: the forget gate
    this.bias = store.fromValues(`${name}.bias`, biases, [4, d], 'no-decay');
    this.normWeight = store.constant(`${name}.group_norm.w`, [d], 1, 'no-decay');
  }

  static paramCount(cfg: SlstmConfig): number {
    const { d, h, dh, k } = dims(cfg);
    return d * k + d + 4 * HeadwiseLinear.paramCount(d, dh) + h * dh * 4 * dh + 4 * d + d;
  }

  /** The gates' input parts from the input x and the conv's output xc (…, d). */
  private gateInputs(x: tf.Tensor, xc: tf.Tensor): GateInputs {
    return { i: this.iGate.apply(xc), f: this.fGate.apply(xc), z: this.zGate.apply(x), o: this.oGate.apply(x) };
  }

  /** The per-head group norm of the cell's output y (…, d), scaled per channel. */
  private output(y: tf.Tensor): tf.Tensor {
    const { h, dh } = dims(this.cfg);
    const heads = y.reshape([...y.shape.slice(0, -1), h, dh]);
    return layerNorm(heads, tf.ones([dh]), tf.zeros([dh]), 1e-5, this.cfg.layer_kernels).reshape(y.shape).mul(this.normWeight);
  }

  /** x (b, l, d) → (b, l, d). */
  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b] = x.shape;
      const xc = silu(causalConv1d(x, this.convWeight, this.convBias), this.cfg.layer_kernels); // (b, l, d)
      const { y } = slstmSequence(this.gateInputs(x, xc), this.recurrent as tf.Tensor3D, this.bias as tf.Tensor2D, initialSlstmState(b, this.cfg.d_model));
      return this.output(y) as tf.Tensor3D; // (b, l, d)
    });
  }

  initState(batchSize: number): SlstmMixerState {
    const { d, k } = dims(this.cfg);
    return { conv: tf.zeros([batchSize, k - 1, d]), ...initialSlstmState(batchSize, d) };
  }

  /** One token x (b, d) → (b, d), from the previous state to the next. */
  step(x: tf.Tensor2D, state: SlstmMixerState): { y: tf.Tensor2D; state: SlstmMixerState } {
    return tf.tidy(() => {
      const window = tf.concat([state.conv, x.expandDims(1)], 1); // (b, k, d)
      const xc = silu(window.mul(this.convWeight.transpose()).sum(1).add(this.convBias), this.cfg.layer_kernels); // (b, d)
      const { conv: _, ...cell } = state;
      const next = slstmStep(cell, this.gateInputs(x, xc), this.recurrent as tf.Tensor3D, this.bias as tf.Tensor2D);
      const conv = window.slice([0, 1, 0], [-1, -1, -1]) as tf.Tensor3D; // (b, k − 1, d)
      return { y: this.output(next.y) as tf.Tensor2D, state: { conv, ...next } };
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Gated feed-forward, block and LM

/** xlstm's GatedFeedForward: W_down(gelu(x W_gate) ⊙ x W_up), d → ff → d, no biases. */
export class GatedFeedForward {
  readonly up: Linear; // d → 2 ff: (gate, up)
  readonly down: Linear; // ff → d
  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: SlstmConfig,
  ) {
    const { d, ff } = dims(cfg);
    this.up = new Linear(store, `${name}.proj_up`, d, 2 * ff, { bias: false, std: Math.sqrt(2 / (5 * d)) });
    this.down = new Linear(store, `${name}.proj_down`, ff, d, { bias: false, std: 2 / cfg.n_layers / Math.sqrt(d) });
  }

  static paramCount(d: number, ff: number): number {
    return Linear.paramCount(d, 2 * ff, false) + Linear.paramCount(ff, d, false);
  }

  apply(x: tf.Tensor): tf.Tensor {
    const [gate, up] = tf.split(this.up.apply(x), 2, -1);
    return this.down.apply(gelu(gate, this.cfg.layer_kernels).mul(up)); // (…, d)
  }
}

/** xlstm's xLSTMBlock with an sLSTM layer: x + sLSTM(RMSNorm(x)), then x + FFN(RMSNorm(x)) (mamba.ts MlpResidualBlock). */
export class SlstmBlock extends MlpResidualBlock<SlstmMixer, SlstmMixerState, GatedFeedForward> {
  constructor(store: ParamStore, name: string, cfg: SlstmConfig, index: number) {
    const mixer = (s: ParamStore, n: string) => new SlstmMixer(s, n, cfg, index);
    super(store, name, cfg.d_model, cfg.layer_kernels, mixer, 'ffn_norm', (s, n) => new GatedFeedForward(s, `${n}.ffn`, cfg));
  }

  static paramCount(cfg: SlstmConfig): number {
    const { d, ff } = dims(cfg);
    return 2 * RMSNorm.paramCount(d) + SlstmMixer.paramCount(cfg) + GatedFeedForward.paramCount(d, ff);
  }
}

/** The residual LM (mamba.ts ResidualLM) with sLSTM blocks: xLSTM[0:1], sLSTM blocks only. */
export class SlstmLM extends ResidualLM<SlstmMixer, SlstmMixerState> {
  constructor(cfg: SlstmConfig, io: ModelIO) {
    // ResidualLM names block i `layers.${i}`; the forget gate's initialisation depends on i
    super('slstm', cfg, io, (store, name) => new SlstmBlock(store, name, cfg, Number(name.split('.')[1])));
  }

  declare readonly cfg: SlstmConfig;
  declare readonly blocks: SlstmBlock[];
}

// ---------------------------------------------------------------------------------------------------------
// Costs and registry entry

function paramCount(cfg: SlstmConfig, io: ModelIO): number {
  const d = cfg.d_model;
  return io.vocabSize * d + cfg.n_layers * SlstmBlock.paramCount(cfg) + RMSNorm.paramCount(d);
}

/**
 * One layer's forward FLOPs per token: matmuls at 2 FLOPs per multiply-add (the four headwise gate projections,
 * d · dh each; the recurrent kernel, 4 dh² per head; the feed-forward's d · 2 ff and ff · d), the conv's 2 per
 * tap and channel, and the cell's 18 element-wise operations per channel (the three recurrent and bias adds per
 * gate beyond the first: 7; log σ, the max, two subtractions and two exps: 6; tanh, σ, c's and n's updates, the
 * division and o's product: 5 counted as one each where the update's multiply-add counts once). Norms are not
 * counted (as in mamba.ts). Constant in the context length.
 */
export function slstmLayerFlops(cfg: SlstmConfig): number {
  const { d, h, dh, k, ff } = dims(cfg);
  return 2 * 4 * d * dh + 2 * h * dh * 4 * dh + 2 * k * d + 18 * d + 2 * (d * 2 * ff + ff * d);
}

function flopsPerToken(cfg: SlstmConfig, io: ModelIO): Flops {
  const forward = cfg.n_layers * slstmLayerFlops(cfg) + 2 * cfg.d_model * io.vocabSize;
  return { forward, training: 3 * forward };
}

/** fp32 bytes per sequence of one layer's conv window ((k − 1) · d) and cell state (y, c, n, m: 4 · d); independent of L. */
export function slstmLayerStateBytes(cfg: SlstmConfig): number {
  const { d, k } = dims(cfg);
  return ((k - 1) * d + 4 * d) * 4;
}

export const slstm = {
  name: 'slstm',
  family: 'xlstm',
  form: 'lm',
  description: "xLSTM's sLSTM LM (Beck et al. 2024): scalar memory, exponential input gate with stabiliser, block-diagonal recurrence by head, gated feed-forward",
  config: slstmConfig,
  presets: PRESETS,
  build: (cfg: SlstmConfig, io: ModelIO) => new SlstmLM(slstmConfig.parse(cfg), io),
  paramCount,
  flopsPerToken: (cfg: SlstmConfig, io: ModelIO) => flopsPerToken(cfg, io),
  stateBytes: (cfg: SlstmConfig) => cfg.n_layers * slstmLayerStateBytes(cfg),
  size: (cfg: SlstmConfig) => ({ dModel: cfg.d_model, nLayers: cfg.n_layers }),
} satisfies Architecture<typeof slstmConfig>;
