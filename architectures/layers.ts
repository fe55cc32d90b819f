/**
 * Building blocks shared by every family: a seeded parameter store, Linear, Embedding, LayerNorm,
 * RMSNorm and the activations tfjs lacks. Each layer owns its variables through the store, so a model's
 * `trainableWeights` is just `store.variables` and its `decayedWeights` is `store.decayed`.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { embeddingLookup } from './kernels/embedding.ts';
import { layerNorm, NORM_IMPLS, rmsNorm, type NormImpl } from './kernels/norms.ts';
export { gelu, silu } from './kernels/activations.ts';
import { rng } from '../util/rng.ts';

/**
 * Whether AdamW's decoupled weight decay applies to a parameter, said where the parameter is made
 * (as mamba_simple tags `A_log._no_weight_decay`), never guessed from its rank later. The rule each
 * family follows is in the README ("Weight decay").
 */
export type Decay = 'decay' | 'no-decay';

/**
 * The config switch of the fused layer kernels (norms, activations), shared by the families that use them. Optional
 * rather than defaulted, so configs that leave it out keep the config hash they had before it existed.
 */
export const layerKernelsOption = z
  .enum(NORM_IMPLS)
  .optional()
  .describe('LayerNorm/RMSNorm, GELU/SiLU, the embedding lookup: `fused` kernels on cpu/wasm (when omitted; the reference elsewhere) or the composed `reference`');

/** Creates named variables with deterministic initialisation: the i-th variable draws from seed + i. */
export class ParamStore {
  readonly variables: tf.Variable[] = [];
  /** The variables made with 'decay'. */
  readonly decayed = new Set<tf.Variable>();
  private next = 0;
  constructor(private readonly seed: number = 0) {}

  private nextSeed(): number {
    // Never 0: tfjs's random ops treat a seed of 0 as "no seed" and draw from Math.random.
    return this.seed * 1000 + ++this.next;
  }

  add(name: string, init: tf.Tensor, decay: Decay): tf.Variable {
    const v = tf.variable(init, true, `${name}_${this.variables.length}_${Math.random().toString(36).slice(2, 8)}`);
    init.dispose();
    this.variables.push(v);
    if (decay === 'decay') this.decayed.add(v);
    return v;
  }

  normal(name: string, shape: number[], std: number, decay: Decay): tf.Variable {
    return this.add(name, tf.randomNormal(shape, 0, std, 'float32', this.nextSeed()), decay);
  }

  uniform(name: string, shape: number[], limit: number, decay: Decay): tf.Variable {
    return this.add(name, tf.randomUniform(shape, -limit, limit, 'float32', this.nextSeed()), decay);
  }

  constant(name: string, shape: number[], value: number, decay: Decay): tf.Variable {
    return this.add(name, tf.fill(shape, value), decay);
  }

  fromValues(name: string, values: Float32Array | number[], shape: number[], decay: Decay): tf.Variable {
    return this.add(name, tf.tensor(values, shape, 'float32'), decay);
  }

  /**
   * Seeded uniform draws in [0, 1) for custom initialisations (e.g. Mamba's dt), made on the host:
   * reading a tensor back synchronously is not possible on every backend (webgpu in Node).
   */
  random(count: number): Float32Array {
    const r = rng(this.nextSeed());
    return Float32Array.from({ length: count }, () => r.float());
  }

  get paramCount(): number {
    return this.variables.reduce((s, v) => s + v.size, 0);
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
    this.variables.length = 0;
    this.decayed.clear();
  }
}

/** Multiply the last axis of x by w: (…, i) × (i, o) → (…, o). */
export function matmulLast(x: tf.Tensor, w: tf.Tensor2D): tf.Tensor {
  const [inDim, outDim] = w.shape;
  if (x.rank === 2) return tf.matMul(x as tf.Tensor2D, w);
  const lead = x.shape.slice(0, -1);
  return tf.matMul(x.reshape([-1, inDim]), w).reshape([...lead, outDim]);
}

/**
 * y = x W + b, PyTorch's nn.Linear initialisation (uniform ±1/√in) unless a std is given. W decays unless
 * `decay` says otherwise (Hyena's filter FFN); b never does.
 */
export class Linear {
  readonly w: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(
    store: ParamStore,
    name: string,
    readonly inDim: number,
    readonly outDim: number,
    options: { bias?: boolean; std?: number; decay?: Decay } = {},
  ) {
    const limit = 1 / Math.sqrt(inDim);
    const decay = options.decay ?? 'decay';
    this.w = options.std === undefined ? store.uniform(`${name}.w`, [inDim, outDim], limit, decay) : store.normal(`${name}.w`, [inDim, outDim], options.std, decay);
    this.b =
      options.bias === false ? null : options.std === undefined ? store.uniform(`${name}.b`, [outDim], limit, 'no-decay') : store.constant(`${name}.b`, [outDim], 0, 'no-decay');
  }

