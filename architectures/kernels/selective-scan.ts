/**
 * The selective scan of Mamba (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective State
 * Spaces", arXiv:2312.00752): a readable reference written with composed tfjs ops, and the dispatcher
 * the model calls, which picks the fused kernel (selective-scan-fused.ts) where it can run.
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
import * as tf from '@tensorflow/tfjs';
import { fusedScanSupported, selectiveScanFused } from './selective-scan-fused.ts';

/** Which scan a model uses: the fused kernel where supported (`auto`), or one of them forced. */
export const SCAN_IMPLS = ['auto', 'fused', 'reference'] as const;
export type ScanImpl = (typeof SCAN_IMPLS)[number];

/**
 * Split axis 1 into its steps, once: slicing one step at a time is slow in tfjs. A length-1 axis is
 * squeezed instead, because tfjs 4.22's Unpack gradient fails when there is a single output.
 */
function unstackTime(x: tf.Tensor): tf.Tensor[] {
  return x.shape[1] === 1 ? [x.squeeze([1])] : tf.unstack(x, 1);
}

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
 * The scan the model calls: the fused kernel on cpu and wasm, the reference elsewhere (webgpu,
 * tensorflow), unless `impl` forces one. Same signature and result as `selectiveScanReference`.
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
  const fused = impl === 'fused' || (impl === 'auto' && fusedScanSupported());
  return fused ? selectiveScanFused(u, delta, A, B, C, D) : selectiveScanReference(u, delta, A, B, C, D);
}
