/**
 * Holding a results set against a baseline. Rows are matched on every field that identifies a
 * measurement (MEASUREMENT_FIELDS: task, arch — for micro rows the mixer and its implementation —,
 * preset, config hash, sequence length, batch, backend, threads; then phase, metric, slice), pooled
 * over repeated runs (seeds), and each figure is judged by the rule for its kind and direction:
 *
 * - timing    throughputs and latencies (rows with samples; ms, s, tokens/s, GFLOP/s). A regression needs
 *             a significant change (the bootstrap confidence interval of the ratio of means excludes 1)
 *             AND a change by at least the factor 1 + `timing.relative` either way (0.1: 10% slower as
 *             a latency, 1/1.1 as a throughput), widened by how much the two runs' calibrations differ
 *             (normalising cannot see load that changed after the calibration). The bootstrap resamples whole runs when both sides
 *             have MIN_RUNS repeats (seeds), else blocks of consecutive samples within each run
 *             (consecutive training steps are not independent draws); the table says which. Speeds are
 *             first normalised by the same run's calibration matmul GFLOP/s, so a uniformly slower
 *             machine is not a regression. A figure with too few samples for the test (one sample, or
 *             fewer than MIN_BLOCKS blocks), or from a run whose calibration samples spread by more
 *             than `timing.unsteady` (the machine was too busy to time), is shown, never judged.
 * - noise     where a side holds repeats (several fresh runs of one commit: `baseline save A B C`), every
 *             judged figure must also move beyond its measured run-to-run noise (RunToRunNoise: Student's
 *             t prediction band over the runs' means at `noise.confidence`), and a timing or relative
 *             figure whose band is wider than the factor 1 + `noise.resolution` (a doubling) is shown,
 *             not judged: the gate cannot tell a change of it from another run. With one run a side
 *             the run-to-run noise is unknown, and what a process measures of itself (timings, its
 *             resident and device memory: processNoise) is shown with both values and the change,
 *             not judged: no test within a run sees what moves all of a process's samples together.
 *             Counted and seeded figures (tensor bytes, state bytes, accuracy, losses) are judged as
 *             ever, one run a side or many.
 * - relative  memory (bytes, `memory.relative`) and other directional figures (`other.relative`).
 * - absolute  accuracy, exact match, BLEU, chrF, losses: a difference beyond a per-metric tolerance.
 * - info      direction 'none' (params, exponents) and, when normalising, the calibration figure itself:
 *             shown, never judged.
 * - status    one row per run: ok → not ok is a regression, not ok → ok an improvement.
 *
 * Missing figures (in the baseline, not the current set; a run of the baseline absent now) and new ones
 * are listed, never dropped; `gateFailures` counts missing figures as failures unless allowed.
 */
import { z } from 'zod';
import { deriveSeed, rng } from '../util/rng.ts';
import { METRICS, type MetricInfo } from './results/metrics.ts';
import type { Direction, Phase, ResultRow } from './results/schema.ts';
import { formatValue } from './format.ts';
import { quantile, studentTQuantile } from './stats.ts';

/** How a figure moved against the baseline, by the compare rules for its direction. */
export type Verdict = 'regression' | 'improvement' | 'unchanged' | 'new' | 'missing';

/**
 * One figure of one run held against a baseline: what reports draw. `lower`/`upper` bound the allowed
 * band for `current` in the metric's own unit (null: unbounded on that side); `baseline` is null for a
 * figure the baseline lacks, `current` null for one the current run lacks.
 */
export interface ComparisonRow {
  task: string;
  arch: string;
  phase: Phase;
  metric: string;
  slice: string | null;
  baseline: number | null;
  current: number | null;
  lower: number | null;
  upper: number | null;
  verdict: Verdict;
}

const Relative = z.number().nonnegative().describe('smallest relative change (0.1 = 10%) that counts');

/** A per-metric rule: an absolute tolerance, a relative threshold, or info only. */
const MetricRule = z.union([
  z.strictObject({ absolute: z.number().nonnegative().describe('largest difference, in the metric\'s unit, that is still unchanged') }),
  z.strictObject({ relative: Relative }),
  z.strictObject({ info: z.literal(true).describe('report, never judge') }),
]);
export type MetricRule = z.infer<typeof MetricRule>;

/** Tolerances for figures judged by their difference; every other metric is judged relatively. */
export const DEFAULT_METRIC_RULES: Record<string, MetricRule> = {
  accuracy: { absolute: 0.02 },
  exact_match: { absolute: 0.02 },
  token_accuracy: { absolute: 0.02 },
  bleu: { absolute: 1.0 },
  chrf: { absolute: 1.0 },
  loss: { absolute: 0.05 },
  final_loss: { absolute: 0.05 },
  eval_loss: { absolute: 0.05 },
  // Whole-run times include process start and compilation: noisier than per-step timings.
  wall_time_s: { relative: 0.25 },
  time_to_target_s: { relative: 0.25 },
};

