/**
 * A pool of worker threads that run a fallback kernel's JavaScript pieces over one shared
 * WebAssembly.Memory: how the kernels without a native build reach every core. (The WebAssembly GEMM has
 * its own pool, gemm-wasm.ts; this one follows its protocol for plain JavaScript tasks.)
 *
 * A kernel copies its operands into the memory (`reserve`, then `floats`), describes the call in a few
 * numbers, and calls `run(task, pieces, params)`: the workers and the calling thread take pieces
 * 0 … pieces−1 from a shared counter until none is left, each running `POOL_TASKS[task](buffer, params,
 * piece)` of the tasks module the pool was made for (which the workers import; it must not import
 * tfjs). A piece writes only its own outputs, so results never depend on which thread ran it or on how
 * many threads there are. The call returns when every piece is done; a worker the OS holds back leaves
 * its pieces to the others. Workers are unref'd and never keep a process alive.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { kernelModule, workerBootstrap } from './worker-loop.ts';

/** One piece of a task: `buffer` is the shared memory's current buffer, `params` the call's numbers. */
export type PoolTask = (buffer: ArrayBufferLike, params: Float64Array, piece: number) => void;

/** The control block's Int32 slots (js-pool-worker.ts reads them too). */
export const Slot = {
  generation: 0, // bumped by the caller to wake the workers for a call
  next: 1, // the call's tag and the next piece to take: tag << PIECE_BITS | piece
  pieces: 2,
  done: 3,
  error: 4,
  task: 5,
  ready: 16, // ready + t: worker t has loaded the tasks and waits (1), or failed to (−1)
  quit: 16 + 64, // quit + t: worker t should leave
} as const;
const MAX_THREADS = 64;
const PIECE_BITS = 22;
const PIECE_MASK = (1 << PIECE_BITS) - 1;
const PARAMS_BYTE = 1024;
const MAX_PARAMS = 128;
/** Where a kernel's operands may start (bytes): after the control block and the parameters. */
export const POOL_DATA_BYTE = PARAMS_BYTE + 8 * MAX_PARAMS;
const PAGE_BYTES = 65536;
const MAXIMUM_PAGES = 32768;
const WORKER_START_MS = 60_000;

const WORKER_BOOTSTRAP = workerBootstrap(PARAMS_BYTE / 4, Slot.ready);

/**
 * Take pieces of the open call until none is left; returns the first error a piece threw here. A piece is
 * claimed by a compare-exchange on `next` from the value read before; the caller closes `next` before it
 * changes a call's parameters, so a late thread can never run a piece of one call with another's.
 */
export function takePieces(memory: WebAssembly.Memory, tasks: PoolTask[]): unknown {
  const control = new Int32Array(memory.buffer, 0, PARAMS_BYTE / 4);
  let firstError: unknown = null;
  for (;;) {
    const next = Atomics.load(control, Slot.next);
    const piece = next & PIECE_MASK;
    if (piece >= Atomics.load(control, Slot.pieces)) return firstError;
    if (Atomics.compareExchange(control, Slot.next, next, next + 1) !== next) continue;
    try {
      const buffer = memory.buffer;
      tasks[Atomics.load(control, Slot.task)](buffer, new Float64Array(buffer, PARAMS_BYTE, MAX_PARAMS), piece);
    } catch (error) {
      firstError ??= error;
      Atomics.store(control, Slot.error, 1);
    }
    if (Atomics.add(control, Slot.done, 1) + 1 === Atomics.load(control, Slot.pieces)) Atomics.notify(control, Slot.done);
  }
}

/** The tasks of a tasks module, in the order both sides index them. */
export function taskList(module: { POOL_TASKS: Record<string, PoolTask> }): { names: string[]; tasks: PoolTask[] } {
  const names = Object.keys(module.POOL_TASKS).sort();
  return { names, tasks: names.map((n) => module.POOL_TASKS[n]) };
}

export interface JsPool {
  threads(): number;
  setThreads(n: number): void;
  /** Make the memory at least `bytes` long (growing replaces the buffer: take views after this). */
  reserve(bytes: number): void;
  readonly memory: WebAssembly.Memory;
  /** Run `task` over pieces 0 … pieces−1 with these parameters (at most 128). */
  run(task: string, pieces: number, params: number[]): void;
}

const pools: JsPool[] = [];
let requestedThreads = os.availableParallelism();

/** Threads every pool runs on, the calling thread included (the harness passes --threads). */
export function setJsPoolThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`threads must be a whole number ≥ 1, got ${n}`);
  requestedThreads = n;
  for (const pool of pools) pool.setThreads(n);
}

/** Threads the pools run on. */
export function jsPoolThreads(): number {
  return requestedThreads;
}

