/**
 * Mamba, read top to bottom in the order data flows (after mamba-minimal and state-spaces/mamba's
 * mamba_simple.py): Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces",
 * arXiv:2312.00752.
 *
 *   config → causal depthwise conv1d → mixer (the Mamba block) → residual block → LM
 *
 * Glossary (the paper's symbols, as in mamba-minimal):
 *   b  batch size                 l  sequence length              d  d_model (residual stream width)
 *   di inner width, expand · d    n  state size per channel (d_state)
 *   r  rank of Δ's projection, dt_rank = ⌈d / 16⌉
 *   Δ  step size (b, l, di), input-dependent: softplus(dt_proj(x_proj(x)) + dt bias)
 *   A  state matrix, diagonal per channel (di, n), A = −exp(A_log), input-independent
 *   B  input matrix (b, l, n) and C output matrix (b, l, n), input-dependent (x_proj of x)
 *   D  skip connection per channel (di)
 *
 * The block (paper Fig. 3, Algorithm 2): in-projection to x and z; causal depthwise conv1d and SiLU on x;
 * Δ, B, C from x; discretisation (eq. 4: Ā = exp(ΔA), B̄ = ΔB); the selective scan (eq. 2a–2b:
 * h_t = Ā_t h_{t−1} + B̄_t x_t, y_t = C_t h_t + D x_t); y gated by SiLU(z); out-projection. Blocks are
 * pre-norm RMSNorm residuals, with a final RMSNorm and the head tied to the embedding.
 *
 * `selective: false` is the LTI ablation (S4D-style): Δ (one per channel), B and C (one per state) are
 * learned parameters, the same at every position and for every input. The registry lists it as `mamba-lti`.
 *
 * step() decodes one token in O(1): the state is the last d_conv − 1 conv inputs and h (b, di, n) per layer.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { SCAN_IMPLS, selectiveScan } from './kernels/selective-scan.ts';
import { broadcastLeading, Embedding, Linear, ParamStore, RMSNorm, silu, tensorBytes, unstackTime, layerKernelsOption } from './layers.ts';
import type { Architecture, DecodeState, Flops, LMModel, ModelIO, StepOutput } from './types.ts';

// ---------------------------------------------------------------------------------------------------------
// Config

/** The config schema; `selective` defaults differ between the `mamba` and `mamba-lti` entries. */
function configSchema(selectiveByDefault: boolean) {
  return z
    .object({
      d_model: z.number().int().positive().default(64).describe('Width of the residual stream'),
      n_layers: z.number().int().positive().default(2).describe('Residual blocks (each one Mamba mixer)'),
      d_state: z.number().int().positive().default(16).describe('State size n per channel'),
      d_conv: z.number().int().min(2).default(4).describe('Width of the causal depthwise convolution'),
      expand: z.number().int().positive().default(2).describe('Inner width di = expand · d_model'),
      dt_rank: z.number().int().positive().optional().describe("Rank r of Δ's low-rank projection; ⌈d_model / 16⌉ when omitted"),
      dt_min: z.number().positive().default(1e-3).describe('Smallest initial Δ (Δ starts log-uniform in [dt_min, dt_max])'),
      dt_max: z.number().positive().default(0.1).describe('Largest initial Δ'),
      dt_init_floor: z.number().positive().default(1e-4).describe('Floor of the initial Δ'),
      selective: z
        .boolean()
        .default(selectiveByDefault)
        .describe('Input-dependent Δ, B, C (Mamba); false: learned constants (the LTI ablation)'),
      scan: z
        .enum(SCAN_IMPLS)
        .default('auto')
        .describe('Scan: `auto` is the fused kernel on cpu/wasm, the WGSL one on webgpu and the chunked scan elsewhere; fused, chunked or reference force one'),
      layer_kernels: layerKernelsOption,
      seed: z.number().int().nonnegative().default(0).describe('Seed of the weight initialisation'),
    })
    .superRefine((c, ctx) => {
      if (c.dt_min > c.dt_max) {
        ctx.addIssue({ code: 'custom', path: ['dt_min'], message: `dt_min ${c.dt_min} exceeds dt_max ${c.dt_max}: swap them` });
      }
    });
}

