/**
 * The trend of every figure across many results directories (one per commit, e.g. CI artefacts or a
 * results/history/ folder): tidy points, one per directory × figure, ordered by date, for a report chart.
 */
import { readEnv, readRows } from './results/io.ts';
import type { Direction, Phase, ResultRow, RunStatus } from './results/schema.ts';
import { distinguish, figuresOf, groupBy, isSummaryRow, matchKey, MEASUREMENT_FIELDS, runIdentity, threadsOf, type Setup } from './compare.ts';
import { provenanceOf } from './baseline.ts';
import { summarize } from './stats.ts';

export interface HistoryPoint {
  /** One line of the chart: "task/arch/phase/metric[slice] (backend)", plus the config hash when needed. */
  series: string;
  source: string;
  git_sha: string | null;
  /** ISO-8601 time the results were produced (first row), or env.json's `created`. */
  date: string | null;
  suite: string;
  task: string;
  arch: string;
  preset: string | null;
  seq_len: number | null;
  batch_size: number | null;
  threads: number | null;
  backend: string;
  config_hash: string;
  phase: Phase;
  metric: string;
  slice: string | null;
  unit: string;
  direction: Direction;
  /** Mean over the pooled samples of every run (seed) of the figure; null when every run failed. */
  value: number | null;
  stddev: number | null;
  n: number;
  runs: number;
  /** Mean calibration matmul GFLOP/s of those runs, to normalise speeds by machine. */
  calibration_gflops: number | null;
  status: RunStatus;
}

export interface HistorySource {
  dir: string;
  rows: readonly ResultRow[];
  env: Record<string, unknown> | null;
}

const seriesName = (r: ResultRow): string => `${r.task}/${r.arch}/${r.phase}/${r.metric}${r.slice ? `[${r.slice}]` : ''} (${r.backend})`;

/** Points of every summary figure of every source, sorted by series, then date. */
export function buildHistory(sources: readonly HistorySource[]): HistoryPoint[] {
  const points: HistoryPoint[] = [];
  for (const source of sources) {
    const rows = source.rows.filter(isSummaryRow);
    const { gitSha, date } = provenanceOf(rows, source.env);
    const calibration = new Map(rows.filter((r) => r.metric === 'matmul_gflops' && r.phase === 'calibration' && r.value !== null).map((r) => [runIdentity(r), r.value!]));
    for (const group of groupBy(rows, matchKey).values()) {
      const r = group[0];
      const ok = group.filter((g): g is ResultRow & { value: number } => g.status === 'ok' && g.value !== null && Number.isFinite(g.value));
      const s = ok.length > 0 ? summarize(ok.flatMap(figuresOf)) : null;
      const cals = ok.map((g) => calibration.get(runIdentity(g))).filter((c) => c !== undefined);
      points.push({
        series: seriesName(r),
        source: source.dir,
        git_sha: gitSha,
        date,
        suite: r.suite,
        task: r.task,
        arch: r.arch,
        preset: r.preset,
        seq_len: r.seq_len,
        batch_size: r.batch_size,
        threads: threadsOf(r),
        backend: r.backend,
        config_hash: r.config_hash,
        phase: r.phase,
        metric: r.metric,
        slice: r.slice,
        unit: r.unit,
        direction: r.direction,
        value: s ? s.mean : null,
        stddev: s ? s.stddev : null,
        n: s ? s.n : 0,
        runs: group.length,
        calibration_gflops: cals.length > 0 ? cals.reduce((a, b) => a + b, 0) / cals.length : null,
        status: group.find((g) => g.status !== 'ok')?.status ?? 'ok',
      });
    }
  }
  // One model measured at several lengths, batches or configs would share a series name: add what tells them apart.
  const names = distinguish(points, (p) => p.series, (p) => Object.fromEntries(MEASUREMENT_FIELDS.map((f) => [f, p[f]])) as Setup);
  points.forEach((p, i) => (p.series = names[i]));
  return points.sort((a, b) => a.series.localeCompare(b.series) || (a.date ?? '').localeCompare(b.date ?? '') || a.source.localeCompare(b.source));
}

/** Read each results directory (rows and env.json) and build its history. */
export function readHistory(dirs: readonly string[]): HistoryPoint[] {
  return buildHistory(dirs.map((dir) => ({ dir, rows: readRows(dir), env: readEnv(dir) })));
}
