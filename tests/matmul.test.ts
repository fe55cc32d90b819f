import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { execa } from 'execa';
import { gemmReference, type GemmArgs } from '../architectures/kernels/gemm.ts';
import { matmulInfo, setMatmulChoice, type MatmulChoice } from '../architectures/kernels/matmul.ts';
import { nativeAddon, nativeGemm } from '../architectures/kernels/native.ts';
import { assertClose, assertNoLeak, useBackend } from './helpers.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addon = nativeAddon();
const noNative = addon ? false : 'the native addon is not built (node scripts/build-native.mjs)';

/** A seeded uniform(-1, 1) array (xorshift), so failures reproduce. */
function seeded(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/**
 * (batch, m, n, k): single elements; sizes below, at and past every tile and block (micro-tiles 4×16,
 * 6×16, 12×32; k blocks of 256; 120-row and 512-column blocks of C); skinny shapes like the backward pass's.
 */
const GEMM_SHAPES: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [1, 1, 5, 3],
  [2, 7, 13, 5],
  [1, 12, 32, 16],
  [3, 13, 33, 17],
  [1, 6, 16, 257],
  [2, 37, 70, 300],
  [1, 130, 9, 11],
  [1, 5, 530, 7],
  [1, 64, 40, 520],
  [2, 9, 20, 1100], // small C, k over five blocks (the last partial): every k block packed in one round
];

test('native GEMM equals gemmReference for every transpose, batch stride and broadcast, on every ISA and thread count', { skip: noNative }, () => {
  const gemm = nativeGemm()!;
  const isa = addon!.isa();
  const threads = addon!.threads();
  try {
    for (const [batch, m, n, k] of GEMM_SHAPES) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          // 0: a batch of distinct matrices; 1: one A broadcast; 2: one B broadcast
          for (const broadcast of [0, 1, 2]) {
            if (batch === 1 && broadcast > 0) continue;
            const strideA = broadcast === 1 ? 0 : m * k;
            const strideB = broadcast === 2 ? 0 : k * n;
            const base = {
              batch, m, n, k, transA, transB,
              a: seeded(strideA === 0 ? m * k : batch * m * k, m + 7 * k),
              strideA,
              b: seeded(strideB === 0 ? k * n : batch * k * n, n + 11 * k),
              strideB,
              strideC: m * n,
            };
            const expected = new Float32Array(batch * m * n);
            gemmReference({ ...base, c: expected } as GemmArgs);
            for (const name of addon!.isas()) {
              let serial: Float32Array | null = null;
              for (const t of [1, 3]) {
                addon!.setIsa(name);
                addon!.setThreads(t);
                const c = new Float32Array(batch * m * n).fill(Number.NaN); // the GEMM overwrites C
                gemm({ ...base, c });
                const where = `${name} ${t} threads (${batch}, ${m}, ${n}, ${k}) transA ${transA} transB ${transB} broadcast ${broadcast}`;
                assertClose(c, expected, 1e-4, 1e-4, where);
                // Threads split C, never a sum: the same bits on any thread count (block by block or all k blocks at once).
                if (serial) assert.deepEqual(c, serial, `${where}: differs from 1 thread`);
                serial = c;
              }
            }
          }
        }
      }
    }
  } finally {
    addon!.setIsa(isa);
    addon!.setThreads(threads);
  }
});

test('native GEMM names a too-short array and an unknown instruction set', { skip: noNative }, () => {
  const a = new Float32Array(6);
  assert.throws(
    () => addon!.gemm(2, 2, 2, 3, 0, 0, a, 6, new Float32Array(6), 6, new Float32Array(8), 4),
    /'a' has 6 elements, but batch 2 with stride 6 needs 12/,
  );
  assert.throws(() => addon!.setIsa('sse9'), /'sse9' is not supported/);
});

/**
 * [a shape, b shape, transposeA, transposeB]: 2-d, batched, one side broadcast, rank-2 B under a 4-d A.
 * (tfjs's matMul gradient does not reduce a broadcast batch, so those cases check the product only.)
 */
const MATMUL_CASES: [number[], number[], boolean, boolean][] = [
  [[5, 3], [3, 7], false, false],
  [[3, 5], [3, 7], true, false],
  [[5, 3], [7, 3], false, true],
  [[3, 5], [7, 3], true, true],
  [[4, 9, 17], [4, 17, 6], false, false],
  [[4, 17, 9], [1, 6, 17], true, true],
  [[1, 9, 17], [4, 17, 6], false, false],
  [[2, 3, 33, 20], [20, 13], false, false],
  [[2, 3, 20, 33], [2, 3, 13, 20], true, true],
];

const broadcastsBatchOfOne = (sa: number[], sb: number[]): boolean => sa.slice(0, -2).join() !== sb.slice(0, -2).join();

/** Output and (unless a batch of one is broadcast) the gradients of Σ w·matMul(a, b) with respect to a and b. */
async function productAndGrads(backend: 'wasm' | 'cpu', choice: MatmulChoice, [sa, sb, ta, tb]: (typeof MATMUL_CASES)[number], seed: number): Promise<Float32Array[]> {
  await useBackend(backend);
  setMatmulChoice(choice);
  return tf.tidy(() => {
    const a = tf.tensor(seeded(sa.reduce((p, s) => p * s, 1), seed), sa);
    const b = tf.tensor(seeded(sb.reduce((p, s) => p * s, 1), seed + 1), sb);
    const out = tf.matMul(a, b, ta, tb);
    const w = tf.tensor(seeded(out.size, seed + 2), out.shape);
    if (broadcastsBatchOfOne(sa, sb)) return [out.dataSync() as Float32Array];
    const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)))([a, b]);
    return [out, da, db].map((t) => t.dataSync() as Float32Array);
  });
}

