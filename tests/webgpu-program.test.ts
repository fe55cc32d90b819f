/**
 * The layer under the WGSL kernels (architectures/kernels/webgpu/program.ts) on Dawn's adapter (a software
 * one where there is no GPU): a shader that does not compile fails with its kernel's name instead of a
 * console warning, and a program run again keeps one pipeline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
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
