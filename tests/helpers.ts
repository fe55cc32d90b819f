/** Shared test helpers: backend selection, closeness checks, tensor-leak checks. */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../harness/engine.ts';

/** Switch to a backend (with the engine's missing kernels registered). */
export async function useBackend(name: BackendName): Promise<void> {
  await initEngine(name);
}

/** Assert two arrays are equal within atol + rtol·|expected|, naming the first index that is not. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 1e-4, what = 'values'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(`${what}[${i}]: ${a} differs from ${e} by ${Math.abs(a - e)} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/** Largest |a - b| over two arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Run fn and assert it leaves no tensor behind. */
export async function assertNoLeak(fn: () => unknown | Promise<unknown>, what = 'fn'): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  assert.equal(tf.memory().numTensors, before, `${what} leaked ${tf.memory().numTensors - before} tensors`);
}
