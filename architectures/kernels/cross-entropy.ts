/**
 * The training loss of every model: softmax cross-entropy over the vocabulary, averaged over the answer
 * positions a mask picks. The readable reference composes it from tfjs ops (logSoftmax, a one-hot
 * product, the masked mean: about ten kernels forward and as many backward, several of them over the
 * whole (b, l, v) logits); the fused kernels do the forward in one pass and the gradient in another,
 * on the host backends (cpu, wasm), in C over the native thread pool where the addon is built
 * (native/src/cross_entropy*.c) and as the JavaScript loops below otherwise.
 *
 * Rows r are the (sequence, position) pairs; x_r are a row's v logits, t_r its target, m_r its mask.
 *
 *   lse_r = log Σ_j exp(x_rj)          N = max(Σ_r m_r, 1)
 *   loss  = Σ_r m_r (lse_r − x_{r,t_r}) / N
 *   ∂loss/∂x_rj = m_r / N · (exp(x_rj − lse_r) − [j = t_r])
 *   ∂loss/∂m_r  = (lse_r − x_{r,t_r} − loss · [Σ m ≥ 1]) / N
 *
 * A target outside [0, v) contributes nothing, as the reference's all-zero one-hot row does. Rows with
 * m_r = 0 are skipped by both fused kernels (their logits' gradient is zero): on the long-context tasks
 * most positions are not answers. The mask's own gradient, which training never asks for, is composed
 * from tfjs ops when it is asked for.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon } from './native.ts';
import type { NormImpl } from './norms.ts';
import { HOST_BACKENDS, registerHostViewKernel, type HostIndexViews, type HostViews } from './typed-kernel.ts';

/** The composed reference: logits (b, l, v), target (b, l) int32, mask (b, l) → scalar. */
export function maskedCrossEntropyReference(logits: tf.Tensor3D, target: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const v = logits.shape[2];
    const logProbs = tf.logSoftmax(logits); // (b, l, v)
    const picked = logProbs.mul(tf.oneHot(target.flatten(), v).reshape(logits.shape)).sum(-1); // (b, l)
    return picked.mul(mask).sum().neg().div(mask.sum().maximum(1)) as tf.Scalar;
  });
}

// ---------------------------------------------------------------------------------------------------
// The JavaScript loops (the fallback where the native addon is not built).

function forwardJs(x: Float32Array, target: Int32Array, mask: Float32Array, v: number, loss: Float32Array, lse: Float32Array): void {
  let sum = 0;
  let count = 0;
  for (let r = 0; r < target.length; r++) {
    count += mask[r];
    lse[r] = 0;
    if (mask[r] === 0) continue;
    const o = r * v;
    let max = -Infinity;
    for (let j = 0; j < v; j++) if (x[o + j] > max) max = x[o + j];
    let s = 0;
    for (let j = 0; j < v; j++) s += Math.exp(x[o + j] - max);
    const l = max + Math.log(s);
    lse[r] = l;
    const t = target[r];
    if (t >= 0 && t < v) sum += mask[r] * (l - x[o + t]);
  }
  loss[0] = sum / Math.max(count, 1);
}

function backwardJs(x: Float32Array, target: Int32Array, mask: Float32Array, lse: Float32Array, dy: number, v: number, dx: Float32Array): void {
  let count = 0;
  for (let r = 0; r < target.length; r++) count += mask[r];
  const scale = dy / Math.max(count, 1);
  for (let r = 0; r < target.length; r++) {
    const o = r * v;
    const t = target[r];
    if (mask[r] === 0 || t < 0 || t >= v) {
      dx.fill(0, o, o + v);
      continue;
    }
    const w = scale * mask[r];
    for (let j = 0; j < v; j++) dx[o + j] = w * Math.exp(x[o + j] - lse[r]);
    dx[o + t] -= w;
  }
}

// ---------------------------------------------------------------------------------------------------
// Kernels, registration and the gradient

const FORWARD = 'SeqarenaMaskedCrossEntropy';
const BACKWARD = 'SeqarenaMaskedCrossEntropyGrad';