/** The thresholds file (seqarena.compare.json): every field optional, defaults beside it. */
export const Thresholds = z.strictObject({
  $comment: z.string().optional().describe('free text for readers of the file'),
  timing: z
    .strictObject({
      relative: Relative.default(0.1).describe('a timing must change by the factor 1 + relative, either way (1.5: 2.5× slower)'),
      confidence: z.number().gt(0).lt(1).default(0.95).describe('confidence of the bootstrap interval'),
      resamples: z.number().int().min(100).default(2000).describe('bootstrap resamples'),
      seed: z.number().int().default(0).describe('seed of the bootstrap (each row derives its own stream)'),
      unsteady: z
        .number()
        .positive()
        .default(0.25)
        .describe('largest spread (robust: 1.4826 · MAD / median) of a run\'s calibration samples at which its timings are still judged; a busier machine\'s timings are shown, not judged'),
    })
    .prefault({}),
  noise: z
    .strictObject({
      confidence: z
        .number()
        .gt(0)
        .lt(1)
        .default(0.99)
        .describe('confidence of the run-to-run band (Student\'s t prediction interval over the repeats\' means); high, because a gate judges tens of figures at once'),
      resolution: z
        .number()
        .positive()
        .default(1)
        .describe('a timing or relative figure whose run-to-run band is wider than the factor 1 + resolution either way (1: a doubling) is shown, not judged'),
    })
    .prefault({}),
  memory: z.strictObject({ relative: Relative.default(0.05) }).prefault({}),
  other: z.strictObject({ relative: Relative.default(0.1) }).prefault({}),
  metrics: z.record(z.string(), MetricRule).default({}).describe('per-metric rules, over DEFAULT_METRIC_RULES'),
});
export type Thresholds = z.infer<typeof Thresholds>;
export type ThresholdsInput = z.input<typeof Thresholds>;

export interface CompareOptions {
  thresholds?: ThresholdsInput;
  /** Normalise speeds by each run's calibration matmul GFLOP/s (default true). */
  normalize?: boolean;
}

export type Rule = 'timing' | 'relative' | 'absolute' | 'info' | 'status';

/**
 * Why a figure with values on both sides was shown but not judged (null: judged, info, or one side
 * lacks it). The summary counts each, so a reader never takes a shown figure for a checked one.
 */
export type NotJudgedReason = 'one-run-per-side' | 'one-sample' | 'few-blocks' | 'busy-machine' | 'noise-unresolved';

/** How the summary names each reason. */
export const NOT_JUDGED_REASONS: Record<NotJudgedReason, string> = {
  'one-run-per-side': 'one run per side: run-to-run noise unknown',
  'one-sample': 'one sample on a side',
  'few-blocks': 'too few samples for a significance test',
  'busy-machine': 'machine too busy to time',
  'noise-unresolved': 'run-to-run noise wider than the gate resolves',
};

/** What a user runs to give compare the repeats it measures run-to-run noise from (RUN_i: fresh runs of one commit). */
export const RECORD_REPEATS = 'seqarena baseline save RUN_1 RUN_2 RUN_3 …';

/** A ComparisonRow with what the table and CI need to explain it. */
export interface Comparison extends ComparisonRow {
  preset: string | null;
  seq_len: number | null;
  batch_size: number | null;
  threads: number | null;
  backend: string;
  config_hash: string;
  unit: string;
  direction: Direction;
  rule: Rule;
  /** current/baseline − 1 (normalised) for timing and relative rules, current − baseline for absolute. */
  change: number | null;
  /** Bootstrap interval of the (normalised) ratio current/baseline, when the significance test ran. */
  ratioInterval: [number, number] | null;
  /** How the significance test resampled ("by run (3 and 3 runs)", "by block of 2 …"), when it was considered. */
  resampling: string | null;
  /** The figure's run-to-run noise, when a side holds repeats to measure it (null: unknown, or not considered). */
  runToRun: RunToRunNoise | null;
  /** Whether a verdict was reached from evidence (false: info, or too few samples: shown, not judged). */
  judged: boolean;
  /** Why it was shown but not judged, where it has values on both sides and is not info. */
  notJudged: NotJudgedReason | null;
  normalized: boolean;
  /** Why the verdict, when it is not self-evident (fallbacks, status changes, failures). */
  note: string;
}

/** Units of speed: rates are divided by the machine's calibration figure, durations multiplied. */
const RATE_UNITS = new Set(['tokens/s', 'GFLOP/s']);
const DURATION_UNITS = new Set(['ms', 's']);

const CALIBRATION_METRIC = 'matmul_gflops';

/**
 * The setup fields that identify a measurement, beside what is measured (phase, metric, slice). Two
 * rows match only when every one of them is equal: a figure at L = 64 is never pooled with L = 256,
 * nor batch 8 with batch 16, nor 1 thread with 2. `threads` is read from the row (see threadsOf).
 */
export const MEASUREMENT_FIELDS = ['task', 'arch', 'preset', 'config_hash', 'seq_len', 'batch_size', 'backend', 'threads'] as const;
export type MeasurementField = (typeof MEASUREMENT_FIELDS)[number];
export type Setup = Record<MeasurementField, string | number | null>;

/**
 * The thread count a row was measured with: a `threads` column where the row has one, else
 * `threads=N` in its versions string; null where neither says (rows of older versions).
 */
export function threadsOf(r: ResultRow): number | null {
  const column = (r as { threads?: unknown }).threads;
  if (typeof column === 'number') return column;
  const match = /(?:^|\s)threads=(\d+)/.exec(r.versions);
  return match ? Number(match[1]) : null;
}

