/**
 * Holding a results set against a baseline. Rows are matched by what they measure (task, arch,
 * config_hash, backend, phase, metric, slice), pooled over repeated runs (seeds), and each figure is
 * judged by the rule for its kind and direction:
 *
 * - timing    throughputs and latencies (rows with samples; ms, s, tokens/s, GFLOP/s). A regression needs
 *             a significant change (the bootstrap confidence interval of the ratio of means excludes 1)
 *             AND at least `timing.relative` change. Speeds are first normalised by the same run's
 *             calibration matmul GFLOP/s, so a uniformly slower machine is not a regression. With one
 *             sample on a side only the relative threshold applies, and the note says so.
 * - relative  memory (bytes, `memory.relative`) and other directional figures (`other.relative`).
 * - absolute  accuracy, exact match, BLEU, chrF, losses: a difference beyond a per-metric tolerance.
 * - info      direction 'none' (params, exponents) and, when normalising, the calibration figure itself:
 *             shown, never judged.
 * - status    one row per run: ok → not ok is a regression, not ok → ok an improvement.
 *
 * Missing rows (in the baseline, not the current set) and new rows are listed, never dropped.
 */
import { z } from 'zod';
import { deriveSeed, rng } from '../util/rng.ts';
import type { Direction, Phase, ResultRow } from './results/schema.ts';
import { quantile } from './stats.ts';

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
      relative: Relative.default(0.1),
      confidence: z.number().gt(0).lt(1).default(0.95).describe('confidence of the bootstrap interval'),
      resamples: z.number().int().min(100).default(2000).describe('bootstrap resamples'),
      seed: z.number().int().default(0).describe('seed of the bootstrap (each row derives its own stream)'),
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

/** A ComparisonRow with what the table and CI need to explain it. */
export interface Comparison extends ComparisonRow {
  backend: string;
  config_hash: string;
  unit: string;
  direction: Direction;
  rule: Rule;
  /** current/baseline − 1 (normalised) for timing and relative rules, current − baseline for absolute. */
  change: number | null;
  /** Bootstrap interval of the (normalised) ratio current/baseline, when both sides had samples. */
  ratioInterval: [number, number] | null;
  normalized: boolean;
  /** Why the verdict, when it is not self-evident (fallbacks, status changes, failures). */
  note: string;
}

/** Units of speed: rates are divided by the machine's calibration figure, durations multiplied. */
const RATE_UNITS = new Set(['tokens/s', 'GFLOP/s']);
const DURATION_UNITS = new Set(['ms', 's']);

const CALIBRATION_METRIC = 'matmul_gflops';

/** Rows are matched on what they measure; run_id differs between a run and its baseline's. */
export function matchKey(r: ResultRow): string {
  return [r.task, r.arch, r.config_hash, r.backend, r.phase, r.metric, r.slice ?? ''].join('\u0000');
}

const runKey = (r: ResultRow): string => [r.task, r.arch, r.config_hash, r.backend].join('\u0000');

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

/** run_id → the run's calibration matmul GFLOP/s. */
function calibrations(rows: readonly ResultRow[]): Map<string, number> {
  const byRun = new Map<string, number>();
  for (const r of rows) {
    if (r.phase === 'calibration' && r.metric === CALIBRATION_METRIC && r.step === null && hasFigure(r) && r.value > 0) byRun.set(r.run_id, r.value);
  }
  return byRun;
}

/** Whether every run with a figure among `rows` has its calibration figure. */
const calibrated = (rows: readonly ResultRow[] | undefined, byRun: Map<string, number> | null): boolean =>
  (rows ?? []).filter(hasFigure).every((r) => byRun?.has(r.run_id));

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

/** One side of a comparison: the pooled figures of every run of the key. */
interface Side {
  /** Raw figures pooled over runs. */
  raw: number[];
  /** The same figures normalised by each run's calibration (equal to raw when not normalising). */
  normalized: number[];
  /** Mean calibration figure of the runs (null when not normalising). */
  calibration: number | null;
}

