/**
 * The small layer every WGSL kernel here stands on: a program in the shape tfjs-backend-webgpu runs
 * (its WebGPUProgram interface: the backend prepends the bindings, `result` for the output and one
 * read-only array per input, and a `uniforms` struct), and the registration of kernels for the
 * `webgpu` backend only.
 *
 * The package is an optional dependency, so nothing here imports it: the few members of its backend
 * and program that the kernels use are typed below, as its source (webgpu_program.ts,
 * backend_webgpu.ts) defines them.
 *
 * Conventions of every program made here:
 *   - the output is one flat float32 array (several outputs of one kernel are packed into it and sliced
 *     apart with tfjs ops by the caller);
 *   - the entry is `fn main(index : i32)`, called with the flat global invocation index, and the
 *     backend's private `localId`, `workgroupId` are there for kernels that work per workgroup;
 *   - sizes that the shader needs at compile time (private array lengths, tile sizes) are `const`s in the
 *     source and part of the shader key; the rest are uniforms, so one pipeline serves many shapes;
 *   - a program runs through `runProgram`, never the backend's runWebGPUProgram directly: the GPU's
 *     verdict on its first compilation is captured in an error scope, so a shader that does not compile
 *     fails with its kernel's name (Dawn would only print a warning and let the dispatch write nothing).
 */
import * as tf from '@tensorflow/tfjs';

/** The members of tfjs-backend-webgpu's WebGPUProgram that a program sets. */
export interface WgslProgram {
  /** The tfjs kernel it belongs to (seqarena's own field: the backend ignores it). */
  kernel: string;
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size?: boolean;
  getUserCode: () => string;
}