function register(): void {
  registerHostViewKernel(FORWARD, {
    outputs: ({ target }) => [[], [target.reduce((a, b) => a * b, 1)]],
    compute: ({ logits, mask }: HostViews, [loss, lse], attrs, { target }: HostIndexViews) => {
      const v = attrs.v as number;
      const native = nativeAddon();
      if (native?.crossEntropy) native.crossEntropy(logits, target, mask, loss, lse, v);
      else forwardJs(logits, target, mask, v, loss, lse);
    },
  });
  registerHostViewKernel(BACKWARD, {
    outputs: ({ logits }) => [logits],
    compute: ({ logits, mask, lse, dy }: HostViews, [dx], attrs, { target }: HostIndexViews) => {
      const v = attrs.v as number;
      const native = nativeAddon();
      if (native?.crossEntropyGrad) native.crossEntropyGrad(logits, target, mask, lse, dy[0], dx, v);
      else backwardJs(logits, target, mask, lse, dy[0], v, dx);
    },
  });
}

function run(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): tf.Tensor[] {
  return tf.engine().runKernel(kernelName, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

/** ∂loss/∂mask, composed (the rare path: a mask that is itself trained). */
function maskGradient(logits: tf.Tensor, target: tf.Tensor, mask: tf.Tensor, loss: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const v = logits.shape[logits.rank - 1];
    const oneHot = tf.oneHot(target.flatten(), v).reshape(logits.shape);
    const nll = tf.logSumExp(logits, -1).mul(oneHot.sum(-1)).sub(logits.mul(oneHot).sum(-1)); // (b, l): 0 where the target is out of range
    const count = mask.sum();
    const denominator = tf.sub(nll, loss.mul(count.greaterEqual(1).cast('float32')));
    return denominator.div(count.maximum(1)).mul(dy);
  });
}

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['logits', 'target', 'mask'],
  outputsToSave: [true, true],
  gradFunc: (dys, saved, attrs) => {
    const [logits, target, mask, loss, lse] = saved;
    const dy = (dys as tf.Tensor[])[0];
    return {
      logits: () => run(BACKWARD, { logits, target, mask, lse, dy }, attrs as Record<string, unknown>)[0],
      target: () => tf.zerosLike(target),
      mask: () => maskGradient(logits, target, mask, loss, dy),
    };
  },
});

/** Whether the fused loss runs on the active backend (the host backends). */
export function fusedCrossEntropySupported(): boolean {
  return (HOST_BACKENDS as readonly string[]).includes(tf.getBackend());
}

/** Which implementation the fused loss runs: the native C kernel where the addon is built, else the JavaScript loops. */
export function fusedCrossEntropyImplementation(): 'native' | 'js' {
  return nativeAddon()?.crossEntropy ? 'native' : 'js';
}

/**
 * Mean cross-entropy over masked positions: logits (b, l, v), target (b, l) int32, mask (b, l) → scalar.
 * `impl` 'reference' (or a backend other than cpu/wasm) runs the composed ops.
 */
export function maskedCrossEntropy(logits: tf.Tensor3D, target: tf.Tensor2D, mask: tf.Tensor2D, impl: NormImpl = 'fused'): tf.Scalar {
  const [b, l, v] = logits.shape;
  if (target.shape[0] !== b || target.shape[1] !== l || mask.shape[0] !== b || mask.shape[1] !== l) {
    throw new Error(`maskedCrossEntropy: target [${target.shape}] and mask [${mask.shape}] must both be [${b},${l}] for logits [${logits.shape}]`);
  }
  if (impl === 'reference' || !fusedCrossEntropySupported() || logits.dtype !== 'float32') return maskedCrossEntropyReference(logits, target, mask);
  register();
  return tf.tidy(() => {
    const ids = target.dtype === 'int32' ? target : target.toInt();
    const weights = mask.dtype === 'float32' ? mask : mask.toFloat();
    const [loss] = run(FORWARD, { logits, target: ids, mask: weights }, { v });
    return loss as tf.Scalar;
  });
}
