/**
 * The whole-sequence recurrences of the RNN family (Elman RNN, LSTM, GRU), written as readable composed
 * tfjs ops: the reference every faster kernel is tested against, and what autodiff differentiates.
 *
 * The input projection x·Wx + b has no time dependence, so callers compute it for the whole sequence in
 * one matmul (`xProj`); only h·Wh runs inside the time loop. Gate orders follow PyTorch's nn.LSTM and
 * nn.GRU (i, f, g, o and r, z, n), so weights can be compared with PyTorch slice for slice.
 *
 * Glossary: b batch, l sequence length, h hidden size.
 *   Elman (1990):  h' = tanh(x_t + h·Wh)
 *   LSTM (Hochreiter & Schmidhuber 1997, with forget gate, Gers et al. 2000):
 *     [i, f, g, o] = x_t + h·Wh;  c' = σ(f)⊙c + σ(i)⊙tanh(g);  h' = σ(o)⊙tanh(c')
 *   GRU (Cho et al. 2014, PyTorch's form: the reset gate multiplies h·Wh_n + bh_n, not h):
 *     r = σ(x_r + h·Wh_r + bh_r);  z = σ(x_z + h·Wh_z + bh_z);  n = tanh(x_n + r⊙(h·Wh_n + bh_n));
 *     h' = (1 − z)⊙n + z⊙h
 *
 * Each exported `*Sequence` is the dispatcher models call: the fused kernel (recurrence-fused.ts) on the
 * cpu and wasm backends, the WGSL one (webgpu/recurrence.wgsl.ts; SEQARENA_WEBGPU_KERNELS=reference turns
 * it off) on webgpu, this reference elsewhere — unless `impl` (the model's `recurrence` option) forces one.
 */
import { unstackTime } from '../layers.ts';
import * as tf from '@tensorflow/tfjs';
import { fusedRecurrenceSupported, gruSequenceFused, lstmSequenceFused, rnnSequenceFused } from './recurrence-fused.ts';
import { gruSequenceWgsl, lstmSequenceWgsl, rnnSequenceWgsl, wgslRecurrenceSupported } from './webgpu/recurrence.wgsl.ts';

/**
 * Which recurrence a model runs: `auto` the backend's fused kernel (cpu/wasm; WGSL on webgpu) and this
 * file's reference elsewhere; `fused` insists on a fused kernel (an error on a backend without one);
 * `reference` the composed tfjs ops below, to check a figure against.
 */
export const RECURRENCE_IMPLS = ['auto', 'fused', 'reference'] as const;
export type RecurrenceImpl = (typeof RECURRENCE_IMPLS)[number];

export interface LstmSequenceOutput {
  hs: tf.Tensor3D; // (b, l, h) hidden state after every step
  hT: tf.Tensor2D; // (b, h)
  cT: tf.Tensor2D; // (b, h)
}

export interface RecurrenceOutput {
  hs: tf.Tensor3D; // (b, l, h)
  hT: tf.Tensor2D; // (b, h)
}

/** One LSTM step. xProjT: (b, 4h) = x_t·Wx + b, gate order i, f, g, o. */
export function lstmCell(xProjT: tf.Tensor2D, wh: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D): { h: tf.Tensor2D; c: tf.Tensor2D } {
  return tf.tidy(() => {
    const gates = tf.add(xProjT, tf.matMul(h, wh)); // (b, 4h)
    const [i, f, g, o] = tf.split(gates, 4, 1);
    const cNext = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g))) as tf.Tensor2D; // (b, h)
    const hNext = tf.mul(tf.sigmoid(o), tf.tanh(cNext)) as tf.Tensor2D; // (b, h)
    return { h: hNext, c: cNext };
  });
}

/** One GRU step. xProjT: (b, 3h) = x_t·Wx + bx, gate order r, z, n; bh: (3h) the recurrent bias. */
export function gruCell(xProjT: tf.Tensor2D, wh: tf.Tensor2D, bh: tf.Tensor1D, h: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const hProj = tf.add(tf.matMul(h, wh), bh); // (b, 3h)
    const [xr, xz, xn] = tf.split(xProjT, 3, 1);
    const [hr, hz, hn] = tf.split(hProj, 3, 1);
    const r = tf.sigmoid(tf.add(xr, hr));
    const z = tf.sigmoid(tf.add(xz, hz));
    const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    return tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D; // (1 − z)⊙n + z⊙h, (b, h)
  });
}

