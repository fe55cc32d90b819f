/**
 * Hyena, read top to bottom in the order data flows (after safari's HyenaOperator, src/models/sequence/hyena.py,
 * and zoology's mixers/hyena.py): Poli et al. 2023, "Hyena Hierarchy: Towards Larger Convolutional Language
 * Models", arXiv:2302.10866.
 *
 *   config → the long causal convolution (direct reference, FFT) → implicit filter → operator → block → LM
 *
 * Glossary (the paper's symbols):
 *   b  batch size                 l  sequence length              d  d_model (residual stream width)
 *   N  order of the operator (order): N + 1 projections, N − 1 long convolutions; 2 is zoology's and the paper's
 *   L  l_max, the longest sequence (the model's maxLen): the filter is defined on positions 0 … L − 1
 *   x⁰ … x^{N−1}, v   the N + 1 projections of the input, each (b, l, d), after the short conv
 *   h  an implicit long filter (l, d) per convolution, h_t = FFN(z_t) · window(t), and D its bias (skip)
 *   z  positional features (l, emb_dim): t, and cos / −sin of (emb_dim − 1) / 2 frequencies
 *   fo the FFN's width (filter_order)
 *
 * The operator (paper §3, Def. 3.1; safari's HyenaOperator.forward): an in-projection to (N + 1) · d; a short
 * causal depthwise conv (width 3) over all of it; split into x⁰ … x^{N−1} and v; then for each of the N − 1
 * long convolutions, v ← h ∗ (v ⊙ xⁱ) + D ⊙ (v ⊙ xⁱ) (gate, then convolve; the last gate x⁰ after them);
 * out-projection. Each filter is implicit (paper §3.3): a small FFN of sinusoidal positional features with Sin
 * activations (a learnable frequency, one vector shared by every Sin as safari's `act` is), times an
 * exponential-decay window exp(−t·|δ|) with one fixed rate per channel (safari's ExponentialModulation: the
 * filter falls to 1 % by 30 % of L in its fastest channel, by 150 % in its slowest).
 *
 * The long convolution y_t = Σ_{s≤t} h_{t−s} u_s runs two ways, tested equal forward and in every gradient:
 * - `direct`: the O(l²) sum itself, l shifted copies of u weighted by the filter (readable reference);
 * - `fft` (default): zero-pad to a power of two ≥ 2l, multiply the spectra, invert, keep the first l: O(l log l) a
 *   channel. tfjs 4.22's tf.spectral.rfft has no gradient (Real, Complex, FFT have none) and no wasm kernel at all,
 *   so the FFT here is composed of tfjs ops (its first log₂ 64 stages one product with the 64-point DFT matrix,
 *   the rest radix-2 stages of butterflies; FFT_BASE) and runs on every backend; the
 *   convolution is one tf.customGrad whose gradients are correlations, themselves FFT products:
 *   du = h ⋆ dy (spectra dY · conj(H)), dh = Σ_b u ⋆ dy (dY · conj(U)).
 *
 * The block and LM: pre-norm residual blocks with an MLP, as zoology's TransformerBlock runs Hyena,
 * x + Hyena(norm(x)), then x + MLP(norm(x)) (d → 4d → GELU → d, transformer.ts's MLP), a final norm and the head
 * tied to the embedding. The norms are RMSNorm where zoology has LayerNorm: the block and LM are mamba.ts's
 * MlpResidualBlock and ResidualLM, so Hyena differs from Mamba and Mamba-2 in its mixer and its MLP. Initialisation is
 * zoology's `_init_weights`: every Linear (the filter FFN's too) N(0, 0.02²) with zero bias, out_proj and the MLP's
 * second matrix scaled by 1/√(2·n_layers); the short conv PyTorch's Conv1d default; D ~ N(0, 1); Sin frequency w.
 *
 * step(): recurrence-free decode, cost grows with context. Hyena has no recurrent state: the decode state is the
 * short conv's last k − 1 inputs and the history of every long convolution's inputs (b, t, (N − 1)·d), and each
 * new output is the direct convolution over that history (O(t) a token, the filter evaluated at positions 0 … t),
 * so state bytes grow linearly with the context, as a KV cache does.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Linear, ParamStore, RMSNorm, layerKernelsOption } from './layers.ts';
import { causalConv1d, MlpResidualBlock, ResidualLM } from './mamba.ts';
import { MLP } from './transformer.ts';
import type { Architecture, Flops, ModelIO } from './types.ts';

// ---------------------------------------------------------------------------------------------------------
// Config

/** How the model computes the long convolution; the two are tested equal, forward and gradient. */
export const LONG_CONVS = ['fft', 'direct'] as const;
export type LongConv = (typeof LONG_CONVS)[number];

