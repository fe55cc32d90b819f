/**
 * Paper findings, evaluated: after a suite with findings has run, each finding's check is applied to
 * the suite's rows and the outcomes are written to findings.json beside results.jsonl, where the report
 * reads them. A finding that does not hold is a result to publish, not a failure: nothing here sets an
 * exit code. The row helpers below are what the checks in suites/papers/ are written with.
 */
import { outcome, writeFindings } from './results/findings.ts';
import { readRows } from './results/io.ts';
import type { ResultRow } from './results/schema.ts';
import { resolveRun, type RunSpecInput } from './spec.ts';
import type { FindingResult, Scale, Suite } from './suites/types.ts';

/** Each finding of `suite` checked on the suite's rows (rows of other suites are ignored). */
export function evaluateFindings(suite: Suite, rows: ResultRow[], scale: Scale): FindingResult[] {
  const own = rows.filter((r) => r.suite === suite.name);
  return (suite.findings ?? []).map((finding) => {
    let checked: Pick<FindingResult, 'measured' | 'held' | 'detail'>;
    try {
      checked = finding.evaluate(own, scale);
    } catch (e) {
      // A broken check must not cost the report of a suite that ran for an hour; it shows as not judged.
      checked = { measured: [], held: null, detail: `the check could not be evaluated: ${(e as Error).message}` };
    }
    return {
      id: finding.id,
      suite: suite.name,
      claim: finding.claim,
      source: finding.source,
      published: finding.published,
      expectation: finding.expectation,
      ...(finding.setting ? { setting: finding.setting[scale] } : {}),
      scale,
      ...checked,
    };
  });
}

/** The console summary bench prints: one line per finding, outcome first. */
export function findingsSummary(results: FindingResult[]): string {
  if (results.length === 0) return '';
  const lines = results.map((r) => `  ${outcome(r.held).padEnd(14)} ${r.suite}/${r.id}: ${r.expectation}\n${' '.repeat(17)}${r.detail}`);
  return `findings (${results[0].scale} scale; expected outcomes from the papers, not tests):\n${lines.join('\n')}\n`;
}

/** Check a suite's findings on the rows in `outDir`, write findings.json there, and return the console summary. */
export function recordFindings(suite: Suite, outDir: string, scale: Scale): string {
  const results = evaluateFindings(suite, readRows(outDir), scale);
  writeFindings(outDir, results);
  return findingsSummary(results);
}

// ---------------------------------------------------------------------------------------------------
// Row helpers for the checks

/** Rows of the runs that share this spec's model and task (any learning rate, step count or backend). */
export function rowsOfSpec(rows: ResultRow[], spec: RunSpecInput): ResultRow[] {
  const hash = resolveRun(spec).configHash;
  return rows.filter((r) => r.config_hash === hash);
}

/**
 * Rows of exactly this run (this spec's training settings and seed), on whichever backend it ran: the run
 * id is the spec's hash, and the backend is part of it, so the id is tried with every backend the rows name.
 */
export function rowsOfRun(rows: ResultRow[], spec: RunSpecInput): ResultRow[] {
  const backends = [...new Set(rows.map((r) => r.backend))];
  const ids = new Set(backends.map((backend) => resolveRun({ ...spec, backend: backend as RunSpecInput['backend'] }).runId));
  return rows.filter((r) => ids.has(r.run_id));
}

/** A measured value and how many items (answers, samples, points) stand behind it. */
export interface Reading {
  value: number;
  n: number;
  /** Standard deviation of the samples behind a timing (absent for counts such as accuracy). */
  stddev?: number;
  /** Over seeds: the value of each seed that ran (value is their mean), and how many seeds the suite ran. */
  seeds?: { values: number[]; planned: number };
}

function okFigures(rows: ResultRow[], metric: string, slice: string | null): (ResultRow & { value: number })[] {
  return rows.filter((r): r is ResultRow & { value: number } => r.status === 'ok' && r.metric === metric && r.slice === slice && r.value !== null && Number.isFinite(r.value));
}

/** The largest value of `metric` over the runs given (zoology's "best over the learning-rate sweep"); null if none ran. */
export function bestOf(rows: ResultRow[], metric: string, slice: string | null = null): Reading | null {
  const found = okFigures(rows, metric, slice);
  if (found.length === 0) return null;
  const best = found.reduce((a, b) => (b.value > a.value ? b : a));
  return { value: best.value, n: best.n };
}

/** The median (p50) of a timing metric, taken from the first run that has it; null if none ran. */
export function medianOf(rows: ResultRow[], metric: string, slice: string | null = null): Reading | null {
  const found = okFigures(rows, metric, slice);
  if (found.length === 0) return null;
  const { p50, value, n, stddev } = found[0];
  return { value: p50 ?? value, n, ...(stddev === null ? {} : { stddev }) };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * One figure over seeds: `read` applied to each seed's run of `spec`, as the mean of the seeds that ran,
 * with each seed's value kept (so a check can see the spread) and the count the suite planned (so a
 * missing seed is seen, not averaged away). n is the items behind all seeds together; a timing's stddev
 * is the pooled within-run one. Null when no seed ran.
 */
