/**
 * The token embedding: rows of a (V, d) table picked by id, and its gradient, which adds each
 * position's output gradient into its token's row (a scatter-add: a token that occurs k times gets
 * the sum of k rows). The reference is tf.gather, whose gradient tfjs composes from reshapes,
 * transposes and UnsortedSegmentSum (which the wasm backend lacks; harness/engine.ts adds it); the
 * fused kernels are one call each on the host backends (cpu, wasm), in C over the native thread pool
 * where the addon is built (native/src/embedding.c) and as the JavaScript loops below otherwise.
 *
 *   out[i, :] = table[ids_i, :]                  ids (…) int32 → out (…, d)
 *   dtable[v, :] = Σ_{i : ids_i = v} dout[i, :]  summed in position order, whatever the thread count
 *
 * An id outside [0, V) is refused (as tf.gather on cpu refuses it) rather than read out of bounds.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon } from './native.ts';
import type { NormImpl } from './norms.ts';
import { HOST_BACKENDS, registerHostViewKernel, type HostIndexViews, type HostViews } from './typed-kernel.ts';

/** The reference: tf.gather over the table's first axis. */
export function embeddingReference(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  return tf.gather(table, ids.dtype === 'int32' ? ids : ids.toInt());
}

function checkIds(ids: Int32Array, vocab: number): void {
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < vocab)) throw new RangeError(`embedding: id ${ids[i]} at position ${i} is outside the table's [0, ${vocab})`);
  }
}

function gatherJs(table: Float32Array, ids: Int32Array, out: Float32Array, d: number): void {
  checkIds(ids, table.length / d);
  for (let i = 0; i < ids.length; i++) out.set(table.subarray(ids[i] * d, ids[i] * d + d), i * d);
}

function scatterJs(dy: Float32Array, ids: Int32Array, dtable: Float32Array, d: number): void {
  const vocab = dtable.length / d;
  dtable.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= vocab) continue;
    const row = id * d;
    const from = i * d;
    for (let k = 0; k < d; k++) dtable[row + k] += dy[from + k];
  }
}

const GATHER = 'SeqarenaEmbedding';
const SCATTER = 'SeqarenaEmbeddingGrad';

function register(): void {
  registerHostViewKernel(GATHER, {
    outputs: ({ table, ids }) => [[...ids, table[1]]],
    compute: ({ table }: HostViews, [out], attrs, { ids }: HostIndexViews) => {
      const d = attrs.d as number;
      const native = nativeAddon();
      if (native?.embeddingGather) native.embeddingGather(table, ids, out, d);
      else gatherJs(table, ids, out, d);
    },
  });
  registerHostViewKernel(SCATTER, {
    outputs: (_, attrs) => [[attrs.vocab as number, attrs.d as number]],
    compute: ({ dy }: HostViews, [dtable], attrs, { ids }: HostIndexViews) => {
      const d = attrs.d as number;
      const native = nativeAddon();
      if (native?.embeddingScatter) native.embeddingScatter(dy, ids, dtable, d);
      else scatterJs(dy, ids, dtable, d);
    },
  });
}

function run(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): tf.Tensor {
  return (tf.engine().runKernel(kernelName, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as tf.Tensor[])[0];
}

tf.registerGradient({
  kernelName: GATHER,
  inputsToSave: ['table', 'ids'],
  gradFunc: (dy, [table, ids], attrs) => ({
    table: () => run(SCATTER, { dy: dy as tf.Tensor, ids }, { ...(attrs as Record<string, unknown>), vocab: table.shape[0] }),
    ids: () => tf.zerosLike(ids),
  }),
});

/** Whether the fused embedding runs on the active backend (the host backends). */
export function fusedEmbeddingSupported(): boolean {
  return (HOST_BACKENDS as readonly string[]).includes(tf.getBackend());
}

/** Which implementation the fused embedding runs: the native C kernels where the addon is built, else the JavaScript loops. */
export function fusedEmbeddingImplementation(): 'native' | 'js' {
  return nativeAddon()?.embeddingGather ? 'native' : 'js';
}

/** table (V, d) float32, ids (…) → (…, d). `impl` 'reference' (or a backend other than cpu/wasm) runs tf.gather. */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor, impl: NormImpl = 'fused'): tf.Tensor {
  if (table.rank !== 2) throw new Error(`embedding: the table must be (V, d), got shape [${table.shape}]`);
  if (impl === 'reference' || !fusedEmbeddingSupported() || table.dtype !== 'float32') return embeddingReference(table, ids);
  register();
  if (ids.dtype === 'int32') return run(GATHER, { table, ids }, { d: table.shape[1] });
  return tf.tidy(() => run(GATHER, { table, ids: ids.toInt() }, { d: table.shape[1] }));
}
