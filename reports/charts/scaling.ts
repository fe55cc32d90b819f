/**
 * Figures against length, log–log: training and decode throughput, peak memory, decode state. One line
 * per architecture (and task, backend), error bars of ±1 stddev, and the fitted exponent k (figure ∝ L^k)
 * with its standard error in the legend. A chart over a single length has nothing to show and is left out.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ResultRow } from '../../harness/results/schema.ts';
import { logLogFit, pool, type PowerLawFit } from '../../harness/stats.ts';
import { textWidth } from '../text-width.ts';
import { failedRuns, figures, groupBy, sliceNumber, sortedUnique } from '../data.ts';
import type { ChartSpec } from '../types.ts';
import {
  archColor,
  BYTES_LABEL,
  CHART_CONFIG,
  chartTitle,
  facetHints,
  lengthAxis,
  missingData,
  missingLayer,
  okOnly,
  PANEL,
  SCHEMA,
  Y_AXIS_ROOM,
  type Datum,
  type Layer,
  type SpecInput,
} from './common.ts';

export interface ScalingPanel {
  metric: string;
  label: string;
}

/** Where a point came from: measured in the run, or computed from the model's formula (decode state). */
export type Source = 'measured' | 'computed';

export interface ScalingOptions {
  name: string;
  title: string;
  description: string;
  phase: string;
  panels: ScalingPanel[];
  /** Where a row sits on the x axis (null: not in this chart). */
  x: (row: ResultRow) => number | null;
  xTitle: string;
  yTitle: string;
  /** 'bytes': binary-prefixed labels at powers of two; otherwise a d3 format. */
  yFormat: string | 'bytes';
  /** Put failed runs on the axis at their training length (only where x is the training length). */
  markMissing: boolean;
  /** Which rows are computed rather than measured (drawn hollow and dashed, named in the legend). */
  source?: (row: ResultRow) => Source;
  /** What a line is called and coloured by (default: the architecture). */
  seriesOf?: (row: ResultRow) => string;
  /** A second distinction within a colour, drawn as a dash pattern (e.g. fused vs reference kernels). */
  dashOf?: (row: ResultRow) => string | null;
  dashTitle?: string;
  /** Rows of these runs fail on this chart (default: every failed run not drawn). */
  failedHere?: (runId: string) => boolean;
}

/** "1.98 ± 0.04" (the ± once there are 3 points to estimate it from). */
export function formatFit(fit: PowerLawFit): string {
  const k = fit.k.toFixed(2).replace('-', '−');
  return fit.se === null ? k : `${k} ± ${fit.se.toFixed(2)}`;
}

