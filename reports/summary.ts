/**
 * The report's tables, built once and written both as HTML and as Markdown: results per task ×
 * architecture × length (figures with n and spread, and status), micro-benchmarks, failed runs, the
 * baseline comparison, and the environment the rows were measured in.
 */
import type { ResultRow } from '../harness/results/schema.ts';
import { formatBytes, formatNumber } from '../harness/format.ts';
import { logLogFit, pool, type Pooled } from '../harness/stats.ts';
import { failedRuns, figures, formatPooled, groupBy, sortedUnique, translationTasks } from './data.ts';
import type { ComparisonRow, Environment } from './types.ts';

export interface Table {
  title: string;
  /** One line under the title: what the figures are and how they were pooled. */
  note: string;
  columns: string[];
  rows: string[][];
}

const NONE = '—';
/** The pooled figure of these rows in the suite's one format; `unit` '' where the column names it. */
function cell(rows: (ResultRow & { value: number })[], unit = ''): string {
  const p: Pooled | null = pool(rows);
  return p === null ? NONE : formatPooled(p, unit);
}

/** "ok", "oom: RangeError …" or "2 ok, 1 timeout" for the runs of one table row. */
function statusOf(rows: ResultRow[]): string {
  const byRun = groupBy(rows, (r) => r.run_id);
  const statuses = [...byRun.values()].map((runRows) => runRows.find((r) => r.status !== 'ok') ?? runRows[0]);
  if (statuses.length === 1) {
    const s = statuses[0];
    return s.status === 'ok' ? 'ok' : `${s.status}${s.error ? `: ${s.error}` : ''}`;
  }
  const counts = groupBy(statuses, (s) => s.status);
  return [...counts.entries()].map(([status, group]) => `${group.length} ${status}`).join(', ');
}

const NOTE =
  'Mean ± sample standard deviation, n = samples behind it: training steps or decode repeats for throughput, answer positions or sentences for one run\'s accuracy and scores, runs when several seeds are pooled. Throughput: bigger is better; memory: smaller is better.';

/** One table row's leading cells and the figures that follow them. */
function setupCells(g: ResultRow[]): string[] {
  const { task, arch, seq_len } = g[0];
  return [task, arch, seq_len === null ? NONE : String(seq_len)];
}

const speedCells = (g: ResultRow[]): string[] => [
  cell(figures(g, 'train', 'tokens_per_s')),
  cell(figures(g, 'inference', 'decode_tokens_per_s')),
  cell(figures(g, 'train', 'peak_tensor_bytes'), 'bytes'),
];

/**
 * Results per task × architecture × training length, one table for long-context tasks (accuracy) and
 * one for translation tasks (BLEU, chrF, exact match); micro-benchmark runs have their own table.
 */
export function resultsTables(rows: ResultRow[]): Table[] {
  const microRuns = new Set(rows.filter((r) => r.phase === 'micro').map((r) => r.run_id));
  const translation = translationTasks(rows);
  const groups = [...groupBy(rows.filter((r) => !microRuns.has(r.run_id)), (r) => `${r.task}|${r.arch}|${r.seq_len}`).values()].sort(
    (a, b) => a[0].task.localeCompare(b[0].task) || a[0].arch.localeCompare(b[0].arch) || (a[0].seq_len ?? 0) - (b[0].seq_len ?? 0),
  );
  // A group with calibration rows alone is no training run (the micro suite's calibration, say).
  const longContext = groups.filter((g) => !translation.has(g[0].task) && g.some((r) => r.phase !== 'calibration'));
  const pairs = groups.filter((g) => translation.has(g[0].task));
  const speedColumns = ['train tokens/s', 'decode tokens/s', 'peak tensor memory', 'status'];
  const tables: Table[] = [];
  if (longContext.length > 0) {
    tables.push({
      title: 'Results: long-context tasks',
      note: `Accuracy on answer positions (whole split). ${NOTE}`,
      columns: ['task', 'architecture', 'L (tokens)', 'accuracy', ...speedColumns],
      rows: longContext.map((g) => [...setupCells(g), cell(figures(g, 'eval', 'accuracy', null), 'fraction'), ...speedCells(g), statusOf(g)]),
    });
  }
  if (pairs.length > 0) {
    tables.push({
      title: 'Results: translation tasks',
      note: `BLEU and chrF on 0–100 (sacreBLEU style), exact match in % of sentences. ${NOTE}`,
      columns: ['task', 'architecture', 'L (tokens)', 'BLEU', 'chrF', 'exact match', ...speedColumns],
      rows: pairs.map((g) => [
        ...setupCells(g),
        cell(figures(g, 'eval', 'bleu', null)),
        cell(figures(g, 'eval', 'chrf', null)),
        cell(figures(g, 'eval', 'exact_match', null), 'fraction'),
        ...speedCells(g),
        statusOf(g),
      ]),
    });
  }
  return tables;
}

