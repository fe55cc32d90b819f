/**
 * RunSpec: everything that defines one run (architecture + config, task + params, training settings,
 * seed, backend). Its hash is the run id, so the same spec always has the same id: resumes skip it,
 * merges match it, caches key on it.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { z } from 'zod';
import { ARCHITECTURES } from '../architectures/index.ts';
import { fusedAttentionSupported } from '../architectures/kernels/attention-fused.ts';
import { wgslAttentionSupported } from '../architectures/kernels/webgpu/attention.wgsl.ts';
import { PRESET_NAMES, type Architecture, type ModelIO } from '../architectures/types.ts';
import { TASKS } from '../tasks/index.ts';
import type { Task } from '../tasks/types.ts';
import { BACKEND_CHOICES } from './engine.ts';
import { didYouMean, lookup, UsageError } from './errors.ts';

export const TrainingSettings = z.object({
  steps: z.number().int().positive().default(200).describe('optimiser steps'),
  batchSize: z.number().int().positive().default(16).describe('sequences per step'),
  learningRate: z.number().positive().default(3e-3).describe('peak learning rate (AdamW)'),
  warmupSteps: z.number().int().nonnegative().default(20).describe('linear warm-up steps, then cosine decay to 10%'),
  weightDecay: z.number().nonnegative().default(0.01).describe('decoupled weight decay (AdamW) of the weights each model marks for decay'),
  gradClip: z.number().positive().default(1).describe('global gradient-norm clip'),
  // Optional, not defaulted: a spec that leaves it out keeps the run id it had before the switch existed.
  kernels: z
    .enum(['fused', 'reference'])
    .optional()
    .describe('loss and optimizer update: fused host kernels on cpu/wasm (when omitted) or the composed tfjs reference'),
  evalEvery: z.number().int().positive().default(50).describe('steps between evaluations on the valid split'),
  evalExamples: z.number().int().positive().default(128).describe('examples per evaluation'),
  targetAccuracy: z.number().min(0).max(1).nullable().default(null).describe('stop early once valid accuracy reaches this'),
  decodeTokens: z.number().int().positive().default(16).describe('decode steps timed for inference throughput'),
  inference: z.boolean().default(true).describe('measure prefill/decode throughput after training'),
});
export type TrainingSettings = z.infer<typeof TrainingSettings>;

export const RunSpec = z.object({
  suite: z.string().default('run'),
  arch: z.string().min(1),
  preset: z.enum(PRESET_NAMES).nullable().default('nano'),
  config: z.record(z.string(), z.unknown()).default({}),
  task: z.string().min(1),
  taskParams: z.record(z.string(), z.unknown()).default({}),
  training: TrainingSettings.prefault({}),
  seed: z.number().int().nonnegative().default(0),
  backend: z.enum(BACKEND_CHOICES).default('wasm'),
  timeLimitS: z.number().positive().default(600).describe('wall-clock limit of the run process'),
  checkpointEvery: z.number().int().positive().nullable().default(null).describe('write a checkpoint every this many steps (null: by time only)'),
  checkpointMinutes: z.number().positive().default(10).describe('write a checkpoint at least this often, in minutes of training'),
});
export type RunSpec = z.infer<typeof RunSpec>;
export type RunSpecInput = z.input<typeof RunSpec>;

/** JSON with sorted keys, so equal specs hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function shortHash(value: unknown): string {
  return crypto.createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 12);
}

/** A spec with its architecture and task looked up and their config/params validated. */
export interface ResolvedRun {
  spec: RunSpec;
  runId: string;
  configHash: string;
  arch: Architecture;
  task: Task;
  config: Record<string, unknown>;
  params: Record<string, unknown>;
  io: ModelIO;
  /** Training sequence length (the task's seq_len where it has one, else its longest example). */
  seqLen: number;
}

/** The command-line flag behind each field of a run spec, so errors name what the user typed. */
const SPEC_FLAGS: Record<string, string> = {
  arch: '--arch',
  task: '--task',
  preset: '--preset',
  seed: '--seed',
  backend: '--backend',
  timeLimitS: '--time-limit',
  checkpointEvery: '--checkpoint-every',
  'training.steps': '--steps',
  'training.batchSize': '--batch-size',
  'training.learningRate': '--lr',
};

