/**
 * Reading result rows for reports: picking figures and naming failed runs. Pooling and fits live with
 * the harness's statistics (harness/stats.ts), colours in palette.ts, number formats in harness/format.ts.
 */
import type { ResultRow } from '../harness/results/schema.ts';
import { formatSpread } from '../harness/format.ts';
import type { Pooled } from '../harness/stats.ts';
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

export const sortedUnique = <T extends string | number>(values: T[]): T[] =>
  [...new Set(values)].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));

/** Tasks scored as translation: those with BLEU or chrF rows. */
export function translationTasks(rows: ResultRow[]): Set<string> {
  return new Set(rows.filter((r) => r.phase === 'eval' && (r.metric === 'bleu' || r.metric === 'chrf')).map((r) => r.task));
}

/** "12,345 ± 210 tokens/s (n=20)": the figure with its spread and sample count, in its unit. */
export function formatPooled(p: Pooled, unit: string): string {
  return formatSpread(p.value, p.stddev, p.n, unit);
}
