/**
 * Micro-benchmarks (tinybench): each sequence mixer alone — attention (full causal, and in a sliding window),
 * the LSTM / GRU / Elman recurrences, the selective scan and its LTI ablation, Hyena's long convolution, gated
 * linear attention — at a fixed width across sequence lengths, forward and forward + backward, in both its
 * composed reference and its fast form: the fused kernel (`lstm/reference` vs `lstm/fused`; for `hyena`, the
 * direct O(L²) convolution vs the FFT one, composed tfjs ops on every backend) or, for gated linear attention,
 * the chunked form in composed ops (`gla/reference`, the sequential recurrence, vs `gla/chunked`), or, for the
 * mLSTM cell, its parallel and chunkwise forms in composed ops (`mlstm/reference`, the stabilised recurrence, vs
 * `mlstm/parallel` and `mlstm/chunkwise`),
 * or, for Mamba-2's state-space duality, the chunked SSD in composed ops (`ssd/reference`, the sequential scan, vs
 * `ssd/chunked`), and the sLSTM's recurrence alone (`slstm/reference`: it has no parallel form),
 * so the speed-ups and the scaling exponents are visible: time ≈ L² for attention, the direct convolution and
 * the parallel mLSTM, ≈ L for
 * recurrences, scans and windowed attention's fused kernel (which skips the key blocks outside the window; its
 * composed reference masks an (L, L) matrix and stays ≈ L²), ≈ L log L for the FFT; memory ≈ L² for composed
 * attention, the direct convolution and the parallel mLSTM, ≈ L for the rest.
 * Plus the latency of one decode step with cached state at several context lengths, through the
 * registered architectures' `step()`.
 *
 * Every figure becomes a result row (phase 'micro', task 'micro', the mixer in `arch`, the length in
 * `seq_len`); a length that would need too much memory or time is a row with status 'skipped'.
 */
import fs from 'node:fs';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { Bench, type Statistics } from 'tinybench';
import { ARCHITECTURES } from '../architectures/index.ts';
import { swa } from '../architectures/transformer.ts';
import type { Architecture, LMModel } from '../architectures/types.ts';
import { attentionReference } from '../architectures/kernels/attention.ts';
import { attentionFused } from '../architectures/kernels/attention-fused.ts';
import { gruSequenceReference, lstmSequenceReference, rnnSequenceReference } from '../architectures/kernels/recurrence.ts';
import { gruSequenceFused, lstmSequenceFused, rnnSequenceFused } from '../architectures/kernels/recurrence-fused.ts';
import { selectiveScan } from '../architectures/kernels/selective-scan.ts';
import { fftSize, longConvDirect, longConvFft } from '../architectures/hyena.ts';
import { glaChunked, glaReference, logForgetGate } from '../architectures/gla.ts';
import { mlstmChunkwise, mlstmParallel, mlstmRecurrent } from '../architectures/mlstm.ts';
import { ssdChunked, ssdReference } from '../architectures/mamba2.ts';
import { initialSlstmState, slstmSequence } from '../architectures/slstm.ts';
import { HOST_BACKENDS } from '../architectures/kernels/typed-kernel.ts';
import { matmulInfo } from '../architectures/kernels/matmul.ts';
import { nativeAddon } from '../architectures/kernels/native.ts';
import { calibrate, initEngine, type BackendChoice } from './engine.ts';
import { unknownName, UsageError } from './errors.ts';
import { gitSha, slurmJob, versionsString } from './provenance.ts';
import { metricRow, type RunColumns } from './results/rows.ts';
import type { ResultRow, RunStatus } from './results/schema.ts';
import { shortHash } from './spec.ts';
import { logLogSlope, summarize } from './stats.ts';

export const MIXERS = ['attention', 'attention-swa', 'lstm', 'gru', 'rnn', 'scan', 'lti-scan', 'ssd', 'hyena', 'gla', 'mlstm', 'slstm'] as const;
export type MixerName = (typeof MIXERS)[number];
/** What --mixers takes: the sequence mixers, and `matmul` (the GEMM at the projection shapes). */
export const MICRO_BENCHES = [...MIXERS, 'matmul'] as const;
export type MicroBench = (typeof MICRO_BENCHES)[number];

/** Every mixer's composed reference and its fast forms: a fused kernel, or the chunked (gated linear attention, Mamba-2's SSD) or parallel and chunkwise (mLSTM) forms. */
export const IMPLS = ['reference', 'fused', 'chunked', 'parallel', 'chunkwise'] as const;
export type Impl = (typeof IMPLS)[number];

export interface MicroOptions {
  backend: BackendChoice;
  mixers: MicroBench[];
  /** Sequence lengths L, measured in increasing order. */
  lengths: number[];
  /** Model width d: hidden size of the recurrences, inner width of the scans, d_model of attention. */
  width: number;
  batch: number;
  /** tinybench's time budget per measurement (ms); it also runs at least `minSamples` iterations. */
  timeBudgetMs: number;
  minSamples: number;
  /** A length whose estimated peak tensor memory exceeds this is skipped (bytes). */
  maxMemoryBytes: number;
  /** A length whose one forward + backward is estimated (from the shorter lengths) to take longer is skipped (ms). */
  maxSampleMs: number;
  /** Context lengths at which one decode step is timed. */
  decodeContexts: number[];
  /** Matmul size of the calibration row. */
  calibrationSize: number;
  seed: number;
}