/** How a field is named in messages: its flag (`--steps`, `--set d_model`), else its place in a spec file. */
type FieldName = (path: string) => string;
const specField: FieldName = (p) => SPEC_FLAGS[p] ?? `${p} (a field of the --spec file)`;

/** Validate with zod; each issue is one line that starts with the field's flag. */
function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string, field: FieldName): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.length ? field(i.path.join('.')) : what}: ${i.message}`);
  throw new UsageError(`invalid ${what}:\n${lines.join('\n')}`);
}

/** Keys zod would silently drop are typos: name each with a did-you-mean and the valid keys. */
function rejectUnknownKeys(value: unknown, schema: z.ZodObject, what: string, field: FieldName): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return;
  const valid = Object.keys(schema.shape);
  for (const key of Object.keys(value)) {
    if (valid.includes(key)) continue;
    const suggestion = didYouMean(key, valid);
    throw new UsageError(`unknown ${field(key)} for ${what}.${suggestion ? ` Did you mean '${suggestion}'?` : ''} Valid keys: ${valid.join(', ')}`);
  }
}

export function resolveRun(input: RunSpecInput): ResolvedRun {
  rejectUnknownKeys(input, RunSpec, 'a run spec', (k) => `key '${k}'`);
  rejectUnknownKeys(input.training, TrainingSettings, 'the training settings of a run spec', (k) => `key '${k}'`);
  const spec = parseWith(RunSpec, input, 'run settings', specField);
  const arch = lookup('architecture', ARCHITECTURES as Record<string, Architecture>, spec.arch);
  const task = lookup('task', TASKS as Record<string, Task>, spec.task);
  const configField: FieldName = (k) => `--set ${k}`;
  const paramField: FieldName = (k) => (k === 'seq_len' ? '--seq-len (task param seq_len)' : `--task-param ${k}`);
  rejectUnknownKeys(spec.config, arch.config, `architecture ${arch.name}`, (k) => `config key '${k}' (--set ${k}=…)`);
  rejectUnknownKeys(spec.taskParams, task.params, `task ${task.name}`, (k) => `task parameter '${k}' (--task-param ${k}=…)`);
  const presetValues = spec.preset ? arch.presets[spec.preset] : {};
  // The run's seed seeds the weights too, unless the config names its own.
  const seeded = 'seed' in arch.config.shape ? { seed: spec.seed } : {};
  const config = parseWith(arch.config, { ...presetValues, ...seeded, ...spec.config }, `config of ${arch.name}`, configField) as Record<string, unknown>;
  const params = parseWith(task.params, spec.taskParams, `params of task ${task.name}`, paramField) as Record<string, unknown>;
  const taskForm = task.form === 'pair' ? 'translation (pair)' : 'single-sequence';
  if (arch.form === 'seq2seq' && task.form !== 'pair') {
    throw new UsageError(
      `architecture '${arch.name}' is an encoder–decoder and needs a translation task; '${task.name}' is ${taskForm}. Use a decoder-only architecture (transformer, lstm, mamba …) for it`,
    );
  }
  const variants = task.evalVariants?.(params) ?? [];
  const maxLen = Math.max(task.maxLen(params), ...variants.map((v) => task.maxLen(v.params)));
  const vocab = task.vocab(params);
  const io: ModelIO = { vocabSize: vocab.size, maxLen, padId: vocab.pad };
  const seqLen = typeof params.seq_len === 'number' ? params.seq_len : task.maxLen(params);
  const configHash = shortHash({ arch: arch.name, config, task: task.name, params });
  // The time limit and the checkpoints say how a run is carried out, not what it is: they leave its id alone.
  const { timeLimitS: _limit, checkpointEvery: _every, checkpointMinutes: _minutes, ...identity } = spec;
  const runId = shortHash({ ...identity, config, params });
  return { spec, runId, configHash, arch, task, config, params, io, seqLen };
}

/** Parse `key=value` pairs from the command line; values are JSON where they parse as JSON, else strings. */
export function parseKeyValues(pairs: string[] | undefined, flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} expects key=value, got '${pair}' (e.g. ${flag} d_model=64)`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    out[key] = value;
  }
  return out;
}

