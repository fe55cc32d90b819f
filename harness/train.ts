/**
 * The training loop: masked cross-entropy on answer positions (loss.ts) minimised by AdamW
 * (optimizer.ts), periodic evaluation (evaluate.ts) with early stop at a target accuracy, and
 * checkpoints. Every tensor made per step is disposed.
 */
import * as tf from '@tensorflow/tfjs';
import { checkWgslPrograms } from '../architectures/kernels/webgpu/program.ts';
import type { Model } from '../architectures/types.ts';
import { disposeBatch, ExampleStream, makeBatch, takeExamples } from './batches.ts';
import { loadCheckpoint, saveCheckpoint, type CheckpointPlan } from './checkpoint.ts';
import { evaluate, headlineAccuracy, heldOutLoss } from './evaluate.ts';
import { forwardBatch, maskedCrossEntropy } from './loss.ts';
import { AdamW } from './optimizer.ts';
import type { ResolvedRun } from './spec.ts';

export interface StepRecord {
  step: number;
  loss: number;
  ms: number;
  tokens: number;
  wallSeconds: number;
}

export interface EvalRecord {
  step: number;
  wallSeconds: number;
  accuracy: number;
  /** Teacher-forced cross-entropy on the validation examples' answer positions (nats/token). */
  loss: number;
}

export interface TrainOutcome {
  steps: StepRecord[];
  evals: EvalRecord[];
  /** Seconds from the start of training until valid accuracy first reached the target. */
  timeToTargetS: number | null;
  diverged: { step: number; loss: number } | null;
  peakTensorBytes: number;
}

export interface TrainHooks {
  onStep?(record: StepRecord, totalSteps: number): void;
  onEval?(record: EvalRecord): void;
  /** Write checkpoints by this plan, and continue from the plan's file when it holds one of this run. */
  checkpoint?: CheckpointPlan;
}

/** Train `model` on the run's task; returns per-step timings, the loss curve and evaluations. */
export async function train(run: ResolvedRun, model: Model, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const s = run.spec.training;
  const stream = new ExampleStream(run.task, run.params, run.spec.seed, 'train');
  const validExamples = takeExamples(run.task, run.params, run.spec.seed, 'valid', s.evalExamples);
  const optimizer = new AdamW(model.trainableWeights, model.decayedWeights, s);
  const pad = run.io.padId;
  const outcome: TrainOutcome = { steps: [], evals: [], timeToTargetS: null, diverged: null, peakTensorBytes: 0 };
  let start = performance.now();
  let firstStep = 0;
  const plan = hooks.checkpoint;
  const resumed = plan ? loadCheckpoint(plan.file, plan.runId) : null;
  if (resumed) {
    tf.tidy(() => model.trainableWeights.forEach((w, i) => w.assign(tf.tensor(resumed.weights[i], w.shape, 'float32'))));
    optimizer.loadState(resumed.optimizer);
    stream.take(resumed.step * s.batchSize); // the examples the saved steps consumed
    Object.assign(outcome, { steps: resumed.steps, evals: resumed.evals, peakTensorBytes: resumed.peakTensorBytes, timeToTargetS: resumed.timeToTargetS });
    firstStep = resumed.step;
    start -= resumed.wallSeconds * 1000;
  }
  let lastCheckpoint = performance.now();
  const saveIfDue = async (next: number) => {
    if (!plan || next >= s.steps) return;
    const byStep = plan.everySteps !== null && next % plan.everySteps === 0;
    if (!byStep && (performance.now() - lastCheckpoint) / 1000 < plan.everySeconds) return;
    const weights = await Promise.all(model.trainableWeights.map(async (w) => Float32Array.from(await w.data())));
    saveCheckpoint(plan.file, { runId: plan.runId, step: next, weights, optimizer: await optimizer.state(), steps: outcome.steps, evals: outcome.evals, peakTensorBytes: outcome.peakTensorBytes, timeToTargetS: outcome.timeToTargetS, wallSeconds: (performance.now() - start) / 1000 });
    lastCheckpoint = performance.now();
  };
  try {
    for (let step = firstStep; step < s.steps; step++) {
      const batch = makeBatch(stream.take(s.batchSize), model.form, pad);
      let loss: number;
      const t0 = performance.now();
      const update = async () => (await optimizer.step(step, () => maskedCrossEntropy(forwardBatch(model, batch, true), batch.target, batch.mask, s.kernels))).loss;
      if (step === 1) {
        // Profile one step (not the first, which pays kernel warm-up) for the peak tensor memory.
        loss = NaN;
        const info = await tf.profile(async () => {
          loss = await update();
        });
        outcome.peakTensorBytes = info.peakBytes;
      } else {
        loss = await update();
      }
      const ms = performance.now() - t0;
      // a WGSL shader the GPU refused leaves its outputs unwritten: fail at the first step, naming it (webgpu only)
      if (step === firstStep) await checkWgslPrograms();
      const record = { step, loss, ms, tokens: batch.tokens, wallSeconds: (performance.now() - start) / 1000 };
      disposeBatch(batch);
      outcome.steps.push(record);
      hooks.onStep?.(record, s.steps);
      if (!Number.isFinite(record.loss)) {
        outcome.diverged = { step, loss: record.loss };
        break;
      }
      const last = step === s.steps - 1;
      if ((step + 1) % s.evalEvery === 0 || last) {
        const accuracy = headlineAccuracy(await evaluate(run, model, validExamples));
        const loss = await heldOutLoss(run, model, validExamples);
        const evalRecord = { step: step + 1, wallSeconds: (performance.now() - start) / 1000, accuracy, loss };
        outcome.evals.push(evalRecord);
        hooks.onEval?.(evalRecord);
        if (s.targetAccuracy !== null && accuracy >= s.targetAccuracy) {
          outcome.timeToTargetS = evalRecord.wallSeconds;
          break;
        }
      }
      await saveIfDue(step + 1);
    }
  } finally {
    optimizer.dispose();
  }
  return outcome;
}