export const mambaConfig = configSchema(true);
export const mambaLtiConfig = configSchema(false);
export type MambaConfig = z.infer<typeof mambaConfig>;

/** micro (d 64, 2 layers) is the model compared with the PyTorch reference; nano and small bracket it. */
const PRESETS = {
  nano: { d_model: 32, n_layers: 2 },
  micro: { d_model: 64, n_layers: 2 },
  small: { d_model: 128, n_layers: 4 },
} satisfies Architecture<typeof mambaConfig>['presets'];

/** The derived sizes every part needs. */
function dims(cfg: MambaConfig): { d: number; di: number; n: number; r: number; k: number } {
  return { d: cfg.d_model, di: cfg.expand * cfg.d_model, n: cfg.d_state, r: cfg.dt_rank ?? Math.ceil(cfg.d_model / 16), k: cfg.d_conv };
}

// ---------------------------------------------------------------------------------------------------------
// Causal depthwise conv1d

/**
 * Depthwise conv1d over time, causal: y_t = bias + Σ_j w[:, j] ⊙ x_{t−(k−1)+j}, with zeros before the
 * start (PyTorch's Conv1d(groups=di, padding=k−1) truncated to l). x (b, l, c), weight (c, k), bias (c).
 */
export function causalConv1d(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [, l] = x.shape;
    const k = weight.shape[1] as number;
    const padded = tf.pad(x, [
      [0, 0],
      [k - 1, 0],
      [0, 0],
    ]); // (b, l + k − 1, c)
    const taps = unstackTime(weight, 1); // k × (c)
    return taps.reduce((y: tf.Tensor, w, j) => y.add(padded.slice([0, j, 0], [-1, l, -1]).mul(w)), bias); // (b, l, c)
  });
}

// ---------------------------------------------------------------------------------------------------------
// Mixer (the Mamba block)

/** What the scan reads besides its input: Δ (b, l, di), B and C (b, l, n). (Type aliases, so tf.tidy can return them.) */
export type ScanInputs = { delta: tf.Tensor3D; B: tf.Tensor3D; C: tf.Tensor3D };

/** Recurrent state of one mixer: the last k − 1 conv inputs (b, k − 1, di) and h (b, di, n). */
export type MixerState = { conv: tf.Tensor3D; h: tf.Tensor3D };

/** Inverse of softplus, so that softplus(dt bias) starts at the drawn Δ. */
const inverseSoftplus = (y: number): number => y + Math.log(-Math.expm1(-y));

/**
 * The initial dt bias of `count` channels (Mamba) or heads (Mamba-2): Δ drawn log-uniform in [dt_min, dt_max]
 * and floored at dt_init_floor, so they begin with time scales from ~10 to ~1000 steps, stored through the
 * inverse of softplus.
 */
export function initialDtBias(store: ParamStore, count: number, cfg: { dt_min: number; dt_max: number; dt_init_floor: number }): number[] {
  const logMin = Math.log(cfg.dt_min);
  const logMax = Math.log(cfg.dt_max);
  return Array.from(store.random(count), (u) => inverseSoftplus(Math.max(Math.exp(logMin + u * (logMax - logMin)), cfg.dt_init_floor)));
}