export const DEFAULT_MICRO_OPTIONS: MicroOptions = {
  backend: 'wasm',
  mixers: [...MICRO_BENCHES],
  lengths: [128, 256, 512, 1024, 2048, 4096, 8192],
  width: 64,
  batch: 1,
  timeBudgetMs: 1000,
  minSamples: 5,
  maxMemoryBytes: Math.min(2048, Math.floor(os.totalmem() / 4 / 1024 ** 2)) * 1024 ** 2,
  maxSampleMs: 10_000,
  decodeContexts: [64, 256, 1024],
  calibrationSize: 512,
  seed: 0,
};

/** Attention runs 4 heads (1 below width 4), causal. */
const headsFor = (width: number): number => (width >= 4 && width % 4 === 0 ? 4 : 1);
/** State size n per channel of the scans (Mamba's default). */
const SCAN_STATE = 16;
/** Keys each query of `attention-swa` sees: the `swa` architecture's default window. */
const SWA_WINDOW = swa.config.parse({}).window;
/** Which registered architecture decodes with each mixer. */
const DECODE_ARCH: Record<MixerName, string> = {
  attention: 'transformer',
  'attention-swa': 'swa',
  lstm: 'lstm',
  gru: 'gru',
  rnn: 'rnn',
  scan: 'mamba',
  'lti-scan': 'mamba-lti',
  ssd: 'mamba2',
  hyena: 'hyena',
  gla: 'gla',
  mlstm: 'mlstm',
  slstm: 'slstm',
};
/** The chunk length of gated linear attention's chunked form (the gla architecture's default). */
const GLA_CHUNK = 16;
/** Mamba-2's head size, state size and chunk length (the mamba2 architecture's defaults). */
const SSD_HEAD = 16;
const SSD_STATE = 16;
const SSD_CHUNK = 64;
/** The chunk length of the mLSTM's chunkwise form (the mlstm architecture's default). */
const MLSTM_CHUNK = 64;

// ---------------------------------------------------------------------------------------------------
// The mixers: inputs (all differentiated), one application, and a memory estimate for forward + backward

interface Mixer {
  /** Its implementations: the reference first, then the fast form. */
  impls: readonly Impl[];
  inputs(b: number, l: number, d: number, seed: number): tf.Tensor[];
  apply(impl: Impl, x: tf.Tensor[]): tf.Tensor;
  /** Rough peak tensor bytes of one forward + backward, for skipping what would not fit. */
  bytes(impl: Impl, b: number, l: number, d: number): number;
  /** Parameters of the mixer's own weights (inputs that are not activations). */
  params(d: number): number;
  /** The `fused` form is composed tfjs ops that run on any backend (Hyena's FFT), not a cpu/wasm kernel. */
  fusedOnEveryBackend?: boolean;
}

const normal = (shape: number[], std: number, seed: number): tf.Tensor => tf.randomNormal(shape, 0, std, 'float32', seed);
const F32 = 4;

const REFERENCE_AND_FUSED = ['reference', 'fused'] as const;

/** Causal attention, over every earlier key or (`window`) the last `window` of them. */
function attentionMixer(window?: number): Mixer {
  return {
    impls: REFERENCE_AND_FUSED,
    inputs: (b, l, d, seed) => {
      const h = headsFor(d);
      return [0, 1, 2].map((i) => normal([b, h, l, d / h], 1, seed + i)); // q, k, v: (b, h, l, hs)
    },
    apply: (impl, [q, k, v]) => (impl === 'fused' ? attentionFused : attentionReference)(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, { causal: true, window }),
    // composed: scores, mask sum, softmax and their gradients, each (b, h, l, l), window or not; fused: a few (b, l, d)
    bytes: (impl, b, l, d) => (impl === 'fused' ? 12 * b * l * d * F32 : 6 * b * headsFor(d) * l * l * F32),
    params: () => 0,
  };
}

/** A recurrence with `gates` blocks of h in its projection (LSTM 4, GRU 3, Elman 1). */
function recurrence(gates: number, run: (impl: Impl, x: tf.Tensor[]) => tf.Tensor): Mixer {
  return {
    impls: REFERENCE_AND_FUSED,
    inputs: (b, l, d, seed) => [
      normal([b, l, gates * d], 1, seed), // xProj (b, l, gates·h)
      normal([d, gates * d], 1 / Math.sqrt(d), seed + 1), // wh (h, gates·h)
      ...(gates === 3 ? [normal([gates * d], 0.1, seed + 2)] : []), // bh (3h)
    ],
    apply: run,
    // composed: ~12 retained step tensors of (b, gates·h) per step for backward; fused: saved gates and states
    bytes: (impl, b, l, d) => (impl === 'fused' ? 4 : 14) * b * l * gates * d * F32,
    params: (d) => gates * d * d + (gates === 3 ? 3 * d : 0),
  };
}

const lstm = recurrence(4, (impl, [xProj, wh]) => {
  const h0 = tf.zeros([xProj.shape[0], wh.shape[0]]) as tf.Tensor2D;
  return (impl === 'fused' ? lstmSequenceFused : lstmSequenceReference)(xProj as tf.Tensor3D, wh as tf.Tensor2D, h0, h0).hs;
});
const gru = recurrence(3, (impl, [xProj, wh, bh]) => {
  const h0 = tf.zeros([xProj.shape[0], wh.shape[0]]) as tf.Tensor2D;
  return (impl === 'fused' ? gruSequenceFused : gruSequenceReference)(xProj as tf.Tensor3D, wh as tf.Tensor2D, bh as tf.Tensor1D, h0).hs;
});
const rnn = recurrence(1, (impl, [xProj, wh]) => {
  const h0 = tf.zeros([xProj.shape[0], wh.shape[0]]) as tf.Tensor2D;
  return (impl === 'fused' ? rnnSequenceFused : rnnSequenceReference)(xProj as tf.Tensor3D, wh as tf.Tensor2D, h0).hs;
});

