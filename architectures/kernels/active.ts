/**
 * Which implementation each fast kernel runs on this machine (native with its instruction set,
 * WebAssembly, or tfjs's own reference), for `seqarena list`, env.json and every result row. A fused
 * kernel file reports itself by adding one line to ACTIVE_KERNELS.
 */
import { matmulInfo } from './matmul.ts';

const ACTIVE_KERNELS: Record<string, () => string> = {
  matmul: () => matmulInfo().detail,
};

/** Kernel name → what runs it, e.g. { matmul: 'native avx512 (…), 2 threads' }. */
export function activeKernels(): Record<string, string> {
  return Object.fromEntries(Object.entries(ACTIVE_KERNELS).map(([name, describe]) => [name, describe()]));
}
