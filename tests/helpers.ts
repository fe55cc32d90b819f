/** Shared test helpers: backend selection, closeness checks, tensor-leak checks, step-by-step decoding against the full forward. */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { PRESET_NAMES, type Architecture, type DecodeState, type LMModel, type StepOutput } from '../architectures/types.ts';
import { initEngine, type BackendName } from '../harness/engine.ts';
import { resolveRun } from '../harness/spec.ts';
import { nativeAddon, withoutNative } from '../architectures/kernels/native.ts';

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

/** What step-by-step decoding needs of a model: LMs and seq2seq models both have it. */
interface Stepper {
  step(token: tf.Tensor1D, state: DecodeState): StepOutput;
}

/**
 * Train `model` (a vocabulary of 8) with Adam at 0.03 for 25 steps (or `options`' rate and steps) on one fixed
 * batch of two sequences, and assert that no tensor leaks across steps and the loss falls below 0.1 (from
 * above `initialAbove` when given: ln 8 ≈ 2.08 at a near-uniform start). Disposes the model.
 */
export function assertOverfitsFixedBatch(model: LMModel, initialAbove?: number, options: { learningRate?: number; steps?: number } = {}): void {
  const { learningRate = 0.03, steps = 25 } = options;
  const seq = [
    [1, 5, 2, 7, 3, 3, 6, 0, 4, 1, 2],
    [6, 0, 4, 4, 1, 7, 2, 5, 5, 3, 1],
  ];
  const tokens = (rows: number[][]) => tf.tensor2d(rows, undefined, 'int32');
  const inputs = tokens(seq.map((s) => s.slice(0, -1)));
  const targets = tf.oneHot(tokens(seq.map((s) => s.slice(1))), 8);
  const optimizer = tf.train.adam(learningRate);
  const lossFn = (): tf.Scalar => tf.losses.softmaxCrossEntropy(targets, model.forward(inputs)) as tf.Scalar;
  const losses: number[] = [];
  let tensorsAfterFirst = 0;
  for (let i = 0; i < steps; i++) {
    const loss = optimizer.minimize(lossFn, true, model.trainableWeights)!;
    losses.push(loss.dataSync()[0]);
    loss.dispose();
    if (i === 0) tensorsAfterFirst = tf.memory().numTensors;
  }
  assert.equal(tf.memory().numTensors, tensorsAfterFirst, 'tensors leaked across training steps');
  if (initialAbove !== undefined) assert.ok(losses[0] > initialAbove, `initial loss ${losses[0]} should be near ln 8`);
  assert.ok(losses.at(-1)! < 0.1, `final loss ${losses.at(-1)} should fall below 0.1 (from ${losses[0]})`);
  optimizer.dispose();
  tf.dispose([inputs, targets]);
  model.dispose();
}

/** `arch`'s closed-form parameter count equals its built model's at every preset and each of `configs` (vocabulary 32). */
export function assertParamCountsMatch(arch: Architecture, configs: Record<string, unknown>[]): void {
  const io = { vocabSize: 32, maxLen: 128, padId: 0 };
  for (const preset of [...PRESET_NAMES.map((p) => arch.presets[p]), ...configs]) {
    const cfg = arch.config.parse(preset);
    const model = arch.build(cfg, io);
    assert.equal(arch.paramCount(cfg, io), model.trainableWeights.reduce((s, w) => s + w.size, 0), `${arch.name} ${JSON.stringify(preset)}`);
    model.dispose();
  }
}

/**
 * `model`'s logits for `seq`, the loss (the mean square of the logits) and every weight's gradient, as host arrays,
 * for comparing two forms of one model; disposes the model.
 */
export function logitsLossAndGrads(model: LMModel, seq: tf.Tensor2D): Float32Array[] {
  const out = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => model.forward(seq).square().mean() as tf.Scalar, model.trainableWeights);
    return [model.forward(seq), value, ...Object.values(grads)].map((t) => t.dataSync() as Float32Array);
  });
  model.dispose();
  return out;
}

/**
 * Changing the tokens of two 8-token sequences from position 5 on leaves `model`'s logits at positions 0 … 4 equal
 * (within atol) and changes every later one: the model is causal and reads each new token.
 */
export function assertCausal(model: LMModel, atol = 1e-6): void {
  const a = [[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]];
  const b = [[1, 2, 3, 4, 5, 10, 9, 2], [8, 7, 6, 5, 4, 0, 0, 0]];
  const [la, lb] = [a, b].map((rows) => tf.tidy(() => model.forward(tf.tensor2d(rows, [2, 8], 'int32')).arraySync()));
  for (let s = 0; s < 2; s++) {
    for (let t = 0; t < 8; t++) {
      if (t < 5) assertClose(lb[s][t], la[s][t], atol, 0, `seq ${s} position ${t}`);
      else assert.ok(maxAbsDiff(lb[s][t], la[s][t]) > 1e-6, `seq ${s} position ${t} should see the change`);
    }
  }
}

/**
 * Decode `rows` (b sequences of one length, one column a step) with model.step from `start()`, and assert
 * each step's logits (b, v) equal `expected(t)` (b rows of v logits, the full forward at position t)
 * within atol + rtol·|expected|. `afterStep(t, next)` checks the state after position t. Every token,
 * logits and state made here is disposed, the starting state too, and nothing may leak.
 */
