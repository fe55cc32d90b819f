/** The task registry: a typed object literal, one file per task. */
import type { Task } from './types.ts';

export const TASKS = {
} satisfies Record<string, Task>;

export type TaskName = keyof typeof TASKS;
