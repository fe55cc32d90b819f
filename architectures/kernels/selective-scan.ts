/**
 * The selective scan of Mamba (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective State
 * Spaces", arXiv:2312.00752): a readable reference written with composed tfjs ops, a chunked composed
 * scan for GPU backends, and the dispatcher the model calls, which picks the fused kernel
 * (selective-scan-fused.ts) where it can run.
 *
 * Glossary (as in mamba-minimal):
 *   b  batch size                 l  sequence length
 *   di inner width (channels)     n  state size per channel
 *   u  the scan's input (b, l, di)
 *   Δ  step size, input-dependent (b, l, di)
 *   A  state matrix, diagonal per channel, negative (di, n) — the model passes −exp(A_log)
 *   B  input matrix, input-dependent (b, l, n)      C  output matrix, input-dependent (b, l, n)
 *   D  skip connection per channel (di)
 *
 * Discretisation (eq. 4): Ā = exp(ΔA) (zero-order hold), B̄ ≈ ΔB (the simplified Euler step Mamba uses).
 * Recurrence (eq. 2a, 2b):  h_t = Ā_t h_{t−1} + B̄_t u_t,   y_t = C_t h_t + D u_t.
 */
import { unstackTime } from '../layers.ts';
import * as tf from '@tensorflow/tfjs';
import { fusedScanSupported, selectiveScanFused } from './selective-scan-fused.ts';
import { selectiveScanWgsl, wgslScanSupported } from './webgpu/selective-scan.wgsl.ts';

/**
 * Which scan a model uses: `auto` (and `fused`) pick the backend's fused kernel — the typed-array one on
 * cpu/wasm, the WGSL one on webgpu (webgpu/selective-scan.wgsl.ts) — and the chunked scan elsewhere;
 * `chunked` and `reference` force those. SEQARENA_WEBGPU_KERNELS=reference turns the WGSL kernels off.
 */
export const SCAN_IMPLS = ['auto', 'fused', 'chunked', 'reference'] as const;
export type ScanImpl = (typeof SCAN_IMPLS)[number];

/**
 * The sequential scan, one step per token like mamba-minimal's `x = deltaA[:, i] * x + deltaB_u[:, i]`.
 * Differentiable through tfjs autograd; memory and time grow with l·di·n, and it runs l small steps.
 */
export function selectiveScanReference(
  u: tf.Tensor3D,
  delta: tf.Tensor3D,
  A: tf.Tensor2D,
  B: tf.Tensor3D,
  C: tf.Tensor3D,
  D: tf.Tensor1D,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, l, di] = u.shape;
    const n = A.shape[1];
    const deltaA = tf.exp(delta.expandDims(-1).mul(A)); // (b, l, di, n)
    const deltaBu = delta.mul(u).expandDims(-1).mul(B.expandDims(2)); // (b, l, di, n)
    const deltaAs = unstackTime(deltaA); // l × (b, di, n)
    const deltaBus = unstackTime(deltaBu); // l × (b, di, n)
    const Cs = unstackTime(C.expandDims(2)); // l × (b, 1, n)
    let x: tf.Tensor = tf.zeros([b, di, n]);
    const ys: tf.Tensor[] = [];
    for (let i = 0; i < l; i++) {
      x = deltaAs[i].mul(x).add(deltaBus[i]);
      ys.push(x.mul(Cs[i]).sum(-1)); // (b, di)
    }
    const y = tf.stack(ys, 1); // (b, l, di)
    return y.add(u.mul(D)) as tf.Tensor3D;
  });
}

/**
 * The same scan in about 2√l sequential steps instead of l, for backends where every small op is a kernel
 * launch (webgpu, tensorflow). Split time into nc chunks of T steps, then:
 *   1. within chunks, all chunks at once: T steps from a zero state give local states h̃_t and the
 *      running decays P_t = Ā_t ⋯ Ā_1 of the chunk;
 *   2. across chunks: nc steps carry the state entering each chunk, H_c = P_T(c−1) H_{c−1} + h̃_T(c−1);
 *   3. h_t = h̃_t + P_t H_c, all at once.
 * P_t is a product of factors in (0, 1]: it can only underflow to 0, never overflow, unlike log-space
 * cumulative sums. The padding after the end has Δ = 0 (decay 1, no input), so it changes nothing before it.
 */