/** The members of tfjs-backend-webgpu's WebGPUBackend that the kernels use. */
export interface WebgpuBackend {
  device: GpuErrorScopes;
  /** What each buffer holds: a tensor cast to float32 from bool or int32 keeps its i32 buffer ('bool', 'int32'). */
  tensorMap: { get(dataId: object): { dtype: string } | undefined };
  runWebGPUProgram(program: WgslProgram, inputs: tf.TensorInfo[], dtype: 'float32', uniforms?: Uniform[], output?: tf.TensorInfo): tf.TensorInfo;
  makeTensorInfo(shape: number[], dtype: 'float32'): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

/** GPUDevice's error scopes (WebGPU §22.3). */
export interface GpuErrorScopes {
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<{ message: string } | null>;
}

export interface Uniform {
  type: 'int32' | 'float32';
  data: number[];
}

/** Integer uniforms in the order the program declares them (`name : i32,` each). */
export function ints(values: Record<string, number>): { declaration: string; data: Uniform[] } {
  const names = Object.keys(values);
  return {
    declaration: names.map((n) => `${n} : i32,`).join(' '),
    data: names.map((n) => ({ type: 'int32', data: [values[n]] })),
  };
}

/**
 * A program that writes a flat float32 output of `outputSize` elements with `workgroups` workgroups of
 * `workgroupSize` invocations (x only). `key` names the compiled source: include every compile-time
 * constant the code bakes in.
 */
export function program(options: {
  /** The tfjs kernel the program belongs to, for error messages. */
  kernel: string;
  key: string;
  inputs: string[];
  outputSize: number;
  workgroupSize: number;
  workgroups: [number, number, number];
  uniforms: string;
  code: string;
}): WgslProgram {
  const limit = 65535;
  if (options.workgroups.some((w) => w > limit)) {
    throw new Error(`WGSL kernel ${options.key}: ${options.workgroups.join(' × ')} workgroups exceed ${limit} in one dimension; split the call`);
  }
  return {
    kernel: options.kernel,
    variableNames: options.inputs,
    outputShape: [options.outputSize],
    shaderKey: `seqarena_${options.key}`,
    dispatchLayout: { x: [0] },
    dispatch: options.workgroups,
    workgroupSize: [options.workgroupSize, 1, 1],
    uniforms: options.uniforms,
    getUserCode: () => options.code,
  };
}

/** A WGSL program the GPU refused (WebGPU validation): the kernel, the program's key and the GPU's message. */
export class WgslCompileError extends Error {
  constructor(
    readonly kernel: string,
    readonly key: string,
    gpuMessage: string,
  ) {
    super(`WGSL kernel ${kernel}: program ${key} does not compile on this GPU: ${gpuMessage}`);
    this.name = 'WgslCompileError';
  }
}

/** Per device, each program key's verdict: in flight (the GPU has not answered), fine, or refused. */
const verdicts = new WeakMap<object, Map<string, Promise<void> | 'ok' | WgslCompileError>>();

/**
 * Run a program on the backend (output: a new tensor, or `output` to write into). The first run of a key
 * on a device, where the backend compiles it, sits in a validation error scope; the verdict arrives
 * asynchronously, so a refused program throws its WgslCompileError from its next run on (and from
 * `checkWgslPrograms` at once). Later runs of a key take no scope: every dispatch costs the same.
 */
export function runProgram(backend: WebgpuBackend, p: WgslProgram, inputs: tf.TensorInfo[], uniforms?: Uniform[], output?: tf.TensorInfo): tf.TensorInfo {
  let byKey = verdicts.get(backend.device);
  if (!byKey) verdicts.set(backend.device, (byKey = new Map()));
  const key = p.shaderKey;
  const verdict = byKey.get(key);
  if (verdict instanceof WgslCompileError) throw verdict;
  // the backend appends the inputs' ranks and types to shaderKey in place: a program run again (a
  // recurrence's step) would otherwise get a longer key, and a new pipeline, on every run
  const run = (): tf.TensorInfo => {
    try {
      return backend.runWebGPUProgram(p, inputs, 'float32', uniforms, output);
    } finally {
      p.shaderKey = key;
    }
  };
  if (verdict !== undefined) return run();
  backend.device.pushErrorScope('validation');
  try {
    return run();
  } finally {
    const answer = backend.device.popErrorScope().then(
      (error) => void byKey.set(key, error ? new WgslCompileError(p.kernel, key, error.message) : 'ok'),
      () => void byKey.set(key, 'ok'), // no verdict (the device was lost): the backend reports that itself
    );
    byKey.set(key, answer);
  }
}

/**
 * Wait for the GPU's verdict on every WGSL program compiled so far on the active backend's device;
 * throws the first refused one's WgslCompileError. The training loop calls it after its first step.
 */
export async function checkWgslPrograms(backend: WebgpuBackend = tf.backend() as unknown as WebgpuBackend): Promise<void> {
  const byKey = verdicts.get(backend.device);
  if (!byKey) return;
  await Promise.all([...byKey.values()].filter((v) => v instanceof Promise));
  for (const verdict of byKey.values()) if (verdict instanceof WgslCompileError) throw verdict;
}

/**
 * A program's source in the one shape every kernel here writes, so the preambles are written once:
 * compile-time `consts` (`const N = 16;`, part of the shader key), `workgroup` arrays
 * (`var<workgroup> name : type;`), helper `functions`, then `fn main(index : i32)`, which opens with the
 * `prologue` (the invocation's indices and the uniforms it reads, shared by a kernel's programs) and runs
 * the `body`.
 */
export function wgsl(parts: { consts?: Record<string, number>; workgroup?: Record<string, string>; functions?: string; prologue?: string; body: string }): string {
  const consts = Object.entries(parts.consts ?? {}).map(([name, value]) => `const ${name} = ${value};`);
  const shared = Object.entries(parts.workgroup ?? {}).map(([name, type]) => `var<workgroup> ${name} : ${type};`);
  return [...consts, ...shared, parts.functions ?? '', 'fn main(index : i32) {', parts.prologue ?? '', parts.body, '}'].filter((line) => line.trim() !== '').join('\n');
}

/**
 * Workgroups of `size` invocations that cover `count` items, for kernels indexed by the flat `index`
 * (which the backend linearises over a 2-D grid, used past 65,535 workgroups in x).
 */
export function cover(count: number, size: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / size));
  return groups <= 65535 ? [groups, 1, 1] : [65535, Math.ceil(groups / 65535), 1];
}

export type WebgpuKernel = (inputs: tf.TensorInfo[], backend: WebgpuBackend, attrs: Record<string, unknown>) => tf.TensorInfo | tf.TensorInfo[];

