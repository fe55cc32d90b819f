/**
 * Checkpoints of a training run, as nanoGPT keeps them: one plain record (weights, optimizer moments,
 * step, the per-step records and evaluations so far, the wall time spent) written atomically to
 * RESULTS_DIR/runs/<run_id>.checkpoint.json every N steps or every few minutes. A run that was killed
 * or timed out continues from it when retried (`bench --resume DIR --retry-failed`), with the same
 * result as a run that was never interrupted: the data stream is replayed to the saved step (it is a
 * function of the seed), the weights and moments are restored exactly. Dropout (off by default) draws
 * from tfjs's unseeded generator, so a run with dropout resumes, but not bit for bit.
 */
import fs from 'node:fs';
import type { AdamWState } from './optimizer.ts';
import { writeFileAtomic } from './results/io.ts';
import type { EvalRecord, StepRecord } from './train.ts';

export interface Checkpoint {
  runId: string;
  /** The next step to run. */
  step: number;
  weights: Float32Array[];
  optimizer: AdamWState;
  steps: StepRecord[];
  evals: EvalRecord[];
  peakTensorBytes: number;
  timeToTargetS: number | null;
  /** Training wall time spent before the checkpoint, in seconds. */
  wallSeconds: number;
}

/** When to write checkpoints, and where. */
export interface CheckpointPlan {
  file: string;
  runId: string;
  /** Every this many steps (null: by time only). */
  everySteps: number | null;
  /** At least this often, in seconds of training. */
  everySeconds: number;
}

const CHECKPOINT_VERSION = 1;

const encode = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function decode(s: string): Float32Array {
  const bytes = Buffer.from(s, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** Write `checkpoint` to `file` atomically (a kill mid-write leaves the previous checkpoint). */
export function saveCheckpoint(file: string, checkpoint: Checkpoint): void {
  const { weights, optimizer, ...rest } = checkpoint;
  // Non-finite losses (a diverged step) are not JSON; they are written as null and read back as NaN.
  const record = {
    version: CHECKPOINT_VERSION,
    ...rest,
    weights: weights.map(encode),
    optimizer: { updates: optimizer.updates, firstMoments: optimizer.firstMoments.map(encode), secondMoments: optimizer.secondMoments.map(encode) },
  };
  writeFileAtomic(file, JSON.stringify(record));
}

/** The checkpoint in `file` for run `runId`, or null when there is none (or it is another run's, or another version's). */
export function loadCheckpoint(file: string, runId: string): Checkpoint | null {
  if (!fs.existsSync(file)) return null;
  const record = JSON.parse(fs.readFileSync(file, 'utf8')) as Omit<Checkpoint, 'weights' | 'optimizer'> & {
    version: number;
    weights: string[];
    optimizer: { updates: number; firstMoments: string[]; secondMoments: string[] };
  };
  if (record.version !== CHECKPOINT_VERSION || record.runId !== runId) return null;
  return {
    ...record,
    steps: record.steps.map((s) => ({ ...s, loss: s.loss ?? NaN })),
    weights: record.weights.map(decode),
    optimizer: { updates: record.optimizer.updates, firstMoments: record.optimizer.firstMoments.map(decode), secondMoments: record.optimizer.secondMoments.map(decode) },
  };
}
