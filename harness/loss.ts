/**
 * What training minimises and evaluation measures: a model's logits for a batch, and the mean
 * cross-entropy over its answer positions.
 */
import type * as tf from '@tensorflow/tfjs';
import { maskedCrossEntropy as fusedCrossEntropy } from '../architectures/kernels/cross-entropy.ts';
import type { Model } from '../architectures/types.ts';
import type { Batch } from './batches.ts';
import type { TrainingSettings } from './spec.ts';

/**
 * Mean cross-entropy over masked positions: logits (b, l, v), target (b, l), mask (b, l) → scalar; the
 * fused kernel (kernels/cross-entropy.ts) unless the run's `training.kernels` is 'reference'.
 */
export function maskedCrossEntropy(logits: tf.Tensor3D, target: tf.Tensor2D, mask: tf.Tensor2D, kernels: TrainingSettings['kernels'] = 'fused'): tf.Scalar {
  return fusedCrossEntropy(logits, target, mask, kernels ?? 'fused');
}

export function forwardBatch(model: Model, batch: Batch, training: boolean): tf.Tensor3D {
  if (model.form === 'seq2seq') {
    if (!batch.source) throw new Error('encoder–decoder batch without source');
    return model.forward(batch.source, batch.input, training);
  }
  return model.forward(batch.input, training);
}
