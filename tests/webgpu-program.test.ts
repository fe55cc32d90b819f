/**
 * The layer under the WGSL kernels (architectures/kernels/webgpu/program.ts) on Dawn's adapter (a software
 * one where there is no GPU): a shader that does not compile fails with its kernel's name instead of a
 * console warning, a program run again keeps one pipeline, and an input cast to float32 from bool (whose
 * buffer still holds integers) reaches a kernel as floats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { attentionWgsl } from '../architectures/kernels/webgpu/attention.wgsl.ts';
import { checkWgslPrograms, ints, program, runProgram, WgslCompileError, type WebgpuBackend } from '../architectures/kernels/webgpu/program.ts';
import { useBackend, webgpuSkipReason } from './helpers.ts';

const skip = (await webgpuSkipReason()) ?? false;

/** A one-input program that writes `2 · x` (or runs `body` instead), keyed `key`. */
function doubling(key: string, size: number, body = 'result[index] = 2.0 * x[index];') {
  const uni = ints({ size });
  const p = program({
    kernel: 'TestDoubling',
    key,
    inputs: ['x'],
    outputSize: size,
    workgroupSize: 64,
    workgroups: [Math.ceil(size / 64), 1, 1],
    uniforms: uni.declaration,
    code: `
fn main(index : i32) {
  if (index < uniforms.size) { ${body} }
}`,
  });
  return { p, uniforms: uni.data };
}

test('a program run many times (a recurrence step) keeps its key: one pipeline, not one per run', { skip }, async () => {
  await useBackend('webgpu');
  const backend = tf.backend() as unknown as WebgpuBackend & { pipelineCache: Record<string, unknown> };
  const x = tf.tensor1d([1, 2, 3, 4]);
  const { p, uniforms } = doubling('test_repeated', 4);
  const before = Object.keys(backend.pipelineCache).length;
  for (let run = 0; run < 5; run++) backend.disposeData(runProgram(backend, p, [x], uniforms).dataId);
  await checkWgslPrograms(backend);
  assert.equal(p.shaderKey, 'seqarena_test_repeated');
  assert.equal(Object.keys(backend.pipelineCache).length - before, 1);
  x.dispose();
});

test('a key mask cast to float32 from bool (an i32 buffer underneath) gives the WGSL attention what a float mask does', { skip }, async () => {
  await useBackend('webgpu');
  const [q, k, v] = [0, 1, 2].map((seed) => tf.randomNormal([2, 1, 5, 4], 0, 1, 'float32', seed) as tf.Tensor4D);
  const tokens = tf.tensor2d([[3, 1, 0, 0, 2], [1, 1, 1, 0, 0]], [2, 5], 'int32');
  const fromBool = tf.notEqual(tokens, 0).toFloat() as tf.Tensor2D;
  const floats = tf.tensor2d([[1, 1, 0, 0, 1], [1, 1, 1, 0, 0]], [2, 5]);
  const [a, b] = [fromBool, floats].map((keyMask) => attentionWgsl(q, k, v, { causal: false, keyMask }));
  await checkWgslPrograms();
  assert.deepEqual(Array.from(await a.data()), Array.from(await b.data()));
  tf.dispose([q, k, v, tokens, fromBool, floats, a, b]);
});

test('a WGSL program that does not compile throws a WgslCompileError naming its kernel, and no other program is blamed', { skip }, async () => {
  await useBackend('webgpu');
  const backend = tf.backend() as unknown as WebgpuBackend;
  const x = tf.tensor1d([1, 2, 3]);
  const broken = doubling('test_broken', 3, 'result[index] = 2.0 * notDeclaredAnywhere;');
  // reading its output submits the dispatches recorded so far: the command buffer that holds the broken
  // one is invalid as a whole, and its work (zeros here) is lost with it
  const first = tf.engine().makeTensorFromTensorInfo(runProgram(backend, broken.p, [x], broken.uniforms));
  await first.data();
  first.dispose();
  await assert.rejects(checkWgslPrograms(), (error: unknown) => {
    assert.ok(error instanceof WgslCompileError);
    assert.match(error.message, /WGSL kernel TestDoubling: program seqarena_test_broken does not compile/);
    assert.match(error.message, /notDeclaredAnywhere/, 'the GPU message says what is wrong');
    return true;
  });
  // from then on the broken program throws at once, before anything runs
  assert.throws(() => runProgram(backend, doubling('test_broken', 3, 'result[index] = 2.0 * notDeclaredAnywhere;').p, [x]), WgslCompileError);
  const fine = doubling('test_fine', 3);
  const out = runProgram(backend, fine.p, [x], fine.uniforms);
  const y = tf.engine().makeTensorFromTensorInfo(out);
  assert.deepEqual(Array.from(await y.data()), [2, 4, 6]);
  tf.dispose([x, y]);
});
