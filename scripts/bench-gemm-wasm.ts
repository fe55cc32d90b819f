/**
 * The WebAssembly GEMM (architectures/kernels/gemm-wasm.ts) at a projection's three matmuls, against
 * tfjs-wasm's own BatchMatMul at the same shapes, with the SIMD128 peak it is held to (no FMA: 8 FLOP
 * per cycle per core, at the clock /proc/cpuinfo reports):
 *
 *   node --import tsx scripts/bench-gemm-wasm.ts [--threads N] [--reps R]
 *
 * Defaults: N = all cores, R = 100. Prints the fastest and the median call of R after 10 warm-up calls;
 * on a shared machine the fastest says what the kernel can do, the median what it did.
 */
import os from 'node:os';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { GemmArgs } from '../architectures/kernels/gemm.ts';
import { createWasmGemm } from '../architectures/kernels/gemm-wasm.ts';

const { values } = parseArgs({ options: { threads: { type: 'string' }, reps: { type: 'string' } } });
const threads = Number(values.threads ?? os.availableParallelism());
const reps = Number(values.reps ?? 100);

/** The clock /proc/cpuinfo reports (MHz of the first core), or null where there is none. */
function cpuinfoMHz(): number | null {
  try {
    const match = /cpu MHz\s*:\s*([\d.]+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** [name, m, n, k, transA, transB]: forward x·W, then the backward dX = dY·Wᵀ and dW = Xᵀ·dY. */
const SHAPES: [string, number, number, number, boolean, boolean][] = [
  ['[4096,64]·[64,256]', 4096, 256, 64, false, false],
  ['dC·Bᵀ [4096,256]·[64,256]ᵀ', 4096, 64, 256, false, true],
  ['Aᵀ·dC [4096,64]ᵀ·[4096,256]', 64, 256, 4096, true, false],
];

function time(fn: () => void): { fastestMs: number; medianMs: number } {
  for (let i = 0; i < 10; i++) fn();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { fastestMs: ms[0], medianMs: ms[Math.floor(reps / 2)] };
}

function random(count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.random() - 0.5;
  return out;
}

await tf.setBackend('wasm');
const mhz = cpuinfoMHz();
const peak = (cores: number): number | null => (mhz === null ? null : (8 * cores * mhz) / 1000);
const gemms = [1, threads].filter((t, i, all) => all.indexOf(t) === i).map((t) => ({ threads: t, gemm: createWasmGemm({ threads: t }) }));
console.log(`clock ${mhz ?? '?'} MHz from /proc/cpuinfo; SIMD128 peak without FMA: 8 FLOP/cycle/core; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| shape | implementation | threads | fastest ms | median ms | GFLOP/s (fastest) | GFLOP/s (median) | % of peak (median) |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
const row = (shape: string, impl: string, t: number, flop: number, r: { fastestMs: number; medianMs: number }): void => {
  const fastest = flop / r.fastestMs / 1e6;
  const median = flop / r.medianMs / 1e6;
  const p = peak(t);
  console.log(`| ${shape} | ${impl} | ${t} | ${r.fastestMs.toFixed(2)} | ${r.medianMs.toFixed(2)} | ${fastest.toFixed(1)} | ${median.toFixed(1)} | ${p === null ? '?' : `${((100 * median) / p).toFixed(0)}% of ${p.toFixed(1)}`} |`);
};
for (const [shape, m, n, k, transA, transB] of SHAPES) {
  const flop = 2 * m * n * k;
  const a = random(m * k);
  const b = random(k * n);
  const args: GemmArgs = { batch: 1, m, n, k, transA, transB, a, strideA: 0, b, strideB: 0, c: new Float32Array(m * n), strideC: m * n };
  for (const { threads: t, gemm } of gemms) {
    if (gemm === null) console.log(`| ${shape} | wasm GEMM | ${t} | unavailable (no WebAssembly SIMD or SharedArrayBuffer) |`);
    else row(shape, 'wasm GEMM (gemm-wasm.ts)', t, flop, time(() => gemm(args)));
  }
  const ta = tf.tensor3d(a, transA ? [1, k, m] : [1, m, k]);
  const tb = tf.tensor3d(b, transB ? [1, n, k] : [1, k, n]);
  row(shape, 'tfjs-wasm BatchMatMul', 1, flop, time(() => {
    const product = tf.matMul(ta, tb, transA, transB);
    product.dataSync();
    product.dispose();
  }));
  tf.dispose([ta, tb]);
}
for (const { gemm } of gemms) gemm?.close();