/** The selective scan; `selective: false` is the LTI ablation (Δ per channel, B and C per state, the same at every step). */
function scan(selective: boolean): Mixer {
  const n = SCAN_STATE;
  return {
    impls: REFERENCE_AND_FUSED,
    inputs: (b, l, d, seed) => [
      normal([b, l, d], 1, seed), // u (b, l, di)
      selective ? normal([b, l, d], 0.5, seed + 1) : normal([d], 0.5, seed + 1), // Δ before softplus
      normal([d, n], 0.5, seed + 2), // log(−A) (di, n)
      selective ? normal([b, l, n], 1, seed + 3) : normal([n], 1, seed + 3), // B
      selective ? normal([b, l, n], 1, seed + 4) : normal([n], 1, seed + 4), // C
      normal([d], 1, seed + 5), // D (di)
    ],
    apply: (impl, [u, deltaRaw, logA, B, C, D]) => {
      const [b, l, d] = u.shape;
      const delta = tf.broadcastTo(tf.softplus(deltaRaw), [b, l, d]) as tf.Tensor3D;
      const A = tf.neg(tf.exp(logA)) as tf.Tensor2D;
      const B3 = tf.broadcastTo(B, [b, l, n]) as tf.Tensor3D;
      const C3 = tf.broadcastTo(C, [b, l, n]) as tf.Tensor3D;
      return selectiveScan(u as tf.Tensor3D, delta, A, B3, C3, D as tf.Tensor1D, impl === 'fused' ? 'fused' : 'reference');
    },
    // composed: Ā and B̄u and their gradients, (b, l, di, n) each; fused: a few (b, l, di)
    bytes: (impl, b, l, d) => (impl === 'fused' ? 16 * b * l * d * F32 : 8 * b * l * d * n * F32),
    params: (d) => d * n + 2 * d + (selective ? 0 : 2 * n),
  };
}

/** Hyena's long causal convolution of u (b, l, d) by a filter h (l, d): `reference` the direct sum, `fused` the FFT. */
const hyena: Mixer = {
  impls: REFERENCE_AND_FUSED,
  inputs: (b, l, d, seed) => [normal([b, l, d], 1, seed), normal([l, d], 1 / Math.sqrt(l), seed + 1)],
  apply: (impl, [u, h]) => (impl === 'fused' ? longConvFft : longConvDirect)(u as tf.Tensor3D, h as tf.Tensor2D),
  // direct: each of the l taps keeps its shifted copy, product and running sum of (b, l, d) for backward (measured:
  // 10 b·l²·d floats at L 128–512); FFT: a few (b, d, n) spectra
  bytes: (impl, b, l, d) => (impl === 'fused' ? 16 * b * d * fftSize(l) * F32 : 10 * b * l * l * d * F32),
  params: () => 0,
  fusedOnEveryBackend: true,
};

/**
 * Gated linear attention at the gla architecture's shapes: headsFor(d) heads, keys d / 2 wide and values d wide
 * in all (expand_k ½, expand_v 1), the forget gate from its logits as the model computes it (τ 16).
 */
const glaMixer: Mixer = {
  impls: ['reference', 'chunked'],
  inputs: (b, l, d, seed) => {
    const h = headsFor(d);
    const [kh, vh] = [Math.max(1, d / 2 / h), d / h];
    return [
      normal([b, l, h, kh], 1 / Math.sqrt(kh), seed), // q, scaled (b, l, h, kh)
      normal([b, l, h, kh], 1, seed + 1), // k
      normal([b, l, h, vh], 1, seed + 2), // v (b, l, h, vh)
      normal([b, l, h, kh], 1, seed + 3), // the forget gate's logits
    ];
  },
  apply: (impl, [q, k, v, logits]) => {
    const g = logForgetGate(logits, 16) as tf.Tensor4D;
    return impl === 'chunked' ? glaChunked(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, g, GLA_CHUNK) : glaReference(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, g);
  },
  // reference: the state (b, h, kh, vh) a step and a few dozen (b, d) step tensors; chunked: the pairwise decays,
  // their products and gradients, Q per key channel a token, and a few (b, l, d) (both from tf.profile at width 8)
  bytes: (impl, b, l, d) => {
    const h = headsFor(d);
    const [kh, vh] = [Math.max(1, d / 2 / h), d / h];
    const q = Math.min(GLA_CHUNK, l);
    return (impl === 'chunked' ? 28 * b * l * h * kh * q + 32 * b * l * d : 8 * b * l * h * kh * vh + 32 * b * l * d) * F32;
  },
  params: () => 0,
};

/**
 * Mamba-2's SSD (architectures/mamba2.ts) at the mamba2 architecture's shapes: inner width 2d in heads of 16, one
 * B and C of state size 16 shared by the heads; Δ = softplus(·) and A = −exp(·) from their raw inputs as the model
 * makes them. The sequential scan against the chunked form (quadratic within chunks of 64, linear across).
 */
