/**
 * The selective scan as one fused TensorFlow.js kernel pair (forward and backward), written as plain
 * typed-array loops for the backends whose tensors live in host memory (cpu, wasm). The readable
 * reference it is tested against is `selectiveScanReference` in selective-scan.ts; the symbols are
 * the ones glossed there (b, l, di, n, Δ, A, B, C, D).
 *
 * Forward, for each sequence and channel (Gu & Dao 2023, eq. 2a–2b with the discretisation of eq. 4):
 *   h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u_t          (n)
 *   y_t = C_t · h_t + D u_t
 *
 * Memory: the forward saves no hidden states (only its inputs, which autograd keeps anyway). The
 * backward recomputes them one (sequence, channel) pair at a time into a scratch of 2·l·n numbers, so
 * extra memory grows linearly in l and does not grow with b or di — the recompute-instead-of-store
 * choice of the CUDA kernel in state-spaces/mamba.
 *
 * Where the native addon is built (native.ts), both kernels run its C version instead
 * (native/src/selective_scan.c: pieces of (sequence, 8 channels) on every core, forward and backward);
 * these loops stay the tested fallback.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon } from './native.ts';
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

const scanForward: HostKernel = ({ u, delta, A, B, C, D }) => {
  const { b, l, di, n } = scanSizes(u.shape, delta.shape, A.shape, B.shape, C.shape, D.shape);
  const native = nativeAddon();
  if (native?.selectiveScanForward) {
    const y = new Float32Array(b * l * di);
    native.selectiveScanForward(f32(u), f32(delta), f32(A), f32(B), f32(C), f32(D), y, b, l, di, n);
    return { shape: [b, l, di], values: y };
  }
  const uv = u.values;
  const dv = delta.values;
  const av = A.values;
  const bv = B.values;
  const cv = C.values;
  const y = new Float32Array(b * l * di);
  const h = new Float64Array(n);
  for (let s = 0; s < b; s++) {
    for (let d = 0; d < di; d++) {
      h.fill(0);
      const aRow = d * n;
      const skip = D.values[d];
      for (let t = 0; t < l; t++) {
        const i = (s * l + t) * di + d;
        const bc = (s * l + t) * n;
        const dt = dv[i];
        const x = uv[i];
        const dtx = dt * x;
        let acc = 0;
        for (let k = 0; k < n; k++) {
          const hk = Math.exp(dt * av[aRow + k]) * h[k] + dtx * bv[bc + k];
          h[k] = hk;
          acc += cv[bc + k] * hk;
        }
        y[i] = acc + skip * x;
      }
    }
  }
  return { shape: [b, l, di], values: y };
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
  const uv = u.values;
  const dv = delta.values;
  const av = A.values;
  const bv = B.values;
  const cv = C.values;
  const gy = dy.values;
  const du = new Float32Array(b * l * di);
  const ddelta = new Float32Array(b * l * di);
  const dA = new Float64Array(di * n);
  const dB = new Float64Array(b * l * n);
  const dC = new Float64Array(b * l * n);
  const dD = new Float64Array(di);
  // Per (sequence, channel): decays exp(Δ_t A) and states h_t for every t, recomputed, (l, n) each.
  const decay = new Float64Array(l * n);
  const states = new Float64Array(l * n);
  const g = new Float64Array(n);
  for (let s = 0; s < b; s++) {
    for (let d = 0; d < di; d++) {
      const aRow = d * n;
      const skip = D.values[d];
      for (let t = 0; t < l; t++) {
        const i = (s * l + t) * di + d;
        const bc = (s * l + t) * n;
        const dt = dv[i];
        const dtx = dt * uv[i];
        const row = t * n;
        for (let k = 0; k < n; k++) {
          const a = Math.exp(dt * av[aRow + k]);
          decay[row + k] = a;
          states[row + k] = a * (t > 0 ? states[row - n + k] : 0) + dtx * bv[bc + k];
        }
      }
      g.fill(0);
      for (let t = l - 1; t >= 0; t--) {
        const i = (s * l + t) * di + d;
        const bc = (s * l + t) * n;
        const dt = dv[i];
        const x = uv[i];
        const gyt = gy[i];
        const row = t * n;
        dD[d] += gyt * x;
        let gx = gyt * skip;
        let gdt = 0;
        for (let k = 0; k < n; k++) {
          const gk = g[k] + gyt * cv[bc + k];
          const hPrev = t > 0 ? states[row - n + k] : 0;
          const a = decay[row + k];
          const gExponent = gk * a * hPrev; // ∂loss/∂(Δ_t A_k)
          dC[bc + k] += gyt * states[row + k];
          dB[bc + k] += gk * dt * x;
          dA[aRow + k] += gExponent * dt;
          gdt += gExponent * av[aRow + k] + gk * bv[bc + k] * x;
          gx += gk * dt * bv[bc + k];
          g[k] = gk * a;
        }
        du[i] = gx;
        ddelta[i] = gdt;
      }
    }
  }
  return [
    { shape: [b, l, di], values: du },
    { shape: [b, l, di], values: ddelta },
    { shape: [di, n], values: Float32Array.from(dA) },
    { shape: [b, l, n], values: Float32Array.from(dB) },
    { shape: [b, l, n], values: Float32Array.from(dC) },
    { shape: [di], values: Float32Array.from(dD) },
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
