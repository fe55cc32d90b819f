/**
 * The WebAssembly SIMD GEMM's compute, shared by the calling thread and the pool's workers (gemm-wasm.ts
 * owns the pool and the copies in and out). Everything here works on one shared WebAssembly memory:
 *
 *   control block   Int32 parameters of the current call, written by the caller before it wakes the pool
 *   scratch         one region per thread: an edge tile, and the packed B block when transB
 *   A, B, C         the operands, batch entries back to back (one entry where the stride is 0)
 *
 * C is cut into units (batch entry × block of columns × block of rows); each thread takes the next unit
 * from a shared counter (compare-exchange) until none is left, so no two threads write the same C element,
 * and a thread the OS holds back (a busy machine) leaves its units to the others instead of stalling the
 * call: the caller waits for the units to be done, not for every worker to have woken.
 * Within a unit, k runs in blocks of KC; each block makes one micro-kernel call for the unit's whole
 * tiles and one per four rows for the tiles at its edges (sizes that are not multiples of the tile).
 *
 * The micro-kernel (`rowTiles`) keeps a 4 × 8 tile of C in eight f32x4 accumulators and, per step of k,
 * broadcasts four A values (one per row) against two vectors of eight B values: 16 multiplies and 16
 * adds (SIMD128 has no fused multiply-add without relaxed SIMD). It reads A in place through four row
 * pointers that advance by a stride, so both A layouts (rows of k, or transA's columns) need no packing;
 * it reads B in place when B is (k, n) and from a packed (kc, 8) panel per tile when transB.
 */
import {
  Op, Type, VOID, assembleModule, f32x4Add, f32x4Mul, get, i32, set, tee, v128Load, v128Load32Splat, v128Store, v128Zero,
} from './wasm-asm.ts';

/** Rows and columns of the register tile. */
export const TILE_M = 4;
export const TILE_N = 8;

// rowTiles(a0, a1, a2, a3, aStep, b, bStep, bTileStride, c, ldc, kc, tiles, accumulate, panels, aPanelStep),
// all bytes or counts: for panel q < panels (four rows of C each) and tile t < tiles,
// C[4q + r][8t .. 8t+8] (=|+=) Σ_p A_r[p] · B_t[p][0..8], where A_r[p] is at a_r + q·aPanelStep + p·aStep,
// B_t[p] at b + t·bTileStride + p·bStep, and C row 4q + r at c + (4q + r)·ldc.
const [A0, A1, A2, A3, A_STEP, B, B_STEP, B_TILE, C, LDC, KC, TILES, ACCUMULATE, PANELS, A_PANEL] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
const [PA0, PA1, PA2, PA3, PB, P, ROW, BT, CT, TL] = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
const ACC = 25; // eight v128 accumulators: row r, half h at ACC + 2r + h
const [BV0, BV1, AV] = [33, 34, 35];

const add = (local: number, step: number[]): number[] => [...get(local), ...step, Op.i32Add, ...set(local)];
const countDown = (local: number): number[] => [...get(local), ...i32(1), Op.i32Sub, ...tee(local)];

function rowTilesBody(): number[] {
  const rowPointers = [PA0, PA1, PA2, PA3];
  const kStep = [
    ...get(PB), ...v128Load(0), ...set(BV0),
    ...get(PB), ...v128Load(16), ...set(BV1),
    ...rowPointers.flatMap((pa, r) => [
      ...get(pa), ...v128Load32Splat(), ...set(AV),
      ...get(ACC + 2 * r), ...get(AV), ...get(BV0), ...f32x4Mul, ...f32x4Add, ...set(ACC + 2 * r),
      ...get(ACC + 2 * r + 1), ...get(AV), ...get(BV1), ...f32x4Mul, ...f32x4Add, ...set(ACC + 2 * r + 1),
    ]),
    ...rowPointers.flatMap((pa) => add(pa, get(A_STEP))),
    ...add(PB, get(B_STEP)),
  ];
  const storeRows = (accumulate: boolean): number[] =>
    [0, 1, 2, 3].flatMap((r) => [
      ...(r === 0 ? [...get(CT), ...set(ROW)] : add(ROW, get(LDC))),
      ...[0, 1].flatMap((h) => [
        ...get(ROW),
        ...get(ACC + 2 * r + h),
        ...(accumulate ? [...get(ROW), ...v128Load(16 * h), ...f32x4Add] : []),
        ...v128Store(16 * h),
      ]),
    ]);
  const tile = [
    ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((i) => [...v128Zero, ...set(ACC + i)]),
    ...get(A0), ...set(PA0), ...get(A1), ...set(PA1), ...get(A2), ...set(PA2), ...get(A3), ...set(PA3),
    ...get(BT), ...set(PB),
    ...get(KC), ...set(P),
    Op.loop, VOID, ...kStep, ...countDown(P), Op.brIf, 0, Op.end,
    ...get(ACCUMULATE), Op.if, VOID, ...storeRows(true), Op.else, ...storeRows(false), Op.end,
    ...add(BT, get(B_TILE)),
    ...add(CT, i32(TILE_N * 4)),
  ];
  const panel = [
    ...get(B), ...set(BT), ...get(C), ...set(CT), ...get(TILES), ...set(TL),
    Op.loop, VOID, ...tile, ...countDown(TL), Op.brIf, 0, Op.end,
    ...[A0, A1, A2, A3].flatMap((a) => add(a, get(A_PANEL))),
    ...add(C, [...get(LDC), ...i32(2), Op.i32Shl]),
  ];
  return [Op.loop, VOID, ...panel, ...countDown(PANELS), Op.brIf, 0, Op.end];
}