/** Micro-benchmark latencies per architecture and length. */
export function microTable(rows: ResultRow[]): Table | null {
  const micro = rows.filter((r) => r.phase === 'micro');
  const metrics = [
    { metric: 'forward_ms', label: 'forward (ms)' },
    { metric: 'forward_backward_ms', label: 'forward + backward (ms)' },
    { metric: 'decode_step_ms', label: 'decode step (ms)' },
    { metric: 'peak_bytes', label: 'peak memory' },
  ].filter((m) => figures(micro, 'micro', m.metric).length > 0);
  if (metrics.length === 0) return null;
  // Rows of a length (fitted exponents and calibration have none), or failures, make a table row.
  const shown = micro.filter((r) => r.status !== 'ok' || metrics.some((m) => m.metric === r.metric));
  const groups = [...groupBy(shown, (r) => `${r.arch}|${r.backend}|${r.seq_len}`).values()].sort(
    (a, b) => a[0].arch.localeCompare(b[0].arch) || a[0].backend.localeCompare(b[0].backend) || (a[0].seq_len ?? 0) - (b[0].seq_len ?? 0),
  );
  return {
    title: 'Micro-benchmarks',
    note: 'Sequence-mixer latency, mean ± stddev over tinybench samples (n); smaller is better.',
    columns: ['architecture', 'backend', 'L (tokens)', ...metrics.map((m) => m.label), 'status'],
    rows: groups.map((g) => [
      g[0].arch,
      g[0].backend,
      g[0].seq_len === null ? NONE : String(g[0].seq_len),
      ...metrics.map((m) => cell(figures(g, 'micro', m.metric), m.metric === 'peak_bytes' ? 'bytes' : '')),
      statusOf(g),
    ]),
  };
}

/**
 * The fitted scaling exponent k (time or memory ∝ L^k) of each micro-benchmarked mixer and
 * implementation, with its standard error, fitted to the per-length means the chart draws.
 */
export function microExponentsTable(rows: ResultRow[]): Table | null {
  const metrics = [
    { metric: 'forward_ms', label: 'forward' },
    { metric: 'forward_backward_ms', label: 'forward + backward' },
    { metric: 'peak_bytes', label: 'peak memory' },
    { metric: 'decode_step_ms', label: 'decode step (vs context)' },
  ];
  const micro = rows.filter((r) => r.phase === 'micro' && r.seq_len !== null);
  const groups = [...groupBy(micro, (r) => `${r.arch}|${r.backend}`).values()].sort((a, b) => a[0].arch.localeCompare(b[0].arch) || a[0].backend.localeCompare(b[0].backend));
  const fits = groups.map((g) =>
    metrics.map((m) => {
      const byLength = [...groupBy(figures(g, 'micro', m.metric), (r) => String(r.seq_len)).values()];
      const xs = byLength.map((rs) => rs[0].seq_len!);
      const ys = byLength.map((rs) => pool(rs)!.value);
      return xs.length >= 2 ? logLogFit(xs, ys) : null;
    }),
  );
  const shown = metrics.map((_, i) => fits.some((f) => f[i] !== null));
  if (!shown.includes(true)) return null;
  const text = (f: ReturnType<typeof logLogFit> | null): string =>
    f === null ? NONE : `${f.k.toFixed(2).replace('-', '−')}${f.se === null ? '' : ` ± ${f.se.toFixed(2)}`} (${f.points} lengths)`;
  return {
    title: 'Fitted scaling exponents',
    note: 'k of time (or memory) ∝ L^k, least squares on log–log over the measured lengths, ± its standard error (3 lengths or more); ≈ 2 for attention, ≈ 1 for scans and recurrences, ≈ 0 for a decode step with a fixed-size state.',
    columns: ['mixer / implementation', 'backend', ...metrics.filter((_, i) => shown[i]).map((m) => `k: ${m.label}`)],
    rows: groups
      .map((g, gi) => [g[0].arch, g[0].backend, ...fits[gi].filter((_, i) => shown[i]).map(text)])
      .filter((r) => r.slice(2).some((c) => c !== NONE)),
  };
}