for (const [backend, gemm] of [['wasm', 'native'], ['cpu', 'native'], ['wasm', 'wasm']] as const) {
  const skip = gemm === 'native' ? noNative : false;
  test(`${backend} backend, ${gemm} GEMM: the registered BatchMatMul and its gradients equal tfjs's cpu kernel`, { skip }, async () => {
    try {
      for (const [i, c] of MATMUL_CASES.entries()) {
        const expected = await productAndGrads('cpu', 'tfjs', c, i * 3);
        const actual = await productAndGrads(backend, gemm, c, i * 3);
        assert.equal(matmulInfo().kind, gemm);
        assert.equal(actual.length, expected.length);
        for (const [j, name] of ['product', 'dA', 'dB'].slice(0, expected.length).entries()) {
          assertClose(actual[j], expected[j], 1e-4, 1e-4, `${name} of [${c[0]}]·[${c[1]}] trans ${c[2]} ${c[3]}`);
        }
      }
      await assertNoLeak(() => tf.dispose(tf.tidy(() => tf.matMul(tf.ones([3, 4, 5]), tf.ones([5, 2])))), 'matMul');
    } finally {
      setMatmulChoice('auto');
    }
  });

  // against the cpu backend's kernel: tfjs-wasm's own _FusedMatMul adds the bias wrongly when B is a broadcast batch of one
  test(`${backend} backend, ${gemm} GEMM: the registered _FusedMatMul (bias, every activation) equals tfjs's cpu kernel`, { skip }, async () => {
    const run = async (on: 'wasm' | 'cpu', choice: MatmulChoice, activation: tf.fused.Activation, ta: boolean): Promise<Float32Array> => {
      await useBackend(on);
      setMatmulChoice(choice);
      return tf.tidy(() => {
        const a = tf.tensor(seeded(2 * 19 * 11, 1), ta ? [2, 11, 19] : [2, 19, 11]) as tf.Tensor3D;
        const b = tf.tensor(seeded(11 * 23, 2), [1, 11, 23]) as tf.Tensor3D;
        const bias = tf.tensor1d(seeded(23, 3));
        const preluActivationWeights = activation === 'prelu' ? tf.tensor1d(seeded(23, 4)) : undefined;
        return tf.fused.matMul({ a, b, transposeA: ta, bias, activation, preluActivationWeights, leakyreluAlpha: 0.3 }).dataSync() as Float32Array;
      });
    };
    try {
      for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as tf.fused.Activation[]) {
        for (const ta of [false, true]) assertClose(await run(backend, gemm, activation, ta), await run('cpu', 'tfjs', activation, ta), 1e-4, 1e-4, `${activation} transposeA ${ta}`);
      }
    } finally {
      setMatmulChoice('auto');
    }
  });
}

test('SEQARENA_NATIVE=0: matmul runs on the WebAssembly GEMM, and says so', async () => {
  const result = await execa(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tests/fixtures/matmul-fallback.ts')], {
    cwd: ROOT,
    env: { SEQARENA_NATIVE: '0' },
    reject: false,
  });
  assert.equal(result.exitCode, 0, result.stderr);
  const { info, product } = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
  assert.equal(info.kind, 'wasm');
  assert.deepEqual(product, [4, 5, 10, 11]);
});

test('the install script without a compiler says so and still succeeds', async () => {
  const result = await execa(process.execPath, [path.join(ROOT, 'scripts/build-native.mjs')], { cwd: ROOT, env: { CC: '/nonexistent/cc' }, reject: false });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /no C compiler found \(set CC\); using the WebAssembly kernels/);
});

test('native kernels flush subnormals to zero (the slow path an LSTM gradient falls into over long sequences); JavaScript arithmetic stays IEEE', { skip: noNative }, () => {
  const gemm = nativeGemm()!;
  const threads = addon!.threads();
  try {
    for (const t of [1, 3]) {
      addon!.setThreads(t);
      // (1×1)·(1×1) on the calling thread and a product big enough for the pool: each output is 1e-39 · 1, subnormal.
      for (const [m, n, k] of [[1, 1, 1], [64, 256, 300]]) {
        const a = new Float32Array(m * k).fill(0);
        for (let i = 0; i < m; i++) a[i * k] = 1e-39;
        const b = new Float32Array(k * n).fill(1);
        const c = new Float32Array(m * n).fill(Number.NaN);
        gemm({ batch: 1, m, n, k, transA: false, transB: false, a, strideA: m * k, b, strideB: k * n, c, strideC: m * n });
        assert.ok(c.every((x) => x === 0), `${t} threads (${m}, ${n}, ${k}): ${c[0]}`);
      }
    }
  } finally {
    addon!.setThreads(threads);
  }
  // The mode never leaks into the calling thread's JavaScript.
  const tiny = new Float32Array([1e-39]);
  assert.ok(tiny[0] > 0 && tiny[0] * 1 > 0 && 1e-310 * 1 > 0);
});