function side(rows: readonly ResultRow[], normalizeBy: Map<string, number> | null): Side | null {
  const ok = rows.filter(hasFigure);
  if (ok.length === 0) return null;
  const raw: number[] = [];
  const normalized: number[] = [];
  const cals: number[] = [];
  for (const r of ok) {
    const figures = figuresOf(r);
    raw.push(...figures);
    const cal = normalizeBy?.get(r.run_id);
    if (cal === undefined) {
      normalized.push(...figures);
      continue;
    }
    cals.push(cal);
    normalized.push(...figures.map((f) => (RATE_UNITS.has(r.unit) ? f / cal : f * cal)));
  }
  return { raw, normalized, calibration: cals.length > 0 ? mean(cals) : null };
}

/**
 * Percentile bootstrap interval of mean(current) / mean(baseline): both sides resampled with
 * replacement, `resamples` times, from a seeded stream (same inputs, same interval).
 */
export function bootstrapRatioInterval(
  baseline: readonly number[],
  current: readonly number[],
  confidence: number,
  resamples: number,
  seed: number,
): [number, number] {
  const random = rng(seed);
  const resampledMean = (xs: readonly number[]): number => {
    let sum = 0;
    for (let i = 0; i < xs.length; i++) sum += xs[random.int(xs.length)];
    return sum / xs.length;
  };
  const ratios: number[] = [];
  for (let b = 0; b < resamples; b++) ratios.push(resampledMean(current) / resampledMean(baseline));
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
  note: string;
}

/** The allowed band for `current`, around what the baseline predicts for it on the current machine. */
function band(direction: Direction, expected: number, tolerance: number, absolute: boolean): { lower: number | null; upper: number | null } {
  if (direction === 'bigger') return { lower: absolute ? expected - tolerance : expected * (1 - tolerance), upper: null };
  return { lower: null, upper: absolute ? expected + tolerance : expected * (1 + tolerance) };
}

function judge(
  rule: Rule,
  tolerance: number,
  direction: Direction,
  base: Side,
  cur: Side,
  normalized: boolean,
  unit: string,
  thresholds: Thresholds,
  seed: number,
): Judged {
  const baseMean = mean(base.normalized);
  const curMean = mean(cur.normalized);
  if (rule === 'info') return { verdict: 'unchanged', change: baseMean === 0 ? null : curMean / baseMean - 1, ratioInterval: null, lower: null, upper: null, note: '' };
  if (rule === 'absolute') {
    const change = curMean - baseMean;
    const verdict = Math.abs(change) > tolerance ? verdictOf(direction, change) : 'unchanged';
    return { verdict, change, ratioInterval: null, ...band(direction, baseMean, tolerance, true), note: '' };
  }
  // What the baseline predicts on the current machine, in current's raw unit.
  const scale = normalized && cur.calibration !== null ? (RATE_UNITS.has(unit) ? cur.calibration : 1 / cur.calibration) : 1;
  const limits = band(direction, baseMean * scale, tolerance, false);
  if (baseMean === 0) {
    const verdict = curMean === 0 ? 'unchanged' : verdictOf(direction, curMean);
    return { verdict, change: null, ratioInterval: null, ...limits, note: 'baseline is 0: judged by sign' };
  }
  const change = curMean / baseMean - 1;
  const large = Math.abs(change) >= tolerance;
  if (rule === 'relative') return { verdict: large ? verdictOf(direction, change) : 'unchanged', change, ratioInterval: null, ...limits, note: '' };
  if (base.normalized.length < 2 || cur.normalized.length < 2) {
    return {
      verdict: large ? verdictOf(direction, change) : 'unchanged',
      change,
      ratioInterval: null,
      ...limits,
      note: '1 sample on a side: relative threshold only, no significance test',
    };
  }
  const { confidence, resamples } = thresholds.timing;
  const interval = bootstrapRatioInterval(base.normalized, cur.normalized, confidence, resamples, seed);
  const significant = interval[0] > 1 || interval[1] < 1;
  const verdict = large && significant ? verdictOf(direction, change) : 'unchanged';
  const note = large && !significant ? `not significant (${Math.round(confidence * 100)}% interval of the ratio ${interval[0].toFixed(3)}–${interval[1].toFixed(3)})` : '';
  return { verdict, change, ratioInterval: interval, ...limits, note };
}

/** Status of a run group on one side: ok, or the first failing row. */
function failure(rows: readonly ResultRow[] | undefined): ResultRow | null | undefined {
  if (!rows) return undefined;
  return rows.find((r) => r.status !== 'ok') ?? null;
}

