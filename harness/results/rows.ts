/**
 * Building result rows: a run's fixed columns (identity and setup) once, then one call per figure.
 * Unit and direction come from the metric catalogue; statistics from the samples.
 */
import { METRICS, type MetricName } from './metrics.ts';
import { SCHEMA_VERSION, type ResultRow, type RunStatus } from './schema.ts';
import { summarize } from '../stats.ts';

/** The columns shared by every row of one run. */
export type RunColumns = Pick<
  ResultRow,
  | 'run_id'
  | 'git_sha'
  | 'suite'
  | 'task'
  | 'arch'
  | 'preset'
  | 'seq_len'
  | 'batch_size'
  | 'd_model'
  | 'n_layers'
  | 'params'
  | 'seed'
  | 'backend'
  | 'device'
  | 'versions'
  | 'config_hash'
  | 'shard'
  | 'host'
  | 'slurm_job_id'
  | 'slurm_array_job_id'
  | 'slurm_array_task_id'
>;

export interface Figure {
  /** A single value (accuracy, bytes, a count) … */
  value?: number | null;
  /** … or repeated samples (timings, throughputs): value is their mean (unless `value` is given too: a
   * throughput is Σ tokens / Σ time, not the mean of per-step rates), with n, stddev, p50, p90, min, max. */
  samples?: number[];
  /** Number of items behind a single value (answer positions, sentences); default 1. */
  n?: number;
  slice?: string | null;
  step?: number | null;
  wallSeconds?: number | null;
  status?: RunStatus;
  error?: string | null;
  /** Override the catalogue's unit (rare: e.g. a metric measured in a task-specific unit). */
  unit?: string;
}

const round = (v: number): number => (Number.isFinite(v) ? Number(v.toPrecision(7)) : v);

/** One tidy row for `metric` of the run described by `columns`. */
export function metricRow(columns: RunColumns, metric: MetricName, figure: Figure): ResultRow {
  const info = METRICS[metric];
  const base = {
    schema_version: SCHEMA_VERSION,
    timestamp: new Date().toISOString(),
    ...columns,
    repeat: 0,
    phase: info.phase,
    metric,
    unit: figure.unit ?? info.unit,
    direction: info.direction,
    step: figure.step ?? null,
    wall_s: figure.wallSeconds ?? null,
    status: figure.status ?? 'ok',
    error: figure.error ?? null,
    slice: figure.slice ?? null,
  };
  if (figure.samples && figure.samples.length > 0) {
    const s = summarize(figure.samples);
    return {
      ...base,
      value: round(figure.value ?? s.mean),
      n: s.n,
      stddev: s.stddev === null ? null : round(s.stddev),
      p50: round(s.p50),
      p90: round(s.p90),
      min: round(s.min),
      max: round(s.max),
      samples: figure.samples.map(round),
    };
  }
  const v = figure.value ?? null;
  const finite = v !== null && Number.isFinite(v);
  return {
    ...base,
    value: finite ? round(v) : null,
    n: figure.n ?? (finite ? 1 : 0),
    stddev: null,
    p50: finite ? round(v) : null,
    p90: finite ? round(v) : null,
    min: finite ? round(v) : null,
    max: finite ? round(v) : null,
    samples: null,
  };
}
