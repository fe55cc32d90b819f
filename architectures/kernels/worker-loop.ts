/**
 * The loop each worker of a kernel pool runs (the WebAssembly GEMM's and the JavaScript kernels'): say it
 * is ready, then, each time the caller bumps the generation slot, do its share of the call, until its quit
 * slot is set. Both pools lay out these three slots in their shared control words, at their own offsets.
 */
export interface WorkerSlots {
  generation: number;
  ready: number; // ready + index: this worker is ready (1)
  quit: number; // quit + index: this worker should leave (1)
}

export function serveCalls(control: Int32Array, slots: WorkerSlots, index: number, work: () => void): void {
  // read the generation before saying ready, so a call started right after cannot be missed
  let generation = Atomics.load(control, slots.generation);
  Atomics.store(control, slots.ready + index, 1);
  Atomics.notify(control, slots.ready + index);
  for (;;) {
    Atomics.wait(control, slots.generation, generation);
    if (Atomics.load(control, slots.quit + index) === 1) break;
    const now = Atomics.load(control, slots.generation);
    if (now === generation) continue;
    generation = now;
    work();
  }
}

/**
 * The module a pool's workers load, and how they load it. Run from source (the caller, whose
 * `import.meta.url` is `base`, is a .ts file read through tsx) it is the .ts file `name` beside the caller,
 * which a worker imports once it has registered tsx; in the bundle scripts/gpu-pack.sh builds (every
 * caller is inside seqarena.mjs) it is the entry `name`.mjs esbuild wrote beside it, imported as it is.
 */
export function kernelModule(name: string, base: string): { url: string; tsx: string | null } {
  if (base.endsWith('.ts')) return { url: new URL(`./${name}.ts`, base).href, tsx: import.meta.resolve('tsx/esm/api') };
  return { url: new URL(`./${name}.mjs`, base).href, tsx: null };
}

/**
 * The script a pool's worker starts from (`new Worker(it, { eval: true, workerData: { tsx, entry, memory,
 * index } })`): register tsx where `tsx` is set, import `entry`. A worker that fails to load says so through
 * its ready slot (−1) of the first `controlInts` Int32 words: its 'error' event cannot reach a caller
 * blocked waiting for it.
 */
export function workerBootstrap(controlInts: number, readySlot: number): string {
  return `
const { workerData } = require('node:worker_threads');
const registered = workerData.tsx ? import(workerData.tsx).then((tsx) => tsx.register()) : Promise.resolve();
registered.then(() => import(workerData.entry)).catch((error) => {
  const control = new Int32Array(workerData.memory.buffer, 0, ${controlInts});
  Atomics.store(control, ${readySlot} + workerData.index, -1);
  Atomics.notify(control, ${readySlot} + workerData.index);
  throw error;
});
`;
}
