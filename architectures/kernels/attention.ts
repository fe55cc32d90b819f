/**
 * Scaled dot-product attention (Vaswani et al. 2017, eq. 1) and rotary position embeddings
 * (Su et al. 2021, RoFormer §3.4), written as composed tfjs ops.
 *
 *   attention(Q, K, V) = softmax(Q Kᵀ / √hs + mask) V
 *
 * The mask is causal (optionally a sliding window) or none, plus key padding: attention-mask.ts.
 *
 * `attentionReference` is the readable definition that any faster kernel is tested against;
 * `attention` is what the models call.
 *
 * Shapes: b batch, h heads, lq query length, lk key length, hs head size.
 */
import * as tf from '@tensorflow/tfjs';
import { attentionFused, fusedAttentionSupported } from './attention-fused.ts';
import { checkedWindow, visibleKeys, type AttentionOptions } from './attention-mask.ts';
import { attentionWgsl, wgslAttentionSupported } from './webgpu/attention.wgsl.ts';

export type { AttentionOptions } from './attention-mask.ts';

// Added to the scores of hidden keys: exp() of it underflows to exactly 0 in fp32, and unlike -Infinity
// it keeps a fully masked row finite (uniform weights) instead of NaN.
const MASKED = -1e9;

/** (lq, lk) additive mask: 0 where query i may see key j (causally, within the window), MASKED elsewhere. */
function causalBias(lq: number, lk: number, window: number): tf.Tensor2D {
  const bias = new Float32Array(lq * lk).fill(MASKED);
  for (let i = 0; i < lq; i++) {
    const { start, end } = visibleKeys(i, lq, lk, true, window);
    bias.fill(0, i * lk + start, i * lk + end);
  }
  return tf.tensor2d(bias, [lq, lk]);
}

/** The readable definition: scores, masks, softmax, weighted sum of values. */
export function attentionReference(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, , lq, hs] = q.shape;
    const lk = k.shape[2];
    if (opts.causal && lq > lk) throw new Error(`causal attention needs lq ≤ lk, got lq ${lq} and lk ${lk}`);
    const window = checkedWindow(opts);
    let scores: tf.Tensor = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hs)); // (b, h, lq, lk)
    if (opts.causal) scores = scores.add(causalBias(lq, lk, window));
    if (opts.keyMask) {
      const padBias = tf.sub(1, opts.keyMask.toFloat()).mul(MASKED).reshape([b, 1, 1, lk]);
      scores = scores.add(padBias);
    }
    const weights = tf.softmax(scores, -1); // (b, h, lq, lk)
    return tf.matMul(weights, v) as tf.Tensor4D; // (b, h, lq, hs)
  });
}

/**
 * The attention the models call: the fused online-softmax kernel on cpu and wasm (attention-fused.ts)
 * and on webgpu (webgpu/attention.wgsl.ts; SEQARENA_WEBGPU_KERNELS=reference turns it off), the
 * reference elsewhere.
 */
export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions): tf.Tensor4D {
  if (wgslAttentionSupported()) return attentionWgsl(q, k, v, opts);
  return fusedAttentionSupported() ? attentionFused(q, k, v, opts) : attentionReference(q, k, v, opts);
}

/** cos and sin of the rotation angles for positions start … start+length−1, each (length, hs/2). */
export interface RotaryTables {
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
}

/**
 * Angles θ_i · p with θ_i = 10000^(−2i/hs), i < hs/2 (RoFormer eq. 15). Made from host arrays: they
 * depend only on positions, never on data, so they need no gradient.
 */
export function rotaryTables(start: number, length: number, headSize: number): RotaryTables {
  if (headSize % 2 !== 0) throw new Error(`rotary positions need an even head size, got ${headSize}`);
  const half = headSize / 2;
  const cos = new Float32Array(length * half);
  const sin = new Float32Array(length * half);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = (start + p) * Math.pow(10000, (-2 * i) / headSize);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos: tf.tensor2d(cos, [length, half]), sin: tf.tensor2d(sin, [length, half]) };
}

/**
 * Rotate each (x_i, x_{i+hs/2}) pair of x (b, h, l, hs) by its position's angle θ_i · p (the
 * "rotate half" pairing of GPT-NeoX, equivalent to RoFormer's adjacent pairs up to a fixed permutation
 * of the head dimensions). Rotating queries and keys makes q·k depend only on their relative position.
 */
export function applyRotary(x: tf.Tensor4D, { cos, sin }: RotaryTables): tf.Tensor4D {
  return tf.tidy(() => {
    const half = x.shape[3] / 2;
    const [x1, x2] = tf.split(x, [half, half], 3); // (b, h, l, hs/2) each
    return tf.concat([x1.mul(cos).sub(x2.mul(sin)), x1.mul(sin).add(x2.mul(cos))], 3) as tf.Tensor4D; // (b, h, l, hs)
  });
}