export const hyenaConfig = z
  .object({
    d_model: z.number().int().positive().default(64).describe('Width of the residual stream'),
    n_layers: z.number().int().positive().default(2).describe('Residual blocks (each a Hyena operator and an MLP)'),
    order: z.number().int().min(2).default(2).describe('Order N of the operator: N + 1 projections, N − 1 long convolutions (safari, zoology: 2)'),
    filter_order: z.number().int().positive().default(64).describe('Width fo of the implicit filter FFN (safari, zoology: 64)'),
    emb_dim: z.number().int().min(3).default(3).describe('Positional features of the filter: t and (emb_dim − 1) / 2 cos/sin bands; odd (safari, zoology: 3)'),
    num_inner_mlps: z.number().int().nonnegative().default(2).describe('Hidden fo × fo layers of the filter FFN (safari, zoology: 2)'),
    short_filter_order: z.number().int().min(1).default(3).describe('Width of the short causal depthwise conv over the projections (safari: 3)'),
    w: z.number().positive().default(1).describe('Initial frequency of the Sin activations (safari, zoology: 1)'),
    fast_decay_pct: z.number().positive().default(0.3).describe('The fastest channel of the decay window reaches `target` at this fraction of l_max'),
    slow_decay_pct: z.number().positive().default(1.5).describe('The slowest channel reaches `target` at this fraction of l_max'),
    target: z.number().positive().lt(1).default(1e-2).describe('Value of the decay window at those fractions'),
    long_conv: z
      .enum(LONG_CONVS)
      .optional()
      .describe('The long convolution: `fft` (when omitted; O(l log l) a channel) or the `direct` O(l²) sum it is tested equal to'),
    layer_kernels: layerKernelsOption,
    seed: z.number().int().nonnegative().default(0).describe('Seed of the weight initialisation'),
  })
  .superRefine((c, ctx) => {
    if (c.emb_dim % 2 === 0) {
      ctx.addIssue({ code: 'custom', path: ['emb_dim'], message: `emb_dim ${c.emb_dim} must be odd: t and one cos and one sin per band` });
    }
    if (c.fast_decay_pct > c.slow_decay_pct) {
      ctx.addIssue({ code: 'custom', path: ['fast_decay_pct'], message: `fast_decay_pct ${c.fast_decay_pct} exceeds slow_decay_pct ${c.slow_decay_pct}: swap them` });
    }
  });
export type HyenaConfig = z.infer<typeof hyenaConfig>;

/**
 * Mamba's widths and depths; the filter FFN's width grows with them (16 / 32 / 64) so the filters, which cost
 * about 2·fo² parameters a layer whatever d is, stay a fraction of each preset (at fo 64 they would be twice
 * nano's projections).
 */
const PRESETS = {
  nano: { d_model: 32, n_layers: 2, filter_order: 16 },
  micro: { d_model: 64, n_layers: 2, filter_order: 32 },
  small: { d_model: 128, n_layers: 4, filter_order: 64 },
} satisfies Architecture<typeof hyenaConfig>['presets'];

/** The derived sizes: p the projections' width (N + 1)·d, f the filters' channels (N − 1)·d. */
function dims(cfg: HyenaConfig): { d: number; N: number; p: number; f: number; k: number; fo: number; e: number } {
  const { d_model: d, order: N } = cfg;
  return { d, N, p: (N + 1) * d, f: (N - 1) * d, k: cfg.short_filter_order, fo: cfg.filter_order, e: cfg.emb_dim };
}

// ---------------------------------------------------------------------------------------------------------
// The long causal convolution

