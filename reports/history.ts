/**
 * The history dashboard (`seqarena history DIR… --out DIR`): one chart per tracked metric across
 * commits, the way github-action-benchmark's page shows a benchmark — x the commit (by date), y the
 * value with ±1 stddev, a panel per task and a line per architecture in its fixed colour, and the band
 * compare would allow around the first (baseline) commit's value. Written as one offline HTML page
 * (index.html), the points as history.json beside it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { allowedBand as bandOf, parseThresholds, ruleFor } from '../harness/compare.ts';
import type { HistoryPoint } from '../harness/history.ts';
import { writeFileAtomic } from '../harness/results/io.ts';
import { formatValue } from '../harness/format.ts';
import { groupBy, sortedUnique } from './data.ts';
import { archColor, BYTES_LABEL, CHART_CONFIG, facetHints, PANEL, SCHEMA, type Layer } from './charts/common.ts';
import { renderHtml } from './html.ts';
import type { Table } from './summary.ts';
import type { ChartSpec } from './types.ts';

export const HISTORY_HTML = 'index.html';
export const HISTORY_JSON = 'history.json';

/** "2026-12-02 abc1234": a commit on the x axis, sortable by date. */
const commitLabel = (p: HistoryPoint): string => `${(p.date ?? 'undated').slice(0, 10)} ${(p.git_sha ?? 'no-sha').slice(0, 7)}`;

/** The band compare allows around a baseline value for this figure (null: compare only reports it). */
export function allowedBand(p: HistoryPoint, baseline: number): { lower: number | null; upper: number | null } | null {
  const { rule, tolerance } = ruleFor({ metric: p.metric, direction: p.direction, phase: p.phase, unit: p.unit, samples: p.n > 1 ? [p.value ?? 0] : null }, parseThresholds(), false);
  return bandOf(rule, p.direction, baseline, tolerance);
}

const metricName = (p: HistoryPoint): string => `${p.phase}/${p.metric}${p.slice ? ` [${p.slice}]` : ''}`;

