/**
 * Three matrix–vector loops in WebAssembly SIMD (f32x4), for the fused host kernels (recurrence-fused.ts,
 * attention-fused.ts). Their hot loops are all one of these, over a row-major matrix W (h, n):
 *
 *   gemvAcc  out[j] += Σ_k x[k] · W[k, j]     x·W     (h·Wh in a recurrence step; Σ_j p_j v_j in attention)
 *   gemvT    out[k]  = Σ_j W[k, j] · x[j]     W·x     (dz·Whᵀ backward; the scores k_j · q of a key block)
 *   ger      W[k, j] += x[k] · y[j]           W += x yᵀ (dWh += hᵀ dz; dK, dV of a key block)
 *
 * Every loop runs k-outer over one contiguous row of W, four lanes at a time, with a scalar tail.
 * Operands live in one WebAssembly memory (the arena): a kernel copies its inputs in, computes, and
 * copies its outputs out. The module is a few hundred bytes assembled below, so no build step or
 * toolchain is needed; `jsLoops` is the same three loops in plain JavaScript, the readable reference
 * the tests compare against, and the fallback where WebAssembly SIMD is missing.
 */

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

const enum Op {
  block = 0x02, loop = 0x03, br = 0x0c, brIf = 0x0d, end = 0x0b,
  localGet = 0x20, localSet = 0x21, localTee = 0x22,
  f32Load = 0x2a, f32Store = 0x38, i32Const = 0x41,
  i32GeS = 0x4e, i32Add = 0x6a, i32Mul = 0x6c, i32And = 0x71, i32Shl = 0x74,
  f32Add = 0x92, f32Mul = 0x94, simd = 0xfd,
}
const VOID = 0x40;
const [P0, P1, P2, H, N, K, J, ROW, N4, S, V] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

function leb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const get = (i: number): number[] => [Op.localGet, i];
const set = (i: number): number[] => [Op.localSet, i];
const i32 = (v: number): number[] => [Op.i32Const, ...sleb(v)];
const simd = (op: number, ...rest: number[]): number[] => [Op.simd, ...leb(op), ...rest];
const MEMARG = [0, 0]; // alignment hint 2^0, offset 0
const v128Load = simd(0x00, ...MEMARG);
const v128Store = simd(0x0b, ...MEMARG);
const f32x4Splat = simd(0x13);
const f32x4Add = simd(0xe4);
const f32x4Mul = simd(0xe6);
const lane = (i: number): number[] => simd(0x1f, i);
const f32Load = [Op.f32Load, 2, 0];
const f32Store = [Op.f32Store, 2, 0];
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
    ...addr(target, J), ...v128Load,
    ...get(V), ...addr(source, J), ...v128Load, ...f32x4Mul,
    ...f32x4Add, ...v128Store,
  ];
  const scalarStep = [
    ...addr(target, J),
    ...addr(target, J), ...f32Load,
    ...get(S), ...addr(source, J), ...f32Load, Op.f32Mul,
    Op.f32Add, ...f32Store,
  ];
  const rowBody = [
    ...addr(get(P1), K), ...f32Load, [Op.localTee, S], ...f32x4Splat, ...set(V),
    ...rowOffset,
    ...forLoop(J, get(N4), 4, vectorStep),
    ...forLoop(J, get(N), 1, scalarStep, false),
  ].flat();
  return [...prologue, ...forLoop(K, get(H), 1, rowBody)];
}

/** out[k] = Σ_j W[k, j] · x[j]: four partial sums per lane, added at the end of the row. */
function dotRows(): number[] {
  const vectorStep = [...get(V), ...addr(rowBase(P2), J), ...v128Load, ...addr(get(P1), J), ...v128Load, ...f32x4Mul, ...f32x4Add, ...set(V)];
  const scalarStep = [...get(S), ...addr(rowBase(P2), J), ...f32Load, ...addr(get(P1), J), ...f32Load, Op.f32Mul, Op.f32Add, ...set(S)];
  const rowBody = [
    ...rowOffset,
    ...simd(0x0c, ...new Array(16).fill(0)), ...set(V), // v128.const 0
    ...forLoop(J, get(N4), 4, vectorStep),
    ...get(V), ...lane(0), ...get(V), ...lane(1), Op.f32Add, ...get(V), ...lane(2), Op.f32Add, ...get(V), ...lane(3), Op.f32Add, ...set(S),
    ...forLoop(J, get(N), 1, scalarStep, false),
    ...addr(get(P0), K), ...get(S), ...f32Store,
  ];
  return [...prologue, ...forLoop(K, get(H), 1, rowBody)];
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

const name = (s: string): number[] => [...leb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

function assemble(): Uint8Array<ArrayBuffer> {
  const functions: [string, number[]][] = [
    ['gemvAcc', axpyRows(false)],
    ['gemvT', dotRows()],
    ['ger', axpyRows(true)],
  ];
  const locals = [3, 4, 0x7f, 1, 0x7d, 1, 0x7b]; // 4 × i32, 1 × f32, 1 × v128
  const bodies = functions.map(([, code]) => {
    const body = [...locals, ...code, Op.end];
    return [...leb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]), // one type: (i32 × 5) → ()
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 1]), // import env.memory, min 1 page
    ...section(3, [functions.length, ...functions.map(() => 0)]),
    ...section(7, [functions.length, ...functions.flatMap(([n], i) => [...name(n), 0x00, i])]),
    ...section(10, [functions.length, ...bodies.flat()]),
  ]);
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
