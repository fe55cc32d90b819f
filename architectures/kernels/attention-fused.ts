/**
 * Fused scaled dot-product attention for the host backends (cpu, wasm), FlashAttention-style
 * (Dao et al. 2022, Algorithm 1; backward as in FlashAttention-2, Dao 2023, Algorithm 2): scores, masks,
 * softmax and the weighted sum of values in one pass over key blocks, never holding the (lq, lk) score
 * matrix. Each query row keeps a running maximum m and sum ℓ of exp(s − m); when a key block raises the
 * maximum, what was accumulated so far is rescaled by exp(m_old − m_new).
 *
 * Forward saves only the output and each row's log-sum-exp (lse = m + log ℓ); backward recomputes the
 * scores block by block from q, k and lse, so memory grows as L, not L².
 * The backward kernel has no gradient of its own: first derivatives only, which is what training needs.
 *
 * A row against a key block is two SIMD matrix–vector loops (simd.ts): the scores K_blk·q_i, then
 * Σ_j p_j v_j; the softmax bookkeeping between them is plain JavaScript.
 *
 * Where the native addon is built (native.ts), both kernels run its C version instead
 * (native/src/attention.c: the same algorithm, vectorised and split over batch·head and query blocks
 * on every core); these loops stay the tested fallback.
 *
 * With a sliding window (attention-mask.ts) a query block walks only the keys its rows see, so time
 * grows as L · window rather than L².
 *
 * Same signature and masking rules as attentionReference (attention.ts), tested against it. One
 * difference on purpose: a query row that may see no key at all (every visible key padded) outputs
 * zeros, where the reference's additive −1e9 mask spreads it uniformly over hidden keys.
 *
 * Shapes: b batch, h heads, lq query length, lk key length, hs head size.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon } from './native.ts';
import { Arena } from './simd.ts';
import { HOST_BACKENDS, registerHostKernel, float32Values as f32, type HostKernel } from './typed-kernel.ts';
import { checkedWindow, visibleKeys, type AttentionOptions } from './attention-mask.ts';

const FORWARD = 'SeqarenaFlashAttention';
const BACKWARD = 'SeqarenaFlashAttentionGrad';

/** Queries and keys per block: a key block (BLOCK_K × hs floats for k and for v) stays in L1 while a query block reads it. */
const BLOCK_Q = 32;
const BLOCK_K = 64;

interface Geometry {
  b: number;
  h: number;
  lq: number;
  lk: number;
  hs: number;
  scale: number;
  causal: boolean;
  /** Keys a causal query sees, its own included; Infinity for all of them. */
  window: number;
}

function geometry(q: number[], k: number[], v: number[], mask: number[], attrs: Record<string, unknown>): Geometry {
  const causal = attrs.causal as boolean;
  const window = checkedWindow({ causal, window: (attrs.window as number) || undefined });
  const [b, h, lq, hs] = q;
  const lk = k[2];
  const same = (a: number[], e: number[]): boolean => a.length === e.length && a.every((s, i) => s === e[i]);
  if (q.length !== 4 || !same(k, [b, h, lk, hs]) || !same(v, k)) {
    throw new Error(`attentionFused: q [${q}], k [${k}], v [${v}] must be (b, h, lq, hs), (b, h, lk, hs), (b, h, lk, hs)`);
  }
  if (!same(mask, [b, lk])) throw new Error(`attentionFused: keyMask has shape [${mask}], expected [${b},${lk}] (b, lk)`);
  if (causal && lq > lk) throw new Error(`causal attention needs lq ≤ lk, got lq ${lq} and lk ${lk}`);
  return { b, h, lq, lk, hs, scale: 1 / Math.sqrt(hs), causal, window };
}

/** The keys query i sees, [start, end). */
const keysOf = (g: Geometry, i: number): { start: number; end: number } => visibleKeys(i, g.lq, g.lk, g.causal, g.window);

/** 0 for no window: the native kernels' convention. */
const nativeWindow = (g: Geometry): number => (Number.isFinite(g.window) ? g.window : 0);

const arena = new Arena();
const { gemvAcc, gemvT, ger } = arena.loops;

// ---------------------------------------------------------------------------------------------------
// Forward: out (b, h, lq, hs) and lse (b, h, lq). Per query row i and key block: s = K_blk q_i (gemvT),
// the online-softmax update in plain JS, then acc_i += Σ_j p_j v_j (gemvAcc).

