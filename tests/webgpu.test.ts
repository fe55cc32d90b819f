/**
 * The webgpu code path, on Dawn. Without a GPU it runs on a software renderer (Dawn's OpenGL backend on
 * Mesa, surfaceless EGL, compatibility adapter): slow, but it checks that the models and the harness
 * work where tensors can only be read back asynchronously.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURES } from '../architectures/index.ts';
import { initEngine } from '../harness/engine.ts';
import { resolveRun } from '../harness/spec.ts';
import { train } from '../harness/train.ts';
import { maxAbsDiff } from './helpers.ts';

process.env.EGL_PLATFORM ??= 'surfaceless';
process.env.SEQARENA_DAWN_FLAGS ??= 'backend=opengl';
process.env.SEQARENA_WEBGPU_FEATURE_LEVEL ??= 'compatibility';

async function webgpuAvailable(): Promise<string | null> {
  try {
    await initEngine('webgpu');
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

const unavailable = await webgpuAvailable();

test('a transformer gives the same logits on webgpu as on cpu, and trains there leak-free', { skip: unavailable ?? false }, async () => {
  const run = resolveRun({
    arch: 'transformer',
    preset: 'nano',
    task: 'mqar',
    taskParams: { seq_len: 16, num_kv_pairs: 2, vocab_size: 16 },
    training: { steps: 3, batchSize: 2, evalEvery: 100, evalExamples: 2, warmupSteps: 1 },
  });
  const tokens = [...Array(32)].map((_, i) => (i * 7) % 16);
  const logitsOn = async (backend: 'cpu' | 'webgpu') => {
    await initEngine(backend);
    const model = ARCHITECTURES.transformer.build(run.config as never, run.io);
    const input = tf.tensor2d(tokens, [2, 16], 'int32');
    const logits = model.forward(input);
    const values = await logits.data();
    tf.dispose([input, logits]);
    model.dispose();
    return values;
  };
  const reference = await logitsOn('cpu');
  const gpu = await logitsOn('webgpu');
  assert.equal(tf.getBackend(), 'webgpu');
  assert.ok(maxAbsDiff(gpu, reference) < 1e-3, `webgpu logits differ from cpu by ${maxAbsDiff(gpu, reference)}`);

  const model = run.arch.build(run.config, run.io);
  const counts: number[] = [];
  const outcome = await train(run, model, { onStep: () => counts.push(tf.memory().numTensors) });
  model.dispose();
  assert.ok(outcome.steps.every((s) => Number.isFinite(s.loss)), `losses ${outcome.steps.map((s) => s.loss)}`);
  assert.equal(counts[2], counts[1], `tensors leaked across steps: ${counts}`);
});

test('on webgpu the device column names the adapter; auto does not take a software adapter', { skip: unavailable ?? false }, async () => {
  const engine = await initEngine('webgpu');
  // The CPU's name ends "(N cores)"; the adapter's is vendor, architecture, device and driver.
  assert.doesNotMatch(engine.device, /\(\d+ cores\)$/, engine.device);
  const software = engine.device.endsWith('[software]');
  const auto = await initEngine('auto');
  if (software) assert.notEqual(auto.backend, 'webgpu', `auto chose webgpu on ${engine.device}`);
});

test('a run on webgpu writes peak_device_bytes from the adapter, at least the bytes its tensors held', { skip: unavailable ?? false }, async () => {
  const { executeRun } = await import('../harness/run.ts');
  const rows = await executeRun({
    arch: 'lstm',
    preset: 'nano',
    task: 'mqar',
    taskParams: { seq_len: 16, num_kv_pairs: 2, vocab_size: 16 },
    training: { steps: 3, batchSize: 2, evalEvery: 100, evalExamples: 4, warmupSteps: 1, inference: false },
    backend: 'webgpu',
  });
  const device = rows.filter((r) => r.metric === 'peak_device_bytes');
  const tensors = rows.find((r) => r.metric === 'peak_tensor_bytes');
  assert.equal(device.length, 1, `one peak_device_bytes row, got ${device.length}`);
  assert.ok(tensors && device[0].value! >= tensors.value!, `device ${device[0].value} B ≥ tensors ${tensors?.value} B`);
  assert.equal(device[0].unit, 'bytes');
});