export function setupOf(r: ResultRow): Setup {
  return {
    task: r.task,
    arch: r.arch,
    preset: r.preset,
    config_hash: r.config_hash,
    seq_len: r.seq_len,
    batch_size: r.batch_size,
    backend: r.backend,
    threads: threadsOf(r),
  };
}

/** The runs of one measurement setup (seeds and repeats share it). */
export const runKey = (r: ResultRow): string => JSON.stringify(MEASUREMENT_FIELDS.map((f) => setupOf(r)[f]));

/**
 * One process's run: its run_id (the spec's hash, the same for every fresh run of the spec) and, in a
 * set that holds several fresh runs of it, which repeat.
 */
export const runIdentity = (r: Pick<ResultRow, 'run_id' | 'repeat'>): string => `${r.run_id}#${r.repeat}`;

/** Rows are matched on what they measure; run_id and seed differ between a run and its baseline's. */
export function matchKey(r: ResultRow): string {
  return JSON.stringify([runKey(r), r.phase, r.metric, r.slice]);
}

/**
 * Labels for items whose base labels collide: each colliding label gets the setup fields that tell
 * its items apart ("L=128", "batch=8", "#config_hash"), so names stay short where they are unique.
 */
export function distinguish<T>(items: readonly T[], base: (item: T) => string, setup: (item: T) => Setup): string[] {
  const bases = items.map(base);
  const byBase = groupBy(items.map((item, i) => ({ item, i })), ({ i }) => bases[i]);
  const labels = [...bases];
  for (const group of byBase.values()) {
    const setups = group.map(({ item }) => setup(item));
    const varying = MEASUREMENT_FIELDS.filter((f) => new Set(setups.map((x) => x[f])).size > 1);
    if (varying.length === 0) continue;
    group.forEach(({ i }, k) => {
      labels[i] += ` ${varying.map((f) => setupLabel(f, setups[k][f])).join(' ')}`;
    });
  }
  return labels;
}

/** "L=128", "batch=8", "threads=2", "#3f2a…" (config hash), "preset=nano". */
export function setupLabel(field: MeasurementField, value: string | number | null): string {
  if (field === 'config_hash') return `#${value}`;
  const name = field === 'seq_len' ? 'L' : field === 'batch_size' ? 'batch' : field;
  return `${name}=${value ?? '?'}`;
}

/** Group by a key, keeping first-seen order. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

const mean = (xs: readonly number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;

/** Curve rows (loss by step) are plotted, not compared. */
export const isSummaryRow = (r: ResultRow): boolean => r.step === null;

const hasFigure = (r: ResultRow): r is ResultRow & { value: number } => r.status === 'ok' && r.value !== null && Number.isFinite(r.value);

/** A row's figures: its raw samples, or its single value. */
export const figuresOf = (r: ResultRow & { value: number }): number[] => (r.samples && r.samples.length > 0 ? r.samples : [r.value]);

/** Run (runIdentity) → the run's calibration matmul GFLOP/s. */
function calibrations(rows: readonly ResultRow[]): Map<string, number> {
  const byRun = new Map<string, number>();
  for (const r of rows) {
    if (r.phase === 'calibration' && r.metric === CALIBRATION_METRIC && r.step === null && hasFigure(r) && r.value > 0) byRun.set(runIdentity(r), r.value);
  }
  return byRun;
}

/**
 * Run (runIdentity) → how unsteady the machine was during the run's calibration: the robust coefficient of
 * variation (1.4826 · median absolute deviation / median, which equals stddev / mean for normal noise)
 * of its calibration samples, or stddev / mean where the row kept no samples. A quiet machine repeats
 * a matmul to a few percent; a busy one (more runnable threads than cores) swings by tens of percent,
 * and so do its timings. Robust, because one descheduled repeat of a millisecond matmul on a quiet
 * machine must not make the whole run's timings unjudgeable.
 */
function calibrationSpread(rows: readonly ResultRow[]): Map<string, number> {
  const byRun = new Map<string, number>();
  for (const r of rows) {
    if (r.phase !== 'calibration' || r.metric !== CALIBRATION_METRIC || r.step !== null || !hasFigure(r) || r.value <= 0) continue;
    if (r.samples && r.samples.length >= 3) byRun.set(runIdentity(r), robustSpread(r.samples));
    else if (r.stddev !== null) byRun.set(runIdentity(r), r.stddev / r.value);
  }
  return byRun;
}

function robustSpread(samples: readonly number[]): number {
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const center = median([...samples]);
  return center > 0 ? (1.4826 * median(samples.map((x) => Math.abs(x - center)))) / center : Infinity;
}

/**
 * Whether a figure is something a process measures of itself, which differs between fresh processes
 * of one commit: every timing, and the memory the operating system reports (METRICS' processNoise).
 */
const processNoise = (rule: Rule, metric: string): boolean => rule === 'timing' || (rule === 'relative' && (METRICS as Record<string, MetricInfo>)[metric]?.processNoise === true);

/** Whether every run with a figure among `rows` has its calibration figure. */
const calibrated = (rows: readonly ResultRow[] | undefined, byRun: Map<string, number> | null): boolean =>
  (rows ?? []).filter(hasFigure).every((r) => byRun?.has(runIdentity(r)));

