/**
 * The engine: chooses and starts a TensorFlow.js backend, fills in kernels a backend lacks for training,
 * and calibrates the backend's matmul throughput so runs on different machines can be compared (MFU).
 */
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { registerHostKernel } from '../architectures/kernels/typed-kernel.ts';
import { setJsPoolThreads } from '../architectures/kernels/js-pool.ts';
import { registerMatmulKernels, setMatmulThreads } from '../architectures/kernels/matmul.ts';
import { registerSumKernel } from '../architectures/kernels/sum.ts';
import { registerConcatKernels } from '../architectures/kernels/concat.ts';
import { registerIdentityKernel } from '../architectures/kernels/identity.ts';
import { registerSinKernel } from '../architectures/kernels/sin.ts';
import { summarize } from './stats.ts';

export const BACKEND_NAMES = ['wasm', 'cpu', 'tensorflow', 'webgpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_CHOICES = [...BACKEND_NAMES, 'auto'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** How a user gets a backend that is not installed. */
export const BACKEND_HINTS: Record<BackendName, string> = {
  wasm: 'bundled with seqarena (@tensorflow/tfjs-backend-wasm)',
  cpu: 'bundled with @tensorflow/tfjs (pure JavaScript reference)',
  tensorflow:
    'npm install @tensorflow/tfjs-node-gpu@4.22.0 (CUDA 11.2 + cuDNN 8.1) or @tensorflow/tfjs-node@4.22.0 (CPU); see README "GPU"',
  webgpu: 'npm install webgpu@0.6 @tensorflow/tfjs-backend-webgpu@4.22.0 (Dawn for Node; needs a Vulkan or OpenGL driver)',
};

export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    reason: string,
  ) {
    super(`backend '${backend}' is not available: ${reason}. To get it: ${BACKEND_HINTS[backend as BackendName] ?? 'see README'}`);
    this.name = 'BackendUnavailableError';
  }
}

/** A dynamic import that resolves to null when the package is not installed (literal specifiers, so bundlers see them). */
async function optionalImport(load: () => Promise<unknown>): Promise<Record<string, unknown> | null> {
  try {
    return (await load()) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return null;
    throw error;
  }
}

/** Load the package that registers a backend with tfjs; false when it is not installed. */
async function loadBackendPackage(name: BackendName): Promise<boolean> {
  switch (name) {
    case 'cpu':
      return true;
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      return true;
    case 'tensorflow':
      // tfjs-node-gpu is an optional peer: its install downloads libtensorflow, which CPU users should not need.
      if (tf.findBackendFactory('tensorflow')) return true;
      return (await optionalImport(() => import('@tensorflow/tfjs-node-gpu'))) !== null || (await optionalImport(() => import('@tensorflow/tfjs-node'))) !== null;
    case 'webgpu': {
      if (tf.findBackendFactory('webgpu')) return true;
      const dawn = await optionalImport(() => import('webgpu'));
      if (!dawn) return false;
      const create = dawn.create as (flags: string[]) => unknown;
      const globals = dawn.globals as Record<string, unknown>;
      Object.assign(globalThis, globals);
      // Dawn flags, e.g. SEQARENA_DAWN_FLAGS=backend=opengl with EGL_PLATFORM=surfaceless for a software
      // renderer on machines without a GPU; those give only a 'compatibility' adapter, so ask for one.
      const flags = (process.env.SEQARENA_DAWN_FLAGS ?? '').split(',').filter(Boolean);
      const gpu = create(flags) as { requestAdapter(options?: object): Promise<unknown> };
      const featureLevel = process.env.SEQARENA_WEBGPU_FEATURE_LEVEL;
      const requestAdapter = (options: object = {}) => gpu.requestAdapter(featureLevel ? { ...options, featureLevel } : options);
      Object.defineProperty(globalThis, 'navigator', { value: { gpu: Object.assign(Object.create(gpu), { requestAdapter }) }, configurable: true });
      webgpuAdapter = await readAdapterInfo(requestAdapter);
      return (await optionalImport(() => import('@tensorflow/tfjs-backend-webgpu'))) !== null;
    }
  }
}

/** What a WebGPU adapter says of itself (GPUAdapterInfo, and GPUAdapter.isFallbackAdapter). */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}

/** The adapter Dawn gives here (read once when the webgpu package loads); null before, or when there is none. */
let webgpuAdapter: AdapterInfo | null = null;
/** Dawn loaded but gave no adapter at all (no Vulkan, Metal or D3D12 driver): tfjs's webgpu cannot start. */
let webgpuNoAdapter = false;

async function readAdapterInfo(requestAdapter: () => Promise<unknown>): Promise<AdapterInfo | null> {
  try {
    const adapter = (await requestAdapter()) as { info?: AdapterInfo; isFallbackAdapter?: boolean } | null;
    webgpuNoAdapter = adapter === null;
    const info = adapter?.info;
    if (!info) return null;
    const fallback = info.isFallbackAdapter ?? adapter.isFallbackAdapter;
    return { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '', isFallbackAdapter: fallback };
  } catch {
    return null;
  }
}

