/**
 * The selective scan as one fused TensorFlow.js kernel pair (forward and backward) for the backends
 * whose tensors live in host memory (cpu, wasm). The readable reference it is tested against is
 * `selectiveScanReference` in selective-scan.ts; the symbols are the ones glossed there
 * (b, l, di, n, Δ, A, B, C, D).
 *
 * Forward, for each sequence and channel (Gu & Dao 2023, eq. 2a–2b with the discretisation of eq. 4):
 *   h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u_t          (n)
 *   y_t = C_t · h_t + D u_t
 * (backward's equations are beside its loops, selective-scan-loops.ts).
 *
 * Memory: the forward saves no hidden states (only its inputs, which autograd keeps anyway). The
 * backward recomputes them one (sequence, channel) pair at a time into a scratch of 2·l·n numbers per
 * thread — the recompute-instead-of-store choice of the CUDA kernel in state-spaces/mamba.
 *
 * Both directions are cut into pieces of (sequence, 8 channels), parallel over batch × channels: in C
 * on the native thread pool where the addon is built (native/src/selective_scan.c), otherwise as the
 * typed-array loops of selective-scan-loops.ts on the JavaScript kernel pool's worker threads
 * (js-pool.ts), which stay the tested fallback. Sums over channels (∂B, ∂C) and sequences (∂A, ∂D)
 * are formed per piece and added in a fixed order, so neither depends on the thread count.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon } from './native.ts';
import { createJsPool, POOL_DATA_BYTE, type JsPool } from './js-pool.ts';
import { kernelModule } from './worker-loop.ts';
import { BACKWARD_PARAMS, FORWARD_PARAMS, POOL_TASKS, SCAN_BLOCK } from './selective-scan-loops.ts';
import { HOST_BACKENDS, registerHostKernel, float32Values as f32, type HostKernel } from './typed-kernel.ts';

export const SELECTIVE_SCAN_KERNEL = 'SeqarenaSelectiveScan';
export const SELECTIVE_SCAN_GRAD_KERNEL = 'SeqarenaSelectiveScanGrad';

interface ScanSizes {
  b: number;
  l: number;
  di: number;
  n: number;
}

/** Check the six inputs against (b, l, di), (di, n), (b, l, n), (di) and return the sizes. */
export function scanSizes(u: number[], delta: number[], A: number[], B: number[], C: number[], D: number[]): ScanSizes {
  const [b, l, di] = u;
  const n = A[1];
  const expect = (name: string, actual: number[], wanted: number[]): void => {
    if (actual.length !== wanted.length || actual.some((s, i) => s !== wanted[i])) {
      throw new Error(`selective scan: ${name} has shape [${actual}], expected [${wanted}] (u is [${u}], A is [${A}])`);
    }
  };
  if (u.length !== 3) throw new Error(`selective scan: u must be (b, l, di), got shape [${u}]`);
  if (A.length !== 2) throw new Error(`selective scan: A must be (di, n), got shape [${A}]`);
  expect('delta', delta, [b, l, di]);
  expect('A', A, [di, n]);
  expect('B', B, [b, l, n]);
  expect('C', C, [b, l, n]);
  expect('D', D, [di]);
  return { b, l, di, n };
}

// The fallback runs the loops of selective-scan-loops.ts on the JavaScript kernel pool (every core).

let pool: JsPool | null = null;
function scanPool(): JsPool {
  pool ??= createJsPool(kernelModule('selective-scan-loops', import.meta.url).url, { POOL_TASKS });
  return pool;
}

type Operand = [name: string, values: ArrayLike<number> | number, kind?: 'f64'];

/**
 * Place the operands one after another in the pool's memory (inputs copied in; outputs, given as a
 * count, left as they are: the pieces write every element) and return their byte offsets and a reader
 * that copies a float32 operand out.
 */
function layout(...operands: Operand[]): [Record<string, number>, (name: string) => Float32Array] {
  const at: Record<string, number> = {};
  const sizes: Record<string, number> = {};
  let byte = POOL_DATA_BYTE;
  for (const [name, values, kind] of operands) {
    const count = typeof values === 'number' ? values : values.length;
    const width = kind === 'f64' ? 8 : 4;
    byte = Math.ceil(byte / 8) * 8;
    at[name] = byte;
    sizes[name] = count;
    byte += count * width;
  }
  const p = scanPool();
  p.reserve(byte);
  const f32 = new Float32Array(p.memory.buffer);
  for (const [name, values] of operands) if (typeof values !== 'number') f32.set(values, at[name] / 4);
  return [at, (name) => new Float32Array(p.memory.buffer).slice(at[name] / 4, at[name] / 4 + sizes[name])];
}

const scanForward: HostKernel = ({ u, delta, A, B, C, D }) => {
  const { b, l, di, n } = scanSizes(u.shape, delta.shape, A.shape, B.shape, C.shape, D.shape);
  const native = nativeAddon();
  if (native?.selectiveScanForward) {
    const y = new Float32Array(b * l * di);
    native.selectiveScanForward(f32(u), f32(delta), f32(A), f32(B), f32(C), f32(D), y, b, l, di, n);
    return { shape: [b, l, di], values: y };
  }
  const [at, y] = layout(['u', u.values], ['delta', delta.values], ['A', A.values], ['B', B.values], ['C', C.values], ['D', D.values], ['y', b * l * di]);
  const params = FORWARD_PARAMS.map((name) => ({ b, l, di, n })[name as 'b'] ?? at[name]);
  scanPool().run('scanForward', b * Math.ceil(di / SCAN_BLOCK), params);
  return { shape: [b, l, di], values: y('y') };
};