/** The direct O(l²) form: y_t = Σ_{s≤t} h_{t−s} u_s per channel, u (b, l, c), h (l, c) → (b, l, c). */
export function longConvDirect(u: tf.Tensor3D, h: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    // causalConv1d's tap j weighs u_{t−(l−1)+j}, so the filter reversed in time is its weight (c, l)
    const weight = tf.reverse(h, 0).transpose();
    return causalConv1d(u, weight, tf.zeros([h.shape[1]])) as tf.Tensor3D;
  });
}

/** A complex tensor as its real and imaginary parts. */
type Complex = { re: tf.Tensor; im: tf.Tensor };

/**
 * The length of the DFTs the FFT computes as one product with the DFT matrix before the butterflies take over:
 * a radix-2 stage is ten elementwise tfjs ops (two splits, four products, an add and a subtract a part, two
 * concats), each a pass over the data, while a matmul of the rows by the (m, m) matrix is one kernel at the
 * backend's matmul speed. At m = 64 that replaces the first six stages: a Hyena training step at MQAR's d_model
 * 64, L 64 (n 128), batch 64, on wasm with one thread went from 883 ms (550 Multiply, 226 Concat and 226 SplitV
 * calls) to 320 (`seqarena profile --arch hyena --set d_model=64 --task mqar …`). The product does m complex
 * multiply-adds an element where the stages it replaces do 5 log₂ m FLOPs; longConvFlops counts the FFT's.
 */
export const FFT_BASE = 64;

/**
 * The DFT along the last axis, X_k = Σ_n x_n e^{−2πikn/n}, of a power-of-two length n, as radix-2 decimation in
 * time composed of tfjs ops (no bit reversal: the data is kept as (…, residues, transforms)). Stage s holds, for
 * every residue r < n / 2^s, the length-2^s DFT of x_r, x_{r + n/2^s}, …; it is made from stage s − 1's two halves
 * E (residue r) and O (residue r + n/2^s) by the butterfly E_k ± w^k O_k, w = e^{−2πi/2^s}. Stage log₂ m (m =
 * min(n, `base`)) is reached at once: the m-point DFTs of the n / m subsequences x_r, x_{r + n/m}, … are the rows of
 * x viewed as (…, m, n / m) and transposed, times the DFT matrix W_jk = e^{−2πijk/m}. `im: null` is a real input
 * (half the products). base = 1 is the pure radix-2 form.
 */
export function fft(x: { re: tf.Tensor; im: tf.Tensor | null }, base = FFT_BASE): Complex {
  return tf.tidy(() => {
    const lead = x.re.shape.slice(0, -1);
    const n = x.re.shape[x.re.rank - 1];
    if ((n & (n - 1)) !== 0) throw new Error(`fft: length ${n} is not a power of two`);
    if (base < 1 || (base & (base - 1)) !== 0) throw new Error(`fft: base ${base} is not a power of two`);
    const m = Math.min(n, base);
    const residues = n / m;
    // (…, n) → (…, m, residues) → rows (…·residues, m): row r holds x_r, x_{r + n/m}, …
    const rows = (t: tf.Tensor) => t.reshape([...lead, m, residues]).transpose([...lead.map((_, i) => i), lead.length + 1, lead.length]).reshape([-1, m]) as tf.Tensor2D;
    const angles = Array.from({ length: m * m }, (_, i) => (-2 * Math.PI * ((Math.floor(i / m) * (i % m)) % m)) / m); // (j, k)
    const cos = tf.tensor2d(angles.map(Math.cos), [m, m]);
    const sin = tf.tensor2d(angles.map(Math.sin), [m, m]);
    const xr = rows(x.re);
    let re: tf.Tensor = tf.matMul(xr, cos); // Re(x W) = x_re cos − x_im sin
    let im: tf.Tensor = tf.matMul(xr, sin); // Im(x W) = x_re sin + x_im cos
    if (x.im) {
      const xi = rows(x.im);
      re = re.sub(tf.matMul(xi, sin));
      im = im.add(tf.matMul(xi, cos));
    }
    re = re.reshape([...lead, residues, m]);
    im = im.reshape([...lead, residues, m]);
    const split = lead.length; // the residues' axis
    for (let half = m; half < n; half *= 2) {
      const [er, or] = tf.split(re, 2, split); // (…, residues, half)
      const [ei, oi] = tf.split(im, 2, split);
      const twiddles = Array.from({ length: half }, (_, k) => (-Math.PI * k) / half);
      const c = tf.tensor1d(twiddles.map(Math.cos));
      const s = tf.tensor1d(twiddles.map(Math.sin));
      const tr = or.mul(c).sub(oi.mul(s)); // w^k O_k
      const ti = or.mul(s).add(oi.mul(c));
      re = tf.concat([er.add(tr), er.sub(tr)], split + 1); // (…, residues / 2, 2·half)
      im = tf.concat([ei.add(ti), ei.sub(ti)], split + 1);
    }
    return { re: re.reshape([...lead, n]), im: im.reshape([...lead, n]) };
  });
}

