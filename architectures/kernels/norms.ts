/**
 * LayerNorm (Ba et al. 2016) and RMSNorm (Zhang & Sennrich 2019) over the last axis: the readable
 * references composed from tfjs ops, and fused kernels with their gradients for the host backends
 * (cpu, wasm), where each composed norm is about ten kernels forward and twenty backward.
 *
 *   LayerNorm  x̂ = (x − μ)·r,  r = 1/√(σ² + ε),  y = x̂·γ + β
 *              dx = r·(g − mean(g) − x̂·mean(g·x̂)),  g = dy·γ;  dγ = Σ dy·x̂;  dβ = Σ dy
 *   RMSNorm    r = 1/√(mean(x²) + ε),  y = x·r·γ
 *              dx = r·(g − x̂·mean(g·x̂)),  x̂ = x·r;  dγ = Σ dy·x̂
 *
 * The forward kernel saves each row's μ and r for the backward one. Both run in C over the native
 * thread pool where the addon is built (native/src/norms.c) and as the JavaScript loops below
 * otherwise; both are tested equal to the references (forward and every gradient).
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon } from './native.ts';
import { HOST_BACKENDS, registerHostViewKernel, type HostViews } from './typed-kernel.ts';

/** `fused` (the default): the fused kernels on cpu/wasm, the reference elsewhere; `reference`: always the composed ops. */
export const NORM_IMPLS = ['fused', 'reference'] as const;
export type NormImpl = (typeof NORM_IMPLS)[number];

export function layerNormReference(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(gamma).add(beta);
  });
}

export function rmsNormReference(x: tf.Tensor, gamma: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => x.mul(tf.rsqrt(x.square().mean(-1, true).add(eps))).mul(gamma));
}

// ---------------------------------------------------------------------------------------------------
// The JavaScript loops (the fallback where the native addon is not built).

/** Which implementation the fused kernels use: 'native' where built; tests force 'js'. */
let loops: 'native' | 'js' | null = null;
export function setNormLoops(which: 'native' | 'js' | null): void {
  loops = which;
}
const useNative = (): boolean => (loops ?? (nativeAddon() ? 'native' : 'js')) === 'native' && nativeAddon() !== null;

function normForwardJs(x: Float32Array, gamma: Float32Array, beta: Float32Array | null, eps: number, y: Float32Array, mean: Float32Array | null, rstd: Float32Array, d: number): void {
  const rows = x.length / d;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let m = 0;
    if (beta) {
      for (let i = 0; i < d; i++) m += x[o + i];
      m /= d;
    }
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[o + i] - m) ** 2;
    const s = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) y[o + i] = (x[o + i] - m) * s * gamma[i] + (beta ? beta[i] : 0);
    if (mean) mean[r] = m;
    rstd[r] = s;
  }
}

function normBackwardJs(x: Float32Array, gamma: Float32Array, mean: Float32Array | null, rstd: Float32Array, dy: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array | null, d: number): void {
  const rows = x.length / d;
  const dg = new Float64Array(d);
  const db = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const m = mean ? mean[r] : 0;
    const s = rstd[r];
    let sumG = 0;
    let sumGx = 0;
    for (let i = 0; i < d; i++) {
      const xhat = (x[o + i] - m) * s;
      const g = dy[o + i] * gamma[i];
      sumG += g;
      sumGx += g * xhat;
      dg[i] += dy[o + i] * xhat;
      db[i] += dy[o + i];
    }
    const meanG = mean ? sumG / d : 0;
    const meanGx = sumGx / d;
    for (let i = 0; i < d; i++) {
      const xhat = (x[o + i] - m) * s;
      dx[o + i] = s * (dy[o + i] * gamma[i] - meanG - xhat * meanGx);
    }
  }
  dgamma.set(dg);
  dbeta?.set(db);
}

// ---------------------------------------------------------------------------------------------------
// Kernels, registration and gradients

const LN = 'SeqarenaLayerNorm';
const LN_GRAD = 'SeqarenaLayerNormGrad';
const RMS = 'SeqarenaRMSNorm';
const RMS_GRAD = 'SeqarenaRMSNormGrad';

const rowsOf = (shape: number[]): number[] => [shape.slice(0, -1).reduce((a, b) => a * b, 1)];
const lastDim = (shape: number[]): number => shape[shape.length - 1];

