/**
 * TensorFlow.js's `Concat` and `SplitV` on the host backends (cpu, wasm) for float32 tensors along any
 * axis, as copies of row blocks in place in the backend's memory. The Transformer's key/value
 * projection is split into keys and values (SplitV forward, Concat in its gradient), and Mamba's input
 * and x projections the same way. tfjs-wasm copies such blocks one `subarray` + `set` at a time in
 * JavaScript, and its SplitV slices each piece out of a fresh copy of the whole input; tfjs-cpu's SplitV
 * reads element by element through index arithmetic. Here:
 *
 *   concat along axis a:  parts_i (d₀ … d_{a−1}, n_i, …) viewed as (rows, w_i), rows = d₀ ⋯ d_{a−1},
 *                         w_i = n_i · (the sizes after a);  out (rows, Σ w_i) = [parts_0 | parts_1 | …]
 *   split along axis a:   the inverse, each piece's block of every row copied out
 *
 * over the native thread pool where the addon is built (native/src/concat.c: memcpy per block, ranges
 * of rows to a thread), else by the JavaScript loops below. Every element is copied as it is, so the
 * result is tfjs's bit for bit by construction (tests/concat.test.ts checks it on grids of shapes).
 * `Unpack` (tf.unstack, which every per-time-step loop over a sequence starts with) and `Pack` (tf.stack,
 * its gradient and the loops' end) are the same copies: unstacking n pieces along axis a is a split into n
 * pieces of width 1 there, each then dropping the axis, and stacking is its inverse. tfjs-wasm's Unpack slices
 * each piece out through its generic strided slice, which dominated a GLA step (82 % of it at d_model 64,
 * L 64, batch 64, one thread: 322 ms a call for the chunked form's unstack of the chunk states).
 *
 * Other dtypes, fewer than two non-empty inputs, and empty tensors go to tfjs's kernel, which stays one
 * call away as the reference: SEQARENA_CONCAT=tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon, nativeStatus } from './native.ts';
import { allocateFloat32, envChoice, hostArray, holdsFloat32Array, HOST_BACKENDS, wrapKernel } from './typed-kernel.ts';

export const CONCAT_CHOICES = ['auto', 'native', 'js', 'tfjs'] as const;

export type ConcatChoice = (typeof CONCAT_CHOICES)[number];

const choice = envChoice<ConcatChoice>('SEQARENA_CONCAT', CONCAT_CHOICES, 'auto', "auto: native where built, else js; tfjs: the backend's own Concat and SplitV, for checking a figure");
const currentChoice = choice.get;

/** 'auto': native where the addon has it, else the JavaScript loops; 'native' / 'js': that one; 'tfjs': the backend's own kernels. Default: SEQARENA_CONCAT, else auto. */
export function setConcatChoice(next: ConcatChoice): void {
  choice.set(next);
}

/** Which implementation the registered Concat and SplitV run now, and why tfjs's where it is tfjs's. */
function implementation(): { kind: 'native' | 'js' | 'tfjs'; why: string } {
  const c = currentChoice();
  if (c === 'tfjs') return { kind: 'tfjs', why: 'SEQARENA_CONCAT=tfjs' };
  if (c === 'js') return { kind: 'js', why: '' };
  const addon = nativeAddon();
  if (addon?.concatRows && addon.splitRows) return { kind: 'native', why: '' };
  if (c === 'native') return { kind: 'tfjs', why: `SEQARENA_CONCAT=native: native ${nativeStatus().active ? 'addon built before concatRows (rebuild: node scripts/build-native.mjs)' : nativeStatus().detail}` };
  return { kind: 'js', why: '' };
}

/** What `seqarena list` and env.json say about Concat and SplitV. */
export function concatInfo(): string {
  const { kind, why } = implementation();
  if (kind === 'tfjs') return `tfjs's own kernels (${why})`;
  const reason = nativeAddon() ? 'the native addon was built before concatRows: node scripts/build-native.mjs' : 'the native addon is not active';
  const where = kind === 'native' ? 'native C (row-block copies) over the threads' : `js (row-block copies, one thread; ${currentChoice() === 'js' ? 'SEQARENA_CONCAT=js' : reason})`;
  return `${where} for float32 Concat, SplitV, Unpack and Pack along any axis; other dtypes tfjs's own kernels (SEQARENA_CONCAT=tfjs for all)`;
}

// ---------------------------------------------------------------------------------------------------

/** Rows shorter than this are copied element by element: a subarray per row would cost more than its copy. */
const SET_MIN_WIDTH = 16;

function copyBlock(from: Float32Array, fromStart: number, to: Float32Array, toStart: number, width: number): void {
  if (width >= SET_MIN_WIDTH) to.set(from.subarray(fromStart, fromStart + width), toStart);
  else for (let j = 0; j < width; j++) to[toStart + j] = from[fromStart + j];
}

/** out (rows, Σ w_i) = [parts_0 | parts_1 | …], with parts_i (rows, w_i) and w_i = parts_i.length / rows. */
export function concatRowsJs(parts: Float32Array[], out: Float32Array, rows: number): void {
  const widths = parts.map((p) => p.length / rows);
  const total = widths.reduce((a, w) => a + w, 0);
  for (let r = 0; r < rows; r++) {
    let at = r * total;
    parts.forEach((part, i) => {
      copyBlock(part, r * widths[i], out, at, widths[i]);
      at += widths[i];
    });
  }
}