export function overSeeds(rows: ResultRow[], spec: RunSpecInput, seeds: readonly number[], read: (runRows: ResultRow[]) => Reading | null): Reading | null {
  const perSeed = seeds.map((seed) => read(rowsOfRun(rows, { ...spec, seed }))).filter((r): r is Reading => r !== null);
  if (perSeed.length === 0) return null;
  const stddevs = perSeed.map((r) => r.stddev).filter((s): s is number => s !== undefined);
  return {
    value: mean(perSeed.map((r) => r.value)),
    n: perSeed.reduce((a, r) => a + r.n, 0),
    ...(stddevs.length === 0 ? {} : { stddev: Math.sqrt(mean(stddevs.map((s) => s * s))) }),
    seeds: { values: perSeed.map((r) => r.value), planned: seeds.length },
  };
}

/**
 * The best of several runs that differ only in training settings (a learning-rate sweep), each read over
 * seeds: the one with the largest mean. The same settings are compared across seeds, never the best seed
 * of each, so the sweep does not pick its luckiest draws.
 */
export function bestOverSeeds(rows: ResultRow[], specs: readonly RunSpecInput[], seeds: readonly number[], read: (runRows: ResultRow[]) => Reading | null): Reading | null {
  const readings = specs.map((s) => overSeeds(rows, s, seeds, read)).filter((r): r is Reading => r !== null);
  return readings.length === 0 ? null : readings.reduce((a, b) => (b.value > a.value ? b : a));
}

/**
 * A figure derived from two readings seed by seed (a gap, a ratio): `f` of their means, and of each seed's
 * pair of values where both have the same seeds. Null if either is missing.
 */
export function combine(a: Reading | null, b: Reading | null, f: (x: number, y: number) => number): Reading | null {
  if (a === null || b === null) return null;
  const paired = a.seeds && b.seeds && a.seeds.values.length === b.seeds.values.length;
  return {
    value: f(a.value, b.value),
    n: Math.min(a.n, b.n),
    ...(a.seeds && b.seeds
      ? { seeds: { values: paired ? a.seeds.values.map((x, i) => f(x, b.seeds!.values[i])) : [], planned: Math.max(a.seeds.planned, b.seeds.planned) } }
      : {}),
  };
}

/** A labelled measured value for a FindingResult (null when the run is missing or failed). */
export function measured(label: string, figure: Reading | null, unit: string): FindingResult['measured'][number] {
  if (figure === null) return { label, value: null, unit };
  return {
    label,
    value: figure.value,
    unit,
    n: figure.n,
    ...(figure.stddev === undefined ? {} : { stddev: figure.stddev }),
    ...(figure.seeds === undefined ? {} : { seeds: figure.seeds.values }),
  };
}

/** One condition of a finding's expectation, checked: true, false, or null when its figure is missing. */
export interface Check {
  ok: boolean | null;
  text: string;
}

/**
 * `label value ≥ threshold`, with the reading in words for the finding's detail. A reading over seeds
 * meets the threshold only if its mean does and no seed falls on the other side (the spread does not
 * straddle it), and is not judged when a planned seed is missing.
 */
export function compare(label: string, figure: Reading | number | null, op: '≥' | '≤', threshold: number): Check {
  if (figure === null) return { ok: null, text: `${label}: missing (the run failed or did not run)` };
  const value = typeof figure === 'number' ? figure : figure.value;
  if (!Number.isFinite(value)) return { ok: null, text: `${label}: could not be computed` };
  const meets = (v: number) => (op === '≥' ? v >= threshold : v <= threshold);
  const seeds = typeof figure === 'number' ? undefined : figure.seeds;
  if (seeds === undefined) {
    const ok = meets(value);
    return { ok, text: `${label} ${show(value)} (${ok ? 'meets' : 'misses'} ${op} ${threshold})` };
  }
  const k = seeds.values.length;
  if (k < seeds.planned) return { ok: null, text: `${label} ${show(value)}: only ${k} of ${seeds.planned} seeds ran, not judged` };
  const range = k > 1 ? `, seeds ${show(Math.min(...seeds.values))}–${show(Math.max(...seeds.values))}` : '';
  const onMean = meets(value);
  const straddles = onMean && !seeds.values.every(meets);
  const ok = onMean && !straddles;
  const verdictText = straddles ? `mean meets ${op} ${threshold} but the seeds straddle it` : `${ok ? 'meets' : 'misses'} ${op} ${threshold}`;
  return { ok, text: `${label} ${show(value)} (mean of ${k} seed${k === 1 ? '' : 's'}${range}; ${verdictText})` };
}

/**
 * All checks together, in three-valued logic: not held if any check fails, not judged if none fails
 * but one lacks its figure, held otherwise.
 */
export function verdict(checks: Check[]): Pick<FindingResult, 'held' | 'detail'> {
  const oks = checks.map((c) => c.ok);
  const held = oks.includes(false) ? false : oks.includes(null) ? null : true;
  return { held, detail: checks.map((c) => c.text).join('; ') };
}

/** "0.98" for fractions and other values up to 1 in size, 3 significant digits otherwise. */
export function show(value: number): string {
  return Math.abs(value) <= 1 ? value.toFixed(2) : Number(value.toPrecision(3)).toString();
}
