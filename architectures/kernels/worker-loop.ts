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