const forward: HostKernel = ({ q, k, v, keyMask }, attrs) => {
  const g = geometry(q.shape, k.shape, v.shape, keyMask.shape, attrs);
  const { b, h, lq, lk, hs, scale } = g;
  const native = nativeAddon();
  if (native?.flashAttentionForward) {
    const out = new Float32Array(b * h * lq * hs);
    const lse = new Float32Array(b * h * lq);
    native.flashAttentionForward(f32(q), f32(k), f32(v), f32(keyMask), out, lse, b, h, lq, lk, hs, g.causal ? 1 : 0, nativeWindow(g));
    return [
      { shape: [b, h, lq, hs], values: out },
      { shape: [b, h, lq], values: lse },
    ];
  }
  arena.begin(q.values.length + 2 * k.values.length + 2 * BLOCK_K + BLOCK_Q * hs + 20);
  const Q = arena.alloc(q.values.length, q.values);
  const K = arena.alloc(k.values.length, k.values);
  const V = arena.alloc(v.values.length, v.values);
  const S = arena.alloc(BLOCK_K); // scores of one row against a key block, then their exp(s − m)
  const ACC = arena.alloc(BLOCK_Q * hs); // Σ exp(s − m)·v per row of the query block
  const m = arena.f32;
  const out = new Float32Array(b * h * lq * hs);
  const lse = new Float32Array(b * h * lq);
  const rowMax = new Float64Array(BLOCK_Q);
  const rowSum = new Float64Array(BLOCK_Q);
  const mask = keyMask.values;
  for (let bh = 0; bh < b * h; bh++) {
    const qBase = Q + bh * lq * hs;
    const kBase = K + bh * lk * hs;
    const vBase = V + bh * lk * hs;
    const maskBase = Math.floor(bh / h) * lk;
    for (let q0 = 0; q0 < lq; q0 += BLOCK_Q) {
      const q1 = Math.min(lq, q0 + BLOCK_Q);
      m.fill(0, ACC, ACC + BLOCK_Q * hs);
      rowMax.fill(-Infinity);
      rowSum.fill(0);
      // the keys some row of the block sees: from the first row's first to the last row's last
      const kStart = keysOf(g, q0).start;
      const kEnd = keysOf(g, q1 - 1).end;
      for (let k0 = kStart; k0 < kEnd; k0 += BLOCK_K) {
        const k1 = Math.min(kEnd, k0 + BLOCK_K);
        for (let i = q0; i < q1; i++) {
          const seen = keysOf(g, i);
          const j0 = Math.max(k0, seen.start);
          const count = Math.min(k1, seen.end) - j0;
          if (count <= 0) continue;
          const r = i - q0;
          gemvT(S, qBase + i * hs, kBase + j0 * hs, count, hs);
          let blockMax = -Infinity;
          for (let j = 0; j < count; j++) {
            const sj = mask[maskBase + j0 + j] === 0 ? -Infinity : scale * m[S + j];
            m[S + j] = sj;
            if (sj > blockMax) blockMax = sj;
          }
          if (blockMax === -Infinity) continue;
          // rescale what the row holds to the new maximum, then add this block
          const rm = Math.max(rowMax[r], blockMax);
          const rescale = Math.exp(rowMax[r] - rm);
          const ar = ACC + r * hs;
          if (rescale !== 1) for (let d = 0; d < hs; d++) m[ar + d] *= rescale;
          let sum = rowSum[r] * rescale;
          for (let j = 0; j < count; j++) {
            const p = Math.exp(m[S + j] - rm);
            m[S + j] = p;
            sum += p;
          }
          gemvAcc(ar, S, vBase + j0 * hs, count, hs);
          rowMax[r] = rm;
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
        for (let d = 0; d < hs; d++) out[row * hs + d] = m[ACC + r * hs + d] * inv;
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
  const g = geometry(q.shape, k.shape, v.shape, keyMask.shape, attrs);
  const { b, h, lq, lk, hs, scale } = g;
  const nq = q.values.length;
  const nk = k.values.length;
  const native = nativeAddon();
  if (native?.flashAttentionBackward) {
    const [dq, dk, dv] = [nq, nk, nk].map((count) => new Float32Array(count));
    const sizes = [b, h, lq, lk, hs, g.causal ? 1 : 0, nativeWindow(g)] as const;
    native.flashAttentionBackward(f32(q), f32(k), f32(v), f32(keyMask), f32(out), f32(lse), f32(dOut), f32(dLse), dq, dk, dv, ...sizes);
    return [
      { shape: q.shape, values: dq },
      { shape: k.shape, values: dk },
      { shape: v.shape, values: dv },
    ];
  }
  arena.begin(3 * nq + 4 * nk + 3 * BLOCK_K + 32);
  const Q = arena.alloc(nq, q.values);
  const K = arena.alloc(nk, k.values);
  const V = arena.alloc(nk, v.values);
  const DO = arena.alloc(nq, dOut.values);
  const DQ = arena.alloc(nq);
  const DK = arena.alloc(nk);
  const DV = arena.alloc(nk);
  const P = arena.alloc(BLOCK_K); // scores, then probabilities, of one row against a key block
  const DP = arena.alloc(BLOCK_K); // dO_i · v_j
  const DS = arena.alloc(BLOCK_K); // scale · dS_ij
  const m = arena.f32;
  const delta = new Float64Array(lq);
  const mask = keyMask.values;
  for (let bh = 0; bh < b * h; bh++) {
    const qOff = bh * lq * hs;
    const kOff = bh * lk * hs;
    const maskBase = Math.floor(bh / h) * lk;
    for (let i = 0; i < lq; i++) {
      let dot = 0;
      for (let d = 0; d < hs; d++) dot += dOut.values[qOff + i * hs + d] * out.values[qOff + i * hs + d];
      delta[i] = dot - dLse.values[bh * lq + i];
    }
    for (let q0 = 0; q0 < lq; q0 += BLOCK_Q) {
      const q1 = Math.min(lq, q0 + BLOCK_Q);
      const kStart = keysOf(g, q0).start;
      const kEnd = keysOf(g, q1 - 1).end;
      for (let k0 = kStart; k0 < kEnd; k0 += BLOCK_K) {
        const k1 = Math.min(kEnd, k0 + BLOCK_K);
        for (let i = q0; i < q1; i++) {
          const rowLse = lse.values[bh * lq + i];
          const seen = keysOf(g, i);
          const j0 = Math.max(k0, seen.start);
          const count = Math.min(k1, seen.end) - j0;
          if (rowLse === -Infinity || count <= 0) continue;
          const qi = qOff + i * hs;
          const kRows = kOff + j0 * hs;
          gemvT(P, Q + qi, K + kRows, count, hs);
          gemvT(DP, DO + qi, V + kRows, count, hs);
          for (let j = 0; j < count; j++) {
            const p = mask[maskBase + j0 + j] === 0 ? 0 : Math.exp(scale * m[P + j] - rowLse);
            m[P + j] = p;
            m[DS + j] = p * (m[DP + j] - delta[i]) * scale;
          }
          ger(DV + kRows, P, DO + qi, count, hs);
          ger(DK + kRows, DS, Q + qi, count, hs);
          gemvAcc(DQ + qi, DS, K + kRows, count, hs);
        }
      }
    }
  }
  return [
    { shape: q.shape, values: arena.copyOut(DQ, nq) },
    { shape: k.shape, values: arena.copyOut(DK, nk) },
    { shape: v.shape, values: arena.copyOut(DV, nk) },
  ];
};

// ---------------------------------------------------------------------------------------------------
// Registration and autodiff

/** Whether attentionFused can run on a backend: the host backends, whose tensors JavaScript reads directly. */
export function fusedAttentionSupported(backendName: string = tf.getBackend()): boolean {
  return (HOST_BACKENDS as readonly string[]).includes(backendName);
}

/** Which implementation attentionFused runs: the native C kernel where the addon is built, else the WebAssembly SIMD loops. */
export function fusedAttentionImplementation(): 'native' | 'wasm' {
  return nativeAddon()?.flashAttentionForward ? 'native' : 'wasm';
}

function ensureRegistered(): void {
  const backend = tf.getBackend();
  if (tf.getKernel(FORWARD, backend)) return;
  if (!fusedAttentionSupported(backend)) {
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
  checkedWindow(opts);
  // the kernel always takes a mask, so the gradient's saved inputs are the same with or without one
  const keyMask = opts.keyMask ? tf.cast(opts.keyMask, 'float32') : tf.ones([q.shape[0], k.shape[2]]);
  // attrs are numbers: 0 is no window
  const [out, lse] = run(FORWARD, { q, k, v, keyMask }, { causal: opts.causal, window: opts.window ?? 0 });
  keyMask.dispose();
  lse.dispose();
  return out as tf.Tensor4D;
}
