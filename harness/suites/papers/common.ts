/** What the paper suites share: the papers they cite, time units, and the spec and accuracy helpers their runs and findings are written with. */
import type { ResultRow } from '../../results/schema.ts';
import { bestOf, type Reading, rowsOfSpec } from '../../findings.ts';
import type { RunSpecInput, TrainingSettings } from '../../spec.ts';

export const MAMBA_PAPER = 'Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces"';
export const ZOOLOGY_PAPER = 'Arora et al. 2023, "Zoology: Measuring and Improving Recall in Efficient Language Models"';
export const SCAN_PAPER = 'Lake & Baroni 2018, "Generalization without Systematicity" (ICML)';

export const MINUTE = 60;
export const DAY = 24 * 3600;

export type Training = Partial<TrainingSettings>;

export function spec(suite: string, arch: string, preset: 'nano' | 'micro' | 'small' | null, config: Record<string, unknown>, task: string, taskParams: Record<string, unknown>, training: Training, timeLimitS: number): RunSpecInput {
  return { suite, arch, preset, config, task, taskParams, training, seed: 0, timeLimitS };
}

/** The accuracy of one named run, on the whole test split or a slice of it. */
export const accuracyOf = (rows: ResultRow[], run: RunSpecInput, slice: string | null = null, metric = 'accuracy'): Reading | null => bestOf(rowsOfSpec(rows, run), metric, slice);