/** Register a kernel for the webgpu backend; its inputs arrive in `inputNames` order. Once per name. */
export function registerWebgpuKernel(kernelName: string, inputNames: string[], kernel: WebgpuKernel): void {
  if (tf.getKernel(kernelName, 'webgpu')) return;
  tf.registerKernel({
    kernelName,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const gpu = backend as unknown as WebgpuBackend;
      const named = inputNames.map((name) => {
        const info = (inputs as Record<string, tf.TensorInfo | undefined>)[name];
        if (!info) throw new Error(`${kernelName}: input '${name}' is missing`);
        if (info.dtype !== 'float32') throw new Error(`${kernelName}: input '${name}' is ${info.dtype}, expected float32`);
        return info;
      });
      const floats = named.map((info) => (gpu.tensorMap.get(info.dataId)?.dtype === 'float32' ? info : floatCopy(kernelName, gpu, info)));
      try {
        return kernel(floats, gpu, attrs as Record<string, unknown>);
      } finally {
        floats.forEach((info, i) => info !== named[i] && gpu.disposeData(info.dataId));
      }
    },
  });
}

/**
 * A float32 copy of an input whose buffer holds i32: tfjs-webgpu casts bool and int32 tensors to float32
 * without converting their buffer (a padding mask `notEqual(…).toFloat()`, say), and a program that reads
 * such an input as f32 would not compile.
 */
function floatCopy(kernel: string, backend: WebgpuBackend, source: tf.TensorInfo): tf.TensorInfo {
  const size = source.shape.reduce((a, b) => a * b, 1);
  const uni = ints({ size });
  const p = program({
    kernel,
    key: 'float_copy',
    inputs: ['source'],
    outputSize: size,
    workgroupSize: 64,
    workgroups: cover(size, 64),
    uniforms: uni.declaration,
    code: wgsl({ body: '  if (index < uniforms.size) { result[index] = f32(source[index]); }' }),
  });
  return { ...runProgram(backend, p, [source], uni.data), shape: source.shape };
}

/** Run a kernel registered with registerWebgpuKernel on the active backend. */
export function runKernel(kernelName: string, inputNames: string[], inputs: tf.Tensor[], attrs: Record<string, unknown> = {}): tf.Tensor[] {
  const named = Object.fromEntries(inputNames.map((name, i) => [name, inputs[i]]));
  const out = tf.engine().runKernel(kernelName, named as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

/**
 * Why the WGSL kernels are not used, or null when they are: they run on the webgpu backend, unless
 * SEQARENA_WEBGPU_KERNELS=reference asks for what webgpu ran before them (the composed references and
 * the chunked tf-op scan), for checking a figure against them.
 */
export function wgslUnavailable(backendName: string = tf.getBackend()): string | null {
  if (backendName !== 'webgpu') return `the active backend is '${backendName}', not webgpu`;
  if (process.env.SEQARENA_WEBGPU_KERNELS === 'reference') return 'SEQARENA_WEBGPU_KERNELS=reference';
  return null;
}

/** The WGSL kernels there are, as `seqarena list` and env.json name them. */
export const WEBGPU_KERNELS = [
  'scan (chunked parallel scan over time, T ≤ 16 steps a chunk; backward recomputes states per chunk)',
  'attention (tiled, online softmax, 64 query rows a workgroup; backward recomputes scores per tile from the row log-sum-exp)',
  'recurrence (LSTM, GRU, Elman: one dispatch per time step forward and backward; dWh one tfjs matmul after the walk)',
];

/** Whether the WGSL kernels run now (webgpu backend, not switched off). */
export function wgslActive(backendName: string = tf.getBackend()): boolean {
  return wgslUnavailable(backendName) === null;
}

/** A contiguous range of a flat buffer copied into a tensor of its own (a kernel with several outputs packs them into one program's output). */
export function copyRange(kernel: string, backend: WebgpuBackend, source: tf.TensorInfo, offset: number, shape: number[]): tf.TensorInfo {
  const size = shape.reduce((a, b) => a * b, 1);
  const uni = ints({ offset, size });
  const p = program({
    kernel,
    key: 'copy_range',
    inputs: ['source'],
    outputSize: size,
    workgroupSize: 64,
    workgroups: cover(size, 64),
    uniforms: uni.declaration,
    code: wgsl({ body: '  if (index < uniforms.size) { result[index] = source[uniforms.offset + index]; }' }),
  });
  return { ...runProgram(backend, p, [source], uni.data), shape };
}

/** Split a flat packed output into pieces of the given shapes, in order (tfjs ops: slices and reshapes). */
export function unpack(flat: tf.Tensor, shapes: number[][]): tf.Tensor[] {
  let offset = 0;
  return shapes.map((shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const piece = tf.slice(flat, [offset], [size]).reshape(shape);
    offset += size;
    return piece;
  });
}