/** The smallest power of two ≥ 2l: a circular convolution that long has no wrap-around for causal length-l inputs. */
export const fftSize = (l: number): number => 2 ** Math.ceil(Math.log2(2 * l));

/** The spectrum (…, n) of real rows x (…, l), zero-padded to n. */
function spectrum(x: tf.Tensor, n: number): Complex {
  const l = x.shape[x.rank - 1];
  const re = tf.pad(x, [...x.shape.slice(0, -1).map((): [number, number] => [0, 0]), [0, n - l]]);
  return fft({ re, im: null });
}

/** The first l entries of the real part of the inverse DFT of X (…, n): Re(ifft X) = Re(fft(conj X)) / n. */
function inverseReal(X: Complex, l: number): tf.Tensor {
  const n = X.re.shape[X.re.rank - 1];
  const { re } = fft({ re: X.re, im: X.im.neg() });
  return re.slice(re.shape.map(() => 0), [...re.shape.slice(0, -1), l]).div(n);
}

/** a · b, or a · conj(b) when `conjugate`. */
function multiply(a: Complex, b: Complex, conjugate = false): Complex {
  const sign = conjugate ? -1 : 1;
  return { re: a.re.mul(b.re).sub(a.im.mul(b.im).mul(sign)), im: a.im.mul(b.re).add(a.re.mul(b.im).mul(sign)) };
}

/** (b, l, c) → (b, c, l) and back: the convolution runs along the last axis. */
const channelsFirst = (x: tf.Tensor): tf.Tensor => x.transpose([0, 2, 1]);

/**
 * The FFT form of longConvDirect, u (b, l, c), h (l, c) → (b, l, c): y = Re(ifft(fft(u) · fft(h)))[: l] with both
 * zero-padded to fftSize(l). Its gradients are correlations, computed by the same FFTs (tfjs cannot differentiate
 * an FFT): du = ifft(dY · conj(H)), dh = Σ_b ifft(dY · conj(U)), each cut to its first l entries.
 */
const fftWithGrad = tf.customGrad((u, h, save) => {
  (save as tf.GradSaveFunc)([u as tf.Tensor, h as tf.Tensor]);
  const l = (u as tf.Tensor3D).shape[1];
  const n = fftSize(l);
  const H = spectrum((h as tf.Tensor).transpose(), n); // (c, n), the same for every sequence
  const value = channelsFirst(inverseReal(multiply(spectrum(channelsFirst(u as tf.Tensor), n), H), l)); // (b, l, c)
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [us, hs] = saved;
      const DY = spectrum(channelsFirst(dy), n); // (b, c, n)
      const du = channelsFirst(inverseReal(multiply(DY, spectrum(hs.transpose(), n), true), l)); // (b, l, c)
      const dh = inverseReal(multiply(DY, spectrum(channelsFirst(us), n), true), l).sum(0).transpose(); // (l, c)
      return [du, dh];
    },
  };
});

export function longConvFft(u: tf.Tensor3D, h: tf.Tensor2D): tf.Tensor3D {
  return fftWithGrad(u, h) as tf.Tensor3D;
}

