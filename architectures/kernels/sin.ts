/**
 * TensorFlow.js's `Sin` on the wasm backend, each element Math.sin in double rounded to float32. tfjs-backend-wasm
 * 4.22's Sin is accurate to about 2.4e−7 absolute but not relative for negative inputs (sin(−1e−6) comes out 22 %
 * off, sin(−1e−4) 4e−4; positive inputs and every other unary op tested — Cos, Tanh, Exp — are within float32
 * rounding). Hyena's implicit filters are Sin activations of small values, so on wasm a filter at its
 * initialisation was 2.7e−3 off relative and a filter weight's gradient 1.2e−3 (the golden PyTorch test found
 * it; cpu agreed to 5e−7). The gradient, dy · cos(x), stays tfjs's. Other dtypes keep tfjs's kernel, and
 * SEQARENA_SIN=tfjs runs it for everything.
 */
import * as tf from '@tensorflow/tfjs';
import { allocateFloat32, envChoice, hostArray, holdsFloat32Array, wrapKernel } from './typed-kernel.ts';

export const SIN_CHOICES = ['exact', 'tfjs'] as const;
export type SinChoice = (typeof SIN_CHOICES)[number];

const choice = envChoice<SinChoice>('SEQARENA_SIN', SIN_CHOICES, 'exact', "exact: Math.sin rounded to float32; tfjs: tfjs-wasm's own kernel (inaccurate for small negative inputs)");

/** 'exact': Math.sin per element; 'tfjs': tfjs-wasm's own kernel. Default: SEQARENA_SIN, else exact. */
export function setSinChoice(next: SinChoice): void {
  choice.set(next);
}

/** What `seqarena list` and env.json say about Sin. */
export function sinInfo(): string {
  return choice.get() === 'tfjs' ? "tfjs's own kernels (SEQARENA_SIN=tfjs)" : "wasm: Math.sin per element, rounded to float32 (tfjs-wasm's is off for small negative inputs); cpu tfjs's own (SEQARENA_SIN=tfjs for tfjs-wasm's)";
}

/** out[i] = fround(sin(x[i])). */
export function sinInto(x: Float32Array, out: Float32Array): void {
  for (let i = 0; i < x.length; i++) out[i] = Math.sin(x[i]);
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend };

function sinKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend } = args as unknown as KernelArgs;
    const x = inputs.x as tf.TensorInfo;
    if (choice.get() === 'tfjs' || !holdsFloat32Array(backend, x)) return original(args);
    const out = allocateFloat32(backend, x.shape);
    sinInto(hostArray(backend, x), hostArray(backend, out));
    return out;
  };
}

/** Put this file's Sin over tfjs-wasm's where the wasm backend is registered (cpu's is Math.sin already). Safe to call more than once. */
export function registerSinKernel(): void {
  wrapKernel('Sin', 'wasm', sinKernel);
}
