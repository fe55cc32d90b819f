/**
 * One AdamW update (Loshchilov & Hutter 2019, decoupled weight decay, as torch.optim.AdamW) over every
 * parameter, with the gradients first scaled so their global norm is at most `clip`:
 *
 *   s = min(1, clip / ‖g‖)          ‖g‖ over all gradients together (s = 1 when ‖g‖ is not finite)
 *   m ← β₁ m + (1 − β₁) s g         v ← β₂ v + (1 − β₂) (s g)²
 *   p ← p (1 − lr λ)  (decayed parameters only)   then   p ← p − lr (m / c₁) / (√(v / c₂) + ε)
 *
 * with c₁ = 1 − β₁ᵗ and c₂ = 1 − β₂ᵗ at update t (1, 2, …). `adamwReference` composes it from tfjs ops,
 * a handful per parameter (any backend). `adamwFused` is the whole update in one call on the host
 * backends (cpu, wasm): it updates parameters and moments in place in the backend's own memory, in C
 * over the native thread pool where the addon is built, else in a plain JavaScript loop.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon } from './native.ts';
import { HOST_BACKENDS, hostArray, ownsData } from './typed-kernel.ts';

export interface AdamWHyper {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Largest global gradient norm; gradients with a larger norm are scaled down to it. */
  clip: number;
  /** Which update this is: 1 for the first (bias corrections 1 − βᵗ). */
  t: number;
}

/** One parameter: its value, gradient and moments (same shape), and whether it decays. */
export interface AdamWSlot {
  param: tf.Variable;
  grad: tf.Tensor;
  m: tf.Variable;
  v: tf.Variable;
  decay: boolean;
}

function clipScale(norm: number, clip: number): number {
  return Number.isFinite(norm) && norm > clip ? clip / norm : 1;
}

/** The composed reference (any backend). Returns the gradients' global norm before clipping. */
export async function adamwReference(slots: AdamWSlot[], h: AdamWHyper): Promise<number> {
  // stack, not addN: tfjs-webgpu's AddN binds every input at once and fails past the device's storage-buffer
  // limit (8 bindings by default), where its concat splits the inputs into groups
  const normTensor = tf.tidy(() => tf.sqrt(tf.stack(slots.map((s) => s.grad.square().sum())).sum()));
  const norm = (await normTensor.data())[0];
  normTensor.dispose();
  const scale = clipScale(norm, h.clip);
  const c1 = 1 - h.beta1 ** h.t;
  const c2 = 1 - h.beta2 ** h.t;
  tf.tidy(() => {
    for (const s of slots) {
      const g = s.grad.mul(scale);
      s.m.assign(s.m.mul(h.beta1).add(g.mul(1 - h.beta1)));
      s.v.assign(s.v.mul(h.beta2).add(g.square().mul(1 - h.beta2)));
      const decayed = s.decay ? s.param.mul(1 - h.learningRate * h.weightDecay) : s.param;
      const step = s.m.div(c1).div(s.v.div(c2).sqrt().add(h.epsilon)).mul(h.learningRate);
      s.param.assign(decayed.sub(step));
    }
  });
  return norm;
}

/** Whether `adamwFused` can run on the active backend. */
export function adamwFusedAvailable(): boolean {
  return (HOST_BACKENDS as readonly string[]).includes(tf.getBackend());
}

/** The hyper-parameters as the native kernel reads them: lr, β₁, β₂, ε, λ, clip, c₁, c₂. */
function packHyper(h: AdamWHyper): Float64Array {
  return Float64Array.from([h.learningRate, h.beta1, h.beta2, h.epsilon, h.weightDecay, h.clip, 1 - h.beta1 ** h.t, 1 - h.beta2 ** h.t]);
}

/** The update as one loop over flat arrays: the native kernel's fallback, and what its tests read. */
export function adamwLoop(p: Float32Array[], g: Float32Array[], m: Float32Array[], v: Float32Array[], decay: Int32Array, hyper: Float64Array): number {
  const [lr, beta1, beta2, eps, wd, clip, c1, c2] = hyper;
  let sumSquares = 0;
  for (const gi of g) for (let j = 0; j < gi.length; j++) sumSquares += gi[j] * gi[j];
  const norm = Math.sqrt(sumSquares);
  const scale = clipScale(norm, clip);
  for (let i = 0; i < p.length; i++) {
    const [pi, gi, mi, vi] = [p[i], g[i], m[i], v[i]];
    const keep = decay[i] ? 1 - lr * wd : 1;
    for (let j = 0; j < pi.length; j++) {
      const gj = gi[j] * scale;
      const mj = beta1 * mi[j] + (1 - beta1) * gj;
      const vj = beta2 * vi[j] + (1 - beta2) * gj * gj;
      mi[j] = mj;
      vi[j] = vj;
      pi[j] = pi[j] * keep - (lr * (mj / c1)) / (Math.sqrt(vj / c2) + eps);
    }
  }
  return norm;
}

/**
 * The update in one call on a host backend, in place. `implementation` picks the native kernel or the
 * JavaScript loop (default: native where built). Returns the global gradient norm before clipping.
 */
export function adamwFused(slots: AdamWSlot[], h: AdamWHyper, implementation: 'native' | 'js' = nativeAddon() ? 'native' : 'js'): number {
  const backend = tf.backend();
  // In-place writes are only safe when a variable is the sole owner of its buffer (a clone or reshape
  // of it shares the buffer and must keep its value): give a shared one a buffer of its own first.
  for (const s of slots) {
    for (const variable of [s.param, s.m, s.v]) {
      if (!ownsData(backend, variable)) variable.assign(tf.tidy(() => tf.add(variable, 0)));
    }
  }
  const view = (t: tf.Tensor) => hostArray(backend, t);
  const p = slots.map((s) => view(s.param));
  const g = slots.map((s) => view(s.grad));
  const m = slots.map((s) => view(s.m));
  const v = slots.map((s) => view(s.v));
  const decay = Int32Array.from(slots, (s) => (s.decay ? 1 : 0));
  const native = nativeAddon();
  if (implementation === 'native') {
    if (!native) throw new Error('adamwFused: the native addon is not built (node scripts/build-native.mjs); use implementation "js"');
    return native.adamw(p, g, m, v, decay, packHyper(h));
  }
  return adamwLoop(p, g, m, v, decay, packHyper(h));
}
