/**
 * Two result sets side by side (`seqarena report A B --compare`): CPU vs GPU, before vs after, two
 * machines. Each figure of A beside the same figure of B (matched on everything that identifies a
 * measurement except the backend and device, which are what differs), with B ÷ A, and for speeds the
 * same ratio normalised by each set's calibration matmul GFLOP/s (how much of B's lead is the machine).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { isSummaryRow } from '../harness/compare.ts';
import { formatValue } from '../harness/format.ts';
import { readEnv, readRows, writeFileAtomic } from '../harness/results/io.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import { pool } from '../harness/stats.ts';
import { UsageError } from '../harness/errors.ts';
import { figures, groupBy, sortedUnique } from './data.ts';
import { archColor, CHART_CONFIG, chartTitle, SCHEMA } from './charts/common.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { renderChart } from './render.ts';
import { environmentTable, type Table } from './summary.ts';
import { textWidth } from './text-width.ts';
import type { ChartSpec } from './types.ts';

const RATE_UNITS = new Set(['tokens/s', 'GFLOP/s']);
const DURATION_UNITS = new Set(['ms', 's']);

export interface SideBySideRow {
  task: string;
  arch: string;
  seq_len: number | null;
  phase: string;
  metric: string;
  slice: string | null;
  unit: string;
  direction: string;
  a: { value: number; stddev: number | null; n: number } | null;
  b: { value: number; stddev: number | null; n: number } | null;
  /** B ÷ A of the means. */
  ratio: number | null;
  /** B ÷ A after dividing rates (multiplying durations) by each set's calibration; null where that does not apply. */
  normalized: number | null;
}

/** Mean calibration matmul GFLOP/s of a set (null: not calibrated). */
function calibrationOf(rows: ResultRow[]): number | null {
  const p = pool(figures(rows, 'calibration', 'matmul_gflops'));
  return p === null ? null : p.value;
}

const keyOf = (r: ResultRow): string => [r.task, r.arch, r.config_hash, r.seq_len ?? '', r.phase, r.metric, r.slice ?? ''].join('\u0000');

/** Every summary figure of A and of B, matched; calibration rows are the normaliser, not compared. */
export function sideBySide(rowsA: ResultRow[], rowsB: ResultRow[]): SideBySideRow[] {
  const calA = calibrationOf(rowsA);
  const calB = calibrationOf(rowsB);
  const pick = (rows: ResultRow[]) => groupBy(rows.filter((r) => isSummaryRow(r) && r.phase !== 'calibration'), keyOf);
  const groupsA = pick(rowsA);
  const groupsB = pick(rowsB);
  const keys = [...new Set([...groupsA.keys(), ...groupsB.keys()])];
  const side = (rows: ResultRow[] | undefined) => {
    const ok = (rows ?? []).filter((r): r is ResultRow & { value: number } => r.status === 'ok' && r.value !== null && Number.isFinite(r.value));
    const p = pool(ok);
    return p === null ? null : { value: p.value, stddev: p.stddev, n: p.n };
  };
  const out = keys.map((key): SideBySideRow => {
    const r = (groupsA.get(key) ?? groupsB.get(key))![0];
    const a = side(groupsA.get(key));
    const b = side(groupsB.get(key));
    const ratio = a && b && a.value !== 0 ? b.value / a.value : null;
    const calibrated = calA !== null && calB !== null && ratio !== null;
    const normalized = !calibrated ? null : RATE_UNITS.has(r.unit) ? ratio! * (calA! / calB!) : DURATION_UNITS.has(r.unit) ? ratio! * (calB! / calA!) : null;
    return { task: r.task, arch: r.arch, seq_len: r.seq_len, phase: r.phase, metric: r.metric, slice: r.slice, unit: r.unit, direction: r.direction, a, b, ratio, normalized };
  });
  return out.sort((x, y) => x.task.localeCompare(y.task) || x.arch.localeCompare(y.arch) || (x.seq_len ?? 0) - (y.seq_len ?? 0) || x.phase.localeCompare(y.phase) || x.metric.localeCompare(y.metric));
}

const NONE = '—';
const ratioText = (v: number | null): string => (v === null ? NONE : `${v.toFixed(v >= 10 ? 1 : 3)}×`);

function sideBySideTable(rows: SideBySideRow[], nameA: string, nameB: string): Table {
  const cell = (s: SideBySideRow['a'], unit: string) => (s === null ? NONE : `${formatValue(s.value, unit)}${s.stddev === null ? '' : ` ± ${formatValue(s.stddev, unit)}`} (n=${s.n})`);
  return {
    title: 'Side by side',
    note: `A = ${nameA}, B = ${nameB}. B ÷ A of the means; "normalised" divides rates (and multiplies durations) by each set's calibration matmul GFLOP/s first, so it is the ratio a machine-independent change would show.`,
    columns: ['task', 'architecture', 'L (tokens)', 'metric', 'A', 'B', 'B ÷ A', 'B ÷ A normalised', 'better'],
    rows: rows.map((r) => [
      r.task,
      r.arch,
      r.seq_len === null ? NONE : String(r.seq_len),
      `${r.phase}/${r.metric}${r.slice ? ` [${r.slice}]` : ''}`,
      cell(r.a, r.unit),
      cell(r.b, r.unit),
      ratioText(r.ratio),
      ratioText(r.normalized),
      r.direction === 'bigger' ? '↑' : r.direction === 'smaller' ? '↓' : '',
    ]),
  };
}

