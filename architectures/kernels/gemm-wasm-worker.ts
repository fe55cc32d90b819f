/**
 * One worker of the WebAssembly GEMM's pool (gemm-wasm.ts starts it): it instantiates the GEMM module on
 * the shared memory, says it is ready, and then, each time the caller bumps the generation slot, takes
 * units of the call until none is left. It leaves when its quit slot is set.
 */
import { workerData } from 'node:worker_threads';
import { GemmThread, Slot, type GemmExports } from './gemm-wasm-kernel.ts';

const { memory, module, index } = workerData as { memory: WebAssembly.Memory; module: WebAssembly.Module; index: number };
const instance = new WebAssembly.Instance(module, { env: { memory } });
const thread = new GemmThread(memory, instance.exports as unknown as GemmExports);
const control = thread.control;

// read the generation before saying ready, so a call started right after cannot be missed
let generation = Atomics.load(control, Slot.generation);
Atomics.store(control, Slot.ready + index, 1);
Atomics.notify(control, Slot.ready + index);

for (;;) {
  Atomics.wait(control, Slot.generation, generation);
  if (Atomics.load(control, Slot.quit + index) === 1) break;
  const now = Atomics.load(control, Slot.generation);
  if (now === generation) continue;
  generation = now;
  thread.takeUnits(index);
}