/** One Elman step. xProjT: (b, h) = x_t·Wx + b. */
export function rnnCell(xProjT: tf.Tensor2D, wh: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.tanh(tf.add(xProjT, tf.matMul(h, wh))) as tf.Tensor2D);
}

/** The time axis split once: slicing step by step costs a kernel launch and a copy per step. */
function timeSteps(xProj: tf.Tensor3D): tf.Tensor2D[] {
  if (xProj.shape[1] === 0) throw new Error(`recurrence over an empty sequence (xProj shape ${xProj.shape}); give at least one time step`);
  return unstackTime(xProj) as tf.Tensor2D[]; // l × (b, gh)
}

export function lstmSequenceReference(xProj: tf.Tensor3D, wh: tf.Tensor2D, h0: tf.Tensor2D, c0: tf.Tensor2D): LstmSequenceOutput {
  return tf.tidy(() => {
    let h = h0;
    let c = c0;
    const hs: tf.Tensor2D[] = [];
    for (const xt of timeSteps(xProj)) {
      ({ h, c } = lstmCell(xt, wh, h, c));
      hs.push(h);
    }
    return { hs: tf.stack(hs, 1) as tf.Tensor3D, hT: h, cT: c };
  });
}

export function gruSequenceReference(xProj: tf.Tensor3D, wh: tf.Tensor2D, bh: tf.Tensor1D, h0: tf.Tensor2D): RecurrenceOutput {
  return tf.tidy(() => {
    let h = h0;
    const hs: tf.Tensor2D[] = [];
    for (const xt of timeSteps(xProj)) {
      h = gruCell(xt, wh, bh, h);
      hs.push(h);
    }
    return { hs: tf.stack(hs, 1) as tf.Tensor3D, hT: h };
  });
}

export function rnnSequenceReference(xProj: tf.Tensor3D, wh: tf.Tensor2D, h0: tf.Tensor2D): RecurrenceOutput {
  return tf.tidy(() => {
    let h = h0;
    const hs: tf.Tensor2D[] = [];
    for (const xt of timeSteps(xProj)) {
      h = rnnCell(xt, wh, h);
      hs.push(h);
    }
    return { hs: tf.stack(hs, 1) as tf.Tensor3D, hT: h };
  });
}

/** Which of the three a call runs: the WGSL kernels, the host (cpu/wasm) fused kernels, or the reference. */
function pick(impl: RecurrenceImpl): 'wgsl' | 'fused' | 'reference' {
  if (impl === 'reference') return 'reference';
  if (wgslRecurrenceSupported()) return 'wgsl';
  // 'fused' on a backend without one: the fused kernel's own error says which backends it runs on
  return impl === 'fused' || fusedRecurrenceSupported() ? 'fused' : 'reference';
}

/** LSTM over a whole sequence. xProj: (b, l, 4h); wh: (h, 4h); h0, c0: (b, h). */
export function lstmSequence(xProj: tf.Tensor3D, wh: tf.Tensor2D, h0: tf.Tensor2D, c0: tf.Tensor2D, impl: RecurrenceImpl = 'auto'): LstmSequenceOutput {
  const run = { wgsl: lstmSequenceWgsl, fused: lstmSequenceFused, reference: lstmSequenceReference }[pick(impl)];
  return run(xProj, wh, h0, c0);
}

/** GRU over a whole sequence. xProj: (b, l, 3h) including the input bias; wh: (h, 3h); bh: (3h); h0: (b, h). */
export function gruSequence(xProj: tf.Tensor3D, wh: tf.Tensor2D, bh: tf.Tensor1D, h0: tf.Tensor2D, impl: RecurrenceImpl = 'auto'): RecurrenceOutput {
  const run = { wgsl: gruSequenceWgsl, fused: gruSequenceFused, reference: gruSequenceReference }[pick(impl)];
  return run(xProj, wh, bh, h0);
}

/** Elman RNN over a whole sequence. xProj: (b, l, h); wh: (h, h); h0: (b, h). */
export function rnnSequence(xProj: tf.Tensor3D, wh: tf.Tensor2D, h0: tf.Tensor2D, impl: RecurrenceImpl = 'auto'): RecurrenceOutput {
  const run = { wgsl: rnnSequenceWgsl, fused: rnnSequenceFused, reference: rnnSequenceReference }[pick(impl)];
  return run(xProj, wh, h0);
}