const ssdMixer: Mixer = {
  impls: ['reference', 'chunked'],
  inputs: (b, l, d, seed) => {
    const h = Math.max(1, (2 * d) / SSD_HEAD);
    const p = (2 * d) / h;
    return [
      normal([b, l, h, p], 1, seed), // x (b, l, h, p)
      normal([b, l, h], 1, seed + 1), // Δ before its softplus
      normal([h], 0.5, seed + 2), // log(−A) (h)
      normal([b, l, SSD_STATE], 1, seed + 3), // B (b, l, n)
      normal([b, l, SSD_STATE], 1, seed + 4), // C
      normal([h], 1, seed + 5), // D (h)
    ];
  },
  apply: (impl, [x, dtPre, aLog, B, C, D]) => {
    const dt = tf.softplus(dtPre) as tf.Tensor3D;
    const A = tf.exp(aLog).neg() as tf.Tensor1D;
    const args = [x as tf.Tensor4D, dt, A, B as tf.Tensor3D, C as tf.Tensor3D, D as tf.Tensor1D] as const;
    return impl === 'chunked' ? ssdChunked(...args, SSD_CHUNK) : ssdReference(...args);
  },
  // reference: the state (b, h, p, n) a step, several kept for backward; chunked: the (Q, Q) decays, scores and
  // their products per head and chunk, and the chunk states (b, c, h, p, n)
  bytes: (impl, b, l, d) => {
    const h = Math.max(1, (2 * d) / SSD_HEAD);
    const q = Math.min(SSD_CHUNK, l);
    return (impl === 'chunked' ? 12 * b * l * h * q + 8 * b * Math.ceil(l / q) * 2 * d * SSD_STATE + 32 * b * l * d : 8 * b * l * 2 * d * SSD_STATE + 32 * b * l * d) * F32;
  },
  params: () => 0,
};

/**
 * The mLSTM cell (architectures/mlstm.ts) at headsFor(d) heads of d / h: q, k, v, the input gate's ĩ and the
 * forget gate's f̃ (log f = log σ(f̃), f̃ around xlstm's initial biases); the recurrence against the parallel form.
 */
const mlstmMixer: Mixer = {
  impls: ['reference', 'parallel', 'chunkwise'],
  inputs: (b, l, d, seed) => {
    const h = headsFor(d);
    return [
      ...[0, 1, 2].map((i) => normal([b, h, l, d / h], 1, seed + i)), // q, k, v: (b, h, l, dh)
      normal([b, h, l], 1, seed + 3), // ĩ
      tf.tidy(() => normal([b, h, l], 1, seed + 4).add(3)), // f̃
    ];
  },
  apply: (impl, [q, k, v, iPre, fPre]) => {
    const args = [q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, iPre as tf.Tensor3D, tf.logSigmoid(fPre) as tf.Tensor3D] as const;
    return impl === 'parallel' ? mlstmParallel(...args) : impl === 'chunkwise' ? mlstmChunkwise(...args, MLSTM_CHUNK) : mlstmRecurrent(...args);
  },
  // recurrent: about 6 (b, h, dh, dh) tensors a step kept for backward; parallel: about 10 (b, h, l, l) matrices;
  // chunkwise: about 10 (b, h, l, Q) and 6 (b, h, dh, dh) a chunk
  bytes: (impl, b, l, d) => {
    const h = headsFor(d);
    if (impl === 'parallel') return 10 * b * h * l * l * F32;
    if (impl === 'chunkwise') return (10 * b * h * l * Math.min(MLSTM_CHUNK, l) + (6 * b * Math.ceil(l / MLSTM_CHUNK) * d * d) / h) * F32;
    return ((6 * b * l * d * d) / h) * F32;
  },
  params: () => 0,
};

/**
 * xLSTM's sLSTM cell (architectures/slstm.ts) at headsFor(d) heads: the four gates' input parts, a recurrent kernel
 * and biases as inputs. Its recurrence alone: the gates read y_{t−1}, so no parallel form exists to set beside it.
 */
const slstmMixer: Mixer = {
  impls: ['reference'],
  inputs: (b, l, d, seed) => {
    const h = headsFor(d);
    return [
      ...[0, 1, 2, 3].map((g) => normal([b, l, d], 1, seed + g)), // W x for i, f, z, o: (b, l, d)
      normal([h, d / h, (4 * d) / h], 0.3, seed + 4), // R (h, dh, 4 dh)
      normal([4, d], 0.5, seed + 5), // biases (4, d)
    ];
  },
  apply: (_, [i, f, z, o, R, bias]) => slstmSequence({ i, f, z, o }, R as tf.Tensor3D, bias as tf.Tensor2D, initialSlstmState(i.shape[0], i.shape[2] as number)).y,
  // about 30 (b, d) step tensors kept for backward a step (tf.profile at width 8)
  bytes: (_, b, l, d) => 30 * b * l * d * F32,
  params: () => 0,
};

const MIXER_DEFS: Record<MixerName, Mixer> = {
  attention: attentionMixer(),
  'attention-swa': attentionMixer(SWA_WINDOW),
  lstm,
  gru,
  rnn,
  scan: scan(true),
  'lti-scan': scan(false),
  ssd: ssdMixer,
  hyena,
  gla: glaMixer,
  mlstm: mlstmMixer,
  slstm: slstmMixer,
};

/** The implementations `seqarena micro` measures for a mixer, the reference first. */
export const implsOf = (name: MixerName): readonly Impl[] => MIXER_DEFS[name].impls;

// ---------------------------------------------------------------------------------------------------
// Measuring

interface Measured {
  samples: number[];
  stats: Statistics;
}