/** Rule from the thresholds: an explicit per-metric rule first, then direction, unit and samples. */
/** The rule and tolerance compare judges a figure by (exported for the history page's allowed band). */
export function ruleFor(r: Pick<ResultRow, 'metric' | 'direction' | 'phase' | 'unit' | 'samples'>, thresholds: Thresholds, normalize: boolean): { rule: Rule; tolerance: number } {
  const explicit = thresholds.metrics[r.metric] ?? DEFAULT_METRIC_RULES[r.metric];
  if (explicit && 'info' in explicit) return { rule: 'info', tolerance: 0 };
  if (r.direction === 'none') return { rule: 'info', tolerance: 0 };
  if (normalize && r.phase === 'calibration' && r.metric === CALIBRATION_METRIC) return { rule: 'info', tolerance: 0 };
  const speed = RATE_UNITS.has(r.unit) || DURATION_UNITS.has(r.unit) || (r.samples !== null && r.samples.length > 0);
  if (explicit && 'absolute' in explicit) return { rule: 'absolute', tolerance: explicit.absolute };
  if (explicit && 'relative' in explicit) return { rule: speed ? 'timing' : 'relative', tolerance: explicit.relative };
  if (r.unit === 'bytes') return { rule: 'relative', tolerance: thresholds.memory.relative };
  if (speed) return { rule: 'timing', tolerance: thresholds.timing.relative };
  return { rule: 'relative', tolerance: thresholds.other.relative };
}

/** One run's figures of a key, raw and normalised by its calibration (equal to raw when not normalising). */
interface RunFigures {
  raw: number[];
  normalized: number[];
}

/** One side of a comparison: the figures of every run (seed, repeat) of the key, run by run. */
interface Side {
  runs: RunFigures[];
  /** Mean calibration figure of the runs (null when not normalising). */
  calibration: number | null;
  /** The largest calibration spread (coefficient of variation) among the runs; 0 where unknown. */
  unsteadiness: number;
}

function side(rows: readonly ResultRow[], normalizeBy: Map<string, number> | null, spread: Map<string, number>): Side | null {
  const ok = rows.filter(hasFigure);
  if (ok.length === 0) return null;
  const runs: RunFigures[] = [];
  const cals: number[] = [];
  for (const r of ok) {
    const raw = figuresOf(r);
    const cal = normalizeBy?.get(runIdentity(r));
    if (cal !== undefined) cals.push(cal);
    runs.push({ raw, normalized: cal === undefined ? raw : raw.map((f) => (RATE_UNITS.has(r.unit) ? f / cal : f * cal)) });
  }
  return { runs, calibration: cals.length > 0 ? mean(cals) : null, unsteadiness: Math.max(0, ...ok.map((r) => spread.get(runIdentity(r)) ?? 0)) };
}

/** A side's figure: the mean over runs of each run's mean (each run weighs the same, however many samples it has). */
const sideMean = (s: Side, which: keyof RunFigures): number => mean(s.runs.map((r) => mean(r[which])));
const sampleCount = (s: Side): number => s.runs.reduce((n, r) => n + r.raw.length, 0);

/**
 * Run-to-run noise of a figure: how far the means of separate runs of one commit on one machine fall
 * apart. What a process starts with (JIT tiers, memory layout, its cores, what else the machine runs)
 * moves all of its samples together, which no test within a run can see: sub-millisecond timings
 * differ by up to 2× between two processes on a quiet machine. Measured where a side holds repeats:
 * the pooled standard deviation `spread` of the runs' means (of their logarithms for figures judged by
 * ratio), with runs − 1 degrees of freedom per side; `band` is Student's t prediction interval for the
 * difference of the two sides' means, t · spread · √(1/m₁ + 1/m₂): a change inside it is what another
 * run of the same commit could show. With few runs t is wide (4.6 at 99% over 5 runs), as it must be:
 * three runs that happen to agree say little about the fourth.
 */
export interface RunToRunNoise {
  /** Half-width of the band: of the log ratio for ratio rules (a factor e^band either way), in the metric's unit for absolute ones. */
  band: number;
  spread: number;
  /** Runs on each side: baseline, current. */
  runs: [number, number];
  multiplicative: boolean;
}

export function runToRunNoise(base: readonly (readonly number[])[], cur: readonly (readonly number[])[], multiplicative: boolean, confidence: number): RunToRunNoise | null {
  const runMeans = (runs: readonly (readonly number[])[]): number[] | null => {
    const means = runs.map(mean);
    if (!multiplicative) return means;
    return means.every((m) => m > 0) ? means.map(Math.log) : null;
  };
  const b = runMeans(base);
  const c = runMeans(cur);
  if (b === null || c === null) return null;
  const dof = b.length + c.length - 2;
  if (dof < 1) return null;
  const squares = (xs: number[]): number => {
    const m = mean(xs);
    return xs.reduce((s, v) => s + (v - m) ** 2, 0);
  };
  const spread = Math.sqrt((squares(b) + squares(c)) / dof);
  const band = studentTQuantile((1 + confidence) / 2, dof) * spread * Math.sqrt(1 / b.length + 1 / c.length);
  return { band, spread, runs: [b.length, c.length], multiplicative };
}

/** "±45% (5 and 1 runs)": a ratio band as the factor − 1 either way, an absolute one in the metric's unit. */
export function describeNoise(noise: RunToRunNoise, unit: string): string {
  const width = noise.multiplicative ? `±${((Math.exp(noise.band) - 1) * 100).toFixed(noise.band < 0.1 ? 1 : 0)}%` : `±${formatValue(noise.band, unit)}`;
  return `${width} (${noise.runs[0]} and ${noise.runs[1]} runs)`;
}

