/**
 * The optimizer: AdamW (decoupled weight decay, Loshchilov & Hutter) with a linear warm-up and cosine
 * decay of the learning rate, and clipping of the global gradient norm.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainingSettings } from './spec.ts';

/** Learning rate at a step: linear warm-up to the peak, then cosine decay to 10% of it. */
export function learningRateAt(step: number, s: TrainingSettings): number {
  if (step < s.warmupSteps) return (s.learningRate * (step + 1)) / s.warmupSteps;
  const progress = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.steps - s.warmupSteps));
  return s.learningRate * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Whether AdamW decays a variable (matrices: rank ≥ 2). */
export function decays(v: tf.Variable): boolean {
  return v.rank >= 2;
}

/** AdamW (decoupled weight decay on matrices, as in Loshchilov & Hutter) with global-norm clipping. */
export class AdamW {
  private readonly adam: tf.AdamOptimizer;
  constructor(
    private readonly variables: tf.Variable[],
    private readonly settings: TrainingSettings,
  ) {
    this.adam = tf.train.adam(settings.learningRate, 0.9, 0.95, 1e-8) as tf.AdamOptimizer;
  }

  /**
   * One update; returns the loss value and the gradient norm before clipping. Values are read back
   * asynchronously: the webgpu backend cannot read synchronously in Node.
   */
  async step(step: number, lossFn: () => tf.Scalar): Promise<{ loss: number; gradNorm: number }> {
    const lr = learningRateAt(step, this.settings);
    (this.adam as unknown as { learningRate: number }).learningRate = lr;
    const { value, grads } = tf.variableGrads(lossFn, this.variables);
    const names = Object.keys(grads);
    const norm = tf.tidy(() => tf.sqrt(tf.addN(names.map((n) => grads[n].square().sum()))));
    const gradNorm = (await norm.data())[0];
    const scale = Number.isFinite(gradNorm) && gradNorm > this.settings.gradClip ? this.settings.gradClip / gradNorm : 1;
    const clipped: tf.NamedTensorMap = {};
    for (const n of names) clipped[n] = scale === 1 ? grads[n] : tf.mul(grads[n], scale);
    // Decoupled decay from the weights before this step's update, as Loshchilov & Hutter's Algorithm 2
    // and torch.optim.AdamW apply it: θ ← θ·(1 − lr·λ) − lr·m̂/(√v̂ + ε).
    if (this.settings.weightDecay > 0) {
      tf.tidy(() => {
        for (const v of this.variables) if (decays(v)) v.assign(v.mul(1 - lr * this.settings.weightDecay));
      });
    }
    this.adam.applyGradients(clipped as Record<string, tf.Variable>);
    const loss = (await value.data())[0];
    tf.dispose([value, norm, ...Object.values(grads), ...(scale === 1 ? [] : Object.values(clipped))]);
    return { loss, gradNorm };
  }

  dispose(): void {
    this.adam.dispose();
  }
}
