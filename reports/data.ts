/**
 * Reading result rows for reports: picking figures, naming failed runs, pooling repeated runs, and the
 * one colour per architecture that every chart shares.
 */
import type { ResultRow } from '../harness/results/schema.ts';
import { summarize } from '../harness/stats.ts';
import type { FailedRun } from './types.ts';
import { groupBy } from '../harness/compare.ts';

/** Reports group rows with compare's `groupBy` (first-seen order). */
export { groupBy };

/** A row that carries a figure: its run finished and the value is a number. */
export function hasValue(row: ResultRow): row is ResultRow & { value: number } {
  return row.status === 'ok' && row.value !== null && Number.isFinite(row.value);
}

/** Rows of one phase/metric that carry a figure; `slice` undefined: any slice, null: whole split only. */
export function figures(rows: ResultRow[], phase: string, metric: string, slice?: string | null): (ResultRow & { value: number })[] {
  return rows.filter(
    (r): r is ResultRow & { value: number } =>
      r.phase === phase && r.metric === metric && (slice === undefined || r.slice === slice) && r.step === null && hasValue(r),
  );
}

/** The number after `key=` in a slice label ("eval_len=512" → 512), or null for another key. */
export function sliceNumber(slice: string | null, key: string): number | null {
  if (slice === null || !slice.startsWith(`${key}=`)) return null;
  const value = Number(slice.slice(key.length + 1));
  return Number.isFinite(value) ? value : null;
}

/** Every run with a row whose status is not ok, once each (the first such row names the failure). */
export function failedRuns(rows: ResultRow[]): FailedRun[] {
  const failed = new Map<string, FailedRun>();
  for (const r of rows) {
    if (r.status === 'ok' || failed.has(r.run_id)) continue;
    failed.set(r.run_id, { run_id: r.run_id, task: r.task, arch: r.arch, seq_len: r.seq_len, status: r.status, error: r.error });
  }
  return [...failed.values()].sort((a, b) => a.task.localeCompare(b.task) || a.arch.localeCompare(b.arch) || (a.seq_len ?? 0) - (b.seq_len ?? 0));
}

/**
 * Failed runs that a chart of `phase/metric` has no figure for (restricted to `tasks` when given):
 * the chart marks these instead of leaving a silent gap.
 */
export function missingFrom(rows: ResultRow[], phase: string, metric: string, tasks?: Set<string>): FailedRun[] {
  const withFigure = new Set(figures(rows, phase, metric).map((r) => r.run_id));
  return failedRuns(rows).filter((f) => !withFigure.has(f.run_id) && (tasks === undefined || tasks.has(f.task)));
}

/** "mamba at L=4096 (oom)" */
export function describeFailure(f: FailedRun): string {
  return `${f.arch}${f.seq_len === null ? '' : ` at L=${f.seq_len}`} on ${f.task} (${f.status})`;
}

/** Tableau 10 (the palette readers know from Vega), then Tableau 20's light partners for larger sets. */
const PALETTE = [
  '#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac',
  '#9ecae9', '#ffbf79', '#ff9d98', '#88d27a', '#b7a9e0', '#f2cf5b', '#d6a5c9', '#fcbfd2', '#d8b5a5', '#79706e',
];

/** One fixed colour per architecture, from the sorted names of every architecture in the rows. */
export type ArchColors = ReadonlyMap<string, string>;

export function archColors(names: string[]): ArchColors {
  const archs = [...new Set(names)].sort();
  return new Map(archs.map((a, i) => [a, PALETTE[i % PALETTE.length]]));
}

/** A figure pooled over repeated runs, with its sample count and spread. */
export interface Pooled {
  value: number;
  n: number;
  stddev: number | null;
}

/**
 * Pool rows of the same figure: one row keeps its own n and stddev; several with raw samples are pooled
 * sample by sample; otherwise the runs' values are the samples.
 */
export function pool(rows: (ResultRow & { value: number })[]): Pooled | null {
  if (rows.length === 0) return null;
  if (rows.length === 1) return { value: rows[0].value, n: rows[0].n, stddev: rows[0].stddev };
  const samples = rows.every((r) => r.samples !== null && r.samples.length > 0) ? rows.flatMap((r) => r.samples ?? []) : rows.map((r) => r.value);
  const s = summarize(samples);
  return { value: s.mean, n: s.n, stddev: s.stddev };
}

export const sortedUnique = <T extends string | number>(values: T[]): T[] =>
  [...new Set(values)].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));

/** Tasks scored as translation: those with BLEU or chrF rows. */
export function translationTasks(rows: ResultRow[]): Set<string> {
  return new Set(rows.filter((r) => r.phase === 'eval' && (r.metric === 'bleu' || r.metric === 'chrf')).map((r) => r.task));
}

/** A number for people: 3 significant digits, thousands separated, no exponent for everyday sizes. */
export function formatNumber(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e15 || abs < 1e-4) return value.toExponential(2);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(3)).toString();
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toPrecision(3))} ${BYTE_UNITS[i]}`;
}

/** "12,345 ± 210 (n=20)": the figure with its spread and sample count. */
export function formatPooled(p: Pooled, format: (v: number) => string = formatNumber): string {
  const spread = p.stddev === null ? '' : ` ± ${format(p.stddev)}`;
  return `${format(p.value)}${spread} (n=${p.n})`;
}
