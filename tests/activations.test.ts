/** The fused GELU and SiLU kernels against their composed references: value and gradient, odd sizes, JS loops and native on 1 and 3 threads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { gelu, geluReference, setActivationLoops, silu, siluReference } from '../architectures/kernels/activations.ts';
import { nativeAddon } from '../architectures/kernels/native.ts';
import { assertClose, useBackend } from './helpers.ts';

/** Sizes: one element, odd, and more than one native task (16384). */
const SHAPES = [[1], [3, 7], [5, 3, 11], [16391]];

const variants: { name: string; setup: () => void }[] = [{ name: 'js loops', setup: () => setActivationLoops('js') }];
if (nativeAddon()) {
  for (const threads of [1, 3]) {
    variants.push({ name: `native, ${threads} thread(s)`, setup: () => (setActivationLoops('native'), nativeAddon()!.setThreads(threads)) });
  }
}

function valueAndGrad(fn: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, w: tf.Tensor): Float32Array[] {
  return tf.tidy(() => [fn(x), tf.grad((a: tf.Tensor) => fn(a).mul(w).sum())(x)].map((t) => t.dataSync() as Float32Array));
}

for (const backend of ['cpu', 'wasm'] as const) {
  for (const v of variants) {
    test(`fused GELU and SiLU equal their references on ${backend} (${v.name}): value and gradient, no leak`, async () => {
      await useBackend(backend);
      v.setup();
      try {
        for (const [i, shape] of SHAPES.entries()) {
          const x = tf.randomNormal(shape, 0, 3, 'float32', 50 + i);
          const w = tf.randomNormal(shape, 0, 1, 'float32', 60 + i);
          for (const [name, fused, reference] of [['GELU', gelu, geluReference], ['SiLU', silu, siluReference]] as const) {
            const before = tf.memory().numTensors;
            const f = valueAndGrad((a) => fused(a), x, w);
            assert.equal(tf.memory().numTensors, before, `${name} leaked at [${shape}]`);
            const r = valueAndGrad(reference, x, w);
            assertClose(f[0], r[0], 1e-5, 1e-4, `${name} at [${shape}]`);
            assertClose(f[1], r[1], 1e-5, 1e-4, `${name} gradient at [${shape}]`);
          }
          tf.dispose([x, w]);
        }
      } finally {
        setActivationLoops(null);
        nativeAddon()?.setThreads(2);
      }
    });
  }
}

test('the fused path really runs the fused kernel on wasm, and the reference switch does not', async () => {
  await useBackend('wasm');
  const x = tf.randomNormal([4, 8]);
  const kernels = async (impl: 'fused' | 'reference') => (await tf.profile(() => gelu(x, impl))).kernels.map((k) => k.name);
  assert.ok((await kernels('fused')).includes('SeqarenaActivation'));
  assert.ok(!(await kernels('reference')).includes('SeqarenaActivation'));
  tf.dispose([x]);
});
