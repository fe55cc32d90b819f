/** The --threads flag of run, bench, micro and profile: the CPU kernels' threads, inherited by every child run. */
import os from 'node:os';
import { setEngineThreads } from '../engine.ts';
import { UsageError } from '../errors.ts';

export const THREADS_HELP = `threads of the CPU kernels (the native or WebAssembly GEMM), for this process and its child runs (default: all ${os.availableParallelism()} cores)`;

/** Apply --threads when given; without it SEQARENA_THREADS or every core applies. */
export function applyThreads(value: string | undefined): void {
  if (value === undefined) return;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--threads must be a whole number ≥ 1, got '${value}'`);
  setEngineThreads(n);
}
