/**
 * GELU (tanh approximation, GPT-2's) and SiLU: the composed references and fused elementwise kernels
 * with their gradients for the host backends (cpu, wasm), where the composed GELU is seven kernels
 * forward (a Pow among them) and more backward.
 *
 *   GELU  y = ½x(1 + t),  t = tanh(c(x + 0.044715x³)),  c = √(2/π)
 *         dy/dx = ½(1 + t) + ½x(1 − t²)·c(1 + 3·0.044715x²)
 *   SiLU  y = x·σ(x),  dy/dx = σ(x)(1 + x(1 − σ(x)))
 *
 * C over the native thread pool where the addon is built (native/src/activations.c), JavaScript loops
 * otherwise; both tested equal to the references (value and gradient).
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon } from './native.ts';
import { HOST_BACKENDS, registerHostViewKernel, type HostViews } from './typed-kernel.ts';
import type { NormImpl } from './norms.ts';

const GELU_C = Math.sqrt(2 / Math.PI);

export function geluReference(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = x.add(x.pow(3).mul(0.044715)).mul(GELU_C);
    return x.mul(0.5).mul(tf.tanh(inner).add(1));
  });
}

export function siluReference(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => x.mul(tf.sigmoid(x)));
}

const KINDS = { gelu: 0, silu: 1 } as const;
type Kind = keyof typeof KINDS;

/** Which implementation the fused kernels use: 'native' where built; tests force 'js'. */
let loops: 'native' | 'js' | null = null;
export function setActivationLoops(which: 'native' | 'js' | null): void {
  loops = which;
}
const useNative = (): boolean => (loops ?? 'native') === 'native' && nativeAddon() !== null;

function forwardJs(kind: Kind, x: Float32Array, y: Float32Array): void {
  if (kind === 'gelu') {
    for (let i = 0; i < x.length; i++) y[i] = 0.5 * x[i] * (1 + Math.tanh(GELU_C * (x[i] + 0.044715 * x[i] ** 3)));
  } else {
    for (let i = 0; i < x.length; i++) y[i] = x[i] / (1 + Math.exp(-x[i]));
  }
}

function backwardJs(kind: Kind, x: Float32Array, dy: Float32Array, dx: Float32Array): void {
  if (kind === 'gelu') {
    for (let i = 0; i < x.length; i++) {
      const t = Math.tanh(GELU_C * (x[i] + 0.044715 * x[i] ** 3));
      dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * x[i] * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x[i] * x[i]));
    }
  } else {
    for (let i = 0; i < x.length; i++) {
      const s = 1 / (1 + Math.exp(-x[i]));
      dx[i] = dy[i] * s * (1 + x[i] * (1 - s));
    }
  }
}

const FORWARD = 'SeqarenaActivation';
const BACKWARD = 'SeqarenaActivationGrad';

function register(): void {
  registerHostViewKernel(FORWARD, {
    outputs: ({ x }) => [x],
    compute: ({ x }: HostViews, [y], attrs) => {
      const kind = attrs.kind as Kind;
      if (useNative()) nativeAddon()!.activation(KINDS[kind], x, y);
      else forwardJs(kind, x, y);
    },
  });
  registerHostViewKernel(BACKWARD, {
    outputs: ({ x }) => [x],
    compute: ({ x, dy }: HostViews, [dx], attrs) => {
      const kind = attrs.kind as Kind;
      if (useNative()) nativeAddon()!.activationGrad(KINDS[kind], x, dy, dx);
      else backwardJs(kind, x, dy, dx);
    },
  });
}

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => ({
    x: () => (tf.engine().runKernel(BACKWARD, { x, dy: dy as tf.Tensor } as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as tf.Tensor[])[0],
  }),
});

function fused(kind: Kind, x: tf.Tensor): tf.Tensor {
  register();
  // the host view kernels always return a list of outputs
  return (tf.engine().runKernel(FORWARD, { x } as unknown as tf.NamedTensorMap, { kind } as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[])[0];
}

const hostFloat = (x: tf.Tensor): boolean => x.dtype === 'float32' && (HOST_BACKENDS as readonly string[]).includes(tf.getBackend());

/** GELU, tanh approximation; `impl` as the norms' switch (the model's `layer_kernels`). */
export function gelu(x: tf.Tensor, impl: NormImpl = 'fused'): tf.Tensor {
  return impl === 'fused' && hostFloat(x) ? fused('gelu', x) : geluReference(x);
}

/** SiLU (swish): x · σ(x). */
export function silu(x: tf.Tensor, impl: NormImpl = 'fused'): tf.Tensor {
  return impl === 'fused' && hostFloat(x) ? fused('silu', x) : siluReference(x);
}