export class MambaMixer {
  readonly inProj: Linear;
  readonly convWeight: tf.Variable; // (di, k)
  readonly convBias: tf.Variable; // (di)
  readonly xProj: Linear | null; // di → r + 2n (selective only)
  readonly dtProj: Linear | null; // r → di (selective only)
  readonly dtBias: tf.Variable; // (di)
  readonly ltiB: tf.Variable | null; // (n) (LTI only)
  readonly ltiC: tf.Variable | null; // (n) (LTI only)
  readonly aLog: tf.Variable; // (di, n)
  readonly D: tf.Variable; // (di)
  readonly outProj: Linear;

  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: MambaConfig,
  ) {
    const { d, di, n, r, k } = dims(cfg);
    this.inProj = new Linear(store, `${name}.in_proj`, d, 2 * di, { bias: false });
    this.convWeight = store.uniform(`${name}.conv.w`, [di, k], 1 / Math.sqrt(k), 'decay');
    this.convBias = store.uniform(`${name}.conv.b`, [di], 1 / Math.sqrt(k), 'no-decay');
    this.xProj = cfg.selective ? new Linear(store, `${name}.x_proj`, di, r + 2 * n, { bias: false }) : null;
    // PyTorch's default ±1/√r is mamba_simple's dt_proj init ("random", dt_scale 1).
    this.dtProj = cfg.selective ? new Linear(store, `${name}.dt_proj`, r, di, { bias: false }) : null;
    this.dtBias = store.fromValues(`${name}.dt_bias`, initialDtBias(store, di, cfg), [di], 'no-decay');
    // LTI: B = 1 and C ~ N(0, ½), the real part of S4D's standard complex normal C.
    this.ltiB = cfg.selective ? null : store.constant(`${name}.B`, [n], 1, 'no-decay');
    this.ltiC = cfg.selective ? null : store.normal(`${name}.C`, [n], Math.SQRT1_2, 'no-decay');
    // S4D-Real: A = −(1, 2, …, n) in every channel; A_log keeps A negative while it trains.
    // Neither A_log nor D decays (mamba_simple: `_no_weight_decay = True`): decay would pull A towards −1,
    // one time scale for every state, and D towards 0.
    const aLog = Array.from({ length: di * n }, (_, i) => Math.log((i % n) + 1));
    this.aLog = store.fromValues(`${name}.A_log`, aLog, [di, n], 'no-decay');
    this.D = store.constant(`${name}.D`, [di], 1, 'no-decay');
    // Mamba's prenorm-residual rescale: the out-projection's std is divided by √n_layers.
    this.outProj = new Linear(store, `${name}.out_proj`, di, d, { bias: false, std: 1 / Math.sqrt(3 * di * cfg.n_layers) });
  }

  static paramCount(cfg: MambaConfig): number {
    const { d, di, n, r, k } = dims(cfg);
    const dependent = cfg.selective ? Linear.paramCount(di, r + 2 * n, false) + Linear.paramCount(r, di, false) : 2 * n;
    return Linear.paramCount(d, 2 * di, false) + di * k + di + dependent + di + di * n + di + Linear.paramCount(di, d, false);
  }

  /** A = −exp(A_log) (di, n). */
  A(): tf.Tensor2D {
    return this.aLog.exp().neg() as tf.Tensor2D;
  }

  /** Δ, B, C for the conv output xc (b, l, di): projections of xc, or learned constants when LTI. */
  scanInputs(xc: tf.Tensor3D): ScanInputs {
    return tf.tidy(() => {
      const [b, l, di] = xc.shape;
      const n = this.cfg.d_state;
      if (!this.xProj || !this.dtProj) {
        return {
          delta: broadcastLeading(tf.softplus(this.dtBias), [b, l, di]) as tf.Tensor3D,
          B: broadcastLeading(this.ltiB!, [b, l, n]) as tf.Tensor3D,
          C: broadcastLeading(this.ltiC!, [b, l, n]) as tf.Tensor3D,
        };
      }
      const r = this.dtProj.inDim;
      const [dtIn, B, C] = tf.split(this.xProj.apply(xc), [r, n, n], -1); // (b, l, r), (b, l, n), (b, l, n)
      const delta = tf.softplus(this.dtProj.apply(dtIn).add(this.dtBias)); // (b, l, di)
      return { delta: delta as tf.Tensor3D, B: B as tf.Tensor3D, C: C as tf.Tensor3D };
    });
  }

  /** x (b, l, d) → (b, l, d). */
  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [xi, z] = tf.split(this.inProj.apply(x), 2, -1); // (b, l, di) each
      const xc = silu(causalConv1d(xi, this.convWeight, this.convBias), this.cfg.layer_kernels) as tf.Tensor3D; // (b, l, di)
      const { delta, B, C } = this.scanInputs(xc);
      const y = selectiveScan(xc, delta, this.A(), B, C, this.D as tf.Tensor1D, this.cfg.scan); // (b, l, di)
      return this.outProj.apply(y.mul(silu(z, this.cfg.layer_kernels))) as tf.Tensor3D; // (b, l, d)
    });
  }

  initState(batchSize: number): MixerState {
    const { di, n, k } = dims(this.cfg);
    return { conv: tf.zeros([batchSize, k - 1, di]), h: tf.zeros([batchSize, di, n]) };
  }

  /** One token x (b, d) → (b, d), from the previous state to the next; the same arithmetic as apply(). */
  step(x: tf.Tensor2D, state: MixerState): { y: tf.Tensor2D; state: MixerState } {
    return tf.tidy(() => {
      const [xi, z] = tf.split(this.inProj.apply(x), 2, -1); // (b, di) each
      const window = tf.concat([state.conv, xi.expandDims(1)], 1); // (b, k, di)
      const xc = silu(window.mul(this.convWeight.transpose()).sum(1).add(this.convBias), this.cfg.layer_kernels) as tf.Tensor2D; // (b, di)
      const { delta, B, C } = this.scanInputs(xc.expandDims(1) as tf.Tensor3D); // B, C (b, 1, n) broadcast over di
      const dt = delta.squeeze([1]); // (b, di)
      const deltaA = tf.exp(dt.expandDims(-1).mul(this.A())); // (b, di, n)
      const deltaBu = dt.mul(xc).expandDims(-1).mul(B); // (b, di, n)
      const h = deltaA.mul(state.h).add(deltaBu) as tf.Tensor3D; // (b, di, n)
      const y = h.mul(C).sum(-1).add(xc.mul(this.D)); // (b, di)
      const conv = window.slice([0, 1, 0], [-1, -1, -1]) as tf.Tensor3D; // (b, k − 1, di)
      return { y: this.outProj.apply(y.mul(silu(z, this.cfg.layer_kernels))) as tf.Tensor2D, state: { conv, h } };
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Residual block and LM

/**
 * A sequence mixer with a decode state of constant size (Mamba's and Mamba-2's): the full-sequence
 * forward, one decode step, and a fresh state. `S` is a record of the state's tensors.
 */
export interface StatefulMixer<S extends Record<string, tf.Tensor>> {
  apply(x: tf.Tensor3D): tf.Tensor3D;
  step(x: tf.Tensor2D, state: S): { y: tf.Tensor2D; state: S };
  initState(batchSize: number): S;
}

/** Pre-norm residual: x + mixer(RMSNorm(x)); the norm's parameters are made before the mixer's. */
export class ResidualBlock<M extends StatefulMixer<S>, S extends Record<string, tf.Tensor>> {
  readonly norm: RMSNorm;
  readonly mixer: M;
  constructor(store: ParamStore, name: string, d: number, layerKernels: MambaConfig['layer_kernels'], mixer: (store: ParamStore, name: string) => M) {
    this.norm = new RMSNorm(store, `${name}.norm`, d, layerKernels);
    this.mixer = mixer(store, `${name}.mixer`);
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => x.add(this.mixer.apply(this.norm.apply(x) as tf.Tensor3D)));
  }

  step(x: tf.Tensor2D, state: S): { y: tf.Tensor2D; state: S } {
    return tf.tidy(() => {
      const out = this.mixer.step(this.norm.apply(x) as tf.Tensor2D, state);
      return { y: x.add(out.y) as tf.Tensor2D, state: out.state };
    });
  }
}

/** What a block's feed-forward offers: (…, d) → (…, d). */
export interface FeedForward {
  apply(x: tf.Tensor): tf.Tensor;
}

/**
 * A pre-norm residual mixer, then a pre-norm residual feed-forward: x + mixer(RMSNorm(x)), then x + mlp(RMSNorm(x)).
 * The layout of fla's GLABlock, zoology's TransformerBlock around Hyena and xlstm's xLSTMBlock around the sLSTM; the
 * second norm is `${name}.${normName}` as each reference names it, and `mlp` makes the feed-forward under the block's
 * name. Parameters are made in the order data flows: the norm, the mixer, the second norm, the feed-forward.
 */
export class MlpResidualBlock<M extends StatefulMixer<S>, S extends Record<string, tf.Tensor>, F extends FeedForward> extends ResidualBlock<M, S> {
  readonly mlpNorm: RMSNorm;
  readonly mlp: F;
  constructor(
    store: ParamStore,
    name: string,
    d: number,
    layerKernels: MambaConfig['layer_kernels'],
    mixer: (store: ParamStore, name: string) => M,
    normName: string,
    mlp: (store: ParamStore, blockName: string) => F,
  ) {
    super(store, name, d, layerKernels, mixer);
    this.mlpNorm = new RMSNorm(store, `${name}.${normName}`, d, layerKernels);
    this.mlp = mlp(store, name);
  }

  private feedForward(x: tf.Tensor): tf.Tensor {
    return x.add(this.mlp.apply(this.mlpNorm.apply(x)));
  }

  override apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => this.feedForward(super.apply(x)) as tf.Tensor3D);
  }

  override step(x: tf.Tensor2D, state: S): { y: tf.Tensor2D; state: S } {
    return tf.tidy(() => {
      const out = super.step(x, state);
      return { y: this.feedForward(out.y) as tf.Tensor2D, state: out.state };
    });
  }
}

