/**
 * TensorFlow.js's `Identity` on the wasm backend as a second reference to the input's buffer, as
 * tfjs-cpu's own Identity and tfjs-wasm's Reshape already do (incRef of the dataId), instead of a copy
 * of the whole buffer. tfjs runs Identity for every tensor it keeps for the backward pass (the engine's
 * clone of a kernel's saved inputs and outputs, tf.clone, customGrad's saved tensors): in a
 * Transformer step that is a copy of every (b, l, d) activation and (b·l, k·d) projection it saves.
 *
 * Why sharing is safe here: a wasm buffer is freed when the last tensor on its dataId is disposed
 * (BackendWasm.disposeData counts references down), and the engine tracks tensors per dataId, so either
 * side may be disposed first. tfjs's kernels never write into an input. Of seqarena's kernels, the only
 * one that writes into an existing tensor's buffer is the fused AdamW (adamw.ts), and it first gives a
 * parameter or moment whose buffer has other references (backend.refCount > 1, which this incRef makes
 * true) a buffer of its own; every other kernel writes only outputs it allocated (the host view kernels,
 * matmul, Sum, Concat and SplitV) or reads its inputs through readSync, which on wasm is a copy.
 *
 * Strings keep tfjs's kernel. SEQARENA_IDENTITY=tfjs runs tfjs's copying kernel, for checking a figure.
 */
import * as tf from '@tensorflow/tfjs';
import { envChoice, wrapKernel } from './typed-kernel.ts';

export const IDENTITY_CHOICES = ['share', 'tfjs'] as const;

export type IdentityChoice = (typeof IDENTITY_CHOICES)[number];

const choice = envChoice<IdentityChoice>('SEQARENA_IDENTITY', IDENTITY_CHOICES, 'share', "share: the output is a second reference to the input's buffer; tfjs: the backend's own kernel, a copy, for checking a figure");
const currentChoice = choice.get;

/** 'share': the output shares the input's buffer; 'tfjs': tfjs-wasm's own kernel, which copies it. Default: SEQARENA_IDENTITY, else share. */
export function setIdentityChoice(next: IdentityChoice): void {
  choice.set(next);
}

/** What `seqarena list` and env.json say about Identity. */
export function identityInfo(): string {
  if (currentChoice() === 'tfjs') return "tfjs's own kernel, a copy of the buffer (SEQARENA_IDENTITY=tfjs)";
  return "wasm: the output shares the input's buffer (reference counted, as on cpu); strings tfjs's own kernel (SEQARENA_IDENTITY=tfjs for all)";
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend };

function identityKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend } = args as unknown as KernelArgs;
    const x = inputs.x as tf.TensorInfo;
    if (currentChoice() === 'tfjs' || x.dtype === 'string') return original(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** Put this file's Identity over tfjs-wasm's where the wasm backend is registered (cpu's already shares). Safe to call more than once. */
export function registerIdentityKernel(): void {
  wrapKernel('Identity', 'wasm', identityKernel);
}
