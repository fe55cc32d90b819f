/**
 * The metric catalogue: every metric a results row may carry, with its phase, unit and direction.
 * Writers take unit and direction from here, so a metric means the same thing in every row;
 * reports and compare read it to label axes and judge changes.
 */
import type { Direction, Phase } from './schema.ts';

export interface MetricInfo {
  phase: Phase;
  unit: string;
  direction: Direction;
  description: string;
  /**
   * The operating system's measurement of the whole process (resident memory, the device's memory):
   * it differs between fresh processes of one commit (by about 5% for RSS), unlike the bytes the
   * engine counts, so compare judges it only where repeats measure that noise, as it does timings.
   */
  processNoise?: true;
}

const m = (phase: Phase, unit: string, direction: Direction, description: string, extra: Pick<MetricInfo, 'processNoise'> = {}): MetricInfo => ({ phase, unit, direction, description, ...extra });

export const METRICS = {
  // calibration and model
  matmul_gflops: m('calibration', 'GFLOP/s', 'bigger', 'fp32 matmul throughput of the backend, same process (median of repeats)'),
  params: m('model', 'parameters', 'none', 'trainable parameters'),
  flops_per_token: m('model', 'FLOP/token', 'none', 'analytic training FLOPs per token at the run length (forward + backward)'),
  // training
  tokens_per_s: m('train', 'tokens/s', 'bigger', 'training tokens per second: Σ tokens / Σ step time over the timed steps (samples: per-step rates, for the spread)'),
  step_latency_ms: m('train', 'ms', 'smaller', 'wall time of one optimiser step'),
  loss: m('train', 'nats/token', 'smaller', 'training loss on answer positions (curve rows: one per logged step)'),
  final_loss: m('train', 'nats/token', 'smaller', 'mean training loss over the last logged steps'),
  time_to_target_s: m('train', 's', 'smaller', 'seconds of training until eval accuracy reached the target (null if never)'),
  steps: m('train', 'steps', 'none', 'optimiser steps taken'),
  peak_tensor_bytes: m('train', 'bytes', 'smaller', 'peak bytes held in tensors (tfjs engine)'),
  peak_rss_bytes: m('train', 'bytes', 'smaller', 'peak resident set size of the run process', { processNoise: true }),
  peak_device_bytes: m('train', 'bytes', 'smaller', "peak GPU memory used, on GPU backends: on webgpu the device buffers tfjs-webgpu allocated (its pool never shrinks, so the run's high-water mark); nvidia-smi for CUDA", { processNoise: true }),
  achieved_gflops: m('train', 'GFLOP/s', 'bigger', 'model FLOPs per second achieved in training (from Σ tokens / Σ time)'),
  mfu: m('train', 'fraction', 'bigger', 'model FLOP utilisation: achieved / calibration matmul GFLOP/s'),
  // evaluation
  accuracy: m('eval', 'fraction', 'bigger', 'accuracy on answer positions'),
  exact_match: m('eval', 'fraction', 'bigger', 'fraction of sequences whose every answer is right'),
  token_accuracy: m('eval', 'fraction', 'bigger', 'fraction of target tokens right (translation, teacher-forced)'),
  bleu: m('eval', 'BLEU', 'bigger', 'corpus BLEU-4, sacreBLEU 13a tokenisation, exp smoothing (0–100)'),
  chrf: m('eval', 'chrF', 'bigger', 'chrF (character 6-grams, β = 2), sacreBLEU style (0–100)'),
  eval_loss: m('eval', 'nats/token', 'smaller', 'teacher-forced loss on held-out answer positions: the test split (summary row) and the validation split at each evaluation (curve rows, slice split=valid)'),
  eval_tokens_per_s: m('eval', 'tokens/s', 'bigger', 'evaluation forward tokens per second'),
  // inference
  prefill_tokens_per_s: m('inference', 'tokens/s', 'bigger', 'full-forward (prefill) tokens per second'),
  decode_tokens_per_s: m('inference', 'tokens/s', 'bigger', 'autoregressive decode tokens per second with cached state'),
  decode_latency_ms: m('inference', 'ms', 'smaller', 'wall time of one decode step (per token, whole batch)'),
  state_bytes: m('inference', 'bytes', 'smaller', 'decode state per sequence (KV cache grows with context; recurrent state does not)'),
  // micro-benchmarks
  forward_ms: m('micro', 'ms', 'smaller', 'sequence mixer forward latency'),
  forward_backward_ms: m('micro', 'ms', 'smaller', 'sequence mixer forward + backward latency'),
  decode_step_ms: m('micro', 'ms', 'smaller', 'one decode step with cached state at a context length'),
  peak_bytes: m('micro', 'bytes', 'smaller', 'peak tensor bytes during forward + backward'),
  time_exponent: m('micro', 'exponent', 'none', 'fitted log–log slope of time against sequence length'),
  memory_exponent: m('micro', 'exponent', 'none', 'fitted log–log slope of peak memory against sequence length'),
  gemm_gflops: m('micro', 'GFLOP/s', 'bigger', 'tf.matMul throughput at one shape (samples: per call), through the registered GEMM'),
  gemm_peak_fraction: m('micro', 'fraction', 'bigger', 'gemm_gflops (median) / the instruction peak its slice states (FLOP/cycle/core × threads × clock)'),
  // the run as a whole
  wall_time_s: m('run', 's', 'smaller', 'wall time of the whole run, process start to end'),
} as const satisfies Record<string, MetricInfo>;

export type MetricName = keyof typeof METRICS;