export class MambaBlock extends ResidualBlock<MambaMixer, MixerState> {
  constructor(store: ParamStore, name: string, cfg: MambaConfig) {
    super(store, name, cfg.d_model, cfg.layer_kernels, (s, n) => new MambaMixer(s, n, cfg));
  }

  static paramCount(cfg: MambaConfig): number {
    return RMSNorm.paramCount(cfg.d_model) + MambaMixer.paramCount(cfg);
  }
}

/** Per-layer decode states of the model named `arch`: Mamba's do not grow with the tokens decoded, Hyena's histories do. */
class RecurrentState<S extends Record<string, tf.Tensor>> implements DecodeState {
  constructor(
    readonly arch: string,
    readonly layers: S[],
  ) {}

  bytes(): number {
    return tensorBytes(this.layers.flatMap((s) => Object.values(s)));
  }

  dispose(): void {
    for (const s of this.layers) tf.dispose(Object.values(s));
  }
}

/** What the residual SSM language model reads of its config. */
type ResidualLMConfig = Pick<MambaConfig, 'd_model' | 'n_layers' | 'seed' | 'layer_kernels'>;

/**
 * Embedding → n_layers residual mixer blocks → RMSNorm → the tied head: Mamba's language model
 * (mamba_simple's MixerModel), shared by Mamba and Mamba-2, which differ only in their mixer.
 */
