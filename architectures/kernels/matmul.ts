/**
 * TensorFlow.js's matrix products on the host backends (cpu, wasm) through the fastest GEMM present:
 * the native one (native/src/gemm.c, AVX-512 / AVX2 / plain C on a thread pool), else the WebAssembly
 * SIMD one on worker threads (gemm-wasm.ts), else tfjs's own kernel.
 * tf.matMul and its gradients (the transposed products dA = dC·Bᵀ, dB = Aᵀ·dC) all reach the backend
 * as `BatchMatMul` with transposeA/transposeB attributes, and tf.fused.matMul as `_FusedMatMul`; both
 * are registered here over tfjs's kernels, which stay one call away for whatever this file does not
 * handle (integer dtypes, batch shapes that broadcast other than all-or-one, activations it does not
 * know) and as the reference a user can check a figure against: SEQARENA_MATMUL=tfjs.
 *
 * The product is written straight into the output tensor's memory: on wasm, the output is allocated on
 * the wasm heap first and the GEMM writes through a view of it (nothing copied in or out).
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { GemmFn } from './gemm.ts';
import { createWasmGemm, type WasmGemm } from './gemm-wasm.ts';
import { nativeAddon, nativeGemm, nativeStatus } from './native.ts';
import { HOST_BACKENDS, wrapKernel } from './typed-kernel.ts';

/** Where the matmul kernels run: which GEMM and, for the record, what it runs on. */
export interface MatmulInfo {
  /** 'native' (C), 'wasm' (WebAssembly SIMD on worker threads), 'tfjs' (the backend's own kernel: the reference). */
  kind: 'native' | 'wasm' | 'tfjs';
  /** e.g. "native avx512 (native/build/seqarena.node (avx512))" or "tfjs's own kernel (SEQARENA_MATMUL=tfjs)". */
  detail: string;
  threads: number;
}

interface GemmProvider {
  kind: MatmulInfo['kind'];
  gemm: GemmFn;
  threads(): number;
  setThreads(n: number): void;
  describe(): string;
}

/** The GEMMs in order of preference; with 'auto' the first that exists runs. */
const PROVIDERS: Record<'native' | 'wasm', () => GemmProvider | null> = {
  native: () => {
    const addon = nativeAddon();
    const gemm = nativeGemm();
    if (!addon || !gemm) return null;
    return {
      kind: 'native',
      gemm,
      threads: () => addon.threads(),
      setThreads: (n) => addon.setThreads(n),
      describe: () => `native ${addon.isa()} (native/build/seqarena.node; SEQARENA_ISA picks another of ${addon.isas().join(", ")})`,
    };
  },
  wasm: () => {
    const gemm = wasmGemm();
    if (!gemm) return null;
    return { kind: 'wasm', gemm, threads: () => gemm.threads(), setThreads: (n) => gemm.setThreads(n), describe: () => 'wasm SIMD128 on worker threads (gemm-wasm.ts)' };
  },
};

export const MATMUL_CHOICES = ['auto', 'native', 'wasm', 'tfjs'] as const;

export type MatmulChoice = (typeof MATMUL_CHOICES)[number];

let provider: GemmProvider | null | undefined;
/** Every core until setMatmulThreads says otherwise (the harness passes --threads). */
let requestedThreads = os.availableParallelism();
let sharedWasmGemm: WasmGemm | null | undefined;

/**
 * The process's one WebAssembly GEMM (one worker pool), shared by the matmul kernels when they run it and
 * by the fused kernels' fallback loops (recurrence-fused.ts), on setMatmulThreads' threads; null where
 * WebAssembly SIMD or shared memory is missing.
 */
export function wasmGemm(): WasmGemm | null {
  if (sharedWasmGemm === undefined) sharedWasmGemm = createWasmGemm({ threads: requestedThreads });
  return sharedWasmGemm;
}
let whyReference = '';
let choice: MatmulChoice | undefined;

function initialChoice(): MatmulChoice {
  const raw = process.env.SEQARENA_MATMUL ?? 'auto';
  if (!(MATMUL_CHOICES as readonly string[]).includes(raw)) {
    throw new Error(`SEQARENA_MATMUL='${raw}' is not one of ${MATMUL_CHOICES.join(', ')} (auto: the fastest present; tfjs: the backend's own kernel, for checking a figure)`);
  }
  return raw as MatmulChoice;
}

