/**
 * The WebAssembly SIMD GEMM on every core: the fallback CPU matmul where the native addon is not built.
 * The compute (micro-kernel, blocking, the split of C into units) is gemm-wasm-kernel.ts; this file owns
 * the shared memory, the pool of worker threads that run on it, and the copies in and out.
 *
 * A call copies A and B into the shared memory, writes the call's parameters into its control block,
 * wakes the workers (Atomics.notify on the generation slot), takes units itself on the calling thread,
 * waits (Atomics.wait) until every unit is done, and copies C out. The pool is made on
 * the first call that needs it and kept; its workers are unref'd, so they never keep a process alive.
 * A call is cut for as many threads as get MIN_MACS_PER_THREAD multiply-adds each; one too small to
 * repay waking the pool runs on the calling thread alone.
 */
import { Worker } from 'node:worker_threads';
import type { GemmArgs, GemmFn } from './gemm.ts';
import { CONTROL_BYTES, GemmThread, MAX_THREADS, Slot, TILE_M, TILE_N, UNIT_MASK, assembleGemmModule, openCall, type GemmExports } from './gemm-wasm-kernel.ts';
import { kernelModule, workerBootstrap } from './worker-loop.ts';

export interface WasmGemm extends GemmFn {
  /** Threads a call runs on, the calling thread included. */
  threads(): number;
  /** Run on `n` threads from the next call on (1 = the calling thread alone); starts or stops workers. */
  setThreads(n: number): void;
  /** Stop the workers now (they would also end with the process). The GEMM still runs, on one thread. */
  close(): void;
}

const PAGE_BYTES = 65536;
/** 2 GiB: byte offsets stay positive i32s. Larger batches run in chunks of entries. */
const MAXIMUM_PAGES = 32768;
const BLOCK_K = 256;
/**
 * A call is cut for a thread only where that thread gets at least this many multiply-adds (≈ 14 µs of
 * work at the 19 GMAC/s one thread reaches). Measured on the 2-core machine: a sleeping worker runs
 * 4 µs (median; 8–10 at p90) after the caller's notify when a core is free, and cutting a call into the
 * pool's smaller units costs the caller 6–7 µs even when it ends up doing them all; a share must cover
 * both with room to spare. Under the old rule (2¹⁷ multiply-adds in all) the LSTM's per-step product,
 * (16 × 64) · (64 × 256) at batch 16 and hidden 64, was split and took 45 µs on 2 threads against 26 µs on one.
 */
const MIN_MACS_PER_THREAD = 1 << 18;
/** How long a starting worker may take to say it is ready (it loads TypeScript through tsx). */
const WORKER_START_MS = 60_000;

const WORKER_BOOTSTRAP = workerBootstrap(CONTROL_BYTES / 4, Slot.ready);

let compiled: WebAssembly.Module | null | undefined;

function compile(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (typeof SharedArrayBuffer !== 'function') return null;
  const bytes = assembleGemmModule(MAXIMUM_PAGES);
  if (!WebAssembly.validate(bytes)) return null;
  compiled = new WebAssembly.Module(bytes);
  return compiled;
}

/** The block sizes of one call: whole rows and up to 256 columns, cut smaller until every thread has several units. */
function blocks(batch: number, m: number, n: number, threads: number): { blockM: number; blockN: number } {
  let blockM = Math.ceil(m / TILE_M) * TILE_M;
  let blockN = Math.min(256, Math.ceil(n / TILE_N) * TILE_N);
  const units = (): number => batch * Math.ceil(m / blockM) * Math.ceil(n / blockN);
  const wanted = 8 * threads;
  while (units() < wanted && blockM > 16) blockM = Math.ceil(blockM / 2 / TILE_M) * TILE_M;
  while (units() < wanted && blockN > 32) blockN = Math.ceil(blockN / 2 / TILE_N) * TILE_N;
  return { blockM, blockN };
}

/** The threads a call of `macs` multiply-adds is cut for: as many of `threads` as get `minMacsPerThread` each, at least 1 (the caller). */
export function callThreads(macs: number, threads: number, minMacsPerThread = MIN_MACS_PER_THREAD): number {
  return Math.max(1, Math.min(threads, Math.floor(macs / minMacsPerThread)));
}