export class ResidualLM<M extends StatefulMixer<S>, S extends Record<string, tf.Tensor>> implements LMModel {
  readonly form = 'lm' as const;
  readonly store: ParamStore;
  readonly embedding: Embedding;
  readonly blocks: ResidualBlock<M, S>[];
  readonly normF: RMSNorm;

  constructor(
    private readonly arch: string,
    readonly cfg: ResidualLMConfig,
    readonly io: ModelIO,
    block: (store: ParamStore, name: string) => ResidualBlock<M, S>,
  ) {
    this.store = new ParamStore(cfg.seed);
    this.embedding = new Embedding(this.store, 'embedding', io.vocabSize, cfg.d_model, Embedding.DEFAULT_STD, cfg.layer_kernels);
    this.blocks = Array.from({ length: cfg.n_layers }, (_, i) => block(this.store, `layers.${i}`));
    this.normF = new RMSNorm(this.store, 'norm_f', cfg.d_model, cfg.layer_kernels);
  }

  get trainableWeights(): tf.Variable[] {
    return this.store.variables;
  }

  get decayedWeights(): ReadonlySet<tf.Variable> {
    return this.store.decayed;
  }

  /** The tied head: hidden (…, d) → logits (…, v) with the embedding table. */
  private head(h: tf.Tensor): tf.Tensor {
    const d = this.cfg.d_model;
    const logits = tf.matMul(this.normF.apply(h).reshape([-1, d]), this.embedding.table, false, true); // (…, v)
    return logits.reshape([...h.shape.slice(0, -1), this.io.vocabSize]);
  }

