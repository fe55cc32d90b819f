/**
 * The optimizer: AdamW (decoupled weight decay, Loshchilov & Hutter) on the parameters each model marks
 * for decay, with a linear warm-up and cosine decay of the learning rate, and clipping of the global
 * gradient norm; one fused update over all parameters on the host backends.
 */
import * as tf from '@tensorflow/tfjs';
import { adamwFused, adamwFusedAvailable, adamwReference, type AdamWSlot } from '../architectures/kernels/adamw.ts';
import type { TrainingSettings } from './spec.ts';

/** Learning rate at a step: linear warm-up to the peak, then cosine decay to 10% of it. */
export function learningRateAt(step: number, s: TrainingSettings): number {
  if (step < s.warmupSteps) return (s.learningRate * (step + 1)) / s.warmupSteps;
  const progress = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.steps - s.warmupSteps));
  return s.learningRate * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** The optimizer's state between updates, for checkpoints: the moments in `variables` order, as arrays. */
export interface AdamWState {
  /** Updates taken so far (the t of the bias corrections). */
  updates: number;
  firstMoments: Float32Array[];
  secondMoments: Float32Array[];
}

const BETA1 = 0.9;
const BETA2 = 0.95;
const EPSILON = 1e-8;

/**
 * AdamW (kernels/adamw.ts) with β = (0.9, 0.95), ε 1e-8, the learning-rate schedule above and
 * global-norm clipping. Decay applies to the variables in `decayed` only (each model says which, where
 * it makes them). The update is the fused one-call kernel on the host backends unless the settings ask
 * for the reference (`kernels: 'reference'`), and the composed reference elsewhere.
 */
export class AdamW {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private updates = 0;
  constructor(
    private readonly variables: tf.Variable[],
    private readonly decayed: ReadonlySet<tf.Variable>,
    private readonly settings: TrainingSettings,
  ) {
    this.m = variables.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.v = variables.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  }

  /** Whether updates run the fused kernel (true) or the composed reference, on the active backend. */
  get fused(): boolean {
    return this.settings.kernels !== 'reference' && adamwFusedAvailable();
  }

  /**
   * One update; returns the loss value and the gradient norm before clipping. Values are read back
   * asynchronously: the webgpu backend cannot read synchronously in Node.
   */
  async step(step: number, lossFn: () => tf.Scalar): Promise<{ loss: number; gradNorm: number }> {
    const { value, grads } = tf.variableGrads(lossFn, this.variables);
    // A variable the loss does not reach has no gradient and is left as it is.
    const slots: AdamWSlot[] = this.variables.flatMap((param, i) =>
      grads[param.name] ? [{ param, grad: grads[param.name], m: this.m[i], v: this.v[i], decay: this.decayed.has(param) }] : [],
    );
    const hyper = {
      learningRate: learningRateAt(step, this.settings),
      beta1: BETA1,
      beta2: BETA2,
      epsilon: EPSILON,
      weightDecay: this.settings.weightDecay,
      clip: this.settings.gradClip,
      t: ++this.updates,
    };
    const gradNorm = this.fused ? adamwFused(slots, hyper) : await adamwReference(slots, hyper);
    const loss = (await value.data())[0];
    tf.dispose([value, ...Object.values(grads)]);
    return { loss, gradNorm };
  }

  /** The moments and update count, read back (for a checkpoint). */
  async state(): Promise<AdamWState> {
    const read = (ts: tf.Variable[]) => Promise.all(ts.map(async (t) => Float32Array.from(await t.data())));
    return { updates: this.updates, firstMoments: await read(this.m), secondMoments: await read(this.v) };
  }

  /** Continue from a saved state (the same variables, in the same order). */
  loadState(state: AdamWState): void {
    const check = (arrays: Float32Array[], what: string) => {
      if (arrays.length !== this.variables.length) throw new Error(`AdamW state has ${arrays.length} ${what}, the model ${this.variables.length} variables: it belongs to another model`);
      arrays.forEach((a, i) => {
        if (a.length !== this.variables[i].size) throw new Error(`AdamW state: ${what} ${i} has ${a.length} values, variable ${this.variables[i].name} ${this.variables[i].size}`);
      });
    };
    check(state.firstMoments, 'first moments');
    check(state.secondMoments, 'second moments');
    tf.tidy(() => {
      this.variables.forEach((p, i) => {
        this.m[i].assign(tf.tensor(state.firstMoments[i], p.shape, 'float32'));
        this.v[i].assign(tf.tensor(state.secondMoments[i], p.shape, 'float32'));
      });
    });
    this.updates = state.updates;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