/** Repeats (seeds) each side needs before the test resamples whole runs instead of blocks within them. */
export const MIN_RUNS = 3;
/** Blocks each side needs for a significance test by block; with fewer, the figure is shown, not judged. */
export const MIN_BLOCKS = 4;

/**
 * The block length for a series of consecutive samples: its integrated autocorrelation time,
 * 1 + 2·Σρ(k) over the lags k whose sample autocorrelation is still significant (|ρ| ≥ 2/√n) — how
 * many consecutive samples carry about one sample's worth of information. Independent samples get
 * blocks of one; a slow drift (another job starting halfway) gets blocks long enough to hold it.
 */
export function blockLength(series: readonly number[]): number {
  const n = series.length;
  if (n < 3) return 1;
  const m = mean(series);
  const variance = series.reduce((s, v) => s + (v - m) ** 2, 0);
  if (variance === 0) return 1;
  const limit = 2 / Math.sqrt(n);
  let tau = 1;
  for (let lag = 1; lag < Math.floor(n / 2); lag++) {
    let c = 0;
    for (let i = lag; i < n; i++) c += (series[i] - m) * (series[i - lag] - m);
    const rho = c / variance;
    if (rho < limit) break;
    tau += 2 * rho;
  }
  return Math.min(Math.floor(n / 2), Math.ceil(tau));
}

/** How a side is resampled: whole runs, or moving blocks of `block` consecutive samples within each run. */
export type Resampling = { by: 'run'; units: number } | { by: 'block'; block: number; units: number };

/** Whole runs when both sides have MIN_RUNS repeats; else blocks (one length for both sides: the longer of theirs). */
export function resamplingFor(base: readonly (readonly number[])[], cur: readonly (readonly number[])[]): { base: Resampling; cur: Resampling } {
  if (base.length >= MIN_RUNS && cur.length >= MIN_RUNS) return { base: { by: 'run', units: base.length }, cur: { by: 'run', units: cur.length } };
  const longest = (runs: readonly (readonly number[])[]): readonly number[] => runs.reduce((a, b) => (b.length > a.length ? b : a));
  const block = Math.max(blockLength(longest(base)), blockLength(longest(cur)));
  const units = (runs: readonly (readonly number[])[]): number => runs.reduce((n, r) => n + Math.max(1, Math.floor(r.length / block)), 0);
  return { base: { by: 'block', block, units: units(base) }, cur: { by: 'block', block, units: units(cur) } };
}

/** "by run (3 and 3 runs)", "by block of 3 steps (6 and 7 blocks)". */
export function describeResampling(r: { base: Resampling; cur: Resampling }): string {
  if (r.base.by === 'run') return `by run (${r.base.units} and ${r.cur.units} runs)`;
  return `by block of ${(r.base as { block: number }).block} consecutive samples (${r.base.units} and ${r.cur.units} blocks)`;
}

/** One bootstrap draw of a side's mean: runs with replacement, or moving blocks within runs. */
function resampler(runs: readonly (readonly number[])[], how: Resampling, random: ReturnType<typeof rng>): () => number {
  if (how.by === 'run') {
    const means = runs.map(mean);
    return () => {
      let sum = 0;
      for (let i = 0; i < means.length; i++) sum += means[random.int(means.length)];
      return sum / means.length;
    };
  }
  // Circular blocks: every start in every run, wrapping round its end, so edge samples weigh like the rest.
  const total = runs.reduce((n, r) => n + r.length, 0);
  return () => {
    let sum = 0;
    let count = 0;
    while (count < total) {
      const run = runs.length === 1 ? runs[0] : runs[random.int(runs.length)];
      const start = random.int(run.length);
      for (let i = 0; i < how.block && count < total; i++, count++) sum += run[(start + i) % run.length];
    }
    return sum / total;
  };
}

/**
 * Percentile bootstrap interval of mean(current) / mean(baseline), each side given run by run and
 * resampled as `resampling` says (default: resamplingFor), `resamples` times from a seeded stream (same
 * inputs, same interval).
 */
export function bootstrapRatioInterval(
  baseline: readonly (readonly number[])[],
  current: readonly (readonly number[])[],
  confidence: number,
  resamples: number,
  seed: number,
  resampling = resamplingFor(baseline, current),
): [number, number] {
  const random = rng(seed);
  const drawBase = resampler(baseline, resampling.base, random);
  const drawCur = resampler(current, resampling.cur, random);
  const ratios: number[] = [];
  for (let b = 0; b < resamples; b++) ratios.push(drawCur() / drawBase());
  ratios.sort((a, b) => a - b);
  const tail = (1 - confidence) / 2;
  return [quantile(ratios, tail), quantile(ratios, 1 - tail)];
}

/** A change already judged large enough: better or worse by the metric's direction. */
const verdictOf = (direction: Direction, change: number): Verdict => ((change > 0) === (direction === 'bigger') ? 'improvement' : 'regression');

interface Judged {
  verdict: Verdict;
  change: number | null;
  ratioInterval: [number, number] | null;
  lower: number | null;
  upper: number | null;
  resampling: string | null;
  runToRun: RunToRunNoise | null;
  judged: boolean;
  notJudged: NotJudgedReason | null;
  note: string;
}