/** The inverse of concatRowsJs: parts_i (rows, w_i) = the i-th block of columns of x (rows, Σ w_i). */
export function splitRowsJs(x: Float32Array, parts: Float32Array[], rows: number): void {
  const widths = parts.map((p) => p.length / rows);
  const total = widths.reduce((a, w) => a + w, 0);
  for (let r = 0; r < rows; r++) {
    let at = r * total;
    parts.forEach((part, i) => {
      copyBlock(x, at, part, r * widths[i], widths[i]);
      at += widths[i];
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Registration over tfjs's kernels, which are kept to delegate to.

type KernelArgs = { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown };

const size = (shape: number[]): number => tf.util.sizeFromShape(shape);

/** out (rows, Σ w_i) = [parts_0 | parts_1 | …] in the backend's memory, natively or by the JavaScript loops. */
function copyConcat(kind: 'native' | 'js', host: tf.KernelBackend, parts: tf.TensorInfo[], out: tf.TensorInfo, rows: number): void {
  const views = parts.map((t) => hostArray(host, t));
  const whole = hostArray(host, out);
  if (kind === 'native') nativeAddon()!.concatRows!(views, whole, rows);
  else concatRowsJs(views, whole, rows);
}

/** The inverse of copyConcat: each piece gets its block of columns of x (rows, Σ w_i); empty pieces are left alone. */
function copySplit(kind: 'native' | 'js', host: tf.KernelBackend, x: tf.TensorInfo, pieces: tf.TensorInfo[], rows: number): void {
  const views = pieces.filter((o) => size(o.shape) > 0).map((o) => hostArray(host, o)); // an empty piece has nothing to copy
  const whole = hostArray(host, x);
  if (kind === 'native') nativeAddon()!.splitRows!(whole, views, rows);
  else splitRowsJs(whole, views, rows);
}

function concatKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs, backend } = args as KernelArgs;
    const { kind } = implementation();
    const host = backend as tf.KernelBackend;
    const all = Object.values(inputs) as tf.TensorInfo[]; // Concat's inputs are the list of tensors
    const parts = all.filter((t) => size(t.shape) > 0);
    if (kind === 'tfjs' || parts.length < 2 || !all.every((t) => holdsFloat32Array(host, t))) return original(args);
    const axis = tf.util.parseAxisParam(attrs?.axis as number, all[0].shape)[0];
    const shapes = all.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, axis);
    const outShape = tf.backend_util.computeOutShape(shapes, axis);
    const out = allocateFloat32(host, outShape);
    copyConcat(kind, host, parts, out, size(outShape.slice(0, axis)));
    return out;
  };
}

function splitKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs, backend } = args as KernelArgs;
    const { kind } = implementation();
    const host = backend as tf.KernelBackend;
    const x = inputs.x as tf.TensorInfo;
    if (kind === 'tfjs' || size(x.shape) === 0 || !holdsFloat32Array(host, x)) return original(args);
    const axis = tf.util.parseAxisParam(attrs?.axis as number, x.shape)[0];
    const requested = attrs?.numOrSizeSplits as number | number[];
    // prepareSplitSize writes the size of a -1 piece into the array it is given
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, Array.isArray(requested) ? [...requested] : requested, axis);
    const outs = sizes.map((s) => allocateFloat32(host, x.shape.map((d, a) => (a === axis ? s : d))));
    copySplit(kind, host, x, outs, size(x.shape.slice(0, axis)));
    return outs;
  };
}

/** Unpack: x (…, n, …) along axis a → n tensors with that axis dropped, as a split into n pieces of width 1. */
function unpackKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs, backend } = args as KernelArgs;
    const { kind } = implementation();
    const host = backend as tf.KernelBackend;
    const x = inputs.value as tf.TensorInfo;
    if (kind === 'tfjs' || size(x.shape) === 0 || !holdsFloat32Array(host, x)) return original(args);
    const axis = tf.util.parseAxisParam(attrs?.axis as number, x.shape)[0];
    const n = x.shape[axis];
    const outs = Array.from({ length: n }, () => allocateFloat32(host, x.shape.filter((_, a) => a !== axis)));
    copySplit(kind, host, x, outs, size(x.shape.slice(0, axis)));
    return outs;
  };
}

/** Pack: n tensors of one shape → (…, n, …) with the new axis at a, as a concat of pieces of width 1 there. */
function packKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs, backend } = args as KernelArgs;
    const { kind } = implementation();
    const host = backend as tf.KernelBackend;
    const all = Object.values(inputs) as tf.TensorInfo[];
    if (kind === 'tfjs' || all.length < 2 || size(all[0].shape) === 0 || !all.every((t) => holdsFloat32Array(host, t))) return original(args);
    const shape = all[0].shape;
    if (!all.every((t) => t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]))) return original(args); // tfjs names the mismatch
    const axis = tf.util.parseAxisParam(attrs?.axis as number, [...shape, all.length])[0];
    const outShape = [...shape.slice(0, axis), all.length, ...shape.slice(axis)];
    const out = allocateFloat32(host, outShape);
    copyConcat(kind, host, all, out, size(shape.slice(0, axis)));
    return out;
  };
}

/** Put this file's Concat, SplitV, Unpack and Pack over tfjs's on every host backend that is registered. Safe to call more than once. */
export function registerConcatKernels(): void {
  for (const backendName of HOST_BACKENDS) {
    wrapKernel('Concat', backendName, concatKernel);
    wrapKernel('SplitV', backendName, splitKernel);
    wrapKernel('Unpack', backendName, unpackKernel);
    wrapKernel('Pack', backendName, packKernel);
  }
}