const describeFailure = (r: ResultRow): string => `${r.status}${r.error ? `: ${r.error}` : ''}`;

function statusRows(baseline: readonly ResultRow[], current: readonly ResultRow[]): Comparison[] {
  const baseRuns = groupBy(baseline, runKey);
  const curRuns = groupBy(current, runKey);
  const out: Comparison[] = [];
  for (const [key, rows] of curRuns) {
    const was = failure(baseRuns.get(key));
    const now = failure(rows);
    let verdict: Verdict;
    let note: string;
    if (was === undefined) {
      if (now === null) continue;
      verdict = 'new';
      note = `new run failed (${describeFailure(now!)})`;
    } else if (was === null && now === null) {
      continue;
    } else if (was === null) {
      verdict = 'regression';
      note = `ok → ${describeFailure(now!)}`;
    } else if (now === null) {
      verdict = 'improvement';
      note = `${was.status} → ok`;
    } else {
      verdict = 'unchanged';
      note = `still failing: ${was.status} → ${describeFailure(now!)}`;
    }
    const r = rows[0];
    out.push({
      task: r.task,
      arch: r.arch,
      phase: 'run',
      metric: 'status',
      slice: null,
      baseline: null,
      current: null,
      lower: null,
      upper: null,
      verdict,
      backend: r.backend,
      config_hash: r.config_hash,
      unit: '',
      direction: 'none',
      rule: 'status',
      change: null,
      ratioInterval: null,
      normalized: false,
      note,
    });
  }
  return out;
}

/** Parse a thresholds object (a file's contents) over the defaults; throws ZodError on a bad field. */
export function parseThresholds(input: ThresholdsInput = {}): Thresholds {
  return Thresholds.parse(input);
}

const VERDICT_ORDER: Verdict[] = ['regression', 'improvement', 'missing', 'new', 'unchanged'];

/**
 * Compare two results sets. Returns one row per matched figure, per missing and new figure, and per
 * run whose status changed, regressions first.
 */
export function compareRows(baselineRows: readonly ResultRow[], currentRows: readonly ResultRow[], options: CompareOptions = {}): Comparison[] {
  const thresholds = parseThresholds(options.thresholds);
  const normalize = options.normalize ?? true;
  const baseline = baselineRows.filter(isSummaryRow);
  const current = currentRows.filter(isSummaryRow);
  const baseCal = normalize ? calibrations(baseline) : null;
  const curCal = normalize ? calibrations(current) : null;
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
    const base = baseRows ? side(baseRows, normalized ? baseCal : null) : null;
    const cur = curRows ? side(curRows, normalized ? curCal : null) : null;
    const row: Comparison = {
      task: r.task,
      arch: r.arch,
      phase: r.phase,
      metric: r.metric,
      slice: r.slice,
      baseline: base ? mean(base.raw) : null,
      current: cur ? mean(cur.raw) : null,
      lower: null,
      upper: null,
      verdict: 'unchanged',
      backend: r.backend,
      config_hash: r.config_hash,
      unit: r.unit,
      direction: r.direction,
      rule,
      change: null,
      ratioInterval: null,
      normalized: normalized && base !== null && cur !== null,
      note: '',
    };
    if (base && cur) {
      const seed = deriveSeed(thresholds.timing.seed, key);
      Object.assign(row, judge(rule, tolerance, r.direction, base, cur, row.normalized, r.unit, thresholds, seed));
      if (normalizable && !normalized) row.note = ['not normalised: a run lacks its calibration row', row.note].filter(Boolean).join('; ');
    } else if (base) {
      row.verdict = 'missing';
      const failed = curRows?.find((x) => x.status !== 'ok');
      row.note = failed ? `no figure: run ${describeFailure(failed)}` : 'not in the current results';
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
      a.backend.localeCompare(b.backend) ||
      a.phase.localeCompare(b.phase) ||
      a.metric.localeCompare(b.metric) ||
      (a.slice ?? '').localeCompare(b.slice ?? ''),
  );
}

export const hasRegression = (rows: readonly Comparison[]): boolean => rows.some((r) => r.verdict === 'regression');
