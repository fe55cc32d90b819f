/**
 * A tiny WebAssembly assembler: the opcodes, encodings and module layout the hand-written SIMD kernels
 * (simd.ts, gemm-wasm-kernel.ts) are built from, so no wasm toolchain is needed at install or run time.
 * Function bodies are plain byte arrays composed from the helpers below; `assembleModule` wraps them in
 * a module that imports one memory (`env.memory`) and exports every function by name.
 */

/** The core opcodes the kernels use (one byte each). */
export const Op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  f32Load: 0x2a, f32Store: 0x38, i32Const: 0x41,
  i32GeS: 0x4e, i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Shl: 0x74,
  f32Add: 0x92, f32Mul: 0x94,
} as const;

/** Block type of a block/loop/if that yields nothing. */
export const VOID = 0x40;
/** Value types, as they appear in signatures and local declarations. */
export const Type = { i32: 0x7f, f32: 0x7d, v128: 0x7b } as const;

/** Unsigned LEB128. */
export function leb(value: number): number[] {
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

/** Signed LEB128 (i32.const immediates). */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

export const get = (local: number): number[] => [Op.localGet, ...leb(local)];
export const set = (local: number): number[] => [Op.localSet, ...leb(local)];
export const tee = (local: number): number[] => [Op.localTee, ...leb(local)];
export const i32 = (value: number): number[] => [Op.i32Const, ...sleb(value)];
/** A memory immediate: alignment hint log2(bytes), then a constant byte offset added to the address. */
export const memarg = (alignLog2: number, offset = 0): number[] => [alignLog2, ...leb(offset)];
export const f32Load = (offset = 0): number[] => [Op.f32Load, ...memarg(2, offset)];
export const f32Store = (offset = 0): number[] => [Op.f32Store, ...memarg(2, offset)];

/** A SIMD instruction: the 0xfd prefix, its LEB opcode, and its immediates. */
export const simd = (opcode: number, ...immediates: number[]): number[] => [0xfd, ...leb(opcode), ...immediates];
export const v128Load = (offset = 0): number[] => simd(0x00, ...memarg(0, offset));
/** Loads one f32 and splats it to all four lanes. */
export const v128Load32Splat = (offset = 0): number[] => simd(0x09, ...memarg(2, offset));
export const v128Store = (offset = 0): number[] => simd(0x0b, ...memarg(0, offset));
export const v128Zero: number[] = simd(0x0c, ...new Array<number>(16).fill(0));
export const f32x4Splat: number[] = simd(0x13);
export const f32x4ExtractLane = (lane: number): number[] => simd(0x1f, lane);
export const f32x4Add: number[] = simd(0xe4);
export const f32x4Mul: number[] = simd(0xe6);

/** One exported function: `params` i32 parameters, no results, its extra locals as [count, type] runs. */
export interface WasmFunction {
  name: string;
  params: number;
  locals: [count: number, type: number][];
  body: number[];
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

const utf8 = (s: string): number[] => {
  const bytes = [...new TextEncoder().encode(s)];
  return [...leb(bytes.length), ...bytes];
};

/**
 * A module importing `env.memory` (at least one page; `shared` adds the maximum and the shared flag that
 * worker threads need to instantiate it on one memory) and exporting `functions` by name.
 */
export function assembleModule(functions: WasmFunction[], memory: { shared: false } | { shared: true; maximumPages: number }): Uint8Array<ArrayBuffer> {
  const arities = [...new Set(functions.map((f) => f.params))];
  const types = arities.flatMap((n) => [0x60, ...leb(n), ...new Array<number>(n).fill(Type.i32), 0]);
  const limits = memory.shared ? [0x03, ...leb(1), ...leb(memory.maximumPages)] : [0x00, ...leb(1)];
  const bodies = functions.flatMap((f) => {
    const body = [...leb(f.locals.length), ...f.locals.flatMap(([count, type]) => [...leb(count), type]), ...f.body, Op.end];
    return [...leb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...leb(arities.length), ...types]),
    ...section(2, [1, ...utf8('env'), ...utf8('memory'), 0x02, ...limits]),
    ...section(3, [...leb(functions.length), ...functions.flatMap((f) => leb(arities.indexOf(f.params)))]),
    ...section(7, [...leb(functions.length), ...functions.flatMap((f, i) => [...utf8(f.name), 0x00, ...leb(i)])]),
    ...section(10, [...leb(functions.length), ...bodies]),
  ]);
}
