import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gemmReference, type GemmArgs } from '../architectures/kernels/gemm.ts';
import { callThreads, createWasmGemm, type WasmGemm } from '../architectures/kernels/gemm-wasm.ts';
import { assertClose } from './helpers.ts';

/** Seeded uniform values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

interface Case {
  batch: number; m: number; n: number; k: number;
  /** 0 broadcasts one A (or B) over the batch; 'gap' leaves 5 unused floats between entries. */
  strideA?: 0 | 'gap'; strideB?: 0 | 'gap'; gapC?: boolean;
}

/** The arguments of one case and trans combination, with C filled with a sentinel so unwritten places show. */
function argsOf({ batch, m, n, k, strideA, strideB, gapC }: Case, transA: boolean, transB: boolean, seed: number): GemmArgs {
  const stride = (mode: 0 | 'gap' | undefined, size: number): number => (mode === 0 ? 0 : mode === 'gap' ? size + 5 : size);
  const sA = stride(strideA, m * k);
  const sB = stride(strideB, k * n);
  const sC = gapC ? m * n + 3 : m * n;
  return {
    batch, m, n, k, transA, transB,
    a: values(Math.max(1, (batch - 1) * sA + m * k), seed), strideA: sA,
    b: values(Math.max(1, (batch - 1) * sB + k * n), seed + 1), strideB: sB,
    c: new Float32Array(Math.max(1, (batch - 1) * sC + m * n)).fill(7), strideC: sC,
  };
}

/** Hold the GEMM against the reference on one case, every trans combination. */
function check(gemm: WasmGemm, testCase: Case): void {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const args = argsOf(testCase, transA, transB, testCase.m * 31 + testCase.n * 7 + testCase.k);
      const expected = { ...args, c: args.c.slice() };
      gemmReference(expected);
      gemm(args);
      const what = `C of ${JSON.stringify(testCase)} transA ${transA} transB ${transB} on ${gemm.threads()} threads`;
      // the reference sums in float64, the kernel in float32: rounding grows like √k
      assertClose(args.c, expected.c, 1e-5 * Math.sqrt(testCase.k), 1e-5, what);
    }
  }
}

/**
 * Shapes: one element; k = 1; m = 1; n = 1; sizes that are not multiples of the 4 × 8 tile; k past the
 * 256 block (C accumulated over k blocks); n past the 256-column block; the projection shapes; batches.
 */
const GRID: Case[] = [
  { batch: 1, m: 1, n: 1, k: 1 },
  { batch: 1, m: 9, n: 13, k: 1 },
  { batch: 1, m: 1, n: 37, k: 19 },
  { batch: 1, m: 23, n: 1, k: 17 },
  { batch: 1, m: 5, n: 7, k: 3 },
  { batch: 1, m: 4, n: 8, k: 5 },
  { batch: 1, m: 33, n: 70, k: 300 },
  { batch: 1, m: 61, n: 300, k: 45 },
  { batch: 1, m: 130, n: 64, k: 600 },
  { batch: 1, m: 512, n: 96, k: 64 },
  { batch: 3, m: 17, n: 11, k: 9 },
  { batch: 4, m: 40, n: 24, k: 16 },
];

/** Batches with one operand broadcast (stride 0) and with gaps between entries. */
const STRIDES: Case[] = [
  { batch: 5, m: 12, n: 20, k: 7, strideA: 0 },
  { batch: 5, m: 12, n: 20, k: 7, strideB: 0 },
  { batch: 3, m: 9, n: 10, k: 70, strideA: 'gap', strideB: 'gap', gapC: true },
  { batch: 6, m: 64, n: 48, k: 32, strideB: 0, gapC: true },
  { batch: 4, m: 64, n: 80, k: 70, strideB: 0, gapC: true }, // large enough to split over 3 threads
];

const pools: WasmGemm[] = [];
function gemmOn(threads: number): WasmGemm {
  const gemm = createWasmGemm({ threads });
  assert.ok(gemm, 'WebAssembly SIMD and shared memory are available in Node 20');
  pools.push(gemm);
  return gemm;
}
after(() => pools.forEach((p) => p.close()));

for (const threads of [1, 2, 3]) {
  test(`wasm GEMM equals the reference on a grid of shapes, every trans combination, ${threads} thread(s)`, () => {
    const gemm = gemmOn(threads);
    for (const testCase of [...GRID, ...STRIDES]) check(gemm, testCase);
  });
}

test('wasm GEMM: a call is cut only for threads that get 2¹⁸ multiply-adds each, so small products stay on the calling thread', () => {
  assert.equal(callThreads(16 * 64 * 256, 2), 1, "the LSTM's per-step product at batch 16, hidden 64");
  assert.equal(callThreads(2 ** 19 - 1, 2), 1);
  assert.equal(callThreads(2 ** 19, 2), 2);
  assert.equal(callThreads(3 * 2 ** 18, 8), 3, 'no more threads than have a share');
  assert.equal(callThreads(4096 * 64 * 256, 2), 2, 'the projection');
  assert.equal(callThreads(1, 1), 1);
  assert.equal(callThreads(100, 4, 0), 4, 'minMacsPerThread 0 always splits');
  for (const testCase of [...GRID, ...STRIDES]) {
    const macs = testCase.batch * testCase.m * testCase.n * testCase.k;
    if (macs >= 2 ** 20) assert.ok(callThreads(macs, 3) > 1, `${JSON.stringify(testCase)} exercises the split`);
  }
});

test('wasm GEMM: k = 0 writes zeros, m or n = 0 writes nothing', () => {
  const gemm = gemmOn(2);
  const args = argsOf({ batch: 2, m: 3, n: 4, k: 0, gapC: true }, false, false, 1);
  gemm(args);
  assert.deepEqual([...args.c.subarray(0, 12)], new Array(12).fill(0));
  assert.deepEqual([...args.c.subarray(12, 15)], [7, 7, 7], 'the gap between C entries is left alone');
  const empty = argsOf({ batch: 1, m: 0, n: 4, k: 3 }, false, false, 1);
  gemm(empty);
  assert.deepEqual([...empty.c], [7]);
});

test('wasm GEMM: setThreads changes the pool between calls and results stay equal', () => {
  const gemm = gemmOn(1);
  const testCase: Case = { batch: 2, m: 70, n: 50, k: 90 };
  for (const threads of [2, 4, 1, 3]) {
    gemm.setThreads(threads);
    assert.equal(gemm.threads(), threads);
    check(gemm, testCase);
  }
  assert.throws(() => gemm.setThreads(0), /integer from 1 to 64; got 0/);
  gemm.close();
  assert.equal(gemm.threads(), 1);
  check(gemm, testCase);
});

test('a process that ran the wasm GEMM on several threads ends by itself (the workers do not keep it alive)', () => {
  const moduleUrl = new URL('../architectures/kernels/gemm-wasm.ts', import.meta.url).href;
  const script = `
    const { createWasmGemm } = await import(${JSON.stringify(moduleUrl)});
    const gemm = createWasmGemm({ threads: 3 });
    const [m, n, k] = [64, 64, 64];
    const c = new Float32Array(m * n);
    gemm({ batch: 1, m, n, k, transA: false, transB: false, a: new Float32Array(m * k).fill(1), strideA: 0, b: new Float32Array(k * n).fill(2), strideB: 0, c, strideC: 0 });
    console.log(c[0], c[m * n - 1]);
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(child.signal, null, `the child was killed (${child.signal}): it did not exit on its own; stderr: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), '128 128');
});
