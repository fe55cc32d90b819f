/**
 * The optional native kernels: C built at install (scripts/build-native.mjs) into
 * native/build/seqarena.node, using AVX2/AVX-512 and a thread pool. Where the build did not happen (no
 * compiler, SEQARENA_NATIVE=0) `nativeAddon()` is null and callers use their WebAssembly path, which
 * stays the tested fallback. Each kernel file in native/src adds its functions to this interface.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GemmFn } from './gemm.ts';

export interface NativeAddon {
  /** Threads the pool runs on (the calling thread included). */
  threads(): number;
  setThreads(n: number): void;
  /** The instruction set the kernels dispatch to on this CPU: 'avx512' | 'avx2' | 'generic'. */
  isa(): string;
  /** The instruction sets this build and CPU support, widest first (SEQARENA_ISA or setIsa picks one). */
  isas(): string[];
  setIsa(name: string): void;
  /** native/src/gemm.c: GemmFn's meaning with positional arguments (trans flags as 0/1). */
  gemm(
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
    a: Float32Array,
    strideA: number,
    b: Float32Array,
    strideB: number,
    c: Float32Array,
    strideC: number,
  ): void;
  /** One AdamW update over all parameters, in place (kernels/adamw.ts); returns the global gradient norm. */
  /** LayerNorm / RMSNorm forward and backward into the given outputs (native/src/norms.c). */
  layerNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, y: Float32Array, mean: Float32Array, rstd: Float32Array, d: number): void;
  layerNormGrad(x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array, dy: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, d: number): void;
  rmsNorm(x: Float32Array, gamma: Float32Array, eps: number, y: Float32Array, rstd: Float32Array, d: number): void;
  rmsNormGrad(x: Float32Array, gamma: Float32Array, rstd: Float32Array, dy: Float32Array, dx: Float32Array, dgamma: Float32Array, d: number): void;
  /** GELU (kind 0, tanh form) or SiLU (kind 1) and its gradient, elementwise (native/src/activations.c). */
  activation(kind: number, x: Float32Array, y: Float32Array): void;
  activationGrad(kind: number, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  adamw(params: Float32Array[], grads: Float32Array[], m: Float32Array[], v: Float32Array[], decay: Int32Array, hyper: Float64Array): number;

  // Fused kernels (native/src/attention.c, recurrence.c, selective_scan.c): outputs are written into
  // the arrays passed, sizes come last; shapes are those of the HostKernels that call them. Optional:
  // an addon built before them (an old native/build) lacks them, and callers then take their fallback.
  // Attention takes causal as 0/1 and then the sliding window (0: none); an addon built before the window
  // argument has these as attentionForward/attentionBackward, which are left unused.
  flashAttentionForward?(q: F32, k: F32, v: F32, mask: F32, out: F32, lse: F32, b: number, h: number, lq: number, lk: number, hs: number, causal: number, window: number): void;
  flashAttentionBackward?(
    q: F32, k: F32, v: F32, mask: F32, out: F32, lse: F32, dOut: F32, dLse: F32, dq: F32, dk: F32, dv: F32,
    b: number, h: number, lq: number, lk: number, hs: number, causal: number, window: number,
  ): void;
  rnnForward?(xProj: F32, wh: F32, h0: F32, hs: F32, b: number, l: number, h: number): void;
  rnnBackward?(dhs: F32, dhT: F32, hs: F32, wh: F32, h0: F32, dxProj: F32, dwh: F32, dh0: F32, b: number, l: number, h: number): void;
  lstmForward?(xProj: F32, wh: F32, h0: F32, c0: F32, hs: F32, cs: F32, gates: F32, b: number, l: number, h: number): void;
  lstmBackward?(
    dhs: F32, dhT: F32, dcT: F32, gates: F32, cs: F32, hs: F32, wh: F32, h0: F32, c0: F32, dxProj: F32, dwh: F32, dh0: F32, dc0: F32,
    b: number, l: number, h: number,
  ): void;
  gruForward?(xProj: F32, wh: F32, bh: F32, h0: F32, hs: F32, saved: F32, b: number, l: number, h: number): void;
  gruBackward?(dhs: F32, dhT: F32, saved: F32, hs: F32, wh: F32, h0: F32, dxProj: F32, dwh: F32, dbh: F32, dh0: F32, b: number, l: number, h: number): void;
  selectiveScanForward?(u: F32, delta: F32, A: F32, B: F32, C: F32, D: F32, y: F32, b: number, l: number, di: number, n: number): void;
  /** Masked softmax cross-entropy (native/src/cross_entropy.c): loss (1 float) and lse per row; the logits' gradient. */
  crossEntropy?(logits: F32, target: I32, mask: F32, loss: F32, lse: F32, v: number): void;
  crossEntropyGrad?(logits: F32, target: I32, mask: F32, lse: F32, dy: number, dlogits: F32, v: number): void;
  /** Embedding rows by id, and the gradient's scatter-add of rows (native/src/embedding.c). */
  embeddingGather?(table: F32, ids: I32, out: F32, d: number): void;
  embeddingScatter?(dy: F32, ids: I32, dtable: F32, d: number): void;
  /** Column sums of a row-major (rows, cols) matrix: out (cols) = Σ_i x[i, :], each column in double in row order (native/src/sum.c). */
  columnSums?(x: F32, out: F32, rows: number, cols: number): void;
  /** Row-block copies for Concat and SplitV (native/src/concat.c): out (rows, Σ w_i) = [parts_0 | parts_1 | …] with w_i = parts_i.length / rows, and its inverse. */
  concatRows?(parts: F32[], out: F32, rows: number): void;
  splitRows?(x: F32, parts: F32[], rows: number): void;
  selectiveScanBackward?(
    u: F32, delta: F32, A: F32, B: F32, C: F32, D: F32, dy: F32, du: F32, ddelta: F32, dA: F32, dB: F32, dC: F32, dD: F32,
    b: number, l: number, di: number, n: number,
  ): void;
}

