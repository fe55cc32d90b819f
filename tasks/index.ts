/** The task registry: a typed object literal, one file per task. */
import type { Task } from './types.ts';
import { inductionHeads } from './induction-heads.ts';
import { listops } from './listops.ts';
import { fuzzyRecall, mqar, noisyRecall } from './mqar.ts';
import { inContextRecall } from './in-context-recall.ts';
import { compression } from './compression.ts';
import { memorization } from './memorization.ts';
import { selectiveCopying } from './selective-copying.ts';
import { scanLength, scanSimple } from './scan.ts';
import { enFr } from './en-fr.ts';
import { corpus } from './corpus.ts';

export const TASKS = {
  'selective-copying': selectiveCopying,
  'induction-heads': inductionHeads,
  mqar,
  'fuzzy-recall': fuzzyRecall,
  'noisy-recall': noisyRecall,
  'in-context-recall': inContextRecall,
  compression,
  memorization,
  listops,
  'scan-simple': scanSimple,
  'scan-length': scanLength,
  'en-fr': enFr,
  corpus,
} satisfies Record<string, Task>;

export type TaskName = keyof typeof TASKS;