/** The chart of one scaling figure; null when its rows span fewer than two lengths. */
export function scalingChart({ rows }: SpecInput, o: ScalingOptions): ChartSpec | null {
  const seriesOf = o.seriesOf ?? ((r: ResultRow) => r.arch);
  const picked = o.panels.flatMap((panel) =>
    figures(rows, o.phase, panel.metric).flatMap((r) => {
      const x = o.x(r);
      return x === null || x <= 0 || r.value <= 0 ? [] : [{ row: r, x, panel, source: o.source?.(r) ?? ('measured' as Source) }];
    }),
  );
  if (new Set(picked.map((p) => p.x)).size < 2) return null;
  const backends = sortedUnique(picked.map((p) => p.row.backend));
  const panelsShown = o.panels.filter((panel) => picked.some((p) => p.panel === panel));
  const panelName = (panel: ScalingPanel, backend: string): string =>
    [panelsShown.length > 1 ? panel.label : null, backends.length > 1 ? backend : null].filter((s) => s !== null).join(' · ') || 'all';
  const points = [...groupBy(picked, (p) => `${p.panel.metric}|${p.row.backend}|${p.row.task}|${p.row.arch}|${p.source}|${p.x}`).values()].map((g) => {
    const pooled = pool(g.map((p) => p.row))!;
    const sd = pooled.stddev ?? 0;
    const { row, panel, x, source } = g[0];
    const dash = o.dashOf?.(row) ?? null;
    return {
      kind: 'ok',
      panel: panelName(panel, row.backend),
      task: row.task,
      arch: seriesOf(row),
      source,
      dash,
      line: `${row.task}|${row.backend}|${row.arch}|${source}`,
      x,
      y: pooled.value,
      lo: Math.max(pooled.value - sd, pooled.value / 10),
      hi: pooled.value + sd,
      n: pooled.n,
      sd,
    };
  });
  const panels = [...new Set(points.map((p) => p.panel))];
  const archs = sortedUnique(points.map((p) => p.arch));
  // One exponent per series (and dash variant) and panel, fitted to the per-length means of the task with
  // the most lengths: tasks differ in model and data, so one fit across them would mix unlike points.
  const fitOf = (arch: string, panel: string, dash: string | null): PowerLawFit => {
    const mine = points.filter((p) => p.arch === arch && p.panel === panel && p.dash === dash);
    const measured = mine.filter((p) => p.source === 'measured');
    const pool = new Set(measured.map((p) => p.x)).size >= 2 ? measured : mine;
    const byTask = [...groupBy(pool, (p) => p.task).values()].sort((a, b) => new Set(b.map((p) => p.x)).size - new Set(a.map((p) => p.x)).size);
    const byLength = groupBy(byTask[0] ?? [], (p) => String(p.x));
    const xs = [...byLength.keys()].map(Number);
    const ys = [...byLength.values()].map((g) => g.reduce((s, p) => s + p.y, 0) / g.length);
    return xs.length >= 2 ? logLogFit(xs, ys) : { k: NaN, se: null, points: xs.length };
  };
  // Sorted, so the first variant (e.g. 'fused' before 'reference') is the solid line.
  const dashes = [...new Set(points.map((p) => p.dash))].sort((a, b) => String(a).localeCompare(String(b)));
  const labels: Record<string, string> = {};
  for (const arch of archs) {
    const parts = panels.flatMap((panel) =>
      dashes.flatMap((dash) => {
        const fit = fitOf(arch, panel, dash);
        if (!Number.isFinite(fit.k)) return [];
        const where = [panels.length > 1 ? panel : null, dashes.length > 1 ? dash : null].filter((s) => s !== null).join(' ');
        return [where ? `${where} ${formatFit(fit)}` : formatFit(fit)];
      }),
    );
    if (parts.length > 0) labels[arch] = `${arch} (k = ${parts.join(', ')})`;
  }
  // With a dash variant (fused vs reference) the labels grow too long: the exponents table lists them instead.
  const fitted = Object.keys(labels).length > 0 && !(dashes.length > 1);
  // '~' not '∝': Liberation Sans has no ∝, and resvg would draw the whole title in a fallback serif.
  // '~' not '∝': Liberation Sans has no ∝, and resvg would draw the whole title in a fallback serif.
  const legendTitle = fitted ? 'architecture, fitted exponent k (y ~ L^k, ± standard error; on the task with the most lengths)' : 'architecture';
  const color = archColor(archs, { title: legendTitle, labels: fitted ? labels : undefined });
  // Filled points in the same fixed colours (a scale of its own in Vega-Lite, so given the same domain and range).
  const fill = { ...(color as object) } as { field: string; type: 'nominal' };
  const failedHere = o.failedHere ?? (() => true);
  const drawn = new Set(picked.map((p) => p.row.run_id));
  const missing = failedRuns(rows).filter((f) => !drawn.has(f.run_id) && failedHere(f.run_id));
  const marked = o.markMissing ? missing.filter((f) => f.seq_len !== null && archs.includes(f.arch)) : [];
  const data: Datum[] = [...points, ...panels.flatMap((panel) => missingData(marked, () => ({ panel })))];
  const lengths = sortedUnique([...points.map((p) => p.x), ...marked.map((f) => f.seq_len!)]);
  // Bytes on a base-2 log scale: ticks fall on powers of two (KiB, MiB) where the range spans them.
  const axis = o.yFormat === 'bytes' ? { labelExpr: BYTES_LABEL, tickCount: 5, labelOverlap: true } : { format: o.yFormat };
  const y = { field: 'y', type: 'quantitative', title: o.yTitle, scale: { type: 'log', ...(o.yFormat === 'bytes' ? { base: 2 } : {}) }, axis } as const;
  const sources = new Set(points.map((p) => p.source));
  const hasDash = dashes.length > 1 || dashes[0] !== null;
  const layers: Layer[] = [
    {
      transform: [okOnly],
      mark: { type: 'rule', strokeWidth: 1.2, opacity: 0.7 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color },
    },
    {
      transform: [okOnly],
      mark: { type: 'line', point: false },
      encoding: {
        x: lengthAxis(o.xTitle, lengths),
        y,
        color,
        detail: { field: 'line', type: 'nominal' },
        ...(hasDash
          ? { strokeDash: { field: 'dash', type: 'nominal', title: o.dashTitle ?? 'variant', scale: { domain: dashes.filter((d) => d !== null), range: dashes.filter((d) => d !== null).map((_, i) => (i === 0 ? [1, 0] : [5 + i, 3])) } } }
          : sources.size > 1
            ? { strokeDash: { field: 'source', type: 'nominal', title: 'points', scale: { domain: ['measured', 'computed'], range: [[1, 0], [5, 3]] } } }
            : {}),
      },
    },
    {
      transform: [okOnly],
      mark: { type: 'point', size: 45, strokeWidth: 1.6 },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'y', type: 'quantitative' },
        color,
        ...(sources.size > 1
          ? { fill: { condition: { test: "datum.source === 'measured'", ...fill }, value: 'white' }, shape: { field: 'source', type: 'nominal', title: 'points', scale: { domain: ['measured', 'computed'], range: ['circle', 'diamond'] } } }
          : { fill }),
        tooltip: [
          { field: 'arch', title: 'architecture' },
          { field: 'task', title: 'task' },
          ...(hasDash ? [{ field: 'dash', title: o.dashTitle ?? 'variant' }] : []),
          { field: 'source', title: 'measured or computed' },
          { field: 'x', title: 'length (tokens)' },
          { field: 'y', title: o.yTitle, format: ',.4~g' },
          { field: 'sd', title: '± stddev', format: ',.3~g' },
          { field: 'n', title: 'n' },
        ],
      },
    },
  ];
  if (marked.length > 0) layers.push(missingLayer(color));
  const legendEntry = Math.max(...[...archs.map((a) => (fitted ? labels[a] : undefined) ?? a), ...dashes.map(String)].map((t) => textWidth({ fontSize: 12 }, t))) + 28;
  const legends = 1 + (hasDash || sources.size > 1 ? 1 : 0);
  const extra = sources.size > 1 ? ['filled points: measured in the run; hollow diamonds and dashed lines: computed from the model\'s state-size formula'] : [];
  const common = { $schema: SCHEMA, title: chartTitle(o.title, missing, extra), description: o.name, config: CHART_CONFIG, data: { values: data } };
  const spec = (
    panels.length === 1
      ? { ...common, ...PANEL, usermeta: { fit: { kind: 'single', columns: 1, reserve: Y_AXIS_ROOM + 30, gap: 0, minPanel: 220, legendEntry, legends } }, layer: layers }
      : {
          ...common,
          usermeta: { fit: { ...facetHints(Math.min(3, panels.length), true), legendEntry, legends } },
          facet: { field: 'panel', type: 'nominal', title: null, sort: panels },
          columns: Math.min(3, panels.length),
          spec: { ...PANEL, layer: layers },
          // Panels measure different things (tensor bytes vs RSS, forward vs backward): each its own range.
          resolve: { scale: { y: 'independent' } },
        }
  ) as TopLevelSpec;
  return { name: o.name, title: o.title, description: o.description, spec, missing };
}

