/**
 * Three matrix–vector loops in WebAssembly SIMD (f32x4), for the fused attention's fallback
 * (attention-fused.ts). Its hot loops are all one of these, over a row-major matrix W (h, n):
 *
 *   gemvAcc  out[j] += Σ_k x[k] · W[k, j]     x·W     (Σ_j p_j v_j of a key block)
 *   gemvT    out[k]  = Σ_j W[k, j] · x[j]     W·x     (the scores k_j · q of a key block)
 *   ger      W[k, j] += x[k] · y[j]           W += x yᵀ (dK, dV of a key block)
 *
 * Every loop runs k-outer over one contiguous row of W, four lanes at a time, with a scalar tail.
 * Operands live in one WebAssembly memory (the arena): a kernel copies its inputs in, computes, and
 * copies its outputs out. The module is a few hundred bytes assembled below, so no build step or
 * toolchain is needed (wasm-asm.ts holds the encodings); `jsLoops` is the same three loops in plain
 * JavaScript, the readable reference the tests compare against, and the fallback where WebAssembly SIMD
 * is missing.
 */

import {
  Op, Type, VOID, assembleModule, f32Load, f32Store, f32x4Add, f32x4ExtractLane, f32x4Mul, f32x4Splat, get, i32, set, tee, v128Load, v128Store, v128Zero,
} from './wasm-asm.ts';

/** The three loops over float offsets into the arena's memory. */
export interface MatVecLoops {
  gemvAcc(out: number, x: number, w: number, h: number, n: number): void;
  gemvT(out: number, x: number, w: number, h: number, n: number): void;
  ger(w: number, x: number, y: number, h: number, n: number): void;
}

