/**
 * The tidy results row: one row per run × phase × metric (× slice, × step for curves).
 * This schema is the one definition of a results file; its descriptions are printed by `seqarena schema`,
 * and the JSON Schema generated from it (`z.toJSONSchema`) is written to results/<dir>/schema.json.
 * Readers validate every row against it.
 */
import { z } from 'zod';

/** Bumped when a column changes meaning or is removed; readers refuse newer versions. */
export const SCHEMA_VERSION = 1;

export const STATUSES = ['ok', 'error', 'diverged', 'timeout', 'crashed', 'oom', 'skipped'] as const;
export type RunStatus = (typeof STATUSES)[number];

export const PHASES = ['calibration', 'model', 'train', 'eval', 'inference', 'micro', 'run'] as const;
export type Phase = (typeof PHASES)[number];

export const DIRECTIONS = ['bigger', 'smaller', 'none'] as const;
export type Direction = (typeof DIRECTIONS)[number];

const num = z.number().nullable();
const str = z.string().nullable();

export const ResultRow = z.object({
  // identity
  schema_version: z.number().int().describe('Results schema version this row was written with'),
  run_id: z.string().describe('Stable id of the run: hash of its spec (same spec, same id), so resumes and merges match rows'),
  timestamp: z.string().describe('ISO-8601 time the row was written'),
  git_sha: str.describe('Commit of seqarena that produced the row (null outside a git checkout)'),
  suite: z.string().describe('Suite the run belongs to (or "run" for a single run)'),
  // setup
  task: z.string().describe('Task name (see `seqarena list`)'),
  arch: z.string().describe('Architecture name'),
  preset: str.describe('Architecture preset (nano, micro, small) or null for a custom config'),
  seq_len: num.describe('Training sequence length in tokens (longest example for pair tasks)'),
  batch_size: num.describe('Sequences per training step'),
  d_model: num.describe('Model width'),
  n_layers: num.describe('Number of layers (blocks)'),
  params: num.describe('Trainable parameters'),
  seed: z.number().int().describe('Seed of data and weights'),
  backend: z.string().describe('TensorFlow.js backend the run used (wasm, cpu, tensorflow, webgpu)'),
  device: z.string().describe('CPU model or GPU name the backend ran on'),
  versions: z.string().describe('Versions of node, tfjs and seqarena, "node=… tfjs=… seqarena=…"'),
  // what
  phase: z.enum(PHASES).describe('calibration | model | train | eval | inference | micro | run'),
  metric: z.string().describe('Metric name, e.g. tokens_per_s, accuracy, bleu, loss'),
  unit: z.string().describe('Unit of value, e.g. tokens/s, ms, bytes, fraction, FLOP'),
  direction: z.enum(DIRECTIONS).describe('Whether bigger or smaller is better (none: descriptive)'),
  // statistics
  value: num.describe('The figure: mean of samples for timings, the value itself otherwise; null when the run failed'),
  n: z.number().int().describe('Number of samples behind value'),
  stddev: num.describe('Sample standard deviation (null for n < 2)'),
  p50: num.describe('Median of samples'),
  p90: num.describe('90th percentile of samples'),
  min: num.describe('Smallest sample'),
  max: num.describe('Largest sample'),
  samples: z.array(z.number()).nullable().describe('Raw samples for timings (used by compare\'s significance test); null otherwise'),
  step: num.describe('Training step for curve rows (loss by step), else null'),
  wall_s: num.describe('Seconds since the run started, for curve rows, else null'),
  // outcome
  status: z.enum(STATUSES).describe('ok | error | diverged | timeout | crashed | oom | skipped'),
  error: str.describe('What went wrong, for a run whose status is not ok'),
  slice: str.describe('Subset the value is measured on, "key=value" (e.g. "eval_len=512", "num_kv_pairs=8"); null for the whole split'),
  config_hash: z.string().describe('Hash of the architecture config and task params (matches rows across runs of the same model)'),
  shard: str.describe('Shard "i/n" that produced the row, when the suite was sharded'),
  host: str.describe('Hostname of the machine that produced the row'),
  // Rows written before these columns existed read as null.
  slurm_job_id: str.default(null).describe('Slurm job id (SLURM_JOB_ID) of the job that produced the row; null outside Slurm'),
  slurm_array_job_id: str.default(null).describe('Slurm job array id (SLURM_ARRAY_JOB_ID): the id `seqarena slurm submit` printed for the shards; null outside an array'),
  slurm_array_task_id: str.default(null).describe('Slurm array task id (SLURM_ARRAY_TASK_ID): the shard number under `seqarena slurm`; null outside an array'),
  repeat: z
    .number()
    .int()
    .nonnegative()
    .default(0)
    .describe('Which of several fresh runs of the same spec (same run_id) the row comes from, in a set that holds repeats: `baseline save` of several result sets numbers them 0, 1, … so `compare` can measure run-to-run noise; 0 in the results of one bench'),
});
export type ResultRow = z.infer<typeof ResultRow>;

/** Column order for CSV files. */
export const COLUMNS = Object.keys(ResultRow.shape) as (keyof ResultRow)[];

/** The JSON Schema (draft 2020-12) of a results row, generated from the zod schema above, so the two cannot drift. */
export type SchemaDocument = z.core.JSONSchema.JSONSchema & {
  'x-schema-version': number;
  properties: Record<string, z.core.JSONSchema.JSONSchema>;
};

/** What `seqarena schema --json` prints and results/<dir>/schema.json holds. */
export function schemaDocument(): SchemaDocument {
  const generated = z.toJSONSchema(
    ResultRow.meta({
      title: 'seqarena results row',
      description: `One line of results.jsonl (one row of results.csv), results schema version ${SCHEMA_VERSION}. Generated from harness/results/schema.ts.`,
    }),
  );
  return { ...generated, 'x-schema-version': SCHEMA_VERSION } as SchemaDocument;
}
