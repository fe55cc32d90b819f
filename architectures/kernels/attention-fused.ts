/**
 * Fused scaled dot-product attention for the host backends (cpu, wasm), FlashAttention-style
 * (Dao et al. 2022, Algorithm 1; backward as in FlashAttention-2, Dao 2023, Algorithm 2): scores, masks,
 * softmax and the weighted sum of values in one pass over key blocks, never holding the (lq, lk) score
 * matrix. Each query row keeps a running maximum m and sum ℓ of exp(s − m); when a key block raises the
 * maximum, what was accumulated so far is rescaled by exp(m_old − m_new).
 *
 * Forward saves only the output and each row's log-sum-exp (lse = m + log ℓ); backward recomputes the
 * scores block by block from q, k and lse, so memory grows as L, not L².
 *
 * Same signature and masking rules as attentionReference (attention.ts), tested against it. One
 * difference on purpose: a query row that may see no key at all (every visible key padded) outputs
 * zeros, where the reference's additive −1e9 mask spreads it uniformly over hidden keys.
 *
 * Shapes: b batch, h heads, lq query length, lk key length, hs head size.
 */
import * as tf from '@tensorflow/tfjs';
import { registerHostKernel, type HostKernel } from './typed-kernel.ts';
import type { AttentionOptions } from './attention.ts';

const FORWARD = 'SeqarenaFlashAttention';
const BACKWARD = 'SeqarenaFlashAttentionGrad';

/** Queries and keys per block: a key block (BLOCK_K × hs floats for k and for v) stays in L1 while a query block reads it. */
const BLOCK_Q = 32;
const BLOCK_K = 64;

type Values = Float32Array | Int32Array;

interface Geometry {
  b: number;
  h: number;
  lq: number;
  lk: number;
  hs: number;
  scale: number;
  /** Query i sees keys j ≤ i + offset when causal. */
  offset: number;
  causal: boolean;
}

function geometry(q: number[], k: number[], v: number[], mask: number[], causal: boolean): Geometry {
  const [b, h, lq, hs] = q;
  const lk = k[2];
  const same = (a: number[], e: number[]): boolean => a.length === e.length && a.every((s, i) => s === e[i]);
  if (q.length !== 4 || !same(k, [b, h, lk, hs]) || !same(v, k)) {
    throw new Error(`attentionFused: q [${q}], k [${k}], v [${v}] must be (b, h, lq, hs), (b, h, lk, hs), (b, h, lk, hs)`);
  }
  if (!same(mask, [b, lk])) throw new Error(`attentionFused: keyMask has shape [${mask}], expected [${b},${lk}] (b, lk)`);
  if (causal && lq > lk) throw new Error(`causal attention needs lq ≤ lk, got lq ${lq} and lk ${lk}`);
  return { b, h, lq, lk, hs, scale: 1 / Math.sqrt(hs), offset: lk - lq, causal };
}

/** One past the last key query i may see. */
function keyLimit(g: Geometry, i: number): number {
  return g.causal ? Math.min(g.lk, i + g.offset + 1) : g.lk;
}

