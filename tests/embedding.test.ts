/**
 * The fused embedding lookup and its scatter-add gradient against tf.gather and tf.gather's gradient:
 * repeated ids, ids that never occur, 1-D and 2-D ids, odd widths; the JavaScript loops and native
 * code on 1 and 3 threads; an id outside the table is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURES } from '../architectures/index.ts';
import { embeddingLookup, embeddingReference } from '../architectures/kernels/embedding.ts';
import { nativeAddon } from '../architectures/kernels/native.ts';
import type { Architecture } from '../architectures/types.ts';
import { assertClose, assertNoLeak, hostKernelVariants, useBackend } from './helpers.ts';

/** (vocab, d, ids shape): one row; repeated ids in a batch; more ids than one native piece (256) and a vocabulary larger than the ids. */
const CASES: [number, number, number[]][] = [
  [1, 1, [1]],
  [5, 3, [7]],
  [7, 5, [3, 9]],
  [32, 64, [16, 40]],
  [300, 17, [2, 150]],
];

const variants = hostKernelVariants(Boolean(nativeAddon()?.embeddingGather));

/** Ids that repeat (a few hot tokens) and skip some rows of the table. */
function ids(vocab: number, shape: number[], seed: number): tf.Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: count }, (_, i) => (i % 3 === 0 ? seed % vocab : (i * 7 + seed) % Math.max(1, vocab - 1))), shape, 'int32');
}

/** The lookup and the table's gradient of Σ out·w (w fixed, random). */
function valueAndGrad(fused: boolean, table: tf.Tensor2D, tokens: tf.Tensor, w: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const f = (t: tf.Tensor) => (fused ? embeddingLookup(t as tf.Tensor2D, tokens) : embeddingReference(t as tf.Tensor2D, tokens));
    const out = f(table);
    const [dTable] = tf.grads((t: tf.Tensor) => f(t).mul(w).sum())([table]);
    return [out, dTable].map((t) => t.dataSync() as Float32Array);
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  for (const variant of variants) {
    test(`fused embedding equals tf.gather and its gradient on ${backend} (${variant.name}), repeated ids included`, async () => {
      await useBackend(backend);
      for (const [i, [vocab, d, shape]] of CASES.entries()) {
        const table = tf.randomNormal([vocab, d], 0, 1, 'float32', 10 + i) as tf.Tensor2D;
        const tokens = ids(vocab, shape, 3 + i);
        const w = tf.randomNormal([...shape, d], 0, 1, 'float32', 20 + i);
        const fused = variant.run(() => valueAndGrad(true, table, tokens, w));
        const reference = valueAndGrad(false, table, tokens, w);
        assert.deepEqual(fused[0], reference[0], `lookup at vocab ${vocab}, d ${d}, ids [${shape}]`);
        assertClose(fused[1], reference[1], 1e-5, 1e-5, `∂table at vocab ${vocab}, d ${d}, ids [${shape}]`);
        tf.dispose([table, tokens, w]);
      }
    });
  }

  test(`fused embedding leaks no tensor, takes float ids, and refuses an id outside the table on ${backend}`, async () => {
    await useBackend(backend);
    const table = tf.randomNormal([6, 4], 0, 1, 'float32', 1) as tf.Tensor2D;
    const tokens = ids(6, [2, 5], 2);
    const w = tf.randomNormal([2, 5, 4], 0, 1, 'float32', 3);
    await assertNoLeak(() => valueAndGrad(true, table, tokens, w), 'lookup and gradient');
    const asFloat = tokens.toFloat();
    const [a, b] = [embeddingLookup(table, asFloat), embeddingReference(table, tokens)];
    assert.deepEqual(a.dataSync(), b.dataSync(), 'float ids');
    for (const variant of variants) {
      for (const bad of [6, -1]) {
        const outside = tf.tensor1d([0, bad], 'int32');
        assert.throws(() => variant.run(() => embeddingLookup(table, outside)), /id -?\d+ at position 1 is outside the table's \[0, 6\)/, `${variant.name}, id ${bad}`);
        outside.dispose();
      }
    }
    tf.dispose([table, tokens, w, asFloat, a, b]);
  });
}

test('the fused embedding gradient gives the same bits on 1 and 3 threads', { skip: !nativeAddon()?.embeddingScatter }, async () => {
  await useBackend('wasm');
  const table = tf.randomNormal([50, 24], 0, 1, 'float32', 1) as tf.Tensor2D;
  const tokens = ids(50, [8, 64], 4);
  const w = tf.randomNormal([8, 64, 24], 0, 1, 'float32', 2);
  const [one, three] = [1, 3].map((threads) => variants.find((v) => v.name.startsWith(`native, ${threads}`))!.run(() => valueAndGrad(true, table, tokens, w)));
  one.forEach((values, k) => assert.deepEqual(three[k], values, `output ${k}`));
  tf.dispose([table, tokens, w]);
});

test("a model's layer_kernels switch picks the fused lookup or tf.gather", async () => {
  await useBackend('wasm');
  const arch = ARCHITECTURES.transformer as unknown as Architecture;
  const io = { vocabSize: 16, maxLen: 16, padId: 0 };
  const tokens = tf.tensor2d([[1, 2, 3, 1]], [1, 4], 'int32');
  const kernels = async (layer_kernels: 'fused' | 'reference') => {
    const model = arch.build(arch.config.parse({ ...arch.presets.nano, layer_kernels }), io);
    if (model.form !== 'lm') throw new Error('expected an LM');
    const names = (await tf.profile(() => model.forward(tokens, false))).kernels.map((k) => k.name);
    model.dispose();
    return names;
  };
  const fused = await kernels('fused');
  const reference = await kernels('reference');
  assert.ok(fused.includes('SeqarenaEmbedding') && !fused.includes('GatherV2'), fused.join(' '));
  assert.ok(reference.includes('GatherV2') && !reference.includes('SeqarenaEmbedding'), reference.join(' '));
  tokens.dispose();
});