/** The reference loops on a Float32Array (offsets in floats). */
export function jsLoops(mem: () => Float32Array): MatVecLoops {
  return {
    gemvAcc(out, x, w, h, n) {
      const m = mem();
      for (let k = 0; k < h; k++) {
        const xk = m[x + k];
        const row = w + k * n;
        for (let j = 0; j < n; j++) m[out + j] += xk * m[row + j];
      }
    },
    gemvT(out, x, w, h, n) {
      const m = mem();
      for (let k = 0; k < h; k++) {
        const row = w + k * n;
        let s = 0;
        for (let j = 0; j < n; j++) s += m[row + j] * m[x + j];
        m[out + k] = s;
      }
    },
    ger(w, x, y, h, n) {
      const m = mem();
      for (let k = 0; k < h; k++) {
        const xk = m[x + k];
        const row = w + k * n;
        for (let j = 0; j < n; j++) m[row + j] += xk * m[y + j];
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The module, assembled. Parameters (all i32 byte offsets or counts): 0..4 as in MatVecLoops.
// Locals: 5 k, 6 j, 7 rowOffset (bytes), 8 n4 (n rounded down to 4), 9 f32 scalar, 10 v128 vector.

const [P0, P1, P2, H, N, K, J, ROW, N4, S, V] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const lane = f32x4ExtractLane;
/** base + (index << 2): the byte address of float `index` after `base`. */
const addr = (base: number[], index: number): number[] => [...base, ...get(index), ...i32(2), Op.i32Shl, Op.i32Add];

/** for (i = 0; i < limit; i += step) body — as block { loop { br_if (i >= limit) 1; body; i += step; br 0 } } */
function forLoop(i: number, limit: number[], step: number, body: number[], init = true): number[] {
  return [
    ...(init ? [...i32(0), ...set(i)] : []),
    Op.block, VOID, Op.loop, VOID,
    ...get(i), ...limit, Op.i32GeS, Op.brIf, 1,
    ...body,
    ...get(i), ...i32(step), Op.i32Add, ...set(i),
    Op.br, 0, Op.end, Op.end,
  ];
}

/** Shared prologue: n4 = n & ~3. Row offset of k: (k · n) << 2. */
const prologue = [...get(N), ...i32(-4), Op.i32And, ...set(N4)];
const rowOffset = [...get(K), ...get(N), Op.i32Mul, ...i32(2), Op.i32Shl, ...set(ROW)];
const rowBase = (p: number): number[] => [...get(p), ...get(ROW), Op.i32Add];

/**
 * target[j] += x[k] · source[j] for every row k. gemvAcc: target is `out` (P0), source row k of W (P2);
 * ger: target is row k of W (P0), source is y (P2).
 */
function axpyRows(targetIsRow: boolean): number[] {
  const target = targetIsRow ? rowBase(P0) : get(P0);
  const source = targetIsRow ? get(P2) : rowBase(P2);
  const vectorStep = [
    ...addr(target, J),
    ...addr(target, J), ...v128Load(),
    ...get(V), ...addr(source, J), ...v128Load(), ...f32x4Mul,
    ...f32x4Add, ...v128Store(),
  ];
  const scalarStep = [
    ...addr(target, J),
    ...addr(target, J), ...f32Load(),
    ...get(S), ...addr(source, J), ...f32Load(), Op.f32Mul,
    Op.f32Add, ...f32Store(),
  ];
  const rowBody = [
    ...addr(get(P1), K), ...f32Load(), ...tee(S), ...f32x4Splat, ...set(V),
    ...rowOffset,
    ...forLoop(J, get(N4), 4, vectorStep),
    ...forLoop(J, get(N), 1, scalarStep, false),
  ];
  return [...prologue, ...forLoop(K, get(H), 1, rowBody)];
}

/** out[k] = Σ_j W[k, j] · x[j]: four partial sums per lane, added at the end of the row. */
function dotRows(): number[] {
  const vectorStep = [...get(V), ...addr(rowBase(P2), J), ...v128Load(), ...addr(get(P1), J), ...v128Load(), ...f32x4Mul, ...f32x4Add, ...set(V)];
  const scalarStep = [...get(S), ...addr(rowBase(P2), J), ...f32Load(), ...addr(get(P1), J), ...f32Load(), Op.f32Mul, Op.f32Add, ...set(S)];
  const rowBody = [
    ...rowOffset,
    ...v128Zero, ...set(V),
    ...forLoop(J, get(N4), 4, vectorStep),
    ...get(V), ...lane(0), ...get(V), ...lane(1), Op.f32Add, ...get(V), ...lane(2), Op.f32Add, ...get(V), ...lane(3), Op.f32Add, ...set(S),
    ...forLoop(J, get(N), 1, scalarStep, false),
    ...addr(get(P0), K), ...get(S), ...f32Store(),
  ];
  return [...prologue, ...forLoop(K, get(H), 1, rowBody)];
}

function assemble(): Uint8Array<ArrayBuffer> {
  const locals: [number, number][] = [[4, Type.i32], [1, Type.f32], [1, Type.v128]];
  return assembleModule(
    [
      { name: 'gemvAcc', params: 5, locals, body: axpyRows(false) },
      { name: 'gemvT', params: 5, locals, body: dotRows() },
      { name: 'ger', params: 5, locals, body: axpyRows(true) },
    ],
    { shared: false },
  );
}

// ---------------------------------------------------------------------------------------------------
// The arena

const PAGE_BYTES = 65536;

/**
 * A WebAssembly memory with a bump allocator, and the loops over it. A kernel calls `begin`, allocates
 * its arrays, fills them through `f32`, runs loops, and copies results out before the next kernel runs
 * (kernels never nest, and JavaScript runs one at a time). The memory grows to the largest kernel's
 * need and is kept for the next call; it is host memory, not counted in tf.memory().
 */
export class Arena {
  private readonly memory = new WebAssembly.Memory({ initial: 16, maximum: 65536 });
  private top = 0;
  /** The whole memory as floats; offsets from `alloc` index it. Re-read after `begin` (growing replaces it). */
  f32 = new Float32Array(this.memory.buffer);
  readonly loops: MatVecLoops;
  readonly simd: boolean;

  constructor(useSimd = true) {
    const bytes = assemble();
    this.simd = useSimd && WebAssembly.validate(bytes);
    if (this.simd) {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: this.memory } });
      const e = instance.exports as Record<string, (a: number, b: number, c: number, d: number, n: number) => void>;
      // the module takes byte offsets; callers speak in floats
      this.loops = {
        gemvAcc: (out, x, w, h, n) => e.gemvAcc(out << 2, x << 2, w << 2, h, n),
        gemvT: (out, x, w, h, n) => e.gemvT(out << 2, x << 2, w << 2, h, n),
        ger: (w, x, y, h, n) => e.ger(w << 2, x << 2, y << 2, h, n),
      };
    } else {
      this.loops = jsLoops(() => this.f32);
    }
  }

  /** Forget earlier allocations and make room for `floats` in all (each allocation adds up to 3 floats of padding). */
  begin(floats: number): void {
    this.top = 0;
    const bytes = floats * 4 + 64;
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
    this.f32 = new Float32Array(this.memory.buffer);
  }

  /** `floats` zeroed floats, 16-byte aligned; returns their offset in `f32`. */
  alloc(floats: number, from?: ArrayLike<number>): number {
    const offset = this.top;
    this.top += (floats + 3) & ~3;
    if (this.top > this.f32.length) throw new Error(`arena overflow: ${this.top} floats allocated, ${this.f32.length} reserved; reserve more in begin()`);
    if (from) this.f32.set(from, offset);
    else this.f32.fill(0, offset, offset + floats);
    return offset;
  }

  /** A copy of `floats` floats at `offset`, to hand out as a kernel output. */
  copyOut(offset: number, floats: number): Float32Array {
    return this.f32.slice(offset, offset + floats);
  }
}