/**
 * A pool for the tasks module at `tasksUrl` (a file URL; `module` is the same module, imported by the
 * caller). Where shared memory is missing it runs every piece on the calling thread.
 */
export function createJsPool(tasksUrl: string, module: { POOL_TASKS: Record<string, PoolTask> }): JsPool {
  const shared = typeof SharedArrayBuffer === 'function';
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAXIMUM_PAGES, shared } as WebAssembly.MemoryDescriptor);
  const { names, tasks } = taskList(module);
  const control = () => new Int32Array(memory.buffer, 0, PARAMS_BYTE / 4);
  const workers: Worker[] = []; // workers[i] is thread i + 1
  let threads = 1;
  let generation = 0;
  let failure: Error | null = null;

  const startWorker = (index: number): Worker => {
    const c = control();
    Atomics.store(c, Slot.ready + index, 0);
    Atomics.store(c, Slot.quit + index, 0);
    const entry = kernelModule('js-pool-worker', import.meta.url);
    const worker = new Worker(WORKER_BOOTSTRAP, {
      eval: true,
      execArgv: [],
      workerData: { tsx: entry.tsx, entry: entry.url, tasksUrl, memory, index },
    });
    worker.on('error', (error) => {
      failure = error;
    });
    worker.unref();
    Atomics.wait(c, Slot.ready + index, 0, WORKER_START_MS);
    const ready = Atomics.load(c, Slot.ready + index);
    if (ready !== 1) {
      void worker.terminate();
      throw new Error(`kernel worker ${index} ${ready === -1 ? `failed to load ${tasksUrl}` : `did not start within ${WORKER_START_MS / 1000} s`}; run with --threads 1 to use the calling thread alone`);
    }
    return worker;
  };

  const stopWorkers = (keep: number): void => {
    const c = control();
    while (workers.length > keep) {
      workers.pop();
      Atomics.store(c, Slot.quit + workers.length + 1, 1);
    }
    Atomics.notify(c, Slot.generation);
  };

  const pool: JsPool = {
    memory,
    threads: () => threads,
    setThreads(n: number) {
      if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new Error(`pool threads must be an integer from 1 to ${MAX_THREADS}; got ${n}`);
      threads = shared ? n : 1;
      stopWorkers(threads - 1);
    },
    reserve(bytes: number) {
      const have = memory.buffer.byteLength;
      if (bytes > MAXIMUM_PAGES * PAGE_BYTES) throw new Error(`a kernel call needs ${bytes} bytes, more than the pool memory's 2 GiB; use a smaller batch or length`);
      if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
    },
    run(task: string, pieces: number, params: number[]) {
      const index = names.indexOf(task);
      if (index < 0) throw new Error(`no pool task '${task}' (have ${names.join(', ')})`);
      if (params.length > MAX_PARAMS) throw new Error(`pool task '${task}': ${params.length} parameters, at most ${MAX_PARAMS}`);
      if (pieces <= 0) return;
      if (pieces > PIECE_MASK - 1) throw new Error(`pool task '${task}': ${pieces} pieces, at most ${PIECE_MASK - 1}`);
      if (failure) throw new Error(`a kernel worker stopped: ${(failure as Error).message}; run with --threads 1 to use the calling thread alone`);
      const wake = threads > 1 && pieces > 1;
      if (wake) while (workers.length < threads - 1) workers.push(startWorker(workers.length + 1));
      const c = control();
      generation += 1;
      const tag = (generation & ((1 << (32 - PIECE_BITS)) - 1)) << PIECE_BITS;
      Atomics.store(c, Slot.next, tag | PIECE_MASK); // closed while the parameters change
      new Float64Array(memory.buffer, PARAMS_BYTE, MAX_PARAMS).set(params);
      Atomics.store(c, Slot.task, index);
      Atomics.store(c, Slot.pieces, pieces);
      Atomics.store(c, Slot.done, 0);
      Atomics.store(c, Slot.error, 0);
      Atomics.store(c, Slot.next, tag);
      if (wake) {
        Atomics.store(c, Slot.generation, generation);
        Atomics.notify(c, Slot.generation);
      }
      const own = takePieces(memory, tasks);
      for (let done = Atomics.load(c, Slot.done); done < pieces; done = Atomics.load(c, Slot.done)) Atomics.wait(c, Slot.done, done);
      if (own !== null) throw own;
      if (Atomics.load(c, Slot.error) !== 0) throw new Error(`a piece of '${task}' failed on a kernel worker; run with --threads 1 to see the error on the calling thread`);
    },
  };
  pool.setThreads(requestedThreads);
  pools.push(pool);
  return pool;
}