/** Renderers that run on the CPU: Dawn's SwiftShader, Mesa's llvmpipe / softpipe / lavapipe, Windows' WARP. */
const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|lavapipe|software|microsoft basic render|\bwarp\b/i;

/** Whether an adapter is a software (CPU) one: flagged as fallback, or named as a CPU renderer in any field. */
export function isSoftwareAdapter(info: AdapterInfo): boolean {
  if (info.isFallbackAdapter === true) return true;
  return [info.vendor, info.architecture, info.device, info.description].some((field) => SOFTWARE_RENDERERS.test(field));
}

/** The adapter as the `device` column names it: vendor, architecture, device, then the driver's description. */
export function adapterName(info: AdapterInfo): string {
  const name = [info.vendor, info.architecture, info.device].filter(Boolean).join(' ');
  const driver = info.description ? ` (${info.description})` : '';
  return `${name || 'unnamed WebGPU adapter'}${driver}${isSoftwareAdapter(info) ? ' [software]' : ''}`;
}

/**
 * Threads the CPU kernels run on: SEQARENA_THREADS (set by --threads, inherited by every child run),
 * else every core (os.availableParallelism()).
 */
export function engineThreads(): number {
  const raw = process.env.SEQARENA_THREADS;
  if (raw === undefined || raw === '') return os.availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SEQARENA_THREADS (--threads) must be a whole number ≥ 1, got '${raw}'`);
  return n;
}

/** Set the thread count for this process and the child runs it starts (what --threads does). */
export function setEngineThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads must be a whole number ≥ 1, got '${n}'`);
  process.env.SEQARENA_THREADS = String(n);
}

/** Kernels training needs that some backends lack, the faster matmul, Sum, Concat, SplitV and (wasm) Identity, and (wasm) an accurate Sin; registered once per process. */
function registerMissingKernels(): void {
  registerMatmulKernels();
  registerSumKernel();
  registerConcatKernels();
  registerIdentityKernel();
  registerSinKernel();
  setMatmulThreads(engineThreads());
  setJsPoolThreads(engineThreads());
  // The gradient of tf.gather (embeddings) is UnsortedSegmentSum, which the wasm backend does not have.
  registerHostKernel('UnsortedSegmentSum', ({ x, segmentIds }, attrs) => {
    const numSegments = attrs.numSegments as number;
    const rows = segmentIds.values.length;
    const width = rows === 0 ? 0 : x.values.length / rows;
    const out = new Float32Array(numSegments * width);
    for (let r = 0; r < rows; r++) {
      const s = segmentIds.values[r];
      if (s < 0 || s >= numSegments) continue;
      const src = r * width;
      const dst = s * width;
      for (let j = 0; j < width; j++) out[dst + j] += x.values[src + j];
    }
    return { shape: [numSegments, ...x.shape.slice(1)], values: out };
  });
}

/** A small matmul on the backend, compared with the cpu reference: catches broken drivers and builds. */
async function selfCheck(name: BackendName): Promise<boolean> {
  const a = [...Array(64 * 48)].map((_, i) => Math.sin(i));
  const b = [...Array(48 * 32)].map((_, i) => Math.cos(i));
  const product = async (): Promise<Float32Array> => {
    const c = tf.tidy(() => tf.matMul(tf.tensor2d(a, [64, 48]), tf.tensor2d(b, [48, 32])));
    const values = (await c.data()) as Float32Array;
    c.dispose();
    return values;
  };
  await tf.setBackend('cpu');
  const expected = await product();
  if (!(await tf.setBackend(name))) return false;
  const actual = await product();
  return expected.every((v, i) => Math.abs(v - actual[i]) <= 1e-3 * (1 + Math.abs(v)));
}

export interface EngineInfo {
  backend: BackendName;
  device: string;
  tfjsVersion: string;
}

/** Start a backend (or pick one with `auto`) and make it ready for training. */
export async function initEngine(choice: BackendChoice): Promise<EngineInfo> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new BackendUnavailableError(choice, `unknown backend; valid ones are ${BACKEND_CHOICES.join(', ')}`);
  }
  let backend: BackendName;
  if (choice === 'auto') {
    backend = await pickFastest();
  } else {
    if (!(await loadBackendPackage(choice))) throw new BackendUnavailableError(choice, 'its package is not installed');
    if (!(await tf.setBackend(choice))) throw new BackendUnavailableError(choice, 'it failed to initialise');
    backend = choice;
  }
  await tf.ready();
  registerMissingKernels();
  return { backend, device: deviceName(backend), tfjsVersion: tf.version.tfjs };
}

/**
 * The fastest backend that is installed and passes the self-check, by a short matmul timing; webgpu only
 * on a hardware adapter.
 */