/** The long convolution of u (b, l, c) by h (l, c) in the chosen form. */
export function longConv(u: tf.Tensor3D, h: tf.Tensor2D, form: LongConv): tf.Tensor3D {
  return form === 'direct' ? longConvDirect(u, h) : longConvFft(u, h);
}

// ---------------------------------------------------------------------------------------------------------
// The implicit filter

/**
 * safari's PositionalEmbedding and the modulation's time, on the host for l_max positions j: t_j = j / (L − 1)
 * (torch.linspace(0, 1, L)), and for band frequencies f = linspace(1e-4, bands − 1, bands) the real and imaginary
 * parts of exp(−i f · 2πj / L). With emb_dim 3 (one band, f = 1e-4) the features are t, ≈ 1, ≈ 0: position enters
 * the filter through t alone, as in zoology's default. safari trains z at lr 1e-5 (a hundredth of the filter's);
 * here it is a fixed table.
 */
function positionalFeatures(lMax: number, embDim: number): { z: Float32Array; t: Float32Array } {
  const bands = (embDim - 1) / 2;
  const f = Array.from({ length: bands }, (_, i) => (bands === 1 ? 1e-4 : 1e-4 + (i * (bands - 1 - 1e-4)) / (bands - 1)));
  const z = new Float32Array(lMax * embDim);
  const t = new Float32Array(lMax);
  for (let j = 0; j < lMax; j++) {
    t[j] = lMax === 1 ? 0 : j / (lMax - 1);
    const w = (2 * Math.PI * j) / lMax;
    z[j * embDim] = t[j];
    f.forEach((fb, b) => {
      z[j * embDim + 1 + b] = Math.cos(fb * w);
      z[j * embDim + 1 + bands + b] = -Math.sin(fb * w);
    });
  }
  return { z, t };
}

/**
 * The implicit long filters h (l, f) of one operator, f = (N − 1)·d channels (safari's HyenaFilter):
 * FFN(z) = Linear(fo → f, no bias)(Sin(… Sin(Linear(emb_dim → fo)(z)))), times exp(−t · |δ_c|) per channel, with
 * δ_c = linspace(ln target / slow_decay_pct, ln target / fast_decay_pct, f) fixed (safari's modulation_lr 0).
 * Channel c·(N − 1) + o belongs to convolution o (safari's rearrange '(v o) -> o v'), and so does D's.
 */