type F32 = Float32Array;
type I32 = Int32Array;

const ADDON_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'seqarena.node');

let loaded: { addon: NativeAddon | null; reason: string } | null = null;

function load(): { addon: NativeAddon | null; reason: string } {
  if (process.env.SEQARENA_NATIVE === '0') return { addon: null, reason: 'disabled by SEQARENA_NATIVE=0' };
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    return { addon, reason: `native/build/seqarena.node (${addon.isa()})` };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'MODULE_NOT_FOUND' ? 'not built (no C compiler at install? run node scripts/build-native.mjs)' : (error as Error).message;
    return { addon: null, reason: why };
  }
}

let suspended = 0;

/** The native addon, or null where it is not built, is disabled, or is set aside by withoutNative. Loaded once per process. */
export function nativeAddon(): NativeAddon | null {
  loaded ??= load();
  return suspended > 0 ? null : loaded.addon;
}

/**
 * Run fn with the native kernels set aside, so every kernel takes its WebAssembly/JavaScript path (tests
 * hold the two against each other this way). Synchronous: kernels called inside fn, gradients included.
 */
export function withoutNative<T>(fn: () => T): T {
  suspended++;
  try {
    return fn();
  } finally {
    suspended--;
  }
}

/** Why the native kernels are or are not active, for `seqarena list` and env.json. */
export function nativeStatus(): { active: boolean; detail: string } {
  loaded ??= load();
  return { active: loaded.addon !== null, detail: loaded.reason };
}

/** The native GEMM as a GemmFn, or null where the addon is not loaded. */
export function nativeGemm(): GemmFn | null {
  const addon = nativeAddon();
  if (!addon) return null;
  return ({ batch, m, n, k, transA, transB, a, strideA, b, strideB, c, strideC }) =>
    addon.gemm(batch, m, n, k, transA ? 1 : 0, transB ? 1 : 0, a, strideA, b, strideB, c, strideC);
}