/** Sequences per evaluation batch (harness/evaluate.ts evaluates in batches of this many). */
export const EVAL_BATCH = 32;

/**
 * Whether attention on `backend` runs a fused online-softmax kernel, which holds no (L, L) scores: the
 * same tests kernels/attention.ts makes. 'auto' picks wasm or a hardware webgpu adapter, so it counts
 * only if both are fused.
 */
function attentionIsFused(backend: string): boolean {
  const fused = (b: string) => fusedAttentionSupported(b) || wgslAttentionSupported(b);
  return backend === 'auto' ? fused('wasm') && fused('webgpu') : fused(backend);
}

/**
 * Memory estimate of a run in bytes, from the architecture's formulas: parameters with AdamW's state and
 * gradients (4 copies), plus the larger of training (activations kept for the backward pass, batch ×
 * training length) and evaluation (an evaluation batch at the longest evaluated length, no backward).
 * Attention's (b, heads, L, L) scores count only where the backend runs the composed reference; the
 * fused kernel's memory is linear in L. mLSTM's parallel form holds (b, heads, L, L) matrices everywhere
 * (its chunkwise and recurrent forms, and the sLSTM of the same family, hold none).
 */
export function estimateBytes(run: ResolvedRun): number {
  const params = run.arch.paramCount(run.config, run.io);
  const { dModel, nLayers } = run.arch.size(run.config);
  const attention = (run.arch.family === 'transformer' || run.arch.family === 'hybrid') && !attentionIsFused(run.spec.backend);
  // mLSTM's parallel form (its default cell) holds about three times attention's (L, L) matrices per head
  // (log-gates, their exponentials, the weighted scores), on every backend; its chunkwise and recurrent forms do not.
  const mlstmParallel = run.arch.name === 'mlstm' && (run.config.cell ?? 'parallel') === 'parallel';
  const scoreCopies = mlstmParallel ? 3 : attention ? 1 : 0;
  const heads = typeof run.config.n_heads === 'number' ? run.config.n_heads : 4;
  // Bytes of one pass over `batch` sequences of length `len`; `kept`: copies of the scores the pass holds.
  const pass = (batch: number, len: number, kept: number) =>
    batch * len * dModel * nLayers * 4 * 24 + batch * nLayers * heads * len ** 2 * 4 * kept * scoreCopies;
  const trainLen = run.task.maxLen(run.params);
  const training = pass(run.spec.training.batchSize, trainLen, 3);
  const evaluation = pass(EVAL_BATCH, run.io.maxLen, 1);
  return params * 4 * 4 + Math.max(training, evaluation);
}

/** tfjs-wasm's heap: a 32-bit WebAssembly memory, at most 4 GiB, which holds every tensor of a wasm run. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

/**
 * Why a run whose estimate is `estimate` bytes should not start, or null: over 80 % of the machine's memory, or,
 * on wasm, over its 4 GiB heap (there a run past it dies mid-step with "memory access out of bounds": the mLSTM's
 * parallel form at L = 2,048, batch 4, measured 4.0 GiB of tensors at L = 1,024 and estimated 13 GiB at 2,048).
 */
export function memoryRefusal(run: ResolvedRun, estimate: number, machineBytes: number): string | null {
  const gib = (b: number) => (b / 2 ** 30).toFixed(1);
  if (estimate > 0.8 * machineBytes) return `estimated memory ${gib(estimate)} GiB exceeds 80% of this machine's ${gib(machineBytes)} GiB; use a smaller batch, length or preset`;
  if (run.spec.backend === 'wasm' && estimate > WASM_HEAP_BYTES) {
    return `estimated memory ${gib(estimate)} GiB exceeds the wasm backend's 4 GiB heap (WebAssembly memory is 32-bit and holds every tensor); use a smaller batch, length or preset, or --backend cpu`;
  }
  return null;
}

export function machineMemoryBytes(): number {
  return os.totalmem();
}
