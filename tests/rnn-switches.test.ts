/**
 * The RNN family's kernel switches: `recurrence=reference` runs the composed tfjs recurrence instead of
 * the fused kernel, and `layer_kernels=reference` tf.gather instead of the fused embedding lookup. Each is
 * checked to select what it names (the kernels tf.profile sees) and to give the same logits and
 * gradients as the default; left out, neither changes a config (nor its hash).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lstmSeq2Seq } from '../architectures/lstm-seq2seq.ts';
import { gruLM, lstmLM, rnnLM } from '../architectures/rnn.ts';
import type { Architecture, ModelIO } from '../architectures/types.ts';
import { assertClose, useBackend } from './helpers.ts';

const io: ModelIO = { vocabSize: 12, maxLen: 16, padId: 0 };
const tiny = { d_model: 8, n_layers: 2, seed: 3 };
const FUSED_KERNEL = { rnn: 'SeqarenaRnnSequence', lstm: 'SeqarenaLstmSequence', gru: 'SeqarenaGruSequence' } as const;
const source = () => tf.tensor2d([[3, 4, 5, 6, 2], [7, 8, 9, 0, 0]], undefined, 'int32');
const target = () => tf.tensor2d([[1, 5, 6, 7], [1, 9, 8, 2]], undefined, 'int32');

/** Logits, the gradient of Σ logits·w for every weight, and the names of the kernels the forward ran. */
async function run(arch: Architecture, config: object): Promise<{ values: Float32Array[]; kernels: string[] }> {
  const model = arch.build(arch.config.parse({ ...tiny, ...config }), io);
  const [src, tgt] = [source(), target()];
  const forward = () => (model.form === 'lm' ? model.forward(src, false) : model.forward(src, tgt, false));
  const kernels = (await tf.profile(() => tf.dispose(forward()))).kernels.map((k) => k.name);
  const values = tf.tidy(() => {
    const logits = forward();
    const w = tf.randomNormal(logits.shape, 0, 1, 'float32', 5);
    const { grads } = tf.variableGrads(() => forward().mul(w).sum() as tf.Scalar, model.trainableWeights);
    return [logits, ...model.trainableWeights.map((v) => grads[v.name])].map((t) => t.dataSync() as Float32Array);
  });
  model.dispose();
  tf.dispose([src, tgt]);
  return { values, kernels };
}

const MODELS: { what: string; arch: Architecture; config: object; cell: keyof typeof FUSED_KERNEL }[] = [
  ...[rnnLM, lstmLM, gruLM].map((arch) => ({ what: arch.name, arch: arch as unknown as Architecture, config: {}, cell: arch.name as keyof typeof FUSED_KERNEL })),
  ...(['lstm', 'gru'] as const).map((cell) => ({ what: `lstm-seq2seq (${cell})`, arch: lstmSeq2Seq as unknown as Architecture, config: { cell }, cell })),
];

for (const backend of ['cpu', 'wasm'] as const) {
  test(`recurrence=reference runs the composed recurrence, with the fused kernel's logits and gradients, on ${backend}`, async () => {
    await useBackend(backend);
    for (const { what, arch, config, cell } of MODELS) {
      const fused = await run(arch, config);
      const reference = await run(arch, { ...config, recurrence: 'reference' });
      const forced = await run(arch, { ...config, recurrence: 'fused' });
      assert.ok(fused.kernels.includes(FUSED_KERNEL[cell]), `${what} by default: ${fused.kernels.join(' ')}`);
      assert.ok(forced.kernels.includes(FUSED_KERNEL[cell]), `${what} with recurrence=fused`);
      assert.ok(!reference.kernels.some((k) => k.startsWith(FUSED_KERNEL[cell])), `${what} with recurrence=reference: ${reference.kernels.join(' ')}`);
      fused.values.forEach((v, i) => assertClose(v, reference.values[i], 1e-5, 1e-4, `${what} ${i === 0 ? 'logits' : `gradient ${i}`}`));
    }
  });

  test(`layer_kernels=reference looks tokens up with tf.gather, with the fused lookup's logits and gradients, on ${backend}`, async () => {
    await useBackend(backend);
    for (const { what, arch, config } of MODELS) {
      const fused = await run(arch, config);
      const reference = await run(arch, { ...config, layer_kernels: 'reference' });
      // the encoder–decoder gathers elsewhere too (each row's last encoder state): count the lookups
      const count = (kernels: string[], name: string) => kernels.filter((k) => k === name).length;
      const lookups = count(fused.kernels, 'SeqarenaEmbedding');
      assert.ok(lookups > 0, `${what}: ${fused.kernels.join(' ')}`);
      assert.equal(count(reference.kernels, 'SeqarenaEmbedding'), 0, `${what}: ${reference.kernels.join(' ')}`);
      assert.equal(count(reference.kernels, 'GatherV2'), count(fused.kernels, 'GatherV2') + lookups, `${what}: one tf.gather per lookup`);
      fused.values.forEach((v, i) => assertClose(v, reference.values[i], 1e-6, 1e-5, `${what} ${i === 0 ? 'logits' : `gradient ${i}`}`));
    }
  });
}

test('left out, recurrence and layer_kernels leave an RNN config as it was (optional, not defaulted: the config hash stays)', () => {
  for (const arch of [rnnLM, lstmLM, gruLM, lstmSeq2Seq]) {
    const parsed = arch.config.parse({}) as Record<string, unknown>;
    assert.equal('recurrence' in parsed, false, arch.name);
    assert.equal('layer_kernels' in parsed, false, arch.name);
  }
  assert.throws(() => lstmLM.config.parse({ recurrence: 'chunked' }), /recurrence/);
});