/**
 * The allowed band for `current` under a rule, around what the baseline predicts for it (`expected`):
 * a difference for `absolute`, a fraction for `relative`, a factor either way for `timing` (which
 * `judge` widens by the runs' calibration difference). Null for rules that never judge.
 */
export function allowedBand(rule: Rule, direction: Direction, expected: number, tolerance: number): { lower: number | null; upper: number | null } | null {
  if (rule === 'info' || rule === 'status' || direction === 'none') return null;
  const lower = rule === 'absolute' ? expected - tolerance : rule === 'timing' ? expected / (1 + tolerance) : expected * (1 - tolerance);
  const upper = rule === 'absolute' ? expected + tolerance : expected * (1 + tolerance);
  return direction === 'bigger' ? { lower, upper: null } : { lower: null, upper };
}

function band(direction: Direction, expected: number, tolerance: number, absolute: boolean): { lower: number | null; upper: number | null } {
  return allowedBand(absolute ? 'absolute' : 'relative', direction, expected, tolerance) ?? { lower: null, upper: null };
}

function judge(
  rule: Rule,
  tolerance: number,
  direction: Direction,
  base: Side,
  cur: Side,
  normalized: boolean,
  unit: string,
  metric: string,
  thresholds: Thresholds,
  seed: number,
): Judged {
  const baseMean = sideMean(base, 'normalized');
  const curMean = sideMean(cur, 'normalized');
  const none = { ratioInterval: null, resampling: null } as const;
  if (rule === 'info') return { verdict: 'unchanged', change: baseMean === 0 ? null : curMean / baseMean - 1, ...none, runToRun: null, lower: null, upper: null, judged: false, notJudged: null, note: '' };
  const baseRuns = base.runs.map((r) => r.normalized);
  const curRuns = cur.runs.map((r) => r.normalized);
  const noise = runToRunNoise(baseRuns, curRuns, rule !== 'absolute', thresholds.noise.confidence);
  // Below a millionth (bit-level differences between processes) the band is not worth a word.
  const noiseNote = noise === null || noise.band < 1e-6 ? '' : `run-to-run noise ${describeNoise(noise, unit)}`;
  const withinNoise = (note: string): string => `within run-to-run noise ${describeNoise(noise!, unit)}${note ? `; ${note}` : ''}`;
  // A ratio band wider than the resolution: the gate cannot tell a change of this figure from another run.
  const unresolved =
    noise !== null && noise.multiplicative && Math.exp(noise.band) - 1 > thresholds.noise.resolution
      ? `run-to-run noise ${describeNoise(noise, unit)} is wider than the gate resolves (±${(thresholds.noise.resolution * 100).toFixed(0)}%): shown, not judged`
      : '';
  // One process a side: what moves all of a process's samples together (its cores, JIT tiers, memory
  // layout, the machine's other jobs) cannot be told from a change, so a process's own measurements wait for repeats.
  const oneRunPerSide =
    base.runs.length === 1 && cur.runs.length === 1 && processNoise(rule, metric)
      ? `one run per side: run-to-run noise unknown (record repeats: ${RECORD_REPEATS}): shown, not judged`
      : '';
  if (rule === 'absolute') {
    const change = curMean - baseMean;
    const allowed = Math.max(tolerance, noise?.band ?? 0);
    const large = Math.abs(change) > tolerance;
    const verdict = large && Math.abs(change) > (noise?.band ?? 0) ? verdictOf(direction, change) : 'unchanged';
    const note = large && verdict === 'unchanged' ? withinNoise('') : noiseNote;
    return { verdict, change, ...none, runToRun: noise, ...band(direction, baseMean, allowed, true), judged: true, notJudged: null, note };
  }
  // What the baseline predicts on the current machine, in current's raw unit.
  const scale = normalized && cur.calibration !== null ? (RATE_UNITS.has(unit) ? cur.calibration : 1 / cur.calibration) : 1;
  const change = baseMean === 0 ? null : curMean / baseMean - 1;
  // Beyond the run-to-run band (log ratio), where it is known.
  const beyondNoise = (ratio: number): boolean => noise === null || Math.abs(Math.log(ratio)) > noise.band;
  const noiseFactor = noise === null ? 1 : Math.exp(noise.band);
  if (rule === 'relative') {
    const limits = band(direction, baseMean * scale, Math.max(tolerance, noiseFactor - 1), false);
    if (oneRunPerSide) return { verdict: 'unchanged', change, ...none, runToRun: noise, ...limits, judged: false, notJudged: 'one-run-per-side', note: oneRunPerSide };
    if (change === null) return { verdict: curMean === 0 ? 'unchanged' : verdictOf(direction, curMean), change, ...none, runToRun: noise, ...band(direction, baseMean * scale, tolerance, false), judged: true, notJudged: null, note: 'baseline is 0: judged by sign' };
    if (unresolved) return { verdict: 'unchanged', change, ...none, runToRun: noise, ...limits, judged: false, notJudged: 'noise-unresolved', note: unresolved };
    const large = Math.abs(change) >= tolerance;
    const verdict = large && beyondNoise(change + 1) ? verdictOf(direction, change) : 'unchanged';
    return { verdict, change, ...none, runToRun: noise, ...limits, judged: true, notJudged: null, note: large && verdict === 'unchanged' ? withinNoise('') : noiseNote };
  }
  // A timing threshold is a factor, the same both ways: `relative` 1.5 is 2.5× slower, as a latency
  // or as a throughput. Normalising assumes the machine kept the speed its calibration saw; on a shared
  // machine it does not (another job starts after the calibration), so a normalised timing must also
  // move by more than the correction itself: what the calibration says the speed differed by.
  const drift = normalized && base.calibration !== null && cur.calibration !== null ? Math.max(cur.calibration / base.calibration, base.calibration / cur.calibration) : 1;
  const factor = (1 + tolerance) * drift;
  const limits = allowedBand('timing', direction, baseMean * scale, Math.max(factor, noiseFactor) - 1) ?? { lower: null, upper: null };
  const driftNote = drift >= 1.05 ? `machine speed differed ${drift.toFixed(2)}× between the runs (calibration): needs a change beyond ${factor.toFixed(2)}×` : '';
  const shown = (reason: NotJudgedReason, note: string): Judged => ({ verdict: 'unchanged', change, ...none, runToRun: noise, ...limits, judged: false, notJudged: reason, note });
  if (Math.min(sampleCount(base), sampleCount(cur)) < 2) return shown('one-sample', '1 sample on a side: shown, not judged');
  // A busy baseline run shows in the measured run-to-run band; without one, it makes the figure untimable.
  const unsteady = noise === null ? Math.max(base.unsteadiness, cur.unsteadiness) : cur.unsteadiness;
  if (unsteady > thresholds.timing.unsteady) {
    return shown('busy-machine', `machine too busy to time: its calibration varied ±${(unsteady * 100).toFixed(0)}% within a run (limit ${(thresholds.timing.unsteady * 100).toFixed(0)}%): shown, not judged`);
  }
  if (unresolved) return shown('noise-unresolved', unresolved);
  if (oneRunPerSide) return shown('one-run-per-side', oneRunPerSide);
  if (change === null) return { verdict: curMean === 0 ? 'unchanged' : verdictOf(direction, curMean), change, ...none, runToRun: noise, ...limits, judged: true, notJudged: null, note: 'baseline is 0: judged by sign' };
  const ratio = change + 1;
  const large = ratio >= factor || ratio <= 1 / factor;
  const resampling = resamplingFor(baseRuns, curRuns);
  const how = describeResampling(resampling);
  if (resampling.base.by === 'block' && Math.min(resampling.base.units, resampling.cur.units) < MIN_BLOCKS) {
    return { ...shown('few-blocks', `too few samples for a significance test (${how}; needs ${MIN_BLOCKS} a side): shown, not judged`), resampling: how };
  }
  const { confidence, resamples } = thresholds.timing;
  const interval = bootstrapRatioInterval(baseRuns, curRuns, confidence, resamples, seed, resampling);
  const significant = interval[0] > 1 || interval[1] < 1;
  const verdict = large && significant && beyondNoise(ratio) ? verdictOf(direction, change) : 'unchanged';
  const insignificant = large && !significant ? `not significant (${Math.round(confidence * 100)}% interval of the ratio ${interval[0].toFixed(3)}–${interval[1].toFixed(3)})` : '';
  const noiseText = large && significant && verdict === 'unchanged' ? withinNoise('') : noiseNote;
  return { verdict, change, ratioInterval: interval, resampling: how, runToRun: noise, ...limits, judged: true, notJudged: null, note: [noiseText, insignificant, driftNote].filter(Boolean).join('; ') };
}