/** Micro-benchmark runs fail on their own charts only; training runs on the others. */
const trainingRun = (rows: ResultRow[]) => {
  const micro = new Set(rows.filter((r) => r.phase === 'micro').map((r) => r.run_id));
  return (runId: string) => !micro.has(runId);
};

export function trainThroughput(input: SpecInput): ChartSpec | null {
  return scalingChart(input, {
    name: 'train-throughput',
    title: 'Training throughput vs sequence length',
    description: 'Training tokens per second (mean ± stddev over steps) against sequence length, log–log; k is the fitted exponent.',
    phase: 'train',
    panels: [{ metric: 'tokens_per_s', label: 'training' }],
    x: (r) => r.seq_len,
    xTitle: 'sequence length (tokens)',
    yTitle: 'training throughput (tokens/s)',
    yFormat: ',~r',
    markMissing: true,
    failedHere: trainingRun(input.rows),
  });
}

export function decodeThroughput(input: SpecInput): ChartSpec | null {
  return scalingChart(input, {
    name: 'decode-throughput',
    title: 'Decode throughput vs sequence length',
    description: 'Autoregressive decode tokens per second with cached state, against sequence length, log–log.',
    phase: 'inference',
    panels: [{ metric: 'decode_tokens_per_s', label: 'decode' }],
    x: (r) => r.seq_len,
    xTitle: 'sequence length (tokens)',
    yTitle: 'decode throughput (tokens/s)',
    yFormat: ',~r',
    markMissing: true,
    failedHere: trainingRun(input.rows),
  });
}

export function peakMemory(input: SpecInput): ChartSpec | null {
  return scalingChart(input, {
    name: 'peak-memory',
    title: 'Peak training memory vs sequence length',
    description: 'Peak tensor bytes (tfjs engine), peak process RSS and, on GPU, device memory during training; log–log, binary units (KiB, MiB, GiB).',
    phase: 'train',
    panels: [
      { metric: 'peak_tensor_bytes', label: 'tensors' },
      { metric: 'peak_rss_bytes', label: 'process RSS' },
      { metric: 'peak_device_bytes', label: 'GPU device' },
    ],
    x: (r) => r.seq_len,
    xTitle: 'sequence length (tokens)',
    yTitle: 'peak memory',
    yFormat: 'bytes',
    markMissing: true,
    failedHere: trainingRun(input.rows),
  });
}

export function decodeState(input: SpecInput): ChartSpec | null {
  return scalingChart(input, {
    name: 'decode-state',
    title: 'Decode state vs context length',
    description:
      'Bytes of decode state per sequence (KV cache for attention, recurrent state for RNNs and SSMs). Filled points were measured from the state after decoding; hollow ones are computed from the model\'s formula at longer contexts than any run reached.',
    phase: 'inference',
    panels: [{ metric: 'state_bytes', label: 'state' }],
    x: (r) => sliceNumber(r.slice, 'context') ?? sliceNumber(r.slice, 'measured_context') ?? (r.slice === null ? r.seq_len : null),
    source: (r) => (sliceNumber(r.slice, 'context') !== null ? 'computed' : 'measured'),
    xTitle: 'context length (tokens)',
    yTitle: 'decode state per sequence',
    yFormat: 'bytes',
    markMissing: false,
    failedHere: trainingRun(input.rows),
  });
}