  forward(tokens: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      let x = this.embedding.apply(tokens) as tf.Tensor3D; // (b, l, d)
      for (const block of this.blocks) x = block.apply(x);
      return this.head(x) as tf.Tensor3D; // (b, l, v)
    });
  }

  initState(batchSize: number): DecodeState {
    return new RecurrentState(this.arch, this.blocks.map((block) => block.mixer.initState(batchSize)));
  }

  step(token: tf.Tensor1D, state: DecodeState): StepOutput {
    if (!(state instanceof RecurrentState) || state.arch !== this.arch) throw new Error(`${this.arch} step() needs a state from this model's initState()`);
    const layers = state.layers as S[];
    const out = tf.tidy(() => {
      let x = this.embedding.apply(token) as tf.Tensor2D; // (b, d)
      const next: S[] = [];
      this.blocks.forEach((block, i) => {
        const stepped = block.step(x, layers[i]);
        x = stepped.y;
        next.push(stepped.state);
      });
      return { logits: this.head(x) as tf.Tensor2D, next }; // (b, v)
    });
    return { logits: out.logits, state: new RecurrentState(this.arch, out.next) };
  }

  dispose(): void {
    this.store.dispose();
  }
}

export class MambaLM extends ResidualLM<MambaMixer, MixerState> {
  constructor(cfg: MambaConfig, io: ModelIO) {
    super('mamba', cfg, io, (store, name) => new MambaBlock(store, name, cfg));
  }

  declare readonly cfg: MambaConfig;
}

// ---------------------------------------------------------------------------------------------------------
// Costs and registry entries

function paramCount(cfg: MambaConfig, io: ModelIO): number {
  const d = cfg.d_model;
  return io.vocabSize * d + cfg.n_layers * MambaBlock.paramCount(cfg) + RMSNorm.paramCount(d);
}

/**
 * One layer's forward FLOPs per token: matmuls at 2 FLOPs per multiply-add, plus the scan's 7 per
 * (channel, state): Δ·A, exp, Ā·h, (Δu)·B, the add, and C·h's multiply-add. Constant in the context
 * length: the scan is linear-time.
 */
export function mambaLayerFlops(cfg: MambaConfig): number {
  const { d, di, n, r, k } = dims(cfg);
  const dependent = cfg.selective ? 2 * di * (r + 2 * n) + 2 * r * di : 0;
  return 2 * d * 2 * di + 2 * k * di + dependent + 7 * di * n + 2 * di * d;
}

function flopsPerToken(cfg: MambaConfig, io: ModelIO): Flops {
  const forward = cfg.n_layers * mambaLayerFlops(cfg) + 2 * cfg.d_model * io.vocabSize;
  return { forward, training: 3 * forward };
}

/** fp32 bytes per sequence of one layer's conv window ((k − 1) · di) and state (di · n); independent of L. */
export function mambaLayerStateBytes(cfg: MambaConfig): number {
  const { di, n, k } = dims(cfg);
  return ((k - 1) * di + di * n) * 4;
}

/** Everything but the name and the schema is shared by the two entries (the schemas differ only in a default). */
type Shared = Omit<Architecture<typeof mambaConfig>, 'name' | 'description' | 'config' | 'build'>;

const common: Shared = {
  family: 'mamba',
  form: 'lm',
  presets: PRESETS,
  paramCount,
  flopsPerToken: (cfg, io) => flopsPerToken(cfg, io),
  stateBytes: (cfg) => cfg.n_layers * mambaLayerStateBytes(cfg),
  size: (cfg) => ({ dModel: cfg.d_model, nLayers: cfg.n_layers }),
};

export const mamba = {
  ...common,
  name: 'mamba',
  description: 'Mamba selective SSM LM (Gu & Dao 2023): input-dependent Δ, B, C, fused selective scan, RMSNorm, tied head',
  config: mambaConfig,
  build: (cfg: MambaConfig, io: ModelIO) => new MambaLM(mambaConfig.parse(cfg), io),
} satisfies Architecture<typeof mambaConfig>;

export const mambaLti = {
  ...common,
  name: 'mamba-lti',
  description: 'Mamba with an LTI scan (S4D-style ablation): Δ, B, C learned constants, not input-dependent',
  config: mambaLtiConfig,
  build: (cfg: MambaConfig, io: ModelIO) => new MambaLM(mambaLtiConfig.parse(cfg), io),
} satisfies Architecture<typeof mambaLtiConfig>;