/** Status of a run group on one side: ok, or the first failing row. */
function failure(rows: readonly ResultRow[] | undefined): ResultRow | null | undefined {
  if (!rows) return undefined;
  return rows.find((r) => r.status !== 'ok') ?? null;
}

const describeFailure = (r: ResultRow): string => `${r.status}${r.error ? `: ${r.error}` : ''}`;

/** The columns of a Comparison that come from the rows of its key. */
function identity(r: ResultRow): Pick<Comparison, 'task' | 'arch' | 'preset' | 'seq_len' | 'batch_size' | 'threads' | 'backend' | 'config_hash'> {
  return { task: r.task, arch: r.arch, preset: r.preset, seq_len: r.seq_len, batch_size: r.batch_size, threads: threadsOf(r), backend: r.backend, config_hash: r.config_hash };
}

function statusRow(r: ResultRow, verdict: Verdict, note: string): Comparison {
  return {
    ...identity(r),
    phase: 'run',
    metric: 'status',
    slice: null,
    baseline: null,
    current: null,
    lower: null,
    upper: null,
    verdict,
    unit: '',
    direction: 'none',
    rule: 'status',
    change: null,
    ratioInterval: null,
    resampling: null,
    runToRun: null,
    judged: verdict !== 'unchanged',
    notJudged: null,
    normalized: false,
    note,
  };
}

