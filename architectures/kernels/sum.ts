/**
 * TensorFlow.js's `Sum` on the host backends (cpu, wasm) where it reduces the leading axes of a
 * float32 tensor — the bias, scale and position-table gradients of every model: (b, l, k) → (k) — as
 * column sums of a (rows, cols) view of the tensor, in place in the backend's memory. tfjs's own
 * kernel transposes the reduced axes innermost first and sums on one thread; here the columns are
 * summed as they lie, over the native thread pool where the addon is built (native/src/sum.c, AVX2
 * and AVX-512 copies), else by the JavaScript loop below.
 *
 *   x (d₀, …, d_{k−1}, d_k, …) summed over axes 0 … k−1 → (d_k, …)   (keepDims: (1, …, 1, d_k, …))
 *   out[j] = Σ_i x[i, j]   over i = 0 … rows−1 in order, in double, rounded to float once
 *
 * That is the order and precision of tfjs's cpu kernel, so the result equals it bit for bit, on any
 * instruction set and thread count (threads split the columns, never a column). Axes of size 1 are
 * ignored in deciding what "leading" means ([1, l, k] summed over axis 1 is leading); a sum over no rows
 * is zeros (tfjs-wasm's kernel leaves that output unwritten). Everything else — other axes, every axis,
 * dtypes other than float32 — goes to tfjs's kernel, which stays one call away as the reference:
 * SEQARENA_SUM=tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon, nativeStatus } from './native.ts';
import { allocateFloat32, envChoice, hostArray, HOST_BACKENDS, wrapKernel } from './typed-kernel.ts';

export const SUM_CHOICES = ['auto', 'native', 'js', 'tfjs'] as const;

export type SumChoice = (typeof SUM_CHOICES)[number];

const choice = envChoice<SumChoice>('SEQARENA_SUM', SUM_CHOICES, 'auto', "auto: native where built, else js; tfjs: the backend's own kernel, for checking a figure");
const currentChoice = choice.get;

/** 'auto': native where the addon has it, else the JavaScript loop; 'native' / 'js': that one; 'tfjs': the backend's own kernel. Default: SEQARENA_SUM, else auto. */
export function setSumChoice(next: SumChoice): void {
  choice.set(next);
}

/** Which implementation the registered Sum runs now, and why tfjs's where it is tfjs's. */
function implementation(): { kind: 'native' | 'js' | 'tfjs'; why: string } {
  const c = currentChoice();
  if (c === 'tfjs') return { kind: 'tfjs', why: 'SEQARENA_SUM=tfjs' };
  if (c === 'js') return { kind: 'js', why: '' };
  if (nativeAddon()?.columnSums) return { kind: 'native', why: '' };
  if (c === 'native') return { kind: 'tfjs', why: `SEQARENA_SUM=native: native ${nativeStatus().active ? 'addon built before columnSums (rebuild: node scripts/build-native.mjs)' : nativeStatus().detail}` };
  return { kind: 'js', why: '' };
}

/** What `seqarena list` and env.json say about Sum. */
export function sumInfo(): string {
  const { kind, why } = implementation();
  if (kind === 'tfjs') return `tfjs's own kernel (${why})`;
  const reason = nativeAddon() ? 'the native addon was built before columnSums: node scripts/build-native.mjs' : 'the native addon is not active';
  const where = kind === 'native' ? `native C (${nativeAddon()!.isa()}), columns split over the threads` : `js (one loop, one thread; ${currentChoice() === 'js' ? 'SEQARENA_SUM=js' : reason})`;
  return `${where} for sums over leading axes; other sums tfjs's own kernel (SEQARENA_SUM=tfjs for all)`;
}

// ---------------------------------------------------------------------------------------------------

/** The sum as column sums of a (rows, cols) matrix, and the output's shape; null where the reduced axes are not the leading ones. */
export interface SumPlan {
  rows: number;
  cols: number;
  outShape: number[];
}

export function leadingAxesPlan(shape: number[], axis: unknown, keepDims: boolean): SumPlan | null {
  if (axis === null || axis === undefined) return null; // every axis
  const rank = shape.length;
  const listed = (Array.isArray(axis) ? axis : [axis]) as unknown[];
  if (!listed.every((a): a is number => Number.isInteger(a) && (a as number) >= -rank && (a as number) < rank)) return null;
  const axes = new Set(listed.map((a) => (a < 0 ? a + rank : a)));
  if (axes.size !== listed.length || axes.size === 0) return null; // repeated or no axes: tfjs's kernel decides
  let rows = 1;
  let cols = 1;
  for (let a = 0; a < rank; a++) {
    if (!axes.has(a)) cols *= shape[a];
    else if (shape[a] !== 1 && cols !== 1) return null; // a reduced axis after a kept one of size > 1
    else rows *= shape[a];
  }
  if (cols <= 1) return null;
  const outShape = keepDims ? shape.map((d, a) => (axes.has(a) ? 1 : d)) : shape.filter((_, a) => !axes.has(a));
  return { rows, cols, outShape };
}

/** out[j] = Σ_i x[i·cols + j], each column in double from +0 in row order, as tfjs's cpu kernel sums. */
export function columnSumsJs(x: Float32Array, out: Float32Array, rows: number, cols: number): void {
  const acc = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let j = 0; j < cols; j++) acc[j] += x[row + j];
  }
  out.set(acc);
}

// ---------------------------------------------------------------------------------------------------
// Registration over tfjs's kernel, which is kept to delegate to.

type KernelArgs = { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown };

function sumKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs, backend } = args as KernelArgs;
    const x = inputs.x as tf.TensorInfo;
    const { kind } = implementation();
    const p = kind !== 'tfjs' && x.dtype === 'float32' ? leadingAxesPlan(x.shape, attrs?.axis, Boolean(attrs?.keepDims)) : null;
    if (!p) return original(args);
    const host = backend as tf.KernelBackend;
    const out = allocateFloat32(host, p.outShape);
    const xs = hostArray(host, x);
    const sums = hostArray(host, out);
    if (kind === 'native') nativeAddon()!.columnSums!(xs, sums, p.rows, p.cols);
    else columnSumsJs(xs, sums, p.rows, p.cols);
    return out;
  };
}

/** Put this file's Sum over tfjs's on every host backend that is registered. Safe to call more than once. */
export function registerSumKernel(): void {
  for (const backendName of HOST_BACKENDS) wrapKernel('Sum', backendName, sumKernel);
}