export async function assertStepsMatchForward(
  model: Stepper,
  start: () => DecodeState,
  rows: number[][],
  expected: (t: number) => ArrayLike<number>[],
  what: string,
  options: { atol?: number; rtol?: number; afterStep?: (t: number, next: DecodeState) => void } = {},
): Promise<void> {
  const { atol = 1e-4, rtol = 1e-4, afterStep } = options;
  await assertNoLeak(() => {
    let current = start();
    for (let t = 0; t < rows[0].length; t++) {
      const token = tf.tensor1d(rows.map((row) => row[t]), 'int32');
      const { logits, state: next } = model.step(token, current);
      const got = logits.arraySync();
      tf.dispose([token, logits]);
      current.dispose();
      current = next;
      const want = expected(t);
      rows.forEach((_, row) => assertClose(got[row], want[row], atol, rtol, `${what}: row ${row} position ${t}`));
      afterStep?.(t, next);
    }
    current.dispose();
  }, `${what} decoding`);
}

/**
 * A recurrent LM's step() over two sequences of 7 equals its full forward at every position, and its state
 * (vocabulary < 10) is `stateBytes` for each of the two sequences from the first step to the last.
 */
export async function assertStepsMatchForwardAtConstantState(model: LMModel, stateBytes: number, what: string): Promise<void> {
  const seq = [[3, 1, 4, 1, 5, 9, 2], [6, 5, 3, 5, 8, 9, 7]];
  const full = tf.tidy(() => model.forward(tf.tensor2d(seq, undefined, 'int32')).arraySync());
  const start = () => {
    const state = model.initState(2);
    assert.equal(state.bytes(), 2 * stateBytes);
    return state;
  };
  await assertStepsMatchForward(model, start, seq, (t) => full.map((row) => row[t]), what, {
    afterStep: (_, next) => assert.equal(next.bytes(), 2 * stateBytes, 'state size must not grow'),
  });
}

/** Run the CLI in this process; returns the exit code and what it wrote to stderr (stdout is left alone: the test runner reports there). */
export async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  // Loaded on first use: the CLI brings in every command (reports, vega), which most tests never need.
  const { main } = await import('../harness/cli.ts');
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'seqarena', ...args]), stderr };
  } finally {
    process.stderr.write = write;
  }
}

/**
 * Start the webgpu backend (Dawn; without a GPU its OpenGL backend on a software renderer) and return
 * null, or the reason it cannot start, for a test's `skip`.
 */
export async function webgpuSkipReason(): Promise<string | null> {
  process.env.EGL_PLATFORM ??= 'surfaceless';
  process.env.SEQARENA_DAWN_FLAGS ??= 'backend=opengl';
  process.env.SEQARENA_WEBGPU_FEATURE_LEVEL ??= 'compatibility';
  try {
    await initEngine('webgpu');
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The scale a tolerance is relative to: the largest magnitude of the expected values, at least 1. */
export const magnitude = (a: ArrayLike<number>): number => Math.max(1, ...Array.from(a, Math.abs));

/**
 * A nano `arch` language model (MQAR sizes: L 16, vocabulary 16, batch 2 of `tokens`) gives the same loss
 * (mean square of its logits) and gradients for every weight on webgpu, where its WGSL kernels run, as on
 * cpu, within `tolerance` of each output's magnitude. `config` is set over the preset.
 */
export async function assertModelOnWebgpuEqualsCpu(arch: string, tokens: number[], tolerance = 1e-4, config: Record<string, unknown> = {}): Promise<void> {
  const run = resolveRun({ arch, preset: 'nano', config, task: 'mqar', taskParams: { seq_len: 16, num_kv_pairs: 2, vocab_size: 16 } });
  const on = async (backend: 'cpu' | 'webgpu'): Promise<Float32Array[]> => {
    await useBackend(backend);
    const model = run.arch.build(run.config, run.io) as LMModel;
    const input = tf.tensor2d(tokens, [2, 16], 'int32');
    const { value, grads } = tf.variableGrads(() => model.forward(input).square().mean() as tf.Scalar, model.trainableWeights);
    const out = await Promise.all([value, ...Object.values(grads)].map(valuesOf));
    tf.dispose([input, value, ...Object.values(grads)]);
    model.dispose();
    return out;
  };
  const reference = await on('cpu');
  const gpu = await on('webgpu');
  reference.forEach((want, i) => {
    const err = maxAbsDiff(gpu[i], want);
    assert.ok(err <= tolerance * magnitude(want), `${arch}: output ${i} (${i === 0 ? 'the loss' : 'a gradient'}) differs by ${err}`);
  });
}

/** A tensor's values on any backend (webgpu reads back asynchronously only). */
export async function valuesOf(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

/**
 * The ways a host kernel runs, to test each against its reference: the JavaScript loops (no native addon),
 * and, where the addon has the kernel, native on 1 and 3 threads (the thread count restored afterwards).
 */
export function hostKernelVariants(nativeHasKernel: boolean): { name: string; run: <T>(fn: () => T) => T }[] {
  const variants: { name: string; run: <T>(fn: () => T) => T }[] = [{ name: 'js loops', run: (fn) => withoutNative(fn) }];
  if (!nativeHasKernel) return variants;
  for (const threads of [1, 3]) {
    variants.push({
      name: `native, ${threads} thread(s)`,
      run: (fn) => {
        const before = nativeAddon()!.threads();
        nativeAddon()!.setThreads(threads);
        try {
          return fn();
        } finally {
          nativeAddon()!.setThreads(before);
        }
      },
    });
  }
  return variants;
}
