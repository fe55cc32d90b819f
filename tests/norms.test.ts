/** The fused LayerNorm and RMSNorm kernels against their composed references: forward and every gradient, odd sizes, JS loops and native on 1 and 3 threads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURES } from '../architectures/index.ts';
import { layerNorm, layerNormReference, rmsNorm, rmsNormReference, setNormLoops } from '../architectures/kernels/norms.ts';
import { nativeAddon } from '../architectures/kernels/native.ts';
import type { Architecture } from '../architectures/types.ts';
import { assertClose, useBackend } from './helpers.ts';

/** x shapes: d 1 and odd widths, 2-D and 3-D, more rows than one native task (64). */
const SHAPES = [[1, 1], [3, 7, 5], [2, 33], [130, 64], [2, 3, 129]];

const variants: { name: string; setup: () => void }[] = [{ name: 'js loops', setup: () => setNormLoops('js') }];
if (nativeAddon()) {
  for (const threads of [1, 3]) {
    variants.push({ name: `native, ${threads} thread(s)`, setup: () => (setNormLoops('native'), nativeAddon()!.setThreads(threads)) });
  }
}

/** Value and the gradients of Σ y·w (w fixed, random) with respect to every input. */
function valueAndGrads(fn: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], w: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const y = fn(...inputs);
    const grads = tf.grads((...xs: tf.Tensor[]) => fn(...xs).mul(w).sum())(inputs);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  for (const v of variants) {
    test(`fused LayerNorm and RMSNorm equal their references on ${backend} (${v.name}): forward and every gradient, no leak`, async () => {
      await useBackend(backend);
      v.setup();
      try {
        for (const [i, shape] of SHAPES.entries()) {
          const d = shape[shape.length - 1];
          const x = tf.randomNormal(shape, 0.5, 2, 'float32', 10 + i);
          const gamma = tf.randomNormal([d], 1, 0.5, 'float32', 20 + i);
          const beta = tf.randomNormal([d], 0, 0.5, 'float32', 30 + i);
          const w = tf.randomNormal(shape, 0, 1, 'float32', 40 + i);
          const before = tf.memory().numTensors;
          const fused = valueAndGrads((a, g, b) => layerNorm(a, g, b, 1e-5), [x, gamma, beta], w);
          const fusedRms = valueAndGrads((a, g) => rmsNorm(a, g, 1e-5), [x, gamma], w);
          assert.equal(tf.memory().numTensors, before, `fused norms leaked tensors at [${shape}]`);
          const reference = valueAndGrads((a, g, b) => layerNormReference(a, g, b, 1e-5), [x, gamma, beta], w);
          const referenceRms = valueAndGrads((a, g) => rmsNormReference(a, g, 1e-5), [x, gamma], w);
          ['y', 'dx', 'dgamma', 'dbeta'].forEach((what, k) => assertClose(fused[k], reference[k], 2e-5, 2e-4, `LayerNorm ${what} at [${shape}]`));
          ['y', 'dx', 'dgamma'].forEach((what, k) => assertClose(fusedRms[k], referenceRms[k], 2e-5, 2e-4, `RMSNorm ${what} at [${shape}]`));
          tf.dispose([x, gamma, beta, w]);
        }
      } finally {
        setNormLoops(null);
        nativeAddon()?.setThreads(2);
      }
    });
  }
}

test('fused norms give the same bits on 1 and 3 threads (the scale gradients are summed in a fixed order)', { skip: !nativeAddon() }, async () => {
  await useBackend('wasm');
  const x = tf.randomNormal([300, 48], 0, 1, 'float32', 1);
  const gamma = tf.randomNormal([48], 1, 0.3, 'float32', 2);
  const beta = tf.zeros([48]);
  const w = tf.randomNormal([300, 48], 0, 1, 'float32', 3);
  const at = (threads: number) => {
    nativeAddon()!.setThreads(threads);
    return valueAndGrads((a, g, b) => layerNorm(a, g, b, 1e-5), [x, gamma, beta], w);
  };
  const one = at(1);
  const three = at(3);
  nativeAddon()!.setThreads(2);
  one.forEach((a, k) => assert.deepEqual(three[k], a, `output ${k}`));
  tf.dispose([x, gamma, beta, w]);
});

test('layer_kernels=reference gives the same logits as the fused norms (transformer, mamba)', async () => {
  await useBackend('wasm');
  for (const name of ['transformer', 'mamba'] as const) {
    const arch = ARCHITECTURES[name] as unknown as Architecture;
    const io = { vocabSize: 16, maxLen: 16, padId: 0 };
    const tokens = tf.tensor2d([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]], [2, 5], 'int32');
    const logits = (layer_kernels: 'fused' | 'reference') => {
      const model = arch.build(arch.config.parse({ ...arch.presets.nano, layer_kernels }), io);
      if (model.form !== 'lm') throw new Error('expected an LM');
      const out = tf.tidy(() => model.forward(tokens, false).dataSync() as Float32Array);
      model.dispose();
      return out;
    };
    assertClose(logits('fused'), logits('reference'), 1e-5, 1e-4, `${name} logits`);
    tokens.dispose();
  }
});

test('an unset layer_kernels leaves the config hash as it was (the option is optional, not defaulted)', () => {
  const parsed = (ARCHITECTURES.transformer as unknown as Architecture).config.parse({});
  assert.equal('layer_kernels' in parsed && parsed.layer_kernels !== undefined, false);
});