/** q_i · k_j over hs contiguous floats. */
function dot(a: Values, ao: number, b: Values, bo: number, n: number): number {
  let s = 0;
  for (let d = 0; d < n; d++) s += a[ao + d] * b[bo + d];
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Forward: out (b, h, lq, hs) and lse (b, h, lq)

const forward: HostKernel = ({ q, k, v, keyMask }, attrs) => {
  const g = geometry(q.shape, k.shape, v.shape, keyMask.shape, attrs.causal as boolean);
  const { b, h, lq, lk, hs, scale } = g;
  const out = new Float32Array(b * h * lq * hs);
  const lse = new Float32Array(b * h * lq);
  const acc = new Float64Array(BLOCK_Q * hs); // Σ exp(s − m)·v per row of the query block
  const rowMax = new Float64Array(BLOCK_Q);
  const rowSum = new Float64Array(BLOCK_Q);
  const s = new Float64Array(BLOCK_K);
  const mask = keyMask.values;
  for (let bh = 0; bh < b * h; bh++) {
    const qBase = bh * lq * hs;
    const kBase = bh * lk * hs;
    const maskBase = Math.floor(bh / h) * lk;
    for (let q0 = 0; q0 < lq; q0 += BLOCK_Q) {
      const q1 = Math.min(lq, q0 + BLOCK_Q);
      acc.fill(0);
      rowMax.fill(-Infinity);
      rowSum.fill(0);
      const kEnd = keyLimit(g, q1 - 1);
      for (let k0 = 0; k0 < kEnd; k0 += BLOCK_K) {
        const k1 = Math.min(kEnd, k0 + BLOCK_K);
        for (let i = q0; i < q1; i++) {
          const jEnd = Math.min(k1, keyLimit(g, i));
          if (jEnd <= k0) continue;
          const r = i - q0;
          // scores of this row against the block, and their maximum
          let blockMax = -Infinity;
          for (let j = k0; j < jEnd; j++) {
            const sj = mask[maskBase + j] === 0 ? -Infinity : scale * dot(q.values, qBase + i * hs, k.values, kBase + j * hs, hs);
            s[j - k0] = sj;
            if (sj > blockMax) blockMax = sj;
          }
          if (blockMax === -Infinity) continue;
          // rescale what the row holds to the new maximum, then add this block
          const m = Math.max(rowMax[r], blockMax);
          const rescale = Math.exp(rowMax[r] - m);
          const ar = r * hs;
          if (rescale !== 1) for (let d = 0; d < hs; d++) acc[ar + d] *= rescale;
          let sum = rowSum[r] * rescale;
          for (let j = k0; j < jEnd; j++) {
            const p = Math.exp(s[j - k0] - m);
            if (p === 0) continue;
            sum += p;
            const vo = kBase + j * hs;
            for (let d = 0; d < hs; d++) acc[ar + d] += p * v.values[vo + d];
          }
          rowMax[r] = m;
          rowSum[r] = sum;
        }
      }
      for (let i = q0; i < q1; i++) {
        const r = i - q0;
        const row = bh * lq + i;
        if (rowSum[r] === 0) {
          lse[row] = -Infinity; // no visible key: the output row stays zero
          continue;
        }
        const inv = 1 / rowSum[r];
        for (let d = 0; d < hs; d++) out[row * hs + d] = acc[r * hs + d] * inv;
        lse[row] = rowMax[r] + Math.log(rowSum[r]);
      }
    }
  }
  return [
    { shape: [b, h, lq, hs], values: out },
    { shape: [b, h, lq], values: lse },
  ];
};

// ---------------------------------------------------------------------------------------------------
// Backward: with P = exp(s − lse) recomputed per block and D_i = dO_i · O_i,
//   dV_j += P_ij dO_i;  dS_ij = P_ij (dO_i · v_j − D_i + dlse_i);  dQ_i += scale dS_ij k_j;  dK_j += scale dS_ij q_i

const backward: HostKernel = ({ q, k, v, keyMask, out, lse, dOut, dLse }, attrs) => {
  const g = geometry(q.shape, k.shape, v.shape, keyMask.shape, attrs.causal as boolean);
  const { b, h, lq, lk, hs, scale } = g;
  const dq = new Float32Array(q.values.length);
  const dk = new Float32Array(k.values.length);
  const dv = new Float32Array(v.values.length);
  // per (b, h) accumulators in float64: a key's gradient sums over up to lq queries
  const dqAcc = new Float64Array(lq * hs);
  const dkAcc = new Float64Array(lk * hs);
  const dvAcc = new Float64Array(lk * hs);
  const delta = new Float64Array(lq);
  const mask = keyMask.values;
  for (let bh = 0; bh < b * h; bh++) {
    const qBase = bh * lq * hs;
    const kBase = bh * lk * hs;
    const maskBase = Math.floor(bh / h) * lk;
    dqAcc.fill(0);
    dkAcc.fill(0);
    dvAcc.fill(0);
    for (let i = 0; i < lq; i++) delta[i] = dot(dOut.values, qBase + i * hs, out.values, qBase + i * hs, hs) - dLse.values[bh * lq + i];
    for (let q0 = 0; q0 < lq; q0 += BLOCK_Q) {
      const q1 = Math.min(lq, q0 + BLOCK_Q);
      const kEnd = keyLimit(g, q1 - 1);
      for (let k0 = 0; k0 < kEnd; k0 += BLOCK_K) {
        const k1 = Math.min(kEnd, k0 + BLOCK_K);
        for (let i = q0; i < q1; i++) {
          const rowLse = lse.values[bh * lq + i];
          if (rowLse === -Infinity) continue;
          const jEnd = Math.min(k1, keyLimit(g, i));
          const qo = qBase + i * hs;
          const io = i * hs;
          for (let j = k0; j < jEnd; j++) {
            if (mask[maskBase + j] === 0) continue;
            const ko = kBase + j * hs;
            const p = Math.exp(scale * dot(q.values, qo, k.values, ko, hs) - rowLse);
            if (p === 0) continue;
            const ds = p * (dot(dOut.values, qo, v.values, ko, hs) - delta[i]) * scale;
            const jo = j * hs;
            for (let d = 0; d < hs; d++) {
              dvAcc[jo + d] += p * dOut.values[qo + d];
              dqAcc[io + d] += ds * k.values[ko + d];
              dkAcc[jo + d] += ds * q.values[qo + d];
            }
          }
        }
      }
    }
    dq.set(dqAcc, qBase);
    dk.set(dkAcc, kBase);
    dv.set(dvAcc, kBase);
  }
  return [
    { shape: q.shape, values: dq },
    { shape: k.shape, values: dk },
    { shape: v.shape, values: dv },
  ];
};

// ---------------------------------------------------------------------------------------------------
// Registration and autodiff

function ensureRegistered(): void {
  const backend = tf.getBackend();
  if (tf.getKernel(FORWARD, backend)) return;
  if (!(['cpu', 'wasm'] as string[]).includes(backend)) {
    throw new Error(`attentionFused runs on the cpu and wasm backends, not '${backend}'; call attentionReference there`);
  }
  registerHostKernel(FORWARD, forward);
  registerHostKernel(BACKWARD, backward);
}

function run(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): tf.Tensor[] {
  return tf.engine().runKernel(kernelName, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['q', 'k', 'v', 'keyMask'],
  outputsToSave: [true, true],
  gradFunc: (dys, saved, attrs) => {
    const [dOut, dLse] = dys as tf.Tensor[];
    const [q, k, v, keyMask, out, lse] = saved;
    const [dq, dk, dv] = run(BACKWARD, { q, k, v, keyMask, out, lse, dOut, dLse }, attrs as Record<string, unknown>);
    return { q: () => dq, k: () => dk, v: () => dv, keyMask: () => tf.zerosLike(keyMask) };
  },
});

/** softmax(q kᵀ / √hs + masks) v in one fused kernel. q: (b, h, lq, hs); k, v: (b, h, lk, hs) → (b, h, lq, hs). */
export function attentionFused(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions): tf.Tensor4D {
  ensureRegistered();
  // the kernel always takes a mask, so the gradient's saved inputs are the same with or without one
  const keyMask = opts.keyMask ? tf.cast(opts.keyMask, 'float32') : tf.ones([q.shape[0], k.shape[2]]);
  const [out, lse] = run(FORWARD, { q, k, v, keyMask }, { causal: opts.causal });
  keyMask.dispose();
  lse.dispose();
  return out as tf.Tensor4D;
}