  apply(x: tf.Tensor): tf.Tensor {
    const y = matmulLast(x, this.w as tf.Tensor2D);
    return this.b ? tf.add(y, this.b) : y;
  }

  static paramCount(inDim: number, outDim: number, bias = true): number {
    return inDim * outDim + (bias ? outDim : 0);
  }
}

/**
 * Token embedding: ids (…) int32 → (…, d), the fused lookup and scatter-add gradient on cpu/wasm
 * (kernels/embedding.ts; `impl` 'reference' is tf.gather). The table decays, as nanoGPT's wte and wpe
 * do (they are 2-D, and nanoGPT decays every 2-D tensor).
 */
export class Embedding {
  static readonly DEFAULT_STD = 0.02;
  readonly table: tf.Variable;
  constructor(
    store: ParamStore,
    name: string,
    vocabSize: number,
    dim: number,
    std = Embedding.DEFAULT_STD,
    private readonly impl: NormImpl = 'fused',
  ) {
    this.table = store.normal(`${name}.table`, [vocabSize, dim], std, 'decay');
  }

  apply(ids: tf.Tensor): tf.Tensor {
    return embeddingLookup(this.table as tf.Tensor2D, ids, this.impl);
  }
}

/** LayerNorm over the last axis with learned scale and shift (neither decays); kernels/norms.ts. */
export class LayerNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  constructor(
    store: ParamStore,
    name: string,
    dim: number,
    private readonly impl: NormImpl = 'fused',
    private readonly eps = 1e-5,
  ) {
    this.gamma = store.constant(`${name}.gamma`, [dim], 1, 'no-decay');
    this.beta = store.constant(`${name}.beta`, [dim], 0, 'no-decay');
  }

  apply(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.gamma, this.beta, this.eps, this.impl);
  }

  static paramCount(dim: number): number {
    return 2 * dim;
  }
}

/** RMSNorm (Mamba's default norm): x / rms(x) · g (g does not decay); kernels/norms.ts. */
export class RMSNorm {
  readonly gamma: tf.Variable;
  constructor(
    store: ParamStore,
    name: string,
    dim: number,
    private readonly impl: NormImpl = 'fused',
    private readonly eps = 1e-5,
  ) {
    this.gamma = store.constant(`${name}.gamma`, [dim], 1, 'no-decay');
  }

  apply(x: tf.Tensor): tf.Tensor {
    return rmsNorm(x, this.gamma, this.eps, this.impl);
  }

  static paramCount(dim: number): number {
    return dim;
  }
}

/**
 * x (…tail) repeated over new leading axes: `shape` is (…lead, …tail). Forward as tf.broadcastTo; the
 * gradient is one sum of dy over the leading axes. tfjs differentiates broadcastTo as Tile, whose gradient
 * slices and adds each of the ∏lead copies one kernel at a time: for Mamba-LTI's (b, l) = (16, 64) that was
 * 7,690 Slice and Add kernels a training step, 73% of its time.
 */
export function broadcastLeading(x: tf.Tensor, shape: number[]): tf.Tensor {
  const tail = shape.slice(shape.length - x.rank);
  if (x.rank > shape.length || tail.some((d, i) => d !== x.shape[i])) {
    throw new Error(`broadcastLeading: shape [${shape}] does not end in x's shape [${x.shape}]`);
  }
  const expand = tf.customGrad((v) => {
    const input = v as tf.Tensor;
    return { value: tf.broadcastTo(input, shape), gradFunc: (dy: tf.Tensor) => dy.reshape([-1, ...input.shape]).sum(0) };
  });
  return expand(x);
}

/**
 * Split an axis into its steps, once: slicing one step at a time is slow in tfjs. A length-1 axis is
 * squeezed instead, because tfjs 4.22's Unpack gradient fails when there is a single output.
 */
export function unstackTime(x: tf.Tensor, axis = 1): tf.Tensor[] {
  return x.shape[axis] === 1 ? [x.squeeze([axis])] : tf.unstack(x, axis);
}

/** Bytes of a set of tensors (fp32 and int32 are 4 bytes an element). */
export function tensorBytes(tensors: (tf.Tensor | null | undefined)[]): number {
  return tensors.reduce((s, t) => s + (t ? t.size * 4 : 0), 0);
}
