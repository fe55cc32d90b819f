/**
 * Registering TensorFlow.js kernels written as plain typed-array loops, for the backends whose tensors
 * live in host memory (cpu: JS arrays; wasm: the wasm heap). A kernel reads its inputs as typed arrays,
 * computes, and hands typed arrays back; this file hides how each backend stores them.
 */
import * as tf from '@tensorflow/tfjs';

/** Backends whose data can be read synchronously as host typed arrays. */
export const HOST_BACKENDS = ['cpu', 'wasm'] as const;

type Backend = tf.KernelBackend & {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo?: (shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues) => tf.TensorInfo;
  makeOutput?: (shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues) => tf.TensorInfo;
};

export interface HostOutput {
  shape: number[];
  dtype?: tf.DataType;
  values: Float32Array | Int32Array;
}

export type HostKernel = (
  inputs: Record<string, { shape: number[]; values: Float32Array | Int32Array }>,
  attrs: Record<string, unknown>,
) => HostOutput | HostOutput[];

/** Read a kernel input as a host typed array (a view: do not write to it). */
export function readInput(backend: tf.KernelBackend, info: tf.TensorInfo): Float32Array | Int32Array {
  return (backend as Backend).readSync(info.dataId) as Float32Array | Int32Array;
}

/**
 * The backend's own float32 buffer of a tensor, without a copy (cpu: its values array; wasm: a view on
 * the heap, valid until the next allocation may grow the heap). Writing to it changes the tensor, and
 * every tensor sharing its buffer (see `ownsData`).
 */
export function hostArray(backend: tf.KernelBackend, tensor: tf.TensorInfo): Float32Array {
  if (tensor.dtype !== 'float32') throw new Error(`hostArray: tensor of shape [${tensor.shape}] is ${tensor.dtype}, expected float32`);
  const b = backend as Backend & {
    data?: { get(dataId: object): { values?: Float32Array } };
    typedArrayFromHeap?: (info: tf.TensorInfo) => Float32Array;
  };
  if (b.typedArrayFromHeap) return b.typedArrayFromHeap(tensor);
  const values = b.data?.get(tensor.dataId).values;
  if (values instanceof Float32Array) return values;
  throw new Error(`backend ${tf.getBackend()} keeps no host buffer for tensors; use the reference path`);
}

/**
 * Whether hostArray can view this float32 tensor: always on wasm; on cpu only where its values are a
 * Float32Array (a cast from int32 or bool keeps the source's Int32Array or Uint8Array under dtype float32).
 */
export function holdsFloat32Array(backend: tf.KernelBackend, tensor: tf.TensorInfo): boolean {
  const b = backend as Backend & { data?: { get(dataId: object): { values?: unknown } }; typedArrayFromHeap?: unknown };
  if (tensor.dtype !== 'float32') return false;
  return b.typedArrayFromHeap !== undefined || b.data?.get(tensor.dataId).values instanceof Float32Array;
}

/**
 * An int32 tensor's values as an Int32Array, for reading (wasm: a view on the heap; cpu: its values
 * array, or a copy where the backend holds another kind of array). Do not write to it.
 */
export function hostInt32Array(backend: tf.KernelBackend, tensor: tf.TensorInfo): Int32Array {
  if (tensor.dtype !== 'int32') throw new Error(`hostInt32Array: tensor of shape [${tensor.shape}] is ${tensor.dtype}, expected int32`);
  const b = backend as Backend & {
    data?: { get(dataId: object): { values?: ArrayLike<number> } };
    typedArrayFromHeap?: (info: tf.TensorInfo) => Int32Array;
  };
  if (b.typedArrayFromHeap) return b.typedArrayFromHeap(tensor);
  const values = b.data?.get(tensor.dataId).values;
  if (values instanceof Int32Array) return values;
  if (values) return Int32Array.from(values);
  throw new Error(`backend ${tf.getBackend()} keeps no host buffer for tensors; use the reference path`);
}

/** Whether the tensor is the only one holding its buffer (so it may be written in place). */
export function ownsData(backend: tf.KernelBackend, tensor: tf.TensorInfo): boolean {
  return backend.refCount(tensor.dataId) === 1;
}

/** Turn a host typed array into a kernel output on the given backend. */
export function makeOutput(backend: tf.KernelBackend, out: HostOutput): tf.TensorInfo {
  const b = backend as Backend;
  const dtype = out.dtype ?? (out.values instanceof Int32Array ? 'int32' : 'float32');
  if (b.makeTensorInfo) return b.makeTensorInfo(out.shape, dtype, out.values);
  if (b.makeOutput) return b.makeOutput(out.shape, dtype, undefined, out.values);
  throw new Error(`backend ${tf.getBackend()} cannot take host arrays as kernel outputs`);
}

/**
 * Register `kernel` under `kernelName` for every host backend that is registered and lacks it
 * (or for all of them with `override`). Safe to call more than once.
 */