/** Every run that did not finish, so no failure is lost between charts. */
export function failuresTable(rows: ResultRow[]): Table | null {
  const failed = failedRuns(rows);
  if (failed.length === 0) return null;
  return {
    title: 'Failed and missing runs',
    note: `${failed.length} run(s) ended without results; charts mark them and leave their points out.`,
    columns: ['task', 'architecture', 'L (tokens)', 'status', 'error', 'run'],
    rows: failed.map((f) => [f.task, f.arch, f.seq_len === null ? NONE : String(f.seq_len), f.status, f.error ?? NONE, f.run_id]),
  };
}

export function comparisonTable(comparison: ComparisonRow[] | undefined): Table | null {
  if (!comparison || comparison.length === 0) return null;
  const fmt = (v: number | null): string => (v === null ? NONE : formatNumber(v));
  const regressions = comparison.filter((c) => c.verdict === 'regression').length;
  return {
    title: 'Comparison with the baseline',
    note: `${regressions} regression(s) among ${comparison.length} compared metric(s); the allowed range is what compare accepts for the current value.`,
    columns: ['task', 'architecture', 'metric', 'slice', 'baseline', 'current', 'allowed range', 'change', 'verdict'],
    rows: comparison.map((c) => [
      c.task,
      c.arch,
      `${c.phase}/${c.metric}`,
      c.slice ?? NONE,
      fmt(c.baseline),
      fmt(c.current),
      `${c.lower === null ? '−∞' : formatNumber(c.lower)} … ${c.upper === null ? '+∞' : formatNumber(c.upper)}`,
      c.baseline !== null && c.current !== null && c.baseline !== 0 ? `${c.current >= c.baseline ? '+' : ''}${(((c.current - c.baseline) / Math.abs(c.baseline)) * 100).toFixed(1)} %` : NONE,
      c.verdict,
    ]),
  };
}

/** Nested env.json values as dotted keys ("machine.cpu"), arrays and scalars as text; nulls left out. */
function flatten(value: unknown, prefix: string, out: [string, string][]): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  const text = typeof value === 'number' && /bytes$/.test(prefix) ? formatBytes(value) : typeof value === 'number' ? formatNumber(value) : typeof value === 'string' ? value : JSON.stringify(value);
  out.push([prefix, text.length > 200 ? `${text.slice(0, 197)}…` : text]);
}

/**
 * The machine, backend, calibration, versions and commits: once each. What the rows say (every distinct
 * value) comes first; an env.json entry is shown only where it adds something, and env.json files that
 * agree are shown once.
 */
export function environmentTable(rows: ResultRow[], envs: Environment[]): Table {
  const fromRows: [string, string][] = [];
  const distinct = (key: keyof ResultRow): string => sortedUnique(rows.flatMap((r) => (r[key] === null || r[key] === undefined ? [] : [String(r[key])]))).join(', ');
  fromRows.push(['rows · runs · failed runs', `${formatNumber(rows.length)} · ${formatNumber(new Set(rows.map((r) => r.run_id)).size)} · ${failedRuns(rows).length}`]);
  for (const key of ['suite', 'backend', 'device', 'versions', 'git_sha', 'host'] as const) {
    const value = distinct(key);
    if (value !== '') fromRows.push([key, value]);
  }
  for (const g of groupBy(figures(rows, 'calibration', 'matmul_gflops'), (r) => `${r.backend} on ${r.device}`).entries()) {
    const p = pool(g[1]);
    if (p) fromRows.push([`calibration matmul GFLOP/s (${g[0]})`, formatPooled(p, '')]);
  }
  const known = new Map(fromRows.map(([k, v]) => [k, v]));
  const seen = new Set<string>();
  const fromEnvs: [string, string][] = [];
  const distinctEnvs = envs.filter((env) => {
    const text = JSON.stringify(env);
    if (seen.has(text)) return false;
    seen.add(text);
    return true;
  });
  distinctEnvs.forEach((env, i) => {
    const entries: [string, string][] = [];
    flatten(env, '', entries);
    for (const [k, v] of entries) {
      // Suite, backend and commit are already listed from the rows; an env.json saying the same is left out.
      const last = k.split('.').pop()!;
      if (known.has(last) && known.get(last)!.split(', ').includes(v)) continue;
      if (k === 'schema_version') continue;
      fromEnvs.push([distinctEnvs.length > 1 ? `env ${i + 1} · ${k}` : k, v]);
    }
  });
  return {
    title: 'Environment',
    note: "From the result rows (every distinct value) and each results directory's env.json (what the rows do not already say).",
    columns: ['key', 'value'],
    rows: [...fromRows, ...fromEnvs],
  };
}