export class ImplicitFilter {
  readonly layers: Linear[]; // emb_dim → fo, fo → fo × num_inner_mlps, fo → f
  readonly freq: tf.Variable; // (fo), one Sin frequency vector shared by every activation
  readonly D: tf.Variable; // (f), the bias (skip) of the long convolutions
  private readonly features: { z: Float32Array; t: Float32Array };
  private readonly deltas: Float32Array; // (f), |δ_c|

  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: HyenaConfig,
    readonly lMax: number,
  ) {
    const { f, fo, e } = dims(cfg);
    const std = 0.02; // zoology's _init_weights reaches the filter's Linears too
    // The whole FFN, its frequency and D are kept from weight decay (safari: the filter's `_optim` wd 0).
    this.layers = [
      new Linear(store, `${name}.implicit_filter.0`, e, fo, { std, decay: 'no-decay' }),
      ...Array.from({ length: cfg.num_inner_mlps }, (_, i) => new Linear(store, `${name}.implicit_filter.${i + 1}`, fo, fo, { std, decay: 'no-decay' })),
      new Linear(store, `${name}.implicit_filter.out`, fo, f, { std, bias: false, decay: 'no-decay' }),
    ];
    this.freq = store.constant(`${name}.freq`, [fo], cfg.w, 'no-decay');
    this.D = store.normal(`${name}.bias`, [f], 1, 'no-decay');
    this.features = positionalFeatures(lMax, e);
    const [slow, fast] = [Math.log(cfg.target) / cfg.slow_decay_pct, Math.log(cfg.target) / cfg.fast_decay_pct];
    this.deltas = Float32Array.from({ length: f }, (_, c) => Math.abs(f === 1 ? slow : slow + (c * (fast - slow)) / (f - 1)));
  }

  static paramCount(cfg: HyenaConfig): number {
    const { f, fo, e } = dims(cfg);
    return Linear.paramCount(e, fo) + cfg.num_inner_mlps * Linear.paramCount(fo, fo) + Linear.paramCount(fo, f, false) + fo + f;
  }

  /** The filters at positions 0 … l − 1 (l, f); the same rows whatever l is, since the features are made for l_max. */
  filters(l: number): tf.Tensor2D {
    if (l > this.lMax) throw new Error(`hyena: ${l} positions exceed l_max ${this.lMax} (the model's maxLen), the filter's length`);
    return tf.tidy(() => {
      const e = this.cfg.emb_dim;
      let x: tf.Tensor = tf.tensor2d(this.features.z.subarray(0, l * e), [l, e]); // (l, emb_dim)
      this.layers.slice(0, -1).forEach((layer) => (x = tf.sin(layer.apply(x).mul(this.freq)))); // (l, fo)
      return this.layers[this.layers.length - 1].apply(x).mul(this.window(l)) as tf.Tensor2D; // (l, f)
    });
  }

  /** The decay window exp(−t_j · |δ_c|) at positions 0 … l − 1 (l, f). */
  window(l: number): tf.Tensor2D {
    return tf.tidy(() => tf.exp(tf.tensor2d(this.features.t.subarray(0, l), [l, 1]).mul(tf.tensor1d(this.deltas)).neg()) as tf.Tensor2D);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The operator

/** Decode state of one operator: the last k − 1 short-conv inputs (b, k − 1, p) and the long convolutions' inputs (b, t, f). */
export type HyenaState = { conv: tf.Tensor3D; history: tf.Tensor3D };

export class HyenaOperator {
  readonly inProj: Linear; // d → (N + 1)·d
  readonly convWeight: tf.Variable; // (p, k)
  readonly convBias: tf.Variable; // (p)
  readonly filter: ImplicitFilter;
  readonly outProj: Linear;

  constructor(
    store: ParamStore,
    name: string,
    private readonly cfg: HyenaConfig,
    lMax: number,
  ) {
    const { d, p, k } = dims(cfg);
    this.inProj = new Linear(store, `${name}.in_proj`, d, p, { std: 0.02 });
    // PyTorch's Conv1d default (fan-in k per channel); its weight decays as every matrix does.
    this.convWeight = store.uniform(`${name}.short_filter.w`, [p, k], 1 / Math.sqrt(k), 'decay');
    this.convBias = store.uniform(`${name}.short_filter.b`, [p], 1 / Math.sqrt(k), 'no-decay');
    this.filter = new ImplicitFilter(store, `${name}.filter_fn`, cfg, lMax);
    this.outProj = new Linear(store, `${name}.out_proj`, d, d, { std: 0.02 / Math.sqrt(2 * cfg.n_layers) });
  }

  static paramCount(cfg: HyenaConfig): number {
    const { d, p, k } = dims(cfg);
    return Linear.paramCount(d, p) + p * k + p + ImplicitFilter.paramCount(cfg) + Linear.paramCount(d, d);
  }

  /**
   * From the short conv's output (…, p) and the filters, gate and convolve N − 1 times: v ← conv_o(v ⊙ xⁱ) for
   * xⁱ = x^{N−1} … x¹, then y = out_proj(v ⊙ x⁰). `convolve(o, input)` is convolution o (with its D) of input
   * (…, d); `inputs` collects each convolution's input, the history step() keeps.
   */
  private mix(uc: tf.Tensor, convolve: (o: number, input: tf.Tensor) => tf.Tensor, inputs: tf.Tensor[] = []): tf.Tensor {
    const { N } = dims(this.cfg);
    const parts = tf.split(uc, N + 1, -1); // x⁰ … x^{N−1}, v: each (…, d)
    let v = parts[N];
    for (let o = 0; o < N - 1; o++) {
      const input = v.mul(parts[N - 1 - o]); // safari: reversed(x[1:])
      inputs.push(input);
      v = convolve(o, input);
    }
    return this.outProj.apply(v.mul(parts[0]));
  }

  /** Filter o (l, d) and its D (d) from the interleaved (l, f) and (f). */
  private filterOf(h: tf.Tensor2D, o: number): { h: tf.Tensor2D; D: tf.Tensor } {
    const { N, d } = dims(this.cfg);
    const l = h.shape[0];
    return {
      h: h.reshape([l, d, N - 1]).slice([0, 0, o], [l, d, 1]).reshape([l, d]) as tf.Tensor2D,
      D: this.filter.D.reshape([d, N - 1]).slice([0, o], [d, 1]).reshape([d]),
    };
  }

  /** u (b, l, d) → (b, l, d). */
  apply(u: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const l = u.shape[1];
      const form = this.cfg.long_conv ?? 'fft';
      const uc = causalConv1d(this.inProj.apply(u), this.convWeight, this.convBias); // (b, l, p)
      const filters = this.filter.filters(l); // (l, f)
      return this.mix(uc, (o, input) => {
        const { h, D } = this.filterOf(filters, o);
        return longConv(input as tf.Tensor3D, h, form).add(input.mul(D)); // (b, l, d)
      }) as tf.Tensor3D;
    });
  }

  initState(batchSize: number): HyenaState {
    const { p, f, k } = dims(this.cfg);
    return { conv: tf.zeros([batchSize, k - 1, p]), history: tf.zeros([batchSize, 0, f]) };
  }

  /** One token u (b, d) → (b, d) at position t (the history's length): each long convolution directly over its history. */
  step(u: tf.Tensor2D, state: HyenaState): { y: tf.Tensor2D; state: HyenaState } {
    return tf.tidy(() => {
      const { N, d } = dims(this.cfg);
      const [b, t] = state.history.shape;
      const window = tf.concat([state.conv, this.inProj.apply(u).expandDims(1)], 1); // (b, k, p)
      const uc = window.mul(this.convWeight.transpose()).sum(1).add(this.convBias); // (b, p)
      const filters = tf.reverse(this.filter.filters(t + 1), 0); // (t + 1, f): h_t … h_0, against inputs 0 … t
      const past = state.history.reshape([b, t, d, N - 1]);
      const inputs: tf.Tensor[] = [];
      const y = this.mix(uc, (o, input) => {
        const { h, D } = this.filterOf(filters as tf.Tensor2D, o);
        const seen = tf.concat([past.slice([0, 0, 0, o], [b, t, d, 1]).reshape([b, t, d]), input.expandDims(1)], 1); // (b, t + 1, d)
        return seen.mul(h).sum(1).add(input.mul(D)); // (b, d)
      }, inputs);
      const newest = tf.stack(inputs, -1).reshape([b, 1, d * (N - 1)]); // (b, 1, f), channel c·(N − 1) + o
      const history = tf.concat([state.history, newest], 1) as tf.Tensor3D; // (b, t + 1, f)
      return { y: y as tf.Tensor2D, state: { conv: window.slice([0, 1, 0], [-1, -1, -1]) as tf.Tensor3D, history } };
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Residual block and LM

/** zoology's TransformerBlock with Hyena as its sequence mixer: x + Hyena(RMSNorm(x)), then x + MLP(RMSNorm(x)) (mamba.ts MlpResidualBlock). */
export class HyenaBlock extends MlpResidualBlock<HyenaOperator, HyenaState, MLP> {
  constructor(store: ParamStore, name: string, cfg: HyenaConfig, lMax: number) {
    const mixer = (s: ParamStore, n: string) => new HyenaOperator(s, n, cfg, lMax);
    super(store, name, cfg.d_model, cfg.layer_kernels, mixer, 'norm2', (s, n) => new MLP(s, `${n}.mlp`, cfg));
  }

  static paramCount(cfg: HyenaConfig): number {
    return 2 * RMSNorm.paramCount(cfg.d_model) + HyenaOperator.paramCount(cfg) + MLP.paramCount(cfg.d_model);
  }
}

/** Mamba's language model (mamba.ts ResidualLM) with Hyena blocks; its per-layer decode states grow with the context. */
export class HyenaLM extends ResidualLM<HyenaOperator, HyenaState> {
  constructor(cfg: HyenaConfig, io: ModelIO) {
    super('hyena', cfg, io, (store, name) => new HyenaBlock(store, name, cfg, io.maxLen));
  }

  declare readonly cfg: HyenaConfig;
  declare readonly blocks: HyenaBlock[];
}

// ---------------------------------------------------------------------------------------------------------
// Costs and registry entry

function paramCount(cfg: HyenaConfig, io: ModelIO): number {
  const d = cfg.d_model;
  return io.vocabSize * d + cfg.n_layers * HyenaBlock.paramCount(cfg) + RMSNorm.paramCount(d);
}

/**
 * FLOPs a channel spends on one length-l long convolution's forward, as the configured form computes it:
 * - `direct`: l(l + 1)/2 multiply-adds, 2 FLOPs each;
 * - `fft`: the radix-2 FFT of size n = fftSize(l), (n/2)·log₂ n butterflies of 10 FLOPs (a complex
 *   multiply, 6, and a complex add and subtract, 4) each, for fft(u), the inverse, and fft(h) (once a sequence,
 *   whatever the batch), plus the spectra's product (6 a bin) and the inverse's scale (1 a bin). The imaginary
 *   half of a real input is transformed as the code transforms it, not saved as an rfft would. These are the
 *   algorithm's FLOPs: the code's first stages, as one DFT-matrix product (FFT_BASE), do more arithmetic.
 */
export function longConvFlops(l: number, form: LongConv): number {
  if (form === 'direct') return l * (l + 1);
  const n = fftSize(l);
  return 3 * 5 * n * Math.log2(n) + 7 * n;
}

/**
 * One layer's forward FLOPs per token at context length l: the matmuls (projections, filter FFN, MLP) at 2 a
 * multiply-add; the short conv's 2 per tap and channel; the filter's Sin (its frequency's multiply and the sin,
 * 2 per unit and position) and window (2 per channel and position: the multiply and its exp); the gates (N per
 * d); D's multiply-add (2 per filter channel); and the long convolutions, longConvFlops(l) / l per filter channel.
 * The filter is evaluated once per sequence, l positions, so it counts once per token. Norms and GELU left out.
 */
export function hyenaLayerFlops(cfg: HyenaConfig, l: number): number {
  const { d, N, p, f, k, fo, e } = dims(cfg);
  const ffn = 2 * (e * fo + cfg.num_inner_mlps * fo * fo + fo * f) + 2 * fo * (1 + cfg.num_inner_mlps) + 2 * f;
  const conv = (f * longConvFlops(l, cfg.long_conv ?? 'fft')) / l + 2 * f;
  return 2 * d * p + 2 * k * p + ffn + N * d + conv + 2 * d * d + 2 * (2 * d * 4 * d);
}

function flopsPerToken(cfg: HyenaConfig, io: ModelIO, seqLen: number): Flops {
  const forward = cfg.n_layers * hyenaLayerFlops(cfg, Math.max(1, seqLen)) + 2 * cfg.d_model * io.vocabSize;
  return { forward, training: 3 * forward };
}

/** fp32 bytes per sequence of one layer's decode state after L tokens: the conv window (k − 1)·p and the history L·f, linear in L. */
export function hyenaLayerStateBytes(cfg: HyenaConfig, seqLen: number): number {
  const { p, f, k } = dims(cfg);
  return ((k - 1) * p + seqLen * f) * 4;
}

const costs: Pick<Architecture<typeof hyenaConfig>, 'paramCount' | 'flopsPerToken' | 'stateBytes' | 'size'> = {
  paramCount,
  flopsPerToken,
  stateBytes: (cfg, _io, seqLen) => cfg.n_layers * hyenaLayerStateBytes(cfg, seqLen),
  size: (cfg) => ({ dModel: cfg.d_model, nLayers: cfg.n_layers }),
};

export const hyena = {
  ...costs,
  name: 'hyena',
  family: 'convolution',
  form: 'lm',
  description: 'Hyena LM (Poli et al. 2023): gated implicit long convolutions (FFT), short conv, MLP blocks; recurrence-free decode, cost grows with context',
  config: hyenaConfig,
  presets: PRESETS,
  build: (cfg: HyenaConfig, io: ModelIO) => new HyenaLM(hyenaConfig.parse(cfg), io),
} satisfies Architecture<typeof hyenaConfig>;
