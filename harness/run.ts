/**
 * One run, in the current process: start the backend, calibrate, build the model, train, evaluate,
 * measure inference, and turn every figure into result rows. The runner calls this in a child
 * process per run (runner.ts); tests call it directly.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../architectures/types.ts';
import type { PairExample, TaskMetric } from '../tasks/types.ts';
import { calibrate, deviceBytesHeld, initEngine } from './engine.ts';
import { metricRow, type RunColumns } from './results/rows.ts';
import type { ResultRow, RunStatus } from './results/schema.ts';
import type { MetricName } from './results/metrics.ts';
import { disposeBatch, makeBatch, takeExamples } from './batches.ts';
import { evaluate, heldOutLoss } from './evaluate.ts';
import { forwardBatch } from './loss.ts';
import { train, type TrainHooks } from './train.ts';
import { resolveRun, type ResolvedRun, type RunSpecInput } from './spec.ts';
import { gitSha, slurmJob, versionsString } from './provenance.ts';
import { UsageError } from './errors.ts';

/** Steps excluded from timing statistics: the first pays kernel compilation and warm-up, the second is profiled. */
const WARMUP_STEPS = 2;
/** The fewest test examples a run is measured on. */
const MIN_TEST_EXAMPLES = 4;

export interface RunContext {
  shard?: string | null;
  onProgress?: TrainHooks['onStep'];
  onEval?: TrainHooks['onEval'];
  /** Where this run's checkpoint lives (the runner's child gives RESULTS_DIR/runs/<run_id>.checkpoint.json). */
  checkpointFile?: string;
}

export function runColumns(run: ResolvedRun, backend: string, device: string, params: number | null, shard: string | null): RunColumns {
  const { dModel, nLayers } = run.arch.size(run.config);
  return {
    run_id: run.runId,
    git_sha: gitSha(),
    suite: run.spec.suite,
    task: run.task.name,
    arch: run.arch.name,
    preset: run.spec.preset,
    seq_len: run.seqLen,
    batch_size: run.spec.training.batchSize,
    d_model: dModel,
    n_layers: nLayers,
    params,
    seed: run.spec.seed,
    backend,
    device,
    versions: versionsString(),
    config_hash: run.configHash,
    shard,
    host: os.hostname(),
    ...slurmJob(),
  };
}

function taskMetricRows(columns: RunColumns, metrics: TaskMetric[], slicePrefix: string | null): ResultRow[] {
  return metrics.map((m) => {
    const slice = [slicePrefix, m.slice].filter(Boolean).join(',') || null;
    return metricRow(columns, m.metric as MetricName, { value: m.value, n: m.n, slice, unit: m.unit });
  });
}

/** Throughput and latency of prefill (full forward) and cached decoding, and decode-state size. */
async function measureInference(run: ResolvedRun, model: Model, columns: RunColumns): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const s = run.spec.training;
  const examples = takeExamples(run.task, run.params, run.spec.seed + 1, 'test', Math.min(s.batchSize, 8));
  if (examples.length === 0) return rows;
  const batch = makeBatch(examples, model.form, run.io.padId);
  const prefill: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    const logits = forwardBatch(model, batch, false);
    await logits.data();
    logits.dispose();
    if (i > 0) prefill.push(batch.tokens / ((performance.now() - t0) / 1000));
  }
  rows.push(metricRow(columns, 'prefill_tokens_per_s', { samples: prefill }));
  const b = examples.length;
  let state = model.form === 'seq2seq' ? model.initState(batch.source!) : model.initState(b);
  const latencies: number[] = [];
  let token = tf.fill([b], 4, 'int32') as tf.Tensor1D;
  // One untimed warm-up step, then decodeTokens timed ones, within the positions the model has.
  const steps = Math.min(s.decodeTokens + 1, run.io.maxLen);
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const { logits, state: next } = model.step(token, state);
    const nextToken = tf.tidy(() => logits.argMax(-1).toInt()) as tf.Tensor1D;
    await nextToken.data();
    if (i > 0) latencies.push(performance.now() - t0);
    logits.dispose();
    token.dispose();
    state.dispose();
    state = next;
    token = nextToken;
  }
  const contextAfter = steps;
  rows.push(metricRow(columns, 'decode_latency_ms', { samples: latencies }));
  rows.push(metricRow(columns, 'decode_tokens_per_s', { samples: latencies.map((ms) => b / (ms / 1000)) }));
  rows.push(metricRow(columns, 'state_bytes', { value: state.bytes() / b, slice: `measured_context=${contextAfter}` }));
  token.dispose();
  state.dispose();
  disposeBatch(batch);
  for (const context of [64, 256, 1024, 4096, 16384]) {
    rows.push(metricRow(columns, 'state_bytes', { value: run.arch.stateBytes(run.config, run.io, context), slice: `context=${context}` }));
  }
  return rows;
}

