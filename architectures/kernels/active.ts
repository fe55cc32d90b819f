/**
 * Which implementation each fast kernel runs on this machine (native with its instruction set,
 * WebAssembly, or tfjs's own reference), for `seqarena list`, env.json and every result row. A fused
 * kernel file reports itself by adding one line to ACTIVE_KERNELS; `webgpu` says what runs on that
 * backend (the WGSL kernels, webgpu/).
 */
import { fusedAttentionImplementation } from './attention-fused.ts';
import { concatInfo } from './concat.ts';
import { fusedCrossEntropyImplementation } from './cross-entropy.ts';
import { fusedEmbeddingImplementation } from './embedding.ts';
import { identityInfo } from './identity.ts';
import { sinInfo } from './sin.ts';
import { jsPoolThreads } from './js-pool.ts';
import { matmulInfo, wasmGemm } from './matmul.ts';
import { nativeAddon } from './native.ts';
import { fusedRecurrenceImplementation } from './recurrence-fused.ts';
import { fusedScanImplementation } from './selective-scan-fused.ts';
import { sumInfo } from './sum.ts';
import { WEBGPU_KERNELS } from './webgpu/program.ts';

/** The fused kernels' native code has a generic and an AVX2+FMA copy; AVX-512 machines run the AVX2 one. */
function fused(implementation: 'native' | 'wasm' | 'js', split: string, fallback: string): string {
  if (implementation !== 'native') return fallback;
  return `native ${nativeAddon()?.isa() === 'generic' ? 'generic' : 'avx2+fma'} loops, ${split} split over the threads`;
}

const ACTIVE_KERNELS: Record<string, () => string> = {
  matmul: () => matmulInfo().detail,
  sum: sumInfo,
  concat: concatInfo,
  identity: identityInfo,
  sin: sinInfo,
  attention: () => fused(fusedAttentionImplementation(), '(batch·head, query block)', 'wasm (SIMD loops, one thread; the native addon is not active)'),
  recurrence: () =>
    fused(
      fusedRecurrenceImplementation(),
      'batch blocks (whole block per step as one product)',
      `wasm (the whole batch per step as one product on the wasm GEMM, ${wasmGemm()?.threads() ?? 1} threads; gate loops in JavaScript; the native addon is not active)`,
    ),
  scan: () => fused(fusedScanImplementation(), '(sequence, 8 channels)', `js (plain loops, (sequence, 8 channels) split over ${jsPoolThreads()} threads; the native addon is not active)`),
  loss: () => fused(fusedCrossEntropyImplementation(), 'blocks of rows', 'js (plain loops, one thread; the native addon is not active)'),
  embedding: () =>
    fusedEmbeddingImplementation() === 'native'
      ? 'native C (row copies; the gradient split by ranges of table rows) over the threads'
      : 'js (row copies and adds, one thread; the native addon is not active)',
  webgpu: () =>
    process.env.SEQARENA_WEBGPU_KERNELS === 'reference'
      ? 'WGSL kernels off (SEQARENA_WEBGPU_KERNELS=reference): the composed references and the chunked tf-op scan'
      : `WGSL: ${WEBGPU_KERNELS.join('; ')}; matmuls are tfjs-webgpu's (SEQARENA_WEBGPU_KERNELS=reference turns the WGSL ones off)`,
};

/** Kernel name → what runs it, e.g. { matmul: 'native avx512 (…), 2 threads' }. */
export function activeKernels(): Record<string, string> {
  return Object.fromEntries(Object.entries(ACTIVE_KERNELS).map(([name, describe]) => [name, describe()]));
}
