/** What the paper suites share: the papers they cite, time units, and the spec and accuracy helpers their runs and findings are written with. */
import type { ResultRow } from '../../results/schema.ts';
import { bestOf, bestOverSeeds, type Reading } from '../../findings.ts';
import type { RunSpecInput, TrainingSettings } from '../../spec.ts';
import type { Scale } from '../types.ts';

export const MAMBA_PAPER = 'Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces"';
export const ZOOLOGY_PAPER = 'Arora et al. 2023, "Zoology: Measuring and Improving Recall in Efficient Language Models"';
export const SCAN_PAPER = 'Lake & Baroni 2018, "Generalization without Systematicity" (ICML)';

export const MINUTE = 60;
export const DAY = 24 * 3600;

export type Training = Partial<TrainingSettings>;

export function spec(suite: string, arch: string, preset: 'nano' | 'micro' | 'small' | null, config: Record<string, unknown>, task: string, taskParams: Record<string, unknown>, training: Training, timeLimitS: number): RunSpecInput {
  return { suite, arch, preset, config, task, taskParams, training, seed: 0, timeLimitS };
}

/**
 * The seeds each run of a paper suite is repeated over: two at CPU scale, so every judged figure is a
 * mean with a spread (a suite may pass three where its hour allows); one at the paper's scale, whose runs
 * take GPU-days.
 */
export const seedsFor = (scale: Scale, cpuSeeds = 2): number[] => Array.from({ length: scale === 'cpu' ? cpuSeeds : 1 }, (_, i) => i);

/** Each spec once per seed. */
export const withSeeds = (specs: readonly RunSpecInput[], seeds: readonly number[]): RunSpecInput[] => specs.flatMap((s) => seeds.map((seed) => ({ ...s, seed })));

/**
 * The accuracy of a named run (or the best of a sweep of runs that differ in training settings) on the
 * whole test split or a slice of it, as the mean over `seeds` with each seed's value kept.
 */
export function accuracyOf(rows: ResultRow[], runs: RunSpecInput | readonly RunSpecInput[], seeds: readonly number[], slice: string | null = null, metric = 'accuracy'): Reading | null {
  const sweep = Array.isArray(runs) ? runs : [runs as RunSpecInput];
  return bestOverSeeds(rows, sweep, seeds, (runRows) => bestOf(runRows, metric, slice));
}