/** tinybench statistics of an async function (ms per call). */
async function measure(name: string, fn: () => Promise<void>, options: MicroOptions): Promise<Measured> {
  const bench = new Bench({
    time: options.timeBudgetMs,
    iterations: options.minSamples,
    // the fused kernels are plain JavaScript: V8 needs a few calls to optimise them
    warmupIterations: 2,
    warmupTime: Math.min(250, options.timeBudgetMs / 4),
    retainSamples: true,
    throws: true,
  });
  bench.add(name, fn);
  await bench.run();
  const result = bench.tasks[0].result;
  if (result.state !== 'completed') throw new Error(`micro-benchmark ${name} ended ${result.state}`);
  return { samples: [...(result.latency.samples ?? [])], stats: result.latency };
}

/** Peak tensor bytes one call adds on top of what was held before it. */
async function peakBytes(fn: () => Promise<void>): Promise<number> {
  const before = tf.memory().numBytes;
  const profile = await tf.profile(fn);
  return Math.max(0, profile.peakBytes - before);
}

/** Sum of the output, so its gradient reaches every input. */
function forwardFn(mixer: Mixer, impl: Impl, x: tf.Tensor[]): () => Promise<void> {
  return async () => {
    const y = tf.tidy(() => mixer.apply(impl, x));
    await y.data();
    y.dispose();
  };
}

function forwardBackwardFn(mixer: Mixer, impl: Impl, x: tf.Tensor[]): () => Promise<void> {
  return async () => {
    const grads = tf.tidy(() => tf.grads((...inputs: tf.Tensor[]) => mixer.apply(impl, inputs).sum())(x));
    await Promise.all(grads.map((g) => g.data()));
    tf.dispose(grads);
  };
}

/** Time of the next length extrapolated from the measured ones (slope of the last two, or linear from one). */
function extrapolate(points: { l: number; ms: number }[], l: number, defaultExponent: number): number | null {
  if (points.length === 0) return null;
  const last = points[points.length - 1];
  const exponent = points.length >= 2 ? Math.max(1, logLogSlope(points.slice(-2).map((p) => p.l), points.slice(-2).map((p) => p.ms))) : defaultExponent;
  return last.ms * (l / last.l) ** exponent;
}

// ---------------------------------------------------------------------------------------------------
// Rows

interface Context {
  options: MicroOptions;
  backend: string;
  device: string;
}

function columns(ctx: Context, arch: string, seqLen: number | null, extra: { params?: number | null; dModel?: number; nLayers?: number; preset?: string | null } = {}): RunColumns {
  const { options } = ctx;
  const config = {
    arch,
    width: options.width,
    batch: options.batch,
    heads: arch.startsWith('attention') || arch.startsWith('mlstm') || arch.startsWith('slstm') ? headsFor(options.width) : null,
    n: SCAN_STATE,
    ...(arch.startsWith('attention-swa') ? { window: SWA_WINDOW } : {}),
  };
  return {
    run_id: shortHash({ suite: 'micro', ...config, seq_len: seqLen, backend: ctx.backend, seed: options.seed }),
    git_sha: gitSha(),
    suite: 'micro',
    task: 'micro',
    arch,
    preset: extra.preset ?? null,
    seq_len: seqLen,
    batch_size: options.batch,
    d_model: extra.dModel ?? options.width,
    n_layers: extra.nLayers ?? 1,
    params: extra.params ?? null,
    seed: options.seed,
    backend: ctx.backend,
    device: ctx.device,
    versions: versionsString(),
    // The length is part of what is measured: a figure at L = 64 never matches one at L = 256.
    config_hash: shortHash({ ...config, seq_len: seqLen }),
    shard: null,
    host: os.hostname(),
    ...slurmJob(),
  };
}

const failedRows = (cols: RunColumns, status: RunStatus, reason: string): ResultRow[] =>
  (['forward_ms', 'forward_backward_ms', 'peak_bytes'] as const).map((metric) => metricRow(cols, metric, { value: null, status, error: reason }));

/** 'oom' for an allocation failure (wasm heap, typed array, JS heap), else 'error'. */
const failureStatus = (error: unknown): RunStatus => (/memory|allocat|array buffer|invalid array length/i.test(String(error)) ? 'oom' : 'error');