function choose(): GemmProvider | null {
  if (provider !== undefined) return provider;
  choice ??= initialChoice();
  provider = null;
  if (choice === 'tfjs') {
    whyReference = 'SEQARENA_MATMUL=tfjs';
    return provider;
  }
  const names = choice === 'auto' ? (['native', 'wasm'] as const) : [choice];
  for (const name of names) {
    provider = PROVIDERS[name]();
    if (provider) break;
  }
  if (!provider) {
    const why = { native: `native ${nativeStatus().detail}`, wasm: 'no WebAssembly SIMD with shared memory here' };
    whyReference = `SEQARENA_MATMUL=${choice}: ${names.map((n) => why[n]).join('; ')}`;
  }
  provider?.setThreads(requestedThreads);
  return provider;
}

/** 'auto': the fastest GEMM present; 'native' / 'wasm': that one; 'tfjs': the backend's own kernel (the reference). Default: SEQARENA_MATMUL, else auto. */
export function setMatmulChoice(next: MatmulChoice): void {
  choice = next;
  provider = undefined;
}

/** Run the matmul GEMM on `n` threads (the calling thread included). */
export function setMatmulThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`threads must be a whole number ≥ 1, got ${n}`);
  requestedThreads = n;
  choose()?.setThreads(n);
  sharedWasmGemm?.setThreads(n);
}

/** Which GEMM the registered matmul kernels use, for `seqarena list`, env.json and every row. */
export function matmulInfo(): MatmulInfo {
  const p = choose();
  if (!p) return { kind: 'tfjs', detail: `tfjs's own kernel (${whyReference})`, threads: 1 };
  return { kind: p.kind, detail: p.describe(), threads: p.threads() };
}

// ---------------------------------------------------------------------------------------------------
// Shapes: the batch dimensions of a and b broadcast to the output's; the GEMM handles equal batches and
// a batch of one broadcast over the other (stride 0). Anything else goes to tfjs's kernel.

interface Plan {
  outShape: number[];
  batch: number;
  m: number;
  n: number;
  k: number;
  strideA: number;
  strideB: number;
}

const size = (shape: number[]): number => shape.reduce((p, s) => p * s, 1);

function plan(aShape: number[], bShape: number[], transA: boolean, transB: boolean): Plan | null {
  if (aShape.length < 2 || bShape.length < 2) return null;
  const [ra, ca] = aShape.slice(-2);
  const [rb, cb] = bShape.slice(-2);
  const m = transA ? ca : ra;
  const k = transA ? ra : ca;
  const n = transB ? rb : cb;
  if ((transB ? cb : rb) !== k) return null; // tfjs's kernel throws its own error
  const batchA = aShape.slice(0, -2);
  const batchB = bShape.slice(0, -2);
  const rank = Math.max(batchA.length, batchB.length);
  const padA = [...Array(rank - batchA.length).fill(1), ...batchA];
  const padB = [...Array(rank - batchB.length).fill(1), ...batchB];
  const outBatch: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (padA[i] !== padB[i] && padA[i] !== 1 && padB[i] !== 1) return null;
    outBatch.push(Math.max(padA[i], padB[i]));
  }
  const batch = size(outBatch);
  const sameA = padA.every((s, i) => s === outBatch[i]);
  const sameB = padB.every((s, i) => s === outBatch[i]);
  if (!(sameA || size(batchA) === 1) || !(sameB || size(batchB) === 1)) return null;
  if (batch === 0 || m === 0 || n === 0 || k === 0) return null;
  return {
    outShape: [...outBatch, m, n],
    batch,
    m,
    n,
    k,
    strideA: size(batchA) === 1 ? 0 : m * k,
    strideB: size(batchB) === 1 ? 0 : k * n,
  };
}

// ---------------------------------------------------------------------------------------------------
// Host memory of the two backends.

type HostBackend = tf.KernelBackend & {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo?: (shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues) => tf.TensorInfo;
  makeOutput?: (shape: number[], dtype: tf.DataType) => tf.TensorInfo;
  typedArrayFromHeap?: (info: tf.TensorInfo) => Float32Array;
};

/**
 * Allocate the output, then hand the GEMM views of a, b and the output. On wasm the output is allocated
 * first: allocating may grow the heap, which detaches views taken before.
 */