/** The GEMM module, importing a shared memory of at most `maximumPages` pages. */
export function assembleGemmModule(maximumPages: number): Uint8Array<ArrayBuffer> {
  return assembleModule(
    [{ name: 'rowTiles', params: 15, locals: [[10, Type.i32], [11, Type.v128]], body: rowTilesBody() }],
    { shared: true, maximumPages },
  );
}

export interface GemmExports {
  rowTiles(a0: number, a1: number, a2: number, a3: number, aStep: number, b: number, bStep: number, bTileStride: number,
    c: number, ldc: number, kc: number, tiles: number, accumulate: number, panels: number, aPanelStep: number): void;
}

// ---------------------------------------------------------------------------------------------------
// The control block: Int32 slots at the start of the memory.

export const Slot = {
  generation: 0, // bumped by the caller to wake the pool for a call
  unitsDone: 1, // units of the current call finished, by any thread
  error: 2, // set by a thread whose unit threw
  batch: 3, m: 4, n: 5, k: 6, transA: 7, transB: 8,
  a: 9, strideA: 10, b: 11, strideB: 12, c: 13, // float offsets; C entries are m·n apart
  blockM: 14, blockN: 15, blockK: 16, units: 17,
  scratch: 18, scratchFloats: 19, // thread t's scratch starts at scratch + t·scratchFloats
  next: 20, // the call's tag and the next unit to take: tag << UNIT_BITS | unit
  ready: 32, // ready + t: worker t has instantiated the module and waits (t ≥ 1)
  quit: 96, // quit + t: worker t should leave its loop
} as const;
/** Worker slots above are indexed up to this many threads. */
export const MAX_THREADS = 64;
export const CONTROL_BYTES = 4 * (Slot.quit + MAX_THREADS);
/** The unit field of the `next` slot; a call has fewer units than UNIT_MASK, which means "none to take". */
export const UNIT_BITS = 22;
export const UNIT_MASK = (1 << UNIT_BITS) - 1;

/**
 * The caller's side of starting a call, in the order that keeps a late worker safe: a worker takes a unit
 * only by a compare-exchange on `next` from the value it read before it read the parameters, so closing
 * `next` first makes any take that started before the parameters change fail.
 */
export function openCall(control: Int32Array, tag: number, params: [slot: number, value: number][]): void {
  const tagged = (tag & ((1 << (32 - UNIT_BITS)) - 1)) << UNIT_BITS;
  Atomics.store(control, Slot.next, tagged | UNIT_MASK);
  for (const [slot, value] of params) Atomics.store(control, slot, value);
  Atomics.store(control, Slot.unitsDone, 0);
  Atomics.store(control, Slot.error, 0);
  Atomics.store(control, Slot.next, tagged);
}

/** One thread's view of the shared memory and its instance. */
export class GemmThread {
  private f32: Float32Array;
  readonly control: Int32Array;