export function selectiveScanChunked(
  u: tf.Tensor3D,
  delta: tf.Tensor3D,
  A: tf.Tensor2D,
  B: tf.Tensor3D,
  C: tf.Tensor3D,
  D: tf.Tensor1D,
  chunk: number = Math.ceil(Math.sqrt(u.shape[1])),
): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, l, di] = u.shape;
    const n = A.shape[1];
    const T = Math.min(chunk, l);
    const nc = Math.ceil(l / T);
    const pad = (x: tf.Tensor3D): tf.Tensor3D => tf.pad(x, [[0, 0], [0, nc * T - l], [0, 0]]); // (b, nc·T, ·)
    const [up, deltap, Bp, Cp] = [u, delta, B, C].map(pad);
    const deltaA = tf.exp(deltap.expandDims(-1).mul(A)).reshape([b * nc, T, di, n]);
    const deltaBu = deltap.mul(up).expandDims(-1).mul(Bp.expandDims(2)).reshape([b * nc, T, di, n]);
    const deltaAs = unstackTime(deltaA); // T × (b·nc, di, n)
    const deltaBus = unstackTime(deltaBu); // T × (b·nc, di, n)
    let local: tf.Tensor = tf.zeros([b * nc, di, n]);
    let decay: tf.Tensor = tf.ones([b * nc, di, n]);
    const locals: tf.Tensor[] = [];
    const decays: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      local = deltaAs[t].mul(local).add(deltaBus[t]);
      decay = deltaAs[t].mul(decay);
      locals.push(local);
      decays.push(decay);
    }
    const chunkEnds = unstackTime(local.reshape([b, nc, di, n])); // nc × (b, di, n)
    const chunkDecays = unstackTime(decay.reshape([b, nc, di, n])); // nc × (b, di, n)
    let state: tf.Tensor = tf.zeros([b, di, n]);
    const entering: tf.Tensor[] = [];
    for (let c = 0; c < nc; c++) {
      entering.push(state);
      state = chunkDecays[c].mul(state).add(chunkEnds[c]);
    }
    const h0 = tf.stack(entering, 1).reshape([b * nc, 1, di, n]);
    const h = tf.stack(locals, 1).add(tf.stack(decays, 1).mul(h0)); // (b·nc, T, di, n)
    const y = h.mul(Cp.reshape([b * nc, T, 1, n])).sum(-1).reshape([b, nc * T, di]); // (b, nc·T, di)
    return y.slice([0, 0, 0], [b, l, di]).add(u.mul(D)) as tf.Tensor3D;
  });
}

/**
 * The scan the model calls: the fused kernel on cpu and wasm, the WGSL kernel on webgpu, the chunked
 * scan elsewhere (tensorflow), unless `impl` forces one. Same signature and result as `selectiveScanReference`.
 */
export function selectiveScan(
  u: tf.Tensor3D,
  delta: tf.Tensor3D,
  A: tf.Tensor2D,
  B: tf.Tensor3D,
  C: tf.Tensor3D,
  D: tf.Tensor1D,
  impl: ScanImpl = 'auto',
): tf.Tensor3D {
  if ((impl === 'auto' || impl === 'fused') && wgslScanSupported()) return selectiveScanWgsl(u, delta, A, B, C, D);
  if (impl === 'fused' || (impl === 'auto' && fusedScanSupported())) return selectiveScanFused(u, delta, A, B, C, D);
  if (impl === 'reference') return selectiveScanReference(u, delta, A, B, C, D);
  return selectiveScanChunked(u, delta, A, B, C, D);
}