/** Forward, forward + backward and peak memory of one mixer implementation at every length, then its exponents. */
async function benchKernel(ctx: Context, name: MixerName, impl: Impl, emit: (rows: ResultRow[]) => void): Promise<void> {
  const { options } = ctx;
  const mixer = MIXER_DEFS[name];
  const arch = `${name}/${impl}`;
  const { batch: b, width: d } = options;
  const measured: { l: number; forward: number; forwardBackward: number; bytes: number }[] = [];
  let failedAt: number | null = null;
  for (const l of [...options.lengths].sort((x, y) => x - y)) {
    const cols = columns(ctx, arch, l, { params: mixer.params(d) });
    const estimatedBytes = mixer.bytes(impl, b, l, d);
    const estimatedMs = extrapolate(measured.map((m) => ({ l: m.l, ms: m.forwardBackward })), l, name.startsWith('attention') || (name === 'hyena' && impl === 'reference') || impl === 'parallel' ? 2 : 1);
    let reason: string | null = null;
    if (failedAt !== null) reason = `a shorter length (L = ${failedAt}) failed`;
    else if (impl === 'fused' && !mixer.fusedOnEveryBackend && !(HOST_BACKENDS as readonly string[]).includes(ctx.backend)) reason = `fused kernels run on ${HOST_BACKENDS.join(' and ')}, not ${ctx.backend}`;
    else if (estimatedBytes > options.maxMemoryBytes) reason = `estimated peak memory ${mb(estimatedBytes)} exceeds the ${mb(options.maxMemoryBytes)} limit (--max-memory-mb)`;
    else if (estimatedMs !== null && estimatedMs > options.maxSampleMs) reason = `estimated ${Math.round(estimatedMs)} ms per forward + backward exceeds the ${options.maxSampleMs} ms limit (--max-sample-ms)`;
    if (reason) {
      emit(failedRows(cols, 'skipped', reason));
      continue;
    }
    const x = mixer.inputs(b, l, d, options.seed + l);
    try {
      const forward = await measure(`${arch} forward L=${l}`, forwardFn(mixer, impl, x), options);
      const forwardBackward = await measure(`${arch} forward+backward L=${l}`, forwardBackwardFn(mixer, impl, x), options);
      const bytes = await peakBytes(forwardBackwardFn(mixer, impl, x));
      measured.push({ l, forward: forward.stats.mean, forwardBackward: forwardBackward.stats.mean, bytes });
      emit([
        metricRow(cols, 'forward_ms', { samples: forward.samples }),
        metricRow(cols, 'forward_backward_ms', { samples: forwardBackward.samples }),
        metricRow(cols, 'peak_bytes', { value: bytes }),
      ]);
    } catch (error) {
      // a failure at one length (out of memory, most likely) is recorded; longer lengths would fail too
      emit(failedRows(cols, failureStatus(error), String((error as Error)?.message ?? error)));
      failedAt = l;
    } finally {
      tf.dispose(x);
    }
  }
  const cols = columns(ctx, arch, null, { params: mixer.params(d) });
  const ls = measured.map((m) => m.l);
  const fit = (ys: number[], metric: 'time_exponent' | 'memory_exponent', of: string): ResultRow =>
    measured.length >= 2
      ? metricRow(cols, metric, { value: logLogSlope(ls, ys), n: measured.length, slice: `of=${of}` })
      : metricRow(cols, metric, { value: null, status: 'skipped', error: `needs at least 2 measured lengths, got ${measured.length}`, slice: `of=${of}` });
  emit([
    fit(measured.map((m) => m.forward), 'time_exponent', 'forward_ms'),
    fit(measured.map((m) => m.forwardBackward), 'time_exponent', 'forward_backward_ms'),
    fit(measured.map((m) => m.bytes), 'memory_exponent', 'peak_bytes'),
  ]);
}

