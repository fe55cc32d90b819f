/**
 * One training step's time by kernel: warm-up steps, then `steps` steps under tf.profile, with each
 * kernel's total milliseconds, share of the step and number of calls — the next bottleneck in one
 * table. The step's wall time is beside the kernels' sum: the difference is JavaScript between kernels
 * (autodiff tape, op dispatch, the optimizer's bookkeeping). Timing each kernel makes a step a little
 * slower than unprofiled.
 */
import * as tf from '@tensorflow/tfjs';
import { activeKernels } from '../architectures/kernels/active.ts';
import { disposeBatch, ExampleStream, makeBatch } from './batches.ts';
import { engineThreads, initEngine } from './engine.ts';
import { AdamW } from './optimizer.ts';
import { resolveRun, type RunSpecInput } from './spec.ts';
import { forwardBatch, maskedCrossEntropy } from './loss.ts';

export interface KernelTime {
  kernel: string;
  totalMs: number;
  calls: number;
}

export interface StepProfile {
  label: string;
  backend: string;
  threads: number;
  kernels: Record<string, string>;
  /** Profiled steps and their tokens each. */
  steps: number;
  tokensPerStep: number;
  /** Wall time of each profiled step (ms). */
  stepMs: number[];
  /** By kernel, summed over the profiled steps, largest first. */
  byKernel: KernelTime[];
}

export async function profileSteps(input: RunSpecInput, options: { warmupSteps: number; steps: number }): Promise<StepProfile> {
  const run = resolveRun(input);
  const engine = await initEngine(run.spec.backend);
  const model = run.arch.build(run.config, run.io);
  const s = run.spec.training;
  const stream = new ExampleStream(run.task, run.params, run.spec.seed, 'train');
  const optimizer = new AdamW(model.trainableWeights, model.decayedWeights, s);
  const totals = new Map<string, KernelTime>();
  const stepMs: number[] = [];
  let tokensPerStep = 0;
  try {
    for (let step = 0; step < options.warmupSteps + options.steps; step++) {
      const batch = makeBatch(stream.take(s.batchSize), model.form, run.io.padId);
      tokensPerStep = batch.tokens;
      const update = async () => {
        await optimizer.step(step, () => maskedCrossEntropy(forwardBatch(model, batch, true), batch.target, batch.mask, s.kernels));
      };
      try {
        if (step < options.warmupSteps) {
          await update();
          continue;
        }
        const t0 = performance.now();
        const info = await tf.profile(update);
        stepMs.push(performance.now() - t0);
        for (const k of info.kernels) {
          if (k.name === 'unnamed scope') continue; // a customGrad's wrapper: its kernels are listed themselves
          const ms = Number(await k.kernelTimeMs);
          const entry = totals.get(k.name) ?? { kernel: k.name, totalMs: 0, calls: 0 };
          entry.totalMs += Number.isFinite(ms) ? ms : 0;
          entry.calls++;
          totals.set(k.name, entry);
        }
      } finally {
        disposeBatch(batch);
      }
    }
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  return {
    label: `${run.arch.name}/${run.spec.preset ?? 'custom'} on ${run.task.name}, batch ${s.batchSize}, L ${run.seqLen}`,
    backend: engine.backend,
    threads: engineThreads(),
    kernels: activeKernels(),
    steps: options.steps,
    tokensPerStep,
    stepMs,
    byKernel: [...totals.values()].sort((a, b) => b.totalMs - a.totalMs),
  };
}

/** The profile as a table: kernel, ms per step, share of the step's wall time, calls per step, ms per call. */
export function formatProfile(p: StepProfile, top = 25): string {
  const wallPerStep = p.stepMs.reduce((a, b) => a + b, 0) / p.steps;
  const kernelPerStep = p.byKernel.reduce((a, k) => a + k.totalMs, 0) / p.steps;
  const rows = p.byKernel.slice(0, top).map((k) => [
    k.kernel,
    (k.totalMs / p.steps).toFixed(2),
    `${((100 * k.totalMs) / p.steps / wallPerStep).toFixed(1)}%`,
    String(Math.round(k.calls / p.steps)),
    (k.totalMs / k.calls).toFixed(3),
  ]);
  const rest = p.byKernel.slice(top);
  if (rest.length > 0) {
    const ms = rest.reduce((a, k) => a + k.totalMs, 0) / p.steps;
    rows.push([`(${rest.length} more kernels)`, ms.toFixed(2), `${((100 * ms) / wallPerStep).toFixed(1)}%`, String(Math.round(rest.reduce((a, k) => a + k.calls, 0) / p.steps)), '']);
  }
  const outside = wallPerStep - kernelPerStep;
  rows.push(['(outside kernels: tape, dispatch, JS)', outside.toFixed(2), `${((100 * outside) / wallPerStep).toFixed(1)}%`, '', '']);
  const header = ['kernel', 'ms/step', 'share', 'calls/step', 'ms/call'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    `${p.label}: ${p.backend} backend, ${p.threads} threads; ${Object.entries(p.kernels).map(([k, v]) => `${k}: ${v}`).join('; ')}`,
    `${p.steps} profiled steps: ${wallPerStep.toFixed(1)} ms/step wall (${((p.tokensPerStep / wallPerStep) * 1000).toFixed(0)} tokens/s while profiled), kernels ${kernelPerStep.toFixed(1)} ms`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}