/** One row per run setup whose status changed, failed, or that one side lacks. */
function statusRows(baseline: readonly ResultRow[], current: readonly ResultRow[]): Comparison[] {
  const baseRuns = groupBy(baseline, runKey);
  const curRuns = groupBy(current, runKey);
  const out: Comparison[] = [];
  for (const [key, rows] of baseRuns) {
    if (!curRuns.has(key)) out.push(statusRow(rows[0], 'missing', 'run of the baseline not in the current results'));
  }
  for (const [key, rows] of curRuns) {
    const was = failure(baseRuns.get(key));
    const now = failure(rows);
    if (was === undefined) {
      if (now !== null) out.push(statusRow(rows[0], 'new', `new run failed (${describeFailure(now!)})`));
    } else if (was === null && now !== null) {
      out.push(statusRow(rows[0], 'regression', `ok → ${describeFailure(now!)}`));
    } else if (was !== null && now === null) {
      out.push(statusRow(rows[0], 'improvement', `${was.status} → ok`));
    } else if (was !== null && now !== null) {
      out.push(statusRow(rows[0], 'unchanged', `still failing: ${was.status} → ${describeFailure(now!)}`));
    }
  }
  return out;
}

/** Parse a thresholds object (a file's contents) over the defaults; throws ZodError on a bad field. */
export function parseThresholds(input: ThresholdsInput = {}): Thresholds {
  return Thresholds.parse(input);
}

const VERDICT_ORDER: Verdict[] = ['regression', 'missing', 'improvement', 'new', 'unchanged'];

/**
 * Compare two results sets. Returns one row per matched figure, per missing and new figure, and per
 * run whose status changed or that one side lacks, regressions first.
 */
export function compareRows(baselineRows: readonly ResultRow[], currentRows: readonly ResultRow[], options: CompareOptions = {}): Comparison[] {
  const thresholds = parseThresholds(options.thresholds);
  const normalize = options.normalize ?? true;
  const baseline = baselineRows.filter(isSummaryRow);
  const current = currentRows.filter(isSummaryRow);
  const baseCal = normalize ? calibrations(baseline) : null;
  const curCal = normalize ? calibrations(current) : null;
  const baseSpread = calibrationSpread(baseline);
  const curSpread = calibrationSpread(current);
  const baseGroups = groupBy(baseline, matchKey);
  const curGroups = groupBy(current, matchKey);

  const out: Comparison[] = statusRows(baseline, current);
  for (const key of new Set([...baseGroups.keys(), ...curGroups.keys()])) {
    const baseRows = baseGroups.get(key);
    const curRows = curGroups.get(key);
    const r = (curRows ?? baseRows)![0];
    const { rule, tolerance } = ruleFor(r, thresholds, normalize);
    // Normalise a speed only when every run on both sides has its calibration figure.
    const normalizable = normalize && rule === 'timing' && (RATE_UNITS.has(r.unit) || DURATION_UNITS.has(r.unit));
    const normalized = normalizable && calibrated(baseRows, baseCal) && calibrated(curRows, curCal);
    const base = baseRows ? side(baseRows, normalized ? baseCal : null, baseSpread) : null;
    const cur = curRows ? side(curRows, normalized ? curCal : null, curSpread) : null;
    const row: Comparison = {
      ...identity(r),
      phase: r.phase,
      metric: r.metric,
      slice: r.slice,
      baseline: base ? sideMean(base, 'raw') : null,
      current: cur ? sideMean(cur, 'raw') : null,
      lower: null,
      upper: null,
      verdict: 'unchanged',
      unit: r.unit,
      direction: r.direction,
      rule,
      change: null,
      ratioInterval: null,
      resampling: null,
      runToRun: null,
      judged: false,
      notJudged: null,
      normalized: normalized && base !== null && cur !== null,
      note: '',
    };
    if (base && cur) {
      const seed = deriveSeed(thresholds.timing.seed, key);
      Object.assign(row, judge(rule, tolerance, r.direction, base, cur, row.normalized, r.unit, r.metric, thresholds, seed));
      if (normalizable && !normalized) row.note = ['not normalised: a run lacks its calibration row', row.note].filter(Boolean).join('; ');
    } else if (base) {
      row.verdict = 'missing';
      row.judged = true;
      const failed = curRows?.find((x) => x.status !== 'ok');
      row.note = failed ? `no figure: run ${describeFailure(failed)}` : curRows ? 'no figure in the current results' : 'not in the current results';
    } else if (cur) {
      row.verdict = 'new';
      row.note = baseRows ? 'no figure in the baseline' : 'not in the baseline';
    } else {
      // Both sides have rows but no figure (failed on both): the status row says why.
      continue;
    }
    out.push(row);
  }
  return out.sort(
    (a, b) =>
      VERDICT_ORDER.indexOf(a.verdict) - VERDICT_ORDER.indexOf(b.verdict) ||
      a.task.localeCompare(b.task) ||
      a.arch.localeCompare(b.arch) ||
      (a.seq_len ?? -1) - (b.seq_len ?? -1) ||
      a.backend.localeCompare(b.backend) ||
      a.phase.localeCompare(b.phase) ||
      a.metric.localeCompare(b.metric) ||
      (a.slice ?? '').localeCompare(b.slice ?? ''),
  );
}

export interface GateOptions {
  /** Accept figures and runs of the baseline that the current results lack (`--allow-missing`). */
  allowMissing?: boolean;
}

/** What fails the gate: every regression, and every missing figure or run unless allowed. */
export function gateFailures(rows: readonly Comparison[], options: GateOptions = {}): Comparison[] {
  return rows.filter((r) => r.verdict === 'regression' || (r.verdict === 'missing' && !options.allowMissing));
}