/** One chart per tracked metric (directions 'bigger'/'smaller'), over at least two commits. */
export function historyCharts(points: HistoryPoint[]): ChartSpec[] {
  const tracked = points.filter((p) => p.direction !== 'none' && p.phase !== 'calibration' && p.value !== null && Number.isFinite(p.value));
  const commits = sortedUnique(tracked.map(commitLabel));
  if (commits.length === 0) return [];
  const charts: ChartSpec[] = [];
  for (const [metric, group] of [...groupBy(tracked, metricName).entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const tasks = sortedUnique(group.map((p) => p.task));
    const archs = sortedUnique(group.map((p) => p.arch));
    const values = [...groupBy(group, (p) => p.series).values()].flatMap((series) => {
      const sorted = [...series].sort((a, b) => commitLabel(a).localeCompare(commitLabel(b)));
      const band = allowedBand(sorted[0], sorted[0].value!);
      return sorted.map((p) => ({
        kind: 'ok',
        task: p.task,
        arch: p.arch,
        series: p.series,
        commit: commitLabel(p),
        y: p.value,
        lo: p.value! - (p.stddev ?? 0),
        hi: p.value! + (p.stddev ?? 0),
        baseline: sorted[0].value,
        bandLo: band?.lower ?? null,
        bandHi: band?.upper ?? null,
        text: `${formatValue(p.value!, p.unit)}${p.stddev === null ? '' : ` ± ${formatValue(p.stddev, p.unit)}`} (n=${p.n})`,
        source: p.source,
      }));
    });
    const unit = group[0].unit;
    const color = archColor(archs);
    const x = { field: 'commit', type: 'ordinal', title: 'commit (date, sha)', sort: commits, scale: { domain: commits }, axis: { labelAngle: -30, labelOverlap: true } } as const;
    const yAxis = unit === 'bytes' ? { labelExpr: BYTES_LABEL } : unit === 'fraction' ? { format: '%' } : { format: '~s' };
    const y = { field: 'y', type: 'quantitative', title: `${group[0].metric} (${unit})`, scale: { zero: false }, axis: yAxis } as const;
    // The line layer first: the legend takes its symbol (not the band's pale area).
    const layers: Layer[] = [
      {
        mark: { type: 'line', point: { filled: true, size: 50 } },
        encoding: {
          x,
          y,
          color,
          detail: { field: 'series', type: 'nominal' },
          tooltip: [
            { field: 'series', title: 'series' },
            { field: 'commit', title: 'commit' },
            { field: 'text', title: 'value' },
            { field: 'source', title: 'results directory' },
          ],
        },
      },
      { mark: { type: 'rule', strokeWidth: 1.2 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      {
        // From the first commit's value to the furthest compare allows on the worse side (its rules are one-sided).
        transform: [{ filter: 'isValid(datum.bandLo) || isValid(datum.bandHi)' }, { calculate: 'isValid(datum.bandLo) ? datum.bandLo : datum.baseline', as: 'b0' }, { calculate: 'isValid(datum.bandHi) ? datum.bandHi : datum.baseline', as: 'b1' }],
        mark: { type: 'area', opacity: 0.18 },
        encoding: { x, y: { field: 'b0', type: 'quantitative' }, y2: { field: 'b1' }, color, detail: { field: 'series', type: 'nominal' } },
      },
    ];
    const columns = Math.min(3, tasks.length);
    const spec = {
      $schema: SCHEMA,
      title: { text: metric, subtitle: `${group[0].direction === 'bigger' ? 'bigger' : 'smaller'} is better; shaded: from the first commit's value to the furthest compare allows on the worse side`, subtitleColor: '#555' },
      description: metric,
      config: CHART_CONFIG,
      usermeta: { fit: facetHints(columns, true) },
      data: { values },
      facet: { field: 'task', type: 'nominal', title: null, sort: tasks },
      columns,
      spec: { ...PANEL, layer: layers },
      resolve: { scale: { y: 'independent' } },
    } as TopLevelSpec;
    charts.push({
      name: `history-${metric.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()}`,
      title: metric,
      description: `${group[0].metric} across ${commits.length} commit(s), per task and architecture (mean ± stddev).`,
      spec,
      missing: [],
    });
  }
  return charts;
}

/** The commits the page covers: where each came from. */
function commitsTable(points: HistoryPoint[]): Table {
  const bySource = [...groupBy(points, (p) => p.source).values()].sort((a, b) => commitLabel(a[0]).localeCompare(commitLabel(b[0])));
  return {
    title: 'Commits',
    note: 'One results directory per commit, oldest first; the first is the baseline the bands are drawn around.',
    columns: ['commit', 'date', 'results directory', 'suites', 'figures'],
    rows: bySource.map((g) => [g[0].git_sha ?? '—', g[0].date ?? '—', g[0].source, sortedUnique(g.map((p) => p.suite)).join(', '), String(g.length)]),
  };
}

/** Write the dashboard to `outDir` (index.html, history.json) and return the page's path. */
export function writeHistoryPage(points: HistoryPoint[], outDir: string): string {
  const charts = historyCharts(points);
  const sources = new Set(points.map((p) => p.source)).size;
  const html = renderHtml({
    title: 'seqarena history',
    subtitle: `${charts.length} tracked metric(s) across ${sources} results director${sources === 1 ? 'y' : 'ies'}`,
    alerts: charts.length === 0 ? ['No tracked metric has a value in these results directories.'] : [],
    tablesBefore: [commitsTable(points)],
    tablesAfter: [],
    charts,
    chartFiles: false,
  });
  fs.mkdirSync(outDir, { recursive: true });
  writeFileAtomic(path.join(outDir, HISTORY_HTML), html);
  writeFileAtomic(path.join(outDir, HISTORY_JSON), JSON.stringify(points, null, 2) + '\n');
  return path.join(outDir, HISTORY_HTML);
}