function product(backend: HostBackend, a: tf.TensorInfo, b: tf.TensorInfo, p: Plan, transA: boolean, transB: boolean, gemm: GemmFn): { out: tf.TensorInfo; values: Float32Array } {
  const args = { batch: p.batch, m: p.m, n: p.n, k: p.k, transA, transB, strideA: p.strideA, strideB: p.strideB, strideC: p.m * p.n };
  if (backend.typedArrayFromHeap && backend.makeOutput) {
    const out = backend.makeOutput(p.outShape, 'float32');
    const values = backend.typedArrayFromHeap(out);
    gemm({ ...args, a: backend.typedArrayFromHeap(a), b: backend.typedArrayFromHeap(b), c: values });
    return { out, values };
  }
  const asF32 = (info: tf.TensorInfo): Float32Array => {
    const v = backend.readSync(info.dataId);
    return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
  };
  const values = new Float32Array(size(p.outShape));
  gemm({ ...args, a: asF32(a), b: asF32(b), c: values });
  if (!backend.makeTensorInfo) throw new Error(`backend ${tf.getBackend()} cannot take host arrays as kernel outputs`);
  return { out: backend.makeTensorInfo(p.outShape, 'float32', values), values };
}

// ---------------------------------------------------------------------------------------------------
// _FusedMatMul's epilogue: bias, then the activation, as tfjs's fused ops define them.

type Activation = (x: number, alpha: number) => number;
const ACTIVATIONS: Record<string, Activation> = {
  linear: (x) => x,
  relu: (x) => (x > 0 ? x : 0),
  relu6: (x) => (x < 0 ? 0 : x > 6 ? 6 : x),
  elu: (x) => (x >= 0 ? x : Math.exp(x) - 1),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  leakyrelu: (x, alpha) => (x >= 0 ? x : alpha * x),
  prelu: (x, alpha) => (x >= 0 ? x : alpha * x),
};

/** A per-column vector (n values, or 1 broadcast) read from a tensor of shape [..., n] with leading 1s. */
function columnVector(backend: HostBackend, info: tf.TensorInfo | undefined, n: number): Float32Array | null | undefined {
  if (!info) return undefined;
  const s = info.shape;
  const count = size(s);
  const leadingOnes = s.slice(0, -1).every((d) => d === 1);
  if (info.dtype !== 'float32' || !leadingOnes || (count !== n && count !== 1)) return null;
  const values = backend.readSync(info.dataId) as Float32Array;
  if (count === n) return Float32Array.from(values);
  return new Float32Array(n).fill(values[0]);
}

// ---------------------------------------------------------------------------------------------------
// Registration.

type KernelArgs = { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown };

function batchMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs, backend } = args as KernelArgs;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const transA = Boolean(attrs?.transposeA);
    const transB = Boolean(attrs?.transposeB);
    const gemm = choose()?.gemm;
    const p = a.dtype === 'float32' && b.dtype === 'float32' ? plan(a.shape, b.shape, transA, transB) : null;
    if (!gemm || !p) return original(args);
    return product(backend as HostBackend, a, b, p, transA, transB, gemm).out;
  };
}

function fusedMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs, backend } = args as KernelArgs;
    const { a, b, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo | undefined> & { a: tf.TensorInfo; b: tf.TensorInfo };
    const transA = Boolean(attrs?.transposeA);
    const transB = Boolean(attrs?.transposeB);
    const activationName = (attrs?.activation as string | undefined) ?? 'linear';
    const activation = ACTIVATIONS[activationName];
    const gemm = choose()?.gemm;
    const p = a.dtype === 'float32' && b.dtype === 'float32' ? plan(a.shape, b.shape, transA, transB) : null;
    if (!gemm || !p || !activation) return original(args);
    const host = backend as HostBackend;
    const biasColumns = columnVector(host, bias, p.n);
    const preluColumns = activationName === 'prelu' ? columnVector(host, preluActivationWeights, p.n) : undefined;
    if (biasColumns === null || preluColumns === null || (activationName === 'prelu' && !preluColumns)) return original(args);
    const { out, values } = product(host, a, b, p, transA, transB, gemm);
    const alpha = Number(attrs?.leakyreluAlpha ?? 0.2);
    const n = p.n;
    for (let i = 0; i < values.length; i += n) {
      for (let j = 0; j < n; j++) {
        const x = values[i + j] + (biasColumns ? biasColumns[j] : 0);
        values[i + j] = activation(x, preluColumns ? preluColumns[j] : alpha);
      }
    }
    return out;
  };
}

const WRAPPERS: Record<string, (original: tf.KernelFunc) => tf.KernelFunc> = {
  BatchMatMul: batchMatMul,
  _FusedMatMul: fusedMatMul,
};

/**
 * Put this file's BatchMatMul and _FusedMatMul over tfjs's on every host backend that is registered,
 * keeping tfjs's kernel to delegate to. Safe to call more than once.
 */
export function registerMatmulKernels(): void {
  for (const backendName of HOST_BACKENDS) {
    for (const [kernelName, wrap] of Object.entries(WRAPPERS)) wrapKernel(kernelName, backendName, wrap);
  }
}
