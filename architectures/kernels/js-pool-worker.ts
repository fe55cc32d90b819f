/**
 * One worker of a JavaScript kernel pool (js-pool.ts starts it): it imports the pool's tasks module,
 * says it is ready, and then, each time the caller bumps the generation slot, takes pieces of the call
 * until none is left. It leaves when its quit slot is set.
 */
import { workerData } from 'node:worker_threads';
import { Slot, takePieces, taskList, type PoolTask } from './js-pool.ts';

const { memory, tasksUrl, index } = workerData as { memory: WebAssembly.Memory; tasksUrl: string; index: number };
const { tasks } = taskList((await import(tasksUrl)) as { POOL_TASKS: Record<string, PoolTask> });
const control = new Int32Array(memory.buffer, 0, Slot.quit + 64);

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
  takePieces(memory, tasks);
}