/** Execute a run and return all its rows. Throws only for bugs and input errors; a diverged run returns rows. */
export async function executeRun(input: RunSpecInput, context: RunContext = {}): Promise<ResultRow[]> {
  const startedAt = performance.now();
  const run = resolveRun(input);
  const engine = await initEngine(run.spec.backend);
  const cal = await calibrate();
  const model = run.arch.build(run.config, run.io);
  const paramCount = model.trainableWeights.reduce((s, v) => s + v.size, 0);
  const columns = runColumns(run, engine.backend, engine.device, paramCount, context.shard ?? null);
  const rows: ResultRow[] = [];
  const add = (metric: MetricName, figure: Parameters<typeof metricRow>[2]) => rows.push(metricRow(columns, metric, figure));
  let status: RunStatus = 'ok';
  let error: string | null = null;
  // Device memory is read where the backend reports it (webgpu); no row where it cannot be read.
  let peakDeviceBytes: number | null = null;
  const sampleDevice = (): void => {
    const held = deviceBytesHeld();
    if (held !== null) peakDeviceBytes = Math.max(peakDeviceBytes ?? 0, held);
  };
  try {
    add('matmul_gflops', { samples: cal.samples, slice: `n=${cal.size}` });
    add('params', { value: paramCount });
    const flops = run.arch.flopsPerToken(run.config, run.io, run.seqLen);
    add('flops_per_token', { value: flops.training });

    // A test split too small to measure is refused before any training time is spent on it.
    const testExamples = takeExamples(run.task, run.params, run.spec.seed, 'test', run.spec.training.evalExamples);
    if (testExamples.length < Math.min(MIN_TEST_EXAMPLES, run.spec.training.evalExamples)) {
      throw new UsageError(`task ${run.task.name} has ${testExamples.length} test examples with these parameters; at least ${MIN_TEST_EXAMPLES} are needed to measure a model (raise the test split, e.g. --task-param test_fraction=…)`);
    }
    const checkpoint = context.checkpointFile
      ? { file: context.checkpointFile, runId: run.runId, everySteps: run.spec.checkpointEvery, everySeconds: run.spec.checkpointMinutes * 60 }
      : undefined;
    const outcome = await train(run, model, { onStep: context.onProgress, onEval: context.onEval, checkpoint });
    const timed = outcome.steps.slice(WARMUP_STEPS).filter((r) => Number.isFinite(r.loss));
    const curveEvery = Math.max(1, Math.floor(outcome.steps.length / 50));
    for (const r of outcome.steps) {
      if (r.step % curveEvery === 0 || r.step === outcome.steps.length - 1) add('loss', { value: r.loss, step: r.step, wallSeconds: r.wallSeconds });
    }
    for (const e of outcome.evals) add('eval_loss', { value: e.loss, step: e.step, wallSeconds: e.wallSeconds, slice: 'split=valid' });
    add('steps', { value: outcome.steps.length });
    if (timed.length > 0) {
      // Per-step rates give the spread; the figure itself is Σ tokens / Σ time over the timed steps.
      const tokensPerS = timed.map((r) => r.tokens / (r.ms / 1000));
      const throughput = timed.reduce((n, r) => n + r.tokens, 0) / (timed.reduce((t, r) => t + r.ms, 0) / 1000);
      add('tokens_per_s', { samples: tokensPerS, value: throughput });
      add('step_latency_ms', { samples: timed.map((r) => r.ms) });
      const achieved = tokensPerS.map((t) => (t * flops.training) / 1e9);
      const achievedOverall = (throughput * flops.training) / 1e9;
      add('achieved_gflops', { samples: achieved, value: achievedOverall });
      add('mfu', { samples: achieved.map((g) => g / cal.gflops), value: achievedOverall / cal.gflops });
      const tail = outcome.steps.slice(-Math.max(1, Math.floor(outcome.steps.length / 10)));
      add('final_loss', { samples: tail.map((r) => r.loss) });
    }
    add('peak_tensor_bytes', { value: outcome.peakTensorBytes });
    sampleDevice();
    add('time_to_target_s', { value: outcome.timeToTargetS });

    if (outcome.diverged) {
      status = 'diverged';
      error = `loss became ${outcome.diverged.loss} at step ${outcome.diverged.step}; lower the learning rate with --lr (this run used ${run.spec.training.learningRate})`;
    } else {
      const s = run.spec.training;
      const t0 = performance.now();
      const metrics = await evaluate(run, model, testExamples);
      const evalSeconds = (performance.now() - t0) / 1000;
      rows.push(...taskMetricRows(columns, metrics, null));
      add('eval_loss', { value: await heldOutLoss(run, model, testExamples) });
      const evalTokens = testExamples.reduce((n, e) => n + (e.form === 'lm' ? e.input.length : (e as PairExample).source.length + (e as PairExample).target.length), 0);
      add('eval_tokens_per_s', { value: evalTokens / evalSeconds });
      for (const variant of run.task.evalVariants?.(run.params) ?? []) {
        const examples = takeExamples(run.task, variant.params, run.spec.seed, 'test', Math.min(s.evalExamples, 64));
        const variantMetrics = (await evaluate(run, model, examples, variant.params)).filter((m) => m.slice === null);
        rows.push(...taskMetricRows(columns, variantMetrics, variant.label));
      }
      if (run.spec.training.inference) rows.push(...(await measureInference(run, model, columns)));
    }
  } catch (e) {
    // What was measured before the failure stays in the results, under the run's error status.
    status = 'error';
    error = (e as Error).message ?? String(e);
  } finally {
    sampleDevice();
    model.dispose();
  }
  if (peakDeviceBytes !== null) add('peak_device_bytes', { value: peakDeviceBytes });
  add('peak_rss_bytes', { value: process.resourceUsage().maxRSS * 1024 });
  add('wall_time_s', { value: (performance.now() - startedAt) / 1000, status, error });
  return rows.map((r) => (status === 'ok' ? r : { ...r, status, error: r.metric === 'wall_time_s' ? error : r.error }));
}