const align16 = (floats: number): number => Math.ceil(floats / 16) * 16;

/**
 * The WebAssembly GEMM on `options.threads` threads, or null where WebAssembly SIMD or shared memory
 * (SharedArrayBuffer) is missing; callers then use tfjs's own matmul or `gemmReference`.
 */
export function createWasmGemm(options: { threads: number; /** default MIN_MACS_PER_THREAD */ minMacsPerThread?: number }): WasmGemm | null {
  const module = compile();
  if (module === null) return null;
  const memory = new WebAssembly.Memory({ initial: 16, maximum: MAXIMUM_PAGES, shared: true });
  const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as GemmExports;
  const self = new GemmThread(memory, kernel);
  const control = self.control;
  const workers: Worker[] = []; // workers[i] is thread i + 1
  let threads = 1;
  let generation = 0;
  let workerFailure: Error | null = null;

  const checkThreads = (n: number): number => {
    if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new Error(`GEMM threads must be an integer from 1 to ${MAX_THREADS}; got ${n}`);
    return n;
  };

  const startWorker = (index: number): Worker => {
    Atomics.store(control, Slot.ready + index, 0);
    Atomics.store(control, Slot.quit + index, 0);
    const entry = kernelModule('gemm-wasm-worker', import.meta.url);
    const worker = new Worker(WORKER_BOOTSTRAP, {
      eval: true,
      execArgv: [], // the parent's flags (--input-type=module, say) would change how the bootstrap is read
      workerData: { tsx: entry.tsx, entry: entry.url, memory, module, index },
    });
    worker.on('error', (error) => {
      workerFailure = error;
    });
    worker.unref();
    // blocking here is safe: the worker starts on its own thread and needs nothing from this one
    Atomics.wait(control, Slot.ready + index, 0, WORKER_START_MS);
    const ready = Atomics.load(control, Slot.ready + index);
    if (ready !== 1) {
      void worker.terminate();
      const why = ready === -1 ? `failed to load ${entry.url}` : `did not start within ${WORKER_START_MS / 1000} s`;
      throw new Error(`GEMM worker ${index} ${why}; run with --threads 1 to use the calling thread alone`);
    }
    return worker;
  };

  const stopWorkers = (keep: number): void => {
    while (workers.length > keep) {
      workers.pop();
      Atomics.store(control, Slot.quit + workers.length + 1, 1);
    }
    Atomics.notify(control, Slot.generation);
  };

  /** Room for `floats` floats; growing replaces the buffer, which every thread re-reads at its next share. */
  const reserve = (floats: number): void => {
    const bytes = floats * 4;
    const have = memory.buffer.byteLength;
    if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
  };

  /** `sharers`: the threads the call's units are cut for (1: the calling thread alone, the pool left asleep). */
  const run = (args: GemmArgs, f32: () => Float32Array, first: number, count: number, sharers: number): void => {
    const { m, n, k, transA, transB, a, strideA, b, strideB, c, strideC } = args;
    const wake = sharers > 1;
    const { blockM, blockN } = blocks(count, m, n, sharers);
    const scratchFloats = align16(TILE_M * blockN + (transB ? BLOCK_K * blockN : 0));
    const entriesA = strideA === 0 ? 1 : count;
    const entriesB = strideB === 0 ? 1 : count;
    const scratch = CONTROL_BYTES / 4;
    // every pool thread gets scratch, even in a call that does not wake the pool: a late worker may join any call
    const aAt = align16(scratch + (workers.length + 1) * scratchFloats);
    const bAt = align16(aAt + entriesA * m * k);
    const cAt = align16(bAt + entriesB * k * n + TILE_N); // the padding: the last B row's edge tile reads past it
    reserve(cAt + count * m * n);
    const mem = f32();
    for (let e = 0; e < entriesA; e++) mem.set(a.subarray((first + e) * strideA, (first + e) * strideA + m * k), aAt + e * m * k);
    for (let e = 0; e < entriesB; e++) mem.set(b.subarray((first + e) * strideB, (first + e) * strideB + k * n), bAt + e * k * n);
    const rowBlocks = Math.ceil(m / blockM);
    const colBlocks = Math.ceil(n / blockN);
    generation += 1;
    openCall(control, generation, [
      [Slot.batch, count], [Slot.m, m], [Slot.n, n], [Slot.k, k], [Slot.transA, transA ? 1 : 0], [Slot.transB, transB ? 1 : 0],
      [Slot.a, aAt], [Slot.strideA, strideA === 0 ? 0 : m * k], [Slot.b, bAt], [Slot.strideB, strideB === 0 ? 0 : k * n], [Slot.c, cAt],
      [Slot.blockM, blockM], [Slot.blockN, blockN], [Slot.blockK, BLOCK_K], [Slot.units, count * rowBlocks * colBlocks],
      [Slot.scratch, scratch], [Slot.scratchFloats, scratchFloats],
    ]);
    if (wake) {
      Atomics.store(control, Slot.generation, generation);
      Atomics.notify(control, Slot.generation);
    }
    self.takeUnits(0);
    const units = count * rowBlocks * colBlocks;
    for (let done = Atomics.load(control, Slot.unitsDone); done < units; done = Atomics.load(control, Slot.unitsDone)) {
      Atomics.wait(control, Slot.unitsDone, done);
    }
    if (Atomics.load(control, Slot.error) !== 0) throw new Error('a GEMM worker failed in its unit of the call; run with --threads 1 to see the error on the calling thread');
    const out = f32();
    for (let e = 0; e < count; e++) c.set(out.subarray(cAt + e * m * n, cAt + (e + 1) * m * n), (first + e) * strideC);
  };

  const gemm = (args: GemmArgs): void => {
    const { batch, m, n, k, strideC, c } = args;
    if (batch === 0 || m === 0 || n === 0) return;
    if (k === 0) {
      for (let e = 0; e < batch; e++) c.fill(0, e * strideC, e * strideC + m * n);
      return;
    }
    if (workerFailure) throw new Error(`a GEMM worker stopped: ${workerFailure.message}; run with --threads 1 to use the calling thread alone`);
    const macs = batch * m * n * k;
    if (threads > 1 && workers.length < threads - 1) {
      while (workers.length < threads - 1) workers.push(startWorker(workers.length + 1));
    }
    const sharers = callThreads(macs, threads, options.minMacsPerThread);
    // entries per chunk so that one chunk fits the memory's maximum
    const fixed = CONTROL_BYTES / 4 + (workers.length + 1) * align16(TILE_M * 256 + BLOCK_K * 256) + 64
      + (args.strideA === 0 ? m * k : 0) + (args.strideB === 0 ? k * n : 0) + TILE_N;
    const perEntry = m * n + (args.strideA === 0 ? 0 : m * k) + (args.strideB === 0 ? 0 : k * n);
    // and so that its units (at most ⌈n / 256⌉ per entry once the batch alone keeps every thread busy) stay under UNIT_MASK
    const chunk = Math.min(Math.floor(((MAXIMUM_PAGES * PAGE_BYTES) / 4 - fixed) / perEntry), Math.floor((UNIT_MASK - 1) / Math.ceil(n / 256)));
    if (chunk < 1) throw new Error(`GEMM of one (${m} × ${k}) · (${k} × ${n}) entry needs more than the WebAssembly memory's ${MAXIMUM_PAGES * PAGE_BYTES / 2 ** 30} GiB; split the matmul`);
    let view = new Float32Array(memory.buffer);
    const f32 = (): Float32Array => {
      if (view.length * 4 !== memory.buffer.byteLength) view = new Float32Array(memory.buffer);
      return view;
    };
    for (let first = 0; first < batch; first += chunk) run(args, f32, first, Math.min(chunk, batch - first), sharers);
  };

  threads = checkThreads(options.threads);
  return Object.assign(gemm, {
    threads: () => threads,
    setThreads(n: number) {
      threads = checkThreads(n);
      stopWorkers(threads - 1);
    },
    close() {
      threads = 1;
      stopWorkers(0);
    },
  });
}