export function registerHostKernel(kernelName: string, kernel: HostKernel, options: { override?: boolean } = {}): void {
  for (const backendName of HOST_BACKENDS) {
    if (tf.findBackendFactory(backendName) === null && tf.findBackend(backendName) === null) continue;
    const existing = tf.getKernel(kernelName, backendName);
    if (existing && !options.override) continue;
    if (existing) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: ({ inputs, attrs, backend }) => {
        const hostInputs: Record<string, { shape: number[]; values: Float32Array | Int32Array }> = {};
        for (const [name, info] of Object.entries(inputs)) {
          if (info) hostInputs[name] = { shape: info.shape, values: readInput(backend as tf.KernelBackend, info) };
        }
        const out = kernel(hostInputs, attrs as Record<string, unknown>);
        return Array.isArray(out)
          ? out.map((o) => makeOutput(backend as tf.KernelBackend, o))
          : makeOutput(backend as tf.KernelBackend, out);
      },
    });
  }
}

/** An input's values as a Float32Array, for native kernels (the cpu backend may hold other arrays, e.g. a cast mask); a view when it already is one. */
export function float32Values(input: { values: Float32Array | Int32Array }): Float32Array {
  return input.values instanceof Float32Array ? input.values : Float32Array.from(input.values);
}

export type HostViews = Record<string, Float32Array>;
export type HostIndexViews = Record<string, Int32Array>;

/**
 * A float32 output of the given shape in the backend's own memory, for a kernel to write through
 * hostArray (cpu: a zeroed array; wasm: uninitialised heap). Allocate every output before taking any
 * view: on wasm an allocation may grow the heap and detach views taken earlier.
 */
export function allocateFloat32(backend: tf.KernelBackend, shape: number[]): tf.TensorInfo {
  const b = backend as Backend;
  if (b.makeTensorInfo) return b.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((x, y) => x * y, 1)));
  if (b.makeOutput) return b.makeOutput(shape, 'float32');
  throw new Error(`backend ${tf.getBackend()} cannot take host arrays as kernel outputs`);
}

/**
 * Register a float32 kernel that reads its inputs and writes its outputs in place in the backend's own
 * memory (no copies: for native code and for loops over large tensors). `outputs` gives the outputs'
 * shapes from the inputs' shapes; they are all allocated before any view is taken, because on wasm an
 * allocation may grow the heap and detach views taken earlier. `compute` must write every output element.
 * Int32 inputs (token ids, targets) come as Int32Array views in `ints`, the rest as Float32Array views.
 */
export function registerHostViewKernel(
  kernelName: string,
  kernel: {
    outputs(shapes: Record<string, number[]>, attrs: Record<string, unknown>): number[][];
    compute(inputs: HostViews, outputs: Float32Array[], attrs: Record<string, unknown>, ints: HostIndexViews): void;
  },
): void {
  for (const backendName of HOST_BACKENDS) {
    if (tf.findBackendFactory(backendName) === null && tf.findBackend(backendName) === null) continue;
    if (tf.getKernel(kernelName, backendName)) continue;
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: ({ inputs, attrs, backend }) => {
        const b = backend as Backend;
        const named = Object.entries(inputs).filter((e): e is [string, tf.TensorInfo] => e[1] !== undefined);
        const shapes = Object.fromEntries(named.map(([name, info]) => [name, info.shape]));
        const infos = kernel.outputs(shapes, attrs as Record<string, unknown>).map((shape) => allocateFloat32(b, shape));
        const views = Object.fromEntries(named.filter(([, info]) => info.dtype !== 'int32').map(([name, info]) => [name, hostArray(b, info)]));
        const ints = Object.fromEntries(named.filter(([, info]) => info.dtype === 'int32').map(([name, info]) => [name, hostInt32Array(b, info)]));
        kernel.compute(views, infos.map((info) => hostArray(b, info)), attrs as Record<string, unknown>, ints);
        return infos;
      },
    });
  }
}

/**
 * Which implementation a kernel runs: read once from the environment variable `variable` (else `fallback`),
 * and settable from code (tests). An unknown value is an error naming the choices; `meaning` says what
 * they do.
 */
export function envChoice<C extends string>(variable: string, choices: readonly C[], fallback: C, meaning: string): { get(): C; set(next: C): void } {
  let chosen: C | undefined;
  return {
    get() {
      if (chosen) return chosen;
      const raw = process.env[variable] ?? fallback;
      if (!(choices as readonly string[]).includes(raw)) throw new Error(`${variable}='${raw}' is not one of ${choices.join(', ')} (${meaning})`);
      return (chosen = raw as C);
    },
    set(next) {
      chosen = next;
    },
  };
}

/** Kernels wrapKernel has put over tfjs's, as 'name/backend'. */
const wrapped = new Set<string>();

/**
 * Put wrap(tfjs's kernel) over tfjs's `kernelName` on `backendName`, keeping tfjs's to delegate to, where
 * that backend is registered and has the kernel. Safe to call more than once: a kernel is wrapped once.
 */
export function wrapKernel(kernelName: string, backendName: string, wrap: (original: tf.KernelFunc) => tf.KernelFunc): void {
  const key = `${kernelName}/${backendName}`;
  if (wrapped.has(key)) return;
  if (tf.findBackendFactory(backendName) === null && tf.findBackend(backendName) === null) return;
  const original = tf.getKernel(kernelName, backendName);
  if (!original) return;
  wrapped.add(key);
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...original, kernelFunc: wrap(original.kernelFunc) });
}
