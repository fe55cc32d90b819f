/**
 * One worker of the WebAssembly GEMM's pool (gemm-wasm.ts starts it): it instantiates the GEMM module on
 * the shared memory, says it is ready, and then, each time the caller bumps the generation slot, takes
 * units of the call until none is left. It leaves when its quit slot is set.
 */
import { workerData } from 'node:worker_threads';
import { GemmThread, Slot, type GemmExports } from './gemm-wasm-kernel.ts';
import { serveCalls } from './worker-loop.ts';

const { memory, module, index } = workerData as { memory: WebAssembly.Memory; module: WebAssembly.Module; index: number };
const instance = new WebAssembly.Instance(module, { env: { memory } });
const thread = new GemmThread(memory, instance.exports as unknown as GemmExports);
const control = thread.control;

serveCalls(control, Slot, index, () => thread.takeUnits(index));