function register(): void {
  registerHostViewKernel(LN, {
    outputs: ({ x }) => [x, rowsOf(x), rowsOf(x)],
    compute: ({ x, gamma, beta }: HostViews, [y, mean, rstd], attrs) => {
      const d = gamma.length;
      if (useNative()) nativeAddon()!.layerNorm(x, gamma, beta, attrs.eps as number, y, mean, rstd, d);
      else normForwardJs(x, gamma, beta, attrs.eps as number, y, mean, rstd, d);
    },
  });
  registerHostViewKernel(LN_GRAD, {
    outputs: ({ x, gamma }) => [x, gamma, gamma],
    compute: ({ x, gamma, mean, rstd, dy }: HostViews, [dx, dgamma, dbeta]) => {
      if (useNative()) nativeAddon()!.layerNormGrad(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, gamma.length);
      else normBackwardJs(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, gamma.length);
    },
  });
  registerHostViewKernel(RMS, {
    outputs: ({ x }) => [x, rowsOf(x)],
    compute: ({ x, gamma }: HostViews, [y, rstd], attrs) => {
      if (useNative()) nativeAddon()!.rmsNorm(x, gamma, attrs.eps as number, y, rstd, gamma.length);
      else normForwardJs(x, gamma, null, attrs.eps as number, y, null, rstd, gamma.length);
    },
  });
  registerHostViewKernel(RMS_GRAD, {
    outputs: ({ x, gamma }) => [x, gamma],
    compute: ({ x, gamma, rstd, dy }: HostViews, [dx, dgamma]) => {
      if (useNative()) nativeAddon()!.rmsNormGrad(x, gamma, rstd, dy, dx, dgamma, gamma.length);
      else normBackwardJs(x, gamma, null, rstd, dy, dx, dgamma, null, gamma.length);
    },
  });
}

function run(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}): tf.Tensor[] {
  return tf.engine().runKernel(kernelName, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

tf.registerGradient({
  kernelName: LN,
  inputsToSave: ['x', 'gamma', 'beta'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved) => {
    const [x, gamma, , mean, rstd] = saved;
    const [dx, dgamma, dbeta] = run(LN_GRAD, { x, gamma, mean, rstd, dy: (dys as tf.Tensor[])[0] });
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
});

tf.registerGradient({
  kernelName: RMS,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved) => {
    const [x, gamma, rstd] = saved;
    const [dx, dgamma] = run(RMS_GRAD, { x, gamma, rstd, dy: (dys as tf.Tensor[])[0] });
    return { x: () => dx, gamma: () => dgamma };
  },
});

/** Whether the fused norms run on the active backend (the host backends). */
export function fusedNormsSupported(): boolean {
  return (HOST_BACKENDS as readonly string[]).includes(tf.getBackend());
}

function checkShapes(what: string, x: tf.Tensor, params: tf.Tensor[]): void {
  const d = lastDim(x.shape);
  for (const p of params) {
    if (p.rank !== 1 || p.shape[0] !== d) throw new Error(`${what}: scale/shift of shape [${p.shape}] for x of shape [${x.shape}]; expected [${d}]`);
  }
}

/** LayerNorm over the last axis: x (…, d), gamma and beta (d). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number, impl: NormImpl = 'fused'): tf.Tensor {
  if (impl === 'reference' || !fusedNormsSupported() || x.dtype !== 'float32') return layerNormReference(x, gamma, beta, eps);
  checkShapes('layerNorm', x, [gamma, beta]);
  register();
  const [y, mean, rstd] = run(LN, { x, gamma, beta }, { eps });
  tf.dispose([mean, rstd]);
  return y;
}

/** RMSNorm over the last axis: x (…, d), gamma (d). */
export function rmsNorm(x: tf.Tensor, gamma: tf.Tensor, eps: number, impl: NormImpl = 'fused'): tf.Tensor {
  if (impl === 'reference' || !fusedNormsSupported() || x.dtype !== 'float32') return rmsNormReference(x, gamma, eps);
  checkShapes('rmsNorm', x, [gamma]);
  register();
  const [y, rstd] = run(RMS, { x, gamma }, { eps });
  rstd.dispose();
  return y;
}