/**
 * Backward: given dy (b, l, di), the gradients of all six inputs. With g_t = ∂loss/∂h_t,
 *   g_t = exp(Δ_{t+1} A) ⊙ g_{t+1} + dy_t C_t
 *   ∂C_t += dy_t h_t      ∂B_t += g_t Δ_t u_t      ∂u_t = dy_t D + Δ_t Σ g_t B_t
 *   ∂Δ_t = Σ g_t ⊙ (A exp(Δ_t A) h_{t−1} + B_t u_t)   ∂A += g_t ⊙ Δ_t exp(Δ_t A) h_{t−1}   ∂D += dy_t u_t
 * (∂B and ∂C sum over channels, ∂A and ∂D over sequences and time.)
 */
const scanBackward: HostKernel = ({ u, delta, A, B, C, D, dy }) => {
  const { b, l, di, n } = scanSizes(u.shape, delta.shape, A.shape, B.shape, C.shape, D.shape);
  const native = nativeAddon();
  if (native?.selectiveScanBackward) {
    const [du, ddelta, dA, dB, dC, dD] = [b * l * di, b * l * di, di * n, b * l * n, b * l * n, di].map((count) => new Float32Array(count));
    native.selectiveScanBackward(f32(u), f32(delta), f32(A), f32(B), f32(C), f32(D), f32(dy), du, ddelta, dA, dB, dC, dD, b, l, di, n);
    return [
      { shape: [b, l, di], values: du },
      { shape: [b, l, di], values: ddelta },
      { shape: [di, n], values: dA },
      { shape: [b, l, n], values: dB },
      { shape: [b, l, n], values: dC },
      { shape: [di], values: dD },
    ];
  }
  const blocks = Math.ceil(di / SCAN_BLOCK);
  const [at, out] = layout(
    ['u', u.values], ['delta', delta.values], ['A', A.values], ['B', B.values], ['C', C.values], ['D', D.values], ['dy', dy.values],
    ['du', b * l * di], ['ddelta', b * l * di], ['dA', di * n], ['dB', b * l * n], ['dC', b * l * n], ['dD', di],
    ['dAParts', b * di * n, 'f64'], ['dBParts', blocks * b * l * n, 'f64'], ['dCParts', blocks * b * l * n, 'f64'], ['dDParts', b * di, 'f64'],
  );
  const params = BACKWARD_PARAMS.map((name) => ({ b, l, di, n })[name as 'b'] ?? at[name]);
  scanPool().run('scanBackward', b * blocks, params);
  scanPool().run('scanReduce', b + di, params);
  return [
    { shape: [b, l, di], values: out('du') },
    { shape: [b, l, di], values: out('ddelta') },
    { shape: [di, n], values: out('dA') },
    { shape: [b, l, n], values: out('dB') },
    { shape: [b, l, n], values: out('dC') },
    { shape: [di], values: out('dD') },
  ];
};

/** Which implementation selectiveScanFused runs: the native C kernel where the addon is built, else these JavaScript loops. */
export function fusedScanImplementation(): 'native' | 'js' {
  return nativeAddon()?.selectiveScanForward ? 'native' : 'js';
}

/** Whether the fused kernel can run on this backend (host memory: cpu, wasm). */
export function fusedScanSupported(backendName: string = tf.getBackend()): boolean {
  return (HOST_BACKENDS as readonly string[]).includes(backendName);
}

/** Register both kernels for the host backends loaded so far (a backend loaded later is caught on its first call). */
function ensureKernels(): void {
  const backendName = tf.getBackend();
  if (!fusedScanSupported(backendName)) {
    throw new Error(
      `selectiveScanFused runs on the ${HOST_BACKENDS.join(' or ')} backend, not '${backendName}'; use scan 'reference' (or 'auto') there`,
    );
  }
  if (tf.getKernel(SELECTIVE_SCAN_KERNEL, backendName) && tf.getKernel(SELECTIVE_SCAN_GRAD_KERNEL, backendName)) return;
  registerHostKernel(SELECTIVE_SCAN_KERNEL, scanForward);
  registerHostKernel(SELECTIVE_SCAN_GRAD_KERNEL, scanBackward);
}

const fusedWithGrad = tf.customGrad((u, delta, A, B, C, D, save) => {
  const inputs = { u, delta, A, B, C, D } as Record<string, tf.Tensor>;
  const y = tf.engine().runKernel(SELECTIVE_SCAN_KERNEL, inputs, {}) as tf.Tensor3D;
  (save as tf.GradSaveFunc)(Object.values(inputs));
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [su, sDelta, sA, sB, sC, sD] = saved;
      const grads = { u: su, delta: sDelta, A: sA, B: sB, C: sC, D: sD, dy };
      return tf.engine().runKernel(SELECTIVE_SCAN_GRAD_KERNEL, grads, {}) as tf.Tensor[];
    },
  };
});

/**
 * The fused selective scan: same signature and result as `selectiveScanReference`, differentiable in all
 * six inputs. u, delta (b, l, di); A (di, n); B, C (b, l, n); D (di) → y (b, l, di).
 */
export function selectiveScanFused(
  u: tf.Tensor3D,
  delta: tf.Tensor3D,
  A: tf.Tensor2D,
  B: tf.Tensor3D,
  C: tf.Tensor3D,
  D: tf.Tensor1D,
): tf.Tensor3D {
  scanSizes(u.shape, delta.shape, A.shape, B.shape, C.shape, D.shape);
  ensureKernels();
  return fusedWithGrad(u, delta, A, B, C, D) as tf.Tensor3D;
}
