/**
 * Which keys a query sees: the masking rules that every attention implementation follows (the composed
 * reference in attention.ts, the host kernel in attention-fused.ts; the WGSL and C kernels write the same
 * two bounds in their own languages).
 *
 * Causal attention lets query i see keys j ≤ i + (lk − lq): with lq = lk the lower triangle; with lq < lk
 * the queries are the last lq positions of the sequence (decoding against a KV cache). A sliding window
 * (Beltagy et al. 2020, Longformer's causal band; Jiang et al. 2023, Mistral) keeps only the last `window`
 * of those: i + (lk − lq) − window < j.
 *
 * Shapes: b batch, lq query length, lk key length.
 */
import type * as tf from '@tensorflow/tfjs';

export interface AttentionOptions {
  /** Query i may only see keys j ≤ i + (lk − lq). */
  causal: boolean;
  /** Causal only: query i sees just the last `window` keys up to its own position. Absent: every earlier key. */
  window?: number;
  /** (b, lk): 1 = a real key, 0 = padding that no query may attend to. */
  keyMask?: tf.Tensor2D;
}

/** The window as a number of keys, Infinity where there is none; throws on a window that is not a positive integer or not causal. */
export function checkedWindow(opts: AttentionOptions): number {
  if (opts.window === undefined) return Infinity;
  if (!Number.isInteger(opts.window) || opts.window < 1) throw new Error(`attention window must be a positive integer, got ${opts.window}`);
  if (!opts.causal) throw new Error(`attention window ${opts.window} needs causal attention: a window is the last keys up to each query`);
  return opts.window;
}

/** The keys query i sees before the key mask, [start, end); `window` is checkedWindow's. */
export function visibleKeys(i: number, lq: number, lk: number, causal: boolean, window: number): { start: number; end: number } {
  if (!causal) return { start: 0, end: lk };
  const last = i + lk - lq;
  return { start: Math.max(0, last - window + 1), end: Math.min(lk, last + 1) };
}