/** The headline figures as B ÷ A, a row per run and a panel per metric. */
const HEADLINE = ['tokens_per_s', 'decode_tokens_per_s', 'peak_tensor_bytes', 'peak_rss_bytes', 'forward_backward_ms'];

function ratioChart(rows: SideBySideRow[]): ChartSpec | null {
  const values = rows
    .filter((r) => HEADLINE.includes(r.metric) && r.ratio !== null && r.ratio > 0 && r.slice === null)
    .map((r) => ({ metric: r.metric, arch: r.arch, label: `${r.task} · ${r.arch}${r.seq_len === null ? '' : ` · L=${r.seq_len}`}`, ratio: r.ratio, normalized: r.normalized }));
  if (values.length === 0) return null;
  const metrics = HEADLINE.filter((m) => values.some((v) => v.metric === m));
  const archs = sortedUnique(values.map((v) => v.arch));
  const labels = sortedUnique(values.map((v) => v.label));
  const labelRoom = Math.ceil(1.2 * Math.max(...labels.map((l) => textWidth({ fontSize: 12 }, l))));
  const color = archColor(archs);
  const spec = {
    $schema: SCHEMA,
    title: chartTitle('B ÷ A per run', [], ['filled: raw ratio; hollow: normalised by each set\'s calibration']),
    description: 'side-by-side',
    config: CHART_CONFIG,
    usermeta: { fit: { kind: 'facet', columns: Math.min(3, metrics.length), reserve: labelRoom + 40, gap: 24, minPanel: 200 } },
    data: { values },
    facet: { field: 'metric', type: 'nominal', title: null, sort: metrics },
    columns: Math.min(3, metrics.length),
    spec: {
      width: 240,
      height: { step: 20 },
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { x: { datum: 1, type: 'quantitative' } } },
        {
          mark: { type: 'point', filled: true, size: 70 },
          encoding: {
            y: { field: 'label', type: 'nominal', title: null, sort: labels, axis: { labelLimit: 520, minExtent: labelRoom } },
            x: { field: 'ratio', type: 'quantitative', title: 'B ÷ A', scale: { type: 'log' } },
            color,
            tooltip: [{ field: 'label' }, { field: 'metric' }, { field: 'ratio', format: '.3f', title: 'B ÷ A' }, { field: 'normalized', format: '.3f', title: 'normalised' }],
          },
        },
        {
          transform: [{ filter: 'isValid(datum.normalized)' }],
          mark: { type: 'point', filled: false, size: 70, strokeWidth: 1.6 },
          encoding: { y: { field: 'label', type: 'nominal', sort: labels }, x: { field: 'normalized', type: 'quantitative' }, color },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  } as TopLevelSpec;
  return { name: 'side-by-side', title: 'B ÷ A per run', description: 'Headline figures of B as a multiple of A (log scale; right of 1: B larger), raw and normalised by calibration.', spec, missing: [] };
}

/** Read A and B, write the side-by-side page (index.html, summary.md, charts/), return the page's path. */
export async function writeSideBySide(dirA: string, dirB: string, outDir: string): Promise<string> {
  const rowsA = readRows(dirA);
  const rowsB = readRows(dirB);
  if (rowsA.length === 0 || rowsB.length === 0) throw new UsageError(`--compare needs result rows on both sides; ${rowsA.length === 0 ? dirA : dirB} has none (run \`seqarena bench --out ${rowsA.length === 0 ? dirA : dirB}\` first)`);
  const rows = sideBySide(rowsA, rowsB);
  const chart = ratioChart(rows);
  const charts = chart === null ? [] : [chart];
  const calA = calibrationOf(rowsA);
  const calB = calibrationOf(rowsB);
  const fmtCal = (c: number | null) => (c === null ? 'not calibrated' : `${formatValue(c, 'GFLOP/s')}`);
  const page = {
    title: 'seqarena: A vs B',
    subtitle: `A = ${dirA} (${sortedUnique(rowsA.map((r) => r.backend)).join(', ')}, calibration ${fmtCal(calA)}) · B = ${dirB} (${sortedUnique(rowsB.map((r) => r.backend)).join(', ')}, calibration ${fmtCal(calB)})`,
    alerts: rows.some((r) => r.a === null || r.b === null) ? [`${rows.filter((r) => r.a === null || r.b === null).length} figure(s) are in only one of the sets (— in the table).`] : [],
    tablesBefore: [sideBySideTable(rows, dirA, dirB)],
    tablesAfter: [
      { ...environmentTable(rowsA, [readEnv(dirA)].filter((e) => e !== null)), title: 'Environment of A' },
      { ...environmentTable(rowsB, [readEnv(dirB)].filter((e) => e !== null)), title: 'Environment of B' },
    ],
    charts,
  };
  fs.mkdirSync(path.join(outDir, 'charts'), { recursive: true });
  for (const c of charts) {
    const rendered = await renderChart(c);
    writeFileAtomic(path.join(outDir, 'charts', `${c.name}.svg`), rendered.svg);
    fs.writeFileSync(path.join(outDir, 'charts', `${c.name}.png`), rendered.png);
  }
  writeFileAtomic(path.join(outDir, 'index.html'), renderHtml(page));
  writeFileAtomic(path.join(outDir, 'summary.md'), renderMarkdown({ ...page, chartsDir: 'charts' }));
  return path.join(outDir, 'index.html');
}