async function pickFastest(): Promise<BackendName> {
  let best: { name: BackendName; gflops: number } | null = null;
  for (const name of ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const) {
    try {
      if (!(await loadBackendPackage(name))) continue;
      // A software WebGPU adapter (SwiftShader, llvmpipe) is the CPU at a detour: auto takes the CPU backends.
      if (name === 'webgpu' && (webgpuAdapter === null || isSoftwareAdapter(webgpuAdapter))) continue;
      if (!(await selfCheck(name))) continue;
      const { gflops } = await calibrate({ size: 256, repeats: 3 });
      if (!best || gflops > best.gflops) best = { name, gflops };
    } catch {
      continue;
    }
  }
  if (!best) throw new BackendUnavailableError('auto', 'no backend passed its self-check');
  await tf.setBackend(best.name);
  return best.name;
}

/** Whether a loaded backend initialises here (a driver, an adapter, a wasm binary), without making it the active one. */
async function initialises(name: BackendName): Promise<boolean> {
  const engine = tf.engine() as unknown as { registry: Record<string, unknown>; initializeBackend(name: string): { success: boolean | Promise<boolean> } };
  if (name in engine.registry) return true;
  // Without an adapter tfjs's webgpu backend only fails, printing its stack trace: say no without asking it.
  if (name === 'webgpu' && webgpuNoAdapter) return false;
  try {
    return await engine.initializeBackend(name).success;
  } catch {
    return false;
  }
}

/**
 * Check a backend once, before anything runs or is written: its package is installed and it initialises.
 * Throws BackendUnavailableError (exit 2, with the install hint) otherwise. `auto` picks among what is there.
 */
export async function checkBackend(choice: BackendChoice): Promise<void> {
  if (choice === 'auto') return;
  if (!(await loadBackendPackage(choice))) throw new BackendUnavailableError(choice, 'its package is not installed');
  if (!(await initialises(choice))) throw new BackendUnavailableError(choice, 'it is installed but failed to initialise (no driver or device?)');
}

/** Each backend: available (installed and it initialises), or why not, for `seqarena list`. */
export async function availableBackends(): Promise<{ name: BackendName; installed: boolean; reason: string | null; hint: string }[]> {
  const out: { name: BackendName; installed: boolean; reason: string | null; hint: string }[] = [];
  for (const name of BACKEND_NAMES) {
    let reason: string | null = null;
    try {
      if (!(await loadBackendPackage(name))) reason = 'not installed';
      else if (!(await initialises(name)))
        reason = name === 'webgpu' && webgpuNoAdapter ? 'installed, but Dawn found no GPU adapter (no Vulkan driver: libvulkan1 and a Vulkan ICD)' : 'installed, but it failed to initialise';
    } catch (error) {
      reason = `installed, but loading it failed: ${(error as Error).message}`;
    }
    out.push({ name, installed: reason === null, reason, hint: BACKEND_HINTS[name] });
  }
  return out;
}

/** The device a backend computes on: the WebGPU adapter, else the NVIDIA GPU (tensorflow), else the CPU. */
export function deviceName(backend: BackendName): string {
  if (backend === 'webgpu' && webgpuAdapter) return adapterName(webgpuAdapter);
  if (backend === 'tensorflow' || backend === 'webgpu') {
    try {
      const gpu = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 5000 }).trim();
      if (gpu) return gpu.split('\n')[0];
    } catch {
      // no NVIDIA GPU visible: fall back to the CPU name
    }
  }
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'} (${cpus.length} cores)`;
}

/**
 * Bytes of device memory the active backend holds, where it says: on webgpu, the GPU buffers
 * tfjs-webgpu has created (memory().numBytesAllocatedInGPU). Its buffer pool keeps released buffers
 * for reuse and never shrinks, so a reading is the high-water mark up to then. Null on backends that
 * report no device memory (cpu, wasm; tensorflow's CUDA memory is read with nvidia-smi instead).
 */
export function deviceBytesHeld(): number | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const bytes = (tf.memory() as { numBytesAllocatedInGPU?: unknown }).numBytesAllocatedInGPU;
  return typeof bytes === 'number' && Number.isFinite(bytes) ? bytes : null;
}

export interface Calibration {
  gflops: number;
  /** Per-repeat GFLOP/s samples. */
  samples: number[];
  size: number;
}

/**
 * Matmul throughput of the active backend: warm-up, then the median of repeats of an n×n×n fp32 matmul.
 * Recorded with every run so model FLOP utilisation and cross-machine comparisons can be computed.
 */
export async function calibrate({ size = 512, repeats = 7 }: { size?: number; repeats?: number } = {}): Promise<Calibration> {
  const a = tf.randomNormal([size, size], 0, 1, 'float32', 1);
  const b = tf.randomNormal([size, size], 0, 1, 'float32', 2);
  const flops = 2 * size ** 3;
  const run = async (): Promise<number> => {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
    return (performance.now() - t0) / 1000;
  };
  await run();
  await run();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) samples.push(flops / (await run()) / 1e9);
  a.dispose();
  b.dispose();
  return { gflops: summarize(samples).p50, samples, size };
}