/** One decode step with cached state, at each context length, through the registered architecture's step(). */
async function benchDecode(ctx: Context, name: MixerName, emit: (rows: ResultRow[]) => void): Promise<void> {
  const { options } = ctx;
  const archName = DECODE_ARCH[name];
  const arch = (ARCHITECTURES as Record<string, Architecture>)[archName];
  const contexts = [...options.decodeContexts].sort((x, y) => x - y);
  if (!arch || arch.form !== 'lm') {
    const reason = `no decoder-only architecture '${archName}' is registered to decode with ${name}`;
    emit(contexts.map((c) => metricRow(columns(ctx, name, c), 'decode_step_ms', { value: null, status: 'skipped', error: reason })));
    return;
  }
  const config = arch.config.parse({ ...arch.presets.nano, seed: options.seed });
  const io = { vocabSize: 32, maxLen: Math.max(...contexts) + 1, padId: 0 };
  const model = arch.build(config, io) as LMModel;
  const { dModel, nLayers } = arch.size(config);
  const params = model.trainableWeights.reduce((s, w) => s + w.size, 0);
  const b = options.batch;
  const token = tf.fill([b], 1, 'int32') as tf.Tensor1D;
  let state = model.initState(b);
  let position = 0;
  let measuredContexts = 0;
  try {
    for (const context of contexts) {
      // feed tokens until `context` are cached, then time steps from that same state (step never disposes it)
      for (; position < context; position++) {
        const { logits, state: next } = model.step(token, state);
        logits.dispose();
        state.dispose();
        state = next;
      }
      const cached = state;
      const stepOnce = async (): Promise<void> => {
        const { logits, state: next } = model.step(token, cached);
        await logits.data();
        logits.dispose();
        next.dispose();
      };
      const m = await measure(`${name} decode step at context ${context}`, stepOnce, options);
      const cols = columns(ctx, name, context, { params, dModel, nLayers, preset: 'nano' });
      emit([metricRow(cols, 'decode_step_ms', { samples: m.samples, slice: `model=${archName}` })]);
      measuredContexts++;
    }
  } catch (error) {
    const status = failureStatus(error);
    const reason = `decoding with ${archName} failed: ${String((error as Error)?.message ?? error)}`;
    emit(contexts.slice(measuredContexts).map((c) => metricRow(columns(ctx, name, c, { params, dModel, nLayers, preset: 'nano' }), 'decode_step_ms', { value: null, status, error: reason, slice: `model=${archName}` })));
  } finally {
    state.dispose();
    token.dispose();
    model.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------
// The GEMM at the models' projection shape: [B·L, d] × [d, 4d] forward, and the two products of its backward pass

/** [4096, 64] × [64, 256]: batch 16 × L 256 tokens, d_model 64, the MLP's 4·d. */
export const MATMUL_SHAPE = { rows: 4096, inner: 64, cols: 256 };

/**
 * The instruction peak the active GEMM can reach, with its assumptions: FLOP per cycle per core of the
 * instructions it runs (AVX-512: 2 FMA units × 16 lanes × 2 = 64; AVX2 + FMA: 2 × 8 × 2 = 32; SSE or
 * WebAssembly SIMD128 without FMA: 4 lanes × (1 mul + 1 add) = 8), × threads, × the clock /proc/cpuinfo
 * reports (the nominal one where it cannot be read: os.cpus()).
 */
export function gemmPeak(): { gflops: number; flopPerCycle: number; threads: number; ghz: number; instructions: string } {
  const info = matmulInfo();
  const isa = info.kind === 'native' ? (nativeAddon()?.isa() ?? 'generic') : 'simd128';
  const flopPerCycle = { avx512: 64, avx2: 32, generic: 8, simd128: 8 }[isa] ?? 8;
  const instructions = { avx512: 'AVX-512 FMA, 2 units', avx2: 'AVX2 + FMA, 2 units', generic: 'SSE, no FMA', simd128: 'WebAssembly SIMD128, no FMA' }[isa] ?? isa;
  let mhz = os.cpus()[0]?.speed ?? 0;
  try {
    const match = /cpu MHz\s*:\s*([\d.]+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) mhz = Number(match[1]);
  } catch {
    // not Linux: os.cpus()'s figure
  }
  const threads = info.kind === 'tfjs' ? 1 : info.threads;
  const ghz = mhz / 1000;
  return { gflops: flopPerCycle * threads * ghz, flopPerCycle, threads, ghz, instructions };
}

/** GFLOP/s of tf.matMul at the forward shape and the backward's dA = dC·Bᵀ and dB = Aᵀ·dC, and the share of the peak. */
async function benchMatmul(ctx: Context, emit: (rows: ResultRow[]) => void): Promise<void> {
  const { rows: m, inner: k, cols: n } = MATMUL_SHAPE;
  const peak = gemmPeak();
  const gemm = matmulInfo();
  const a = normal([m, k], 1, ctx.options.seed);
  const b = normal([k, n], 1, ctx.options.seed + 1);
  const dc = normal([m, n], 1, ctx.options.seed + 2);
  const forms = [
    { name: 'forward', shape: `[${m},${k}]x[${k},${n}]`, run: () => tf.matMul(a, b) },
    { name: 'dA', shape: `dC[${m},${n}]·Bᵀ[${n},${k}]`, run: () => tf.matMul(dc, b, false, true) },
    { name: 'dB', shape: `Aᵀ[${k},${m}]·dC[${m},${n}]`, run: () => tf.matMul(a, dc, true, false) },
  ];
  const flops = 2 * m * n * k;
  const peakText = `peak ${peak.gflops.toFixed(1)} GFLOP/s = ${peak.flopPerCycle} FLOP/cycle/core (${peak.instructions}) × ${peak.threads} threads × ${peak.ghz.toFixed(2)} GHz (/proc/cpuinfo)`;
  try {
    for (const form of forms) {
      const cols = columns(ctx, `matmul/${form.name}`, null, { params: null });
      // host backends run the kernel inside the call; reading C back (a copy of 4 MiB) is not part of training
      const measured = await measure(`matmul ${form.name}`, async () => {
        const c = form.run();
        if (!(HOST_BACKENDS as readonly string[]).includes(ctx.backend)) await c.data();
        c.dispose();
      }, ctx.options);
      const gflops = measured.samples.map((ms) => flops / (ms / 1000) / 1e9);
      const median = summarize(gflops).p50;
      const slice = `shape=${form.shape} gemm=${gemm.kind === 'native' ? `native-${nativeAddon()?.isa()}` : gemm.kind}`;
      const peakSlice = `${slice} ${peakText}`;
      emit([
        metricRow(cols, 'gemm_gflops', { samples: gflops, slice }),
        metricRow(cols, 'gemm_peak_fraction', { value: peak.gflops > 0 ? median / peak.gflops : null, slice: peakSlice }),
      ]);
    }
  } finally {
    tf.dispose([a, b, dc]);
  }
}

const mb = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(bytes < 10 * 1024 ** 2 ? 2 : 0)} MiB`;

// ---------------------------------------------------------------------------------------------------
// The suite

/** Parse a comma-separated mixer list, naming a bad one. */
export function parseMixers(list: string): MicroBench[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((m) => {
      if (!(MICRO_BENCHES as readonly string[]).includes(m)) throw unknownName('mixer', m, MICRO_BENCHES);
      return m as MicroBench;
    });
}

/** Parse a comma-separated list of positive integers for `flag`. */
export function parseIntegers(list: string, flag: string): number[] {
  const values = list.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new UsageError(`${flag} takes comma-separated positive integers, got '${list}'`);
  }
  return values;
}

/**
 * Run the micro-benchmarks: a calibration row, then every mixer's reference and fused kernels across
 * lengths, then decode steps. `emit` gets each group of rows as soon as it is measured (to append them
 * durably); the rows are also returned.
 */
export async function runMicro(partial: Partial<MicroOptions> = {}, emit: (rows: ResultRow[]) => void = () => {}): Promise<ResultRow[]> {
  const options: MicroOptions = { ...DEFAULT_MICRO_OPTIONS, ...partial };
  if (options.width < 1 || options.batch < 1) throw new UsageError(`--width and --batch must be positive, got ${options.width} and ${options.batch}`);
  if (headsFor(options.width) > 1 && options.width % 4 !== 0) throw new UsageError(`--width must be a multiple of 4 (attention's 4 heads), got ${options.width}`);
  const engine = await initEngine(options.backend);
  const ctx: Context = { options, backend: engine.backend, device: engine.device };
  const all: ResultRow[] = [];
  const collect = (rows: ResultRow[]): void => {
    all.push(...rows);
    emit(rows);
  };
  const cal = await calibrate({ size: options.calibrationSize });
  collect([metricRow(columns(ctx, 'micro', null), 'matmul_gflops', { samples: cal.samples, slice: `size=${cal.size}` })]);
  const mixers = options.mixers.filter((m): m is MixerName => m !== 'matmul');
  if (options.mixers.includes('matmul')) await benchMatmul(ctx, collect);
  for (const name of mixers) {
    for (const impl of implsOf(name)) await benchKernel(ctx, name, impl, collect);
  }
  for (const name of mixers) await benchDecode(ctx, name, collect);
  return all;
}

// ---------------------------------------------------------------------------------------------------
// The readable table

const fmtMs = (v: number | null): string => (v === null ? '—' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

/** Relative margin of error (95 %, Student's t) of a row's samples, in percent. */
function rmePercent(row: ResultRow): number | null {
  const s = row.samples;
  if (!s || s.length < 2 || row.stddev === null || row.value === null || row.value === 0) return null;
  const critical = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23][s.length - 2] ?? 1.96;
  return (100 * critical * row.stddev) / Math.sqrt(s.length) / row.value;
}

function p99(row: ResultRow): number | null {
  return row.samples && row.samples.length > 0 ? summarize(row.samples).p99 : null;
}

function timing(row: ResultRow | undefined): string {
  if (!row) return '—';
  if (row.status !== 'ok') return row.status;
  const rme = rmePercent(row);
  return `${fmtMs(row.value)} ±${rme === null ? '?' : rme.toFixed(0)}% (p50 ${fmtMs(row.p50)}, p99 ${fmtMs(p99(row))}, n ${row.n})`;
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** Kernel latencies and memory by mixer and length, speed-ups of fused over reference, exponents, decode steps. */
export function formatMicroTable(rows: ResultRow[]): string {
  const find = (arch: string, metric: string, l: number | null): ResultRow | undefined => rows.find((r) => r.arch === arch && r.metric === metric && r.seq_len === l);
  const out: string[] = [];
  const cal = rows.find((r) => r.metric === 'matmul_gflops');
  if (cal) out.push(`calibration: ${cal.value?.toFixed(2)} GFLOP/s fp32 matmul (${cal.slice}, n ${cal.n}) on ${cal.backend}, ${cal.device}`);
  const gemmRows = rows.filter((r) => r.metric === 'gemm_gflops');
  if (gemmRows.length > 0) {
    const body = gemmRows.map((r) => {
      const fraction = rows.find((x) => x.arch === r.arch && x.metric === 'gemm_peak_fraction');
      const pct = fraction?.value == null ? '—' : `${(100 * fraction.value).toFixed(0)}%`;
      return [r.arch, r.slice ?? '', `${r.p50?.toFixed(1)} (n ${r.n})`, pct];
    });
    const peakNote = rows.find((x) => x.metric === 'gemm_peak_fraction')?.slice?.replace(/^.*? (peak )/, '$1') ?? '';
    out.push('', `GEMM at the projection shapes (${peakNote}):`, table(['product', 'shape', 'GFLOP/s (median)', '% of peak'], body));
  }
  const kernelArchs = [...new Set(rows.filter((r) => r.metric === 'forward_ms').map((r) => r.arch))];
  const kernelBody = kernelArchs.flatMap((arch) =>
    [...new Set(rows.filter((r) => r.arch === arch && r.metric === 'forward_ms').map((r) => r.seq_len as number))].map((l) => {
      const fb = find(arch, 'forward_backward_ms', l);
      const mem = find(arch, 'peak_bytes', l);
      const [mixer, impl] = arch.split('/');
      const ref = impl !== 'reference' ? find(`${mixer}/reference`, 'forward_backward_ms', l) : undefined;
      const speedup = ref?.value && fb?.value ? `${(ref.value / fb.value).toFixed(1)}×` : '';
      const skipped = fb?.status === 'skipped' ? fb.error ?? '' : '';
      return [arch, String(l), timing(find(arch, 'forward_ms', l)), timing(fb), mem?.value == null ? '—' : mb(mem.value), speedup, skipped];
    }),
  );
  out.push('', table(['mixer', 'L', 'forward ms (mean ±rme)', 'forward+backward ms (mean ±rme)', 'peak memory', 'speed-up over reference (fwd+bwd)', 'skipped because'], kernelBody));
  const expBody = kernelArchs.map((arch) => {
    const e = (metric: string, of: string): string => {
      const r = rows.find((x) => x.arch === arch && x.metric === metric && x.slice === `of=${of}`);
      return r?.value == null ? '—' : r.value.toFixed(2);
    };
    return [arch, e('time_exponent', 'forward_ms'), e('time_exponent', 'forward_backward_ms'), e('memory_exponent', 'peak_bytes')];
  });
  out.push('', 'scaling exponents (log–log slope against L; ≈2 quadratic, ≈1 linear):', table(['mixer', 'time (forward)', 'time (forward+backward)', 'peak memory'], expBody));
  const decode = rows.filter((r) => r.metric === 'decode_step_ms');
  if (decode.length > 0) {
    const body = decode.map((r) => [r.arch, r.slice ?? '', String(r.seq_len), r.status === 'ok' ? timing(r) : `${r.status}: ${r.error}`]);
    out.push('', 'decode step with cached state:', table(['mixer', 'model', 'context', 'ms per step (mean ±rme)'], body));
  }
  return out.join('\n');
}
