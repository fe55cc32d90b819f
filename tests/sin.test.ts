/**
 * The registered Sin on wasm (architectures/kernels/sin.ts) against Math.sin rounded to float32, element for
 * element, with tfjs-wasm's own kernel's error on small negative inputs shown beside it; its gradient against
 * tfjs-cpu's; special values; SEQARENA_SIN=tfjs switches it off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { activeKernels } from '../architectures/kernels/active.ts';
import { setSinChoice, sinInfo } from '../architectures/kernels/sin.ts';
import { assertClose, assertNoLeak, useBackend } from './helpers.ts';

const XS = [-1e-6, -1e-4, -0.01, -0.06, -0.5, -1, -3, -100, -0, 0, 1e-6, 1e-4, 0.06, 1, 3, 100, 1e-30, -1e-30];
const exact = XS.map((x) => Math.fround(Math.sin(Math.fround(x))));

test('Sin on wasm equals Math.sin rounded to float32 for every input, where tfjs-wasm is 22 % off at −1e−6', async () => {
  await useBackend('wasm');
  const x = tf.tensor1d(XS);
  const got = tf.tidy(() => Array.from(tf.sin(x).dataSync()));
  got.forEach((v, i) => assert.ok(Object.is(v, exact[i]), `sin(${XS[i]}): ${v}, expected ${exact[i]}`));
  setSinChoice('tfjs');
  try {
    const theirs = tf.tidy(() => tf.sin(x).dataSync());
    const relative = Math.abs(theirs[0] - exact[0]) / Math.abs(exact[0]);
    assert.ok(relative > 0.1, `tfjs-wasm's Sin at −1e−6 is off by ${relative} (if tfjs fixed it, this kernel can go)`);
    assert.match(sinInfo(), /SEQARENA_SIN=tfjs/);
  } finally {
    setSinChoice('exact');
  }
  assert.equal(activeKernels().sin, sinInfo());
  const special = tf.tensor1d([Number.NaN, Infinity, -Infinity]);
  assert.ok(tf.tidy(() => Array.from(tf.sin(special).dataSync())).every(Number.isNaN));
  await assertNoLeak(() => tf.dispose(tf.sin(x)), 'Sin');
  tf.dispose([x, special]);
});

test("Sin's gradient on wasm equals tfjs-cpu's, and Hyena-sized inputs (l, filter order) agree with cpu", async () => {
  const x = Array.from({ length: 6 * 40 }, (_, i) => 0.07 * Math.sin(0.9 * i) - 0.02);
  const run = async (backend: 'cpu' | 'wasm') => {
    await useBackend(backend);
    const t = tf.tensor2d(x, [40, 6]);
    const w = tf.tensor2d(x.map((v, i) => Math.cos(i + v)), [40, 6]);
    const [y, dx] = tf.tidy(() => [tf.sin(t), tf.grad((u: tf.Tensor) => tf.sin(u).mul(w).sum())(t)].map((r) => r.dataSync()));
    tf.dispose([t, w]);
    return [y, dx];
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  assertClose(wasm[0], cpu[0], 0, 1e-7, 'sin');
  assertClose(wasm[1], cpu[1], 1e-7, 1e-6, 'gradient');
});