  constructor(private readonly memory: WebAssembly.Memory, private readonly kernel: GemmExports) {
    this.f32 = new Float32Array(memory.buffer);
    this.control = new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4);
  }

  /**
   * Take units of the open call until none is left, as thread `t`. A worker that wakes late finds none
   * and returns; the caller never waits for it, only for the units.
   */
  takeUnits(t: number): void {
    const s = this.control;
    this.packedKey = '';
    for (;;) {
      const next = Atomics.load(s, Slot.next);
      const u = next & UNIT_MASK;
      const units = Atomics.load(s, Slot.units);
      if (u >= units) return;
      if (Atomics.compareExchange(s, Slot.next, next, next + 1) !== next) continue;
      if (this.f32.length * 4 !== this.memory.buffer.byteLength) this.f32 = new Float32Array(this.memory.buffer);
      const [m, n, blockM, blockN] = [s[Slot.m], s[Slot.n], s[Slot.blockM], s[Slot.blockN]];
      const rowBlocks = Math.ceil(m / blockM);
      const colBlocks = Math.ceil(n / blockN);
      const entry = Math.floor(u / (colBlocks * rowBlocks));
      const colBlock = Math.floor(u / rowBlocks) % colBlocks;
      const rowBlock = u % rowBlocks;
      try {
        this.unit(t, entry, rowBlock * blockM, Math.min(m, (rowBlock + 1) * blockM), colBlock * blockN, Math.min(n, (colBlock + 1) * blockN));
      } catch {
        Atomics.store(s, Slot.error, 1);
      }
      if (Atomics.add(s, Slot.unitsDone, 1) + 1 === units) Atomics.notify(s, Slot.unitsDone);
    }
  }

  /** Which B block the scratch holds packed (transB), so consecutive units of one block pack it once. */
  private packedKey = '';

  private unit(t: number, entry: number, r0: number, r1: number, c0: number, c1: number): void {
    const s = this.control;
    const f32 = this.f32;
    const [m, n, k, transA, transB, blockK] = [s[Slot.m], s[Slot.n], s[Slot.k], s[Slot.transA] === 1, s[Slot.transB] === 1, s[Slot.blockK]];
    const aEntry = s[Slot.a] + entry * s[Slot.strideA];
    const bEntry = s[Slot.b] + entry * s[Slot.strideB];
    const cEntry = s[Slot.c] + entry * m * n;
    const scratch = s[Slot.scratch] + t * s[Slot.scratchFloats];
    const edge = scratch; // TILE_M × blockN floats
    const packed = scratch + TILE_M * s[Slot.blockN]; // blockK × blockN floats, tile-major: [tile][p][8]
    const cols = c1 - c0;
    const tiles = Math.ceil(cols / TILE_N);
    const fullTiles = Math.floor(cols / TILE_N);
    for (let p0 = 0; p0 < k; p0 += blockK) {
      const kc = Math.min(blockK, k - p0);
      const accumulate = p0 > 0 ? 1 : 0;
      let b: number, bStep: number, bTile: number;
      if (transB) {
        const key = `${entry},${c0},${p0}`;
        if (key !== this.packedKey) {
          this.packedKey = key;
          let o = packed;
          for (let j = 0; j < tiles; j++) {
            for (let p = 0; p < kc; p++) {
              for (let q = 0; q < TILE_N; q++) {
                const col = c0 + j * TILE_N + q;
                f32[o++] = col < c1 ? f32[bEntry + col * k + p0 + p] : 0;
              }
            }
          }
        }
        [b, bStep, bTile] = [packed * 4, TILE_N * 4, kc * TILE_N * 4];
      } else {
        // columns past n in the last tile read the next row (or the padding after B) and are discarded
        [b, bStep, bTile] = [(bEntry + p0 * n + c0) * 4, n * 4, TILE_N * 4];
      }
      const aStep = transA ? m * 4 : 4;
      const aPanelStep = 4 * TILE_M * (transA ? 1 : k);
      // rows past r1 repeat the last row; their results land in the edge tile and are discarded
      const rowPointers = (r: number): [number, number, number, number] => {
        const at = (q: number): number => {
          const row = Math.min(r + q, r1 - 1);
          return 4 * (transA ? aEntry + p0 * m + row : aEntry + row * k + p0);
        };
        return [at(0), at(1), at(2), at(3)];
      };
      const fullPanels = Math.floor((r1 - r0) / TILE_M);
      if (fullPanels > 0 && fullTiles > 0) {
        const [a0, a1, a2, a3] = rowPointers(r0);
        this.kernel.rowTiles(a0, a1, a2, a3, aStep, b, bStep, bTile, (cEntry + r0 * n + c0) * 4, n * 4, kc, fullTiles, accumulate, fullPanels, aPanelStep);
      }
      // the tiles the call above left: the last columns of full panels, every column of a last short panel
      for (let r = r0; r < r1; r += TILE_M) {
        const rows = Math.min(TILE_M, r1 - r);
        const edgeFrom = rows === TILE_M ? fullTiles : 0;
        if (edgeFrom === tiles) continue;
        const [a0, a1, a2, a3] = rowPointers(r);
        const edgeCols = cols - edgeFrom * TILE_N;
        const ldEdge = (tiles - edgeFrom) * TILE_N;
        const cEdge = cEntry + r * n + c0 + edgeFrom * TILE_N;
        if (accumulate) {
          for (let q = 0; q < rows; q++) f32.copyWithin(edge + q * ldEdge, cEdge + q * n, cEdge + q * n + edgeCols);
        }
        this.kernel.rowTiles(a0, a1, a2, a3, aStep, b + edgeFrom * bTile, bStep, bTile, edge * 4, ldEdge * 4, kc, tiles - edgeFrom, accumulate, 1, 0);
        for (let q = 0; q < rows; q++) f32.copyWithin(cEdge + q * n, edge + q * ldEdge, edge + q * ldEdge + edgeCols);
      }
    }
  }
}
