/**
 * The fused masked softmax cross-entropy against its composed reference: the loss, its gradient with
 * respect to the logits and to the mask, masks that zero some positions (or all), targets outside the
 * vocabulary, odd vocabulary sizes; the JavaScript loops and native code on 1 and 3 threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { maskedCrossEntropy, maskedCrossEntropyReference } from '../architectures/kernels/cross-entropy.ts';
import { nativeAddon } from '../architectures/kernels/native.ts';
import { maskedCrossEntropy as trainLoss } from '../harness/loss.ts';
import { assertClose, assertNoLeak, hostKernelVariants, useBackend } from './helpers.ts';

/** (b, l, v): one row of two classes (tf.oneHot, in the reference, needs ≥ 2); odd vocabularies below, at and above the 8-lane vectors; more rows than one native piece. */
const SHAPES: [number, number, number][] = [
  [1, 1, 2],
  [2, 3, 5],
  [3, 7, 8],
  [2, 5, 33],
  [4, 70, 37],
  [2, 3, 1000],
];

const variants = hostKernelVariants(Boolean(nativeAddon()?.crossEntropy));

/** Seeded logits with a spread that makes some rows confident; targets with a few outside [0, v); a mask with zeros and a weight. */
function inputs(b: number, l: number, v: number, seed: number, maskKind: 'some' | 'none' | 'weighted') {
  const logits = tf.randomNormal([b, l, v], 0, 3, 'float32', seed) as tf.Tensor3D;
  const ids = Array.from({ length: b * l }, (_, i) => ((i * 7 + seed) % (v + 2)) - (i % 5 === 4 ? v + 1 : 0)); // some −1 … and some ≥ v
  const target = tf.tensor2d(ids, [b, l], 'int32');
  const mask = tf.tensor2d(
    Array.from({ length: b * l }, (_, i) => (maskKind === 'none' ? 0 : i % 3 === 1 ? 0 : maskKind === 'weighted' && i % 4 === 0 ? 0.5 : 1)),
    [b, l],
  );
  return { logits, target, mask };
}

function lossAndGrads(fused: boolean, logits: tf.Tensor3D, target: tf.Tensor2D, mask: tf.Tensor2D, scale: number): Float32Array[] {
  return tf.tidy(() => {
    const f = (x: tf.Tensor, m: tf.Tensor) =>
      (fused ? maskedCrossEntropy(x as tf.Tensor3D, target, m as tf.Tensor2D) : maskedCrossEntropyReference(x as tf.Tensor3D, target, m as tf.Tensor2D)).mul(scale) as tf.Scalar;
    const value = f(logits, mask);
    const [dLogits, dMask] = tf.grads(f)([logits, mask]);
    return [value, dLogits, dMask].map((t) => t.dataSync() as Float32Array);
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  for (const variant of variants) {
    test(`fused masked cross-entropy equals the reference on ${backend} (${variant.name}): loss, ∂logits, ∂mask`, async () => {
      await useBackend(backend);
      for (const [i, [b, l, v]] of SHAPES.entries()) {
        for (const maskKind of ['some', 'none', 'weighted'] as const) {
          const { logits, target, mask } = inputs(b, l, v, 10 + i, maskKind);
          const what = `(b, l, v) = (${b}, ${l}, ${v}), mask ${maskKind}`;
          const fused = variant.run(() => lossAndGrads(true, logits, target, mask, 1.7));
          const reference = lossAndGrads(false, logits, target, mask, 1.7);
          ['loss', '∂logits', '∂mask'].forEach((name, k) => assertClose(fused[k], reference[k], 1e-5, 1e-4, `${name} at ${what}`));
          tf.dispose([logits, target, mask]);
        }
      }
    });
  }

  test(`fused masked cross-entropy leaks no tensor and takes float targets and masks on ${backend}`, async () => {
    await useBackend(backend);
    const { logits, target, mask } = inputs(2, 4, 6, 3, 'some');
    await assertNoLeak(() => lossAndGrads(true, logits, target, mask, 1), 'loss and gradients');
    const asFloat = target.toFloat() as tf.Tensor2D;
    const loss = maskedCrossEntropy(logits, asFloat, mask);
    const reference = maskedCrossEntropyReference(logits, target, mask);
    assertClose(loss.dataSync(), reference.dataSync(), 1e-5, 1e-5, 'loss with float targets');
    tf.dispose([logits, target, mask, asFloat, loss, reference]);
  });
}

test('fused masked cross-entropy gives the same bits on 1 and 3 threads (the loss is summed in a fixed order)', { skip: !nativeAddon()?.crossEntropy }, async () => {
  await useBackend('wasm');
  const { logits, target, mask } = inputs(8, 300, 40, 5, 'weighted');
  const [one, three] = [1, 3].map((threads) => variants.find((v) => v.name.startsWith(`native, ${threads}`))!.run(() => lossAndGrads(true, logits, target, mask, 1)));
  one.forEach((values, k) => assert.deepEqual(three[k], values, `output ${k}`));
  tf.dispose([logits, target, mask]);
});

test('the fused loss refuses a target or mask whose shape does not match the logits', async () => {
  await useBackend('cpu');
  const logits = tf.zeros([2, 3, 4]) as tf.Tensor3D;
  const target = tf.zeros([2, 2], 'int32') as tf.Tensor2D;
  const mask = tf.ones([2, 3]) as tf.Tensor2D;
  assert.throws(() => maskedCrossEntropy(logits, target, mask), /target \[2,2\] and mask \[2,3\] must both be \[2,3\]/);
  tf.dispose([logits, target, mask]);
});

test("training.kernels picks the fused loss or the composed reference", async () => {
  await useBackend('wasm');
  const { logits, target, mask } = inputs(2, 3, 5, 1, 'some');
  const kernels = async (which: 'fused' | 'reference') => (await tf.profile(() => trainLoss(logits, target, mask, which))).kernels.map((k) => k.name);
  const fused = await kernels('fused');
  const reference = await kernels('reference');
  assert.ok(fused.includes('SeqarenaMaskedCrossEntropy') && !fused.includes('OneHot'), fused.join(' '));
  assert.ok(reference.includes('OneHot') && !reference.includes('SeqarenaMaskedCrossEntropy'), reference.join(' '));
  tf.dispose([logits, target, mask]);
});
