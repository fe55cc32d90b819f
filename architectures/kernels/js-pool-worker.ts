/**
 * One worker of a JavaScript kernel pool (js-pool.ts starts it): it imports the pool's tasks module,
 * says it is ready, and then, each time the caller bumps the generation slot, takes pieces of the call
 * until none is left. It leaves when its quit slot is set.
 */
import { workerData } from 'node:worker_threads';
import { Slot, takePieces, taskList, type PoolTask } from './js-pool.ts';
import { serveCalls } from './worker-loop.ts';

const { memory, tasksUrl, index } = workerData as { memory: WebAssembly.Memory; tasksUrl: string; index: number };
const { tasks } = taskList((await import(tasksUrl)) as { POOL_TASKS: Record<string, PoolTask> });
const control = new Int32Array(memory.buffer, 0, Slot.quit + 64);

serveCalls(control, Slot, index, () => takePieces(memory, tasks));
