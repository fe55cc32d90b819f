/**
 * One Vega-Lite spec builder per chart. Each reads result rows (and the baseline comparison), returns
 * null when the rows hold nothing for it, and otherwise a spec with its data inlined, so the same spec
 * renders to SVG/PNG here and in the browser page. Every chart colours an architecture the same way,
 * labels axes with units, and names the failed runs it cannot draw (a subtitle, plus a ✕ on the axis
 * where the run's length is known).
 */
import type { Config, TopLevelSpec } from 'vega-lite';
import type { Encoding } from 'vega-lite/types_unstable/encoding.js';
import type { UnitSpec } from 'vega-lite/types_unstable/spec/unit.js';
import type { ResultRow } from '../harness/results/schema.ts';
import { logLogSlope } from '../harness/stats.ts';
import {
  archColors,
  describeFailure,
  failedRuns,
  figures,
  groupBy,
  missingFrom,
  pool,
  sliceNumber,
  sortedUnique,
  translationTasks,
  type ArchColors,
} from './data.ts';
import type { ChartSpec, ComparisonRow, FailedRun } from './types.ts';

type Layer = UnitSpec<string>;
type ColorDef = Encoding<string>['color'];
type Datum = Record<string, string | number | boolean | null>;

export interface SpecInput {
  rows: ResultRow[];
  colors: ArchColors;
  comparison?: ComparisonRow[];
}

/** The look every chart shares (also used by the HTML page, so browser and PNG agree). */
export const CHART_CONFIG: Config = {
  font: 'Liberation Sans, DejaVu Sans, Helvetica, Arial, sans-serif',
  background: 'white',
  padding: 12,
  title: { fontSize: 15, fontWeight: 600, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#b03a2e', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500, gridColor: '#e8e8e8', domainColor: '#888', tickColor: '#888' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500, labelLimit: 420, titleLimit: 420 },
  header: { labelFontSize: 12, labelFontWeight: 600, titleFontSize: 12 },
  view: { stroke: '#ddd' },
  line: { strokeWidth: 2 },
};

const PANEL = { width: 280, height: 190 };
const MAX_SUBTITLE_LINES = 4;

/** The colour encoding of the architectures in this chart, with their fixed colours. */
function archColor(colors: ArchColors, archs: string[], field = 'arch', labels: string[] = archs, title: string | string[] = 'architecture'): ColorDef {
  return {
    field,
    type: 'nominal',
    title,
    scale: { domain: labels, range: archs.map((a) => colors.get(a) ?? '#888') },
    legend: { orient: 'right' },
  };
}

/** A sequence-length axis: log base 2, ticked at the lengths that were run. */
function lengthAxis(title: string, values: number[], field = 'x'): Encoding<string>['x'] {
  return { field, type: 'quantitative', title, scale: { type: 'log', base: 2 }, axis: { values, format: 'd', labelOverlap: true } };
}

function chartTitle(text: string, missing: FailedRun[], extra: string[] = []): TopLevelSpec['title'] {
  const lines = missing.map((f) => `missing: ${describeFailure(f)}${f.error ? ` — ${f.error.slice(0, 60)}` : ''}`);
  const shown = lines.length > MAX_SUBTITLE_LINES ? [...lines.slice(0, MAX_SUBTITLE_LINES - 1), `… and ${lines.length - MAX_SUBTITLE_LINES + 1} more missing runs (see the table)`] : lines;
  const subtitle = [...extra, ...shown];
  return subtitle.length === 0 ? { text } : { text, subtitle };
}

/** Data records placing failed runs at their length on the x axis (the ✕ marks). */
function missingData(missing: FailedRun[], extra: (f: FailedRun) => Datum = () => ({})): Datum[] {
  return missing
    .filter((f) => f.seq_len !== null)
    .map((f) => ({ kind: 'missing', task: f.task, arch: f.arch, x: f.seq_len, status: f.status, error: f.error ?? '', ...extra(f) }));
}

/** ✕ on the bottom axis at a failed run's length, in its architecture's colour. */
function missingLayer(color: ColorDef): Layer {
  return {
    transform: [{ filter: "datum.kind === 'missing'" }],
    mark: { type: 'point', shape: 'cross', angle: 45, size: 120, filled: true, strokeWidth: 1 },
    encoding: {
      x: { field: 'x', type: 'quantitative' },
      y: { value: 'height' },
      color,
      tooltip: [
        { field: 'arch', title: 'architecture' },
        { field: 'x', title: 'length (tokens)' },
        { field: 'status', title: 'status' },
        { field: 'error', title: 'error' },
      ],
    },
  };
}

const okOnly = { filter: "datum.kind === 'ok'" };

/** Facet a layered chart by task (wrapping), with the shared look. */
function facetByTask(name: string, title: TopLevelSpec['title'], values: Datum[], layers: Layer[], tasks: string[], extra: Partial<TopLevelSpec> = {}): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    description: name,
    config: CHART_CONFIG,
    data: { values },
    facet: { field: 'task', type: 'nominal', title: null, sort: tasks },
    columns: Math.min(3, tasks.length),
    spec: { ...PANEL, layer: layers },
    ...extra,
  } as TopLevelSpec;
}

// ---------------------------------------------------------------------------------------------------
// Accuracy

/** Whole-split accuracy against training length, one line per architecture, a panel per task. */
export function accuracyVsLength({ rows, colors }: SpecInput): ChartSpec | null {
  const translation = translationTasks(rows);
  const whole = figures(rows, 'eval', 'accuracy', null).filter((r) => r.seq_len !== null && !translation.has(r.task));
  // A task run at one length has no curve here; the summary table and the Pareto view show it.
  const acc = [...groupBy(whole, (r) => r.task).values()].filter((g) => new Set(g.map((r) => r.seq_len)).size >= 2).flat();
  if (acc.length === 0) return null;
  const tasks = sortedUnique(acc.map((r) => r.task));
  const missing = missingFrom(rows, 'eval', 'accuracy', new Set(tasks));
  const points = [...groupBy(acc, (r) => `${r.task}|${r.arch}|${r.seq_len}`).values()].map((g) => {
    const p = pool(g)!;
    return { kind: 'ok', task: g[0].task, arch: g[0].arch, x: g[0].seq_len, y: p.value, n: p.n };
  });
  const archs = sortedUnique([...acc, ...missing].map((r) => r.arch));
  const color = archColor(colors, archs);
  const lengths = sortedUnique([...acc.map((r) => r.seq_len!), ...missing.flatMap((f) => (f.seq_len === null ? [] : [f.seq_len]))]);
  const layers: Layer[] = [
    {
      transform: [okOnly],
      mark: { type: 'line', point: { filled: true, size: 50 } },
      encoding: {
        x: lengthAxis('training sequence length (tokens)', lengths),
        y: { field: 'y', type: 'quantitative', title: 'accuracy (% of answer positions)', axis: { format: '%' }, scale: { domain: [0, 1] } },
        color,
        tooltip: [
          { field: 'arch', title: 'architecture' },
          { field: 'x', title: 'length (tokens)' },
          { field: 'y', title: 'accuracy', format: '.1%' },
          { field: 'n', title: 'n (answers)' },
        ],
      },
    },
  ];
  if (missing.some((f) => f.seq_len !== null)) layers.push(missingLayer(color));
  const title = chartTitle('Accuracy vs sequence length', missing);
  return {
    name: 'accuracy-vs-length',
    title: 'Accuracy vs sequence length',
    description: 'Whole-split accuracy on answer positions at each training length; one line per architecture, one panel per task.',
    spec: facetByTask('accuracy-vs-length', title, [...points, ...missingData(missing)], layers, tasks),
    missing,
  };
}

/** Accuracy at evaluation lengths beyond the training length (slices `eval_len=<L>`). */
export function lengthExtrapolation({ rows, colors }: SpecInput): ChartSpec | null {
  const acc = figures(rows, 'eval', 'accuracy').filter((r) => sliceNumber(r.slice, 'eval_len') !== null);
  if (acc.length === 0) return null;
  const tasks = sortedUnique(acc.map((r) => r.task));
  const missing = missingFrom(rows, 'eval', 'accuracy', new Set(tasks));
  const points = [...groupBy(acc, (r) => `${r.task}|${r.arch}|${r.seq_len}|${r.slice}`).values()].map((g) => {
    const p = pool(g)!;
    return { kind: 'ok', task: g[0].task, arch: g[0].arch, trained: g[0].seq_len, x: sliceNumber(g[0].slice, 'eval_len'), y: p.value, n: p.n };
  });
  const trainedAt = [...groupBy(acc.filter((r) => r.seq_len !== null), (r) => `${r.task}|${r.seq_len}`).values()].map((g) => ({
    kind: 'trained',
    task: g[0].task,
    x: g[0].seq_len,
    label: `trained at L=${g[0].seq_len}`,
  }));
  const archs = sortedUnique([...acc, ...missing].map((r) => r.arch));
  const color = archColor(colors, archs);
  const lengths = sortedUnique(points.map((p) => p.x!));
  const severalTrainLengths = new Set(acc.map((r) => r.seq_len)).size > 1;
  const layers: Layer[] = [
    {
      transform: [{ filter: "datum.kind === 'trained'" }],
      mark: { type: 'rule', strokeDash: [4, 3], color: '#777' },
      encoding: { x: { field: 'x', type: 'quantitative' } },
    },
    {
      transform: [{ filter: "datum.kind === 'trained'" }],
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, dy: 4, fontSize: 10, color: '#555' },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
    },
    {
      transform: [okOnly],
      mark: { type: 'line', point: { filled: true, size: 50 } },
      encoding: {
        x: lengthAxis('evaluation length (tokens)', lengths),
        y: { field: 'y', type: 'quantitative', title: 'accuracy (% of answer positions)', axis: { format: '%' }, scale: { domain: [0, 1] } },
        color,
        ...(severalTrainLengths ? { strokeDash: { field: 'trained', type: 'ordinal', title: 'trained at L' } } : {}),
        tooltip: [
          { field: 'arch', title: 'architecture' },
          { field: 'trained', title: 'trained at (tokens)' },
          { field: 'x', title: 'evaluated at (tokens)' },
          { field: 'y', title: 'accuracy', format: '.1%' },
          { field: 'n', title: 'n (answers)' },
        ],
      },
    },
  ];
  if (missing.some((f) => f.seq_len !== null)) layers.push(missingLayer(color));
  return {
    name: 'length-extrapolation',
    title: 'Length extrapolation',
    description: 'Accuracy at evaluation lengths longer (and shorter) than the training length, marked by the dashed rule.',
    spec: facetByTask('length-extrapolation', chartTitle('Length extrapolation: accuracy vs evaluation length', missing), [...points, ...trainedAt, ...missingData(missing)], layers, tasks),
    missing,
  };
}

/** Points on the Pareto frontier of (throughput, accuracy), both bigger-is-better. */
export function paretoFrontier<T extends { x: number; y: number }>(points: T[]): T[] {
  const sorted = [...points].sort((a, b) => b.x - a.x || b.y - a.y);
  const frontier: T[] = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (p.y > best) {
      frontier.push(p);
      best = p.y;
    }
  }
  return frontier;
}

/** Each run as a point of training throughput against accuracy, with the Pareto frontier per task. */
export function accuracyVsThroughput({ rows, colors }: SpecInput): ChartSpec | null {
  const translation = translationTasks(rows);
  const accByRun = new Map(figures(rows, 'eval', 'accuracy', null).filter((r) => !translation.has(r.task)).map((r) => [r.run_id, r]));
  const runs = figures(rows, 'train', 'tokens_per_s').flatMap((t) => {
    const a = accByRun.get(t.run_id);
    return a ? [{ kind: 'ok', task: t.task, arch: t.arch, seq_len: t.seq_len, x: t.value, y: a.value, frontier: false }] : [];
  });
  if (runs.length === 0) return null;
  const tasks = sortedUnique(runs.map((r) => r.task));
  for (const group of groupBy(runs, (r) => r.task).values()) for (const p of paretoFrontier(group)) p.frontier = true;
  const missing = missingFrom(rows, 'eval', 'accuracy', new Set(tasks));
  const archs = sortedUnique([...runs, ...missing].map((r) => r.arch));
  const color = archColor(colors, archs);
  const layers: Layer[] = [
    {
      transform: [{ filter: 'datum.frontier' }],
      mark: { type: 'line', color: '#999', strokeDash: [5, 3], strokeWidth: 1.5, interpolate: 'step-after' },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'y', type: 'quantitative' },
        order: { field: 'x', type: 'quantitative' },
      },
    },
    {
      mark: { type: 'point', filled: true, size: 70, opacity: 0.9 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'training throughput (tokens/s)', scale: { type: 'log' }, axis: { format: '~s' } },
        y: { field: 'y', type: 'quantitative', title: 'accuracy (% of answer positions)', axis: { format: '%' }, scale: { domain: [0, 1] } },
        color,
        tooltip: [
          { field: 'arch', title: 'architecture' },
          { field: 'seq_len', title: 'length (tokens)' },
          { field: 'x', title: 'tokens/s', format: ',.0f' },
          { field: 'y', title: 'accuracy', format: '.1%' },
          { field: 'frontier', title: 'on Pareto frontier' },
        ],
      },
    },
  ];
  return {
    name: 'accuracy-vs-throughput',
    title: 'Accuracy vs training throughput',
    description: 'One point per run; the dashed line joins the Pareto-optimal runs (no other run is both faster and more accurate).',
    spec: facetByTask('accuracy-vs-throughput', chartTitle('Accuracy vs training throughput (Pareto view)', missing), runs, layers, tasks),
    missing,
  };
}

// ---------------------------------------------------------------------------------------------------
// Scaling with length: throughput, memory, micro-benchmarks

interface ScalingPanel {
  metric: string;
  label: string;
}

interface ScalingOptions {
  name: string;
  title: string;
  description: string;
  phase: string;
  panels: ScalingPanel[];
  /** Where a row sits on the x axis (null: not in this chart). */
  x: (row: ResultRow) => number | null;
  xTitle: string;
  yTitle: string;
  yFormat: string;
  /** Put failed runs on the axis at their training length (only where x is the training length). */
  markMissing: boolean;
}

const fmtSlope = (k: number): string => (Number.isFinite(k) ? k.toFixed(2).replace('-', '−') : 'n/a');

/**
 * A log–log chart of a figure against length, one line per architecture (and task/backend), with error
 * bars of ±1 stddev and the fitted exponent k (figure ∝ L^k) per architecture in the legend.
 */
function scalingChart({ rows, colors }: SpecInput, o: ScalingOptions): ChartSpec | null {
  const picked = o.panels.flatMap((panel) =>
    figures(rows, o.phase, panel.metric).flatMap((r) => {
      const x = o.x(r);
      return x === null || x <= 0 || r.value <= 0 ? [] : [{ row: r, x, panel }];
    }),
  );
  if (picked.length === 0) return null;
  const backends = sortedUnique(picked.map((p) => p.row.backend));
  const panelsShown = o.panels.filter((panel) => picked.some((p) => p.panel === panel));
  const panelName = (panel: ScalingPanel, backend: string): string =>
    [panelsShown.length > 1 ? panel.label : null, backends.length > 1 ? backend : null].filter((s) => s !== null).join(' · ') || 'all';
  const points = [...groupBy(picked, (p) => `${p.panel.metric}|${p.row.backend}|${p.row.task}|${p.row.arch}|${p.x}`).values()].map((g) => {
    const pooled = pool(g.map((p) => p.row))!;
    const sd = pooled.stddev ?? 0;
    const { row, panel, x } = g[0];
    return {
      kind: 'ok',
      panel: panelName(panel, row.backend),
      task: row.task,
      arch: row.arch,
      line: `${row.task}|${row.backend}`,
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
  // One exponent per architecture and panel, fitted to the per-length means (tasks averaged).
  const fits = new Map(
    archs.map((arch) => [
      arch,
      panels.map((panel) => {
        const byLength = groupBy(points.filter((p) => p.arch === arch && p.panel === panel), (p) => String(p.x));
        const xs = [...byLength.keys()].map(Number);
        const ys = [...byLength.values()].map((g) => g.reduce((s, p) => s + p.y, 0) / g.length);
        return xs.length >= 2 ? logLogSlope(xs, ys) : NaN;
      }),
    ]),
  );
  // With one length per line there is nothing to fit: plain names, no exponent.
  const fitted = [...fits.values()].some((ks) => ks.some(Number.isFinite));
  const slopes = new Map(archs.map((arch) => [arch, fitted ? `${arch} (k = ${fits.get(arch)!.map(fmtSlope).join(' / ')})` : arch]));
  const series = archs.map((a) => slopes.get(a)!);
  const legendTitle = !fitted
    ? 'architecture'
    : panels.length > 1
      ? ['architecture', 'fitted exponent k (y ~ L^k)', `per panel: ${panels.join(' / ')}`]
      : ['architecture', 'fitted exponent k (y ~ L^k)'];
  const color = archColor(colors, archs, 'series', series, legendTitle);
  // Micro-benchmark runs fail on their own chart only; training runs on the others.
  const microRuns = new Set(rows.filter((r) => r.phase === 'micro').map((r) => r.run_id));
  const drawn = new Set(picked.map((p) => p.row.run_id));
  const missing = failedRuns(rows).filter((f) => !drawn.has(f.run_id) && microRuns.has(f.run_id) === (o.phase === 'micro'));
  const marked = o.markMissing ? missing.filter((f) => f.seq_len !== null && archs.includes(f.arch)) : [];
  const data: Datum[] = [
    ...points.map((p) => ({ ...p, series: slopes.get(p.arch)! })),
    ...panels.flatMap((panel) => missingData(marked, (f) => ({ panel, series: slopes.get(f.arch)! }))),
  ];
  const lengths = sortedUnique([...points.map((p) => p.x), ...marked.map((f) => f.seq_len!)]);
  const y = { field: 'y', type: 'quantitative', title: o.yTitle, scale: { type: 'log' }, axis: { format: o.yFormat } } as const;
  const layers: Layer[] = [
    {
      transform: [okOnly],
      mark: { type: 'rule', strokeWidth: 1.2, opacity: 0.7 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color },
    },
    {
      transform: [okOnly],
      mark: { type: 'line', point: { filled: true, size: 40 } },
      encoding: {
        x: lengthAxis(o.xTitle, lengths),
        y,
        color,
        detail: { field: 'line', type: 'nominal' },
        tooltip: [
          { field: 'arch', title: 'architecture' },
          { field: 'task', title: 'task' },
          { field: 'x', title: 'length (tokens)' },
          { field: 'y', title: o.yTitle, format: ',.4~g' },
          { field: 'sd', title: '± stddev', format: ',.3~g' },
          { field: 'n', title: 'n' },
        ],
      },
    },
  ];
  if (marked.length > 0) layers.push(missingLayer(color));
  const common = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: chartTitle(o.title, missing), description: o.name, config: CHART_CONFIG, data: { values: data } };
  const spec = (
    panels.length === 1
      ? { ...common, ...PANEL, layer: layers }
      : {
          ...common,
          facet: { field: 'panel', type: 'nominal', title: null, sort: panels },
          columns: Math.min(3, panels.length),
          spec: { ...PANEL, layer: layers },
          // Panels measure different things (tensor bytes vs RSS, forward vs backward): each its own range.
          resolve: { scale: { y: 'independent' } },
        }
  ) as TopLevelSpec;
  return { name: o.name, title: o.title, description: o.description, spec, missing };
}

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
    yFormat: '~s',
    markMissing: true,
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
    yFormat: '~s',
    markMissing: true,
  });
}

export function peakMemory(input: SpecInput): ChartSpec | null {
  return scalingChart(input, {
    name: 'peak-memory',
    title: 'Peak training memory vs sequence length',
    description: 'Peak tensor bytes (tfjs engine), peak process RSS and, on GPU, device memory during training; log–log.',
    phase: 'train',
    panels: [
      { metric: 'peak_tensor_bytes', label: 'tensors' },
      { metric: 'peak_rss_bytes', label: 'process RSS' },
      { metric: 'peak_device_bytes', label: 'GPU device' },
    ],
    x: (r) => r.seq_len,
    xTitle: 'sequence length (tokens)',
    yTitle: 'peak memory (bytes)',
    yFormat: '.2~s',
    markMissing: true,
  });
}

export function decodeState(input: SpecInput): ChartSpec | null {
  return scalingChart(input, {
    name: 'decode-state',
    title: 'Decode state vs context length',
    description: 'Bytes of decode state per sequence (KV cache for attention, recurrent state for RNNs and SSMs) at each context length.',
    phase: 'inference',
    panels: [{ metric: 'state_bytes', label: 'state' }],
    x: (r) => sliceNumber(r.slice, 'context') ?? (r.slice === null ? r.seq_len : null),
    xTitle: 'context length (tokens)',
    yTitle: 'decode state (bytes per sequence)',
    yFormat: '.2~s',
    markMissing: false,
  });
}

export function microScaling(input: SpecInput): ChartSpec | null {
  return scalingChart(input, {
    name: 'micro-scaling',
    title: 'Sequence-mixer micro-benchmarks',
    description: 'Forward, forward + backward and decode-step latency of each sequence mixer against length, log–log (≈2 for attention, ≈1 for scans).',
    phase: 'micro',
    panels: [
      { metric: 'forward_ms', label: 'forward' },
      { metric: 'forward_backward_ms', label: 'forward + backward' },
      { metric: 'decode_step_ms', label: 'decode step' },
    ],
    x: (r) => r.seq_len,
    xTitle: 'sequence length (tokens)',
    yTitle: 'latency (ms)',
    yFormat: '~g',
    markMissing: false,
  });
}

// ---------------------------------------------------------------------------------------------------
// Training curves

/** Loss curves of every run, by step and by wall time, a row per task. */
export function lossCurves({ rows, colors }: SpecInput): ChartSpec | null {
  const curve = rows.filter((r) => r.phase === 'train' && r.metric === 'loss' && r.step !== null && r.value !== null && Number.isFinite(r.value));
  if (curve.length === 0) return null;
  const tasks = sortedUnique(curve.map((r) => r.task));
  const missing = missingFrom(rows, 'train', 'tokens_per_s', new Set(tasks)).filter((f) => !curve.some((r) => r.run_id === f.run_id));
  const archs = sortedUnique(curve.map((r) => r.arch));
  const color = archColor(colors, archs);
  const values = curve.map((r) => ({ task: r.task, arch: r.arch, run: `${r.arch} L=${r.seq_len ?? '?'} seed=${r.seed} (${r.run_id.slice(0, 8)})`, step: r.step, wall_s: r.wall_s, loss: r.value }));
  const y = { field: 'loss', type: 'quantitative', title: 'training loss (nats/token)' } as const;
  const panel = (x: 'step' | 'wall_s', title: string) => ({
    facet: { row: { field: 'task', type: 'nominal', title: null, sort: tasks } },
    spec: {
      ...PANEL,
      transform: [{ filter: `isValid(datum.${x})` }],
      mark: { type: 'line', strokeWidth: 1.6, opacity: 0.85 },
      encoding: {
        x: { field: x, type: 'quantitative', title },
        y,
        color,
        detail: { field: 'run', type: 'nominal' },
        tooltip: [{ field: 'run', title: 'run' }, { field: x, title }, { field: 'loss', title: 'loss', format: '.3f' }],
      },
    },
  });
  const hasWall = curve.some((r) => r.wall_s !== null);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chartTitle('Training loss', missing),
    description: 'loss-curves',
    config: CHART_CONFIG,
    data: { values },
    hconcat: hasWall ? [panel('step', 'optimiser step'), panel('wall_s', 'wall time (s)')] : [panel('step', 'optimiser step')],
  } as TopLevelSpec;
  return {
    name: 'loss-curves',
    title: 'Training loss',
    description: 'Training loss on answer positions against optimiser steps and against wall time, one line per run.',
    spec,
    missing,
  };
}

// ---------------------------------------------------------------------------------------------------
// Translation

const TRANSLATION_METRICS = [
  { metric: 'bleu', label: 'BLEU', scale: 1 },
  { metric: 'chrf', label: 'chrF', scale: 1 },
  { metric: 'exact_match', label: 'exact match (%)', scale: 100 },
] as const;

/** BLEU, chrF and exact match per architecture on each translation task (SCAN simple vs length split …). */
export function translationScores({ rows, colors }: SpecInput): ChartSpec | null {
  const tasks = translationTasks(rows);
  const scored = TRANSLATION_METRICS.flatMap((m) => figures(rows, 'eval', m.metric, null).filter((r) => tasks.has(r.task)).map((r) => ({ m, r })));
  if (scored.length === 0) return null;
  const taskList = sortedUnique(scored.map((s) => s.r.task));
  const missing = failedRuns(rows).filter((f) => tasks.has(f.task) && !scored.some((s) => s.r.run_id === f.run_id));
  const archs = sortedUnique([...scored.map((s) => s.r.arch), ...missing.map((f) => f.arch)]);
  const color = archColor(colors, archs);
  const labels = TRANSLATION_METRICS.filter((m) => scored.some((s) => s.m === m)).map((m) => m.label);
  const bars = [...groupBy(scored, (s) => `${s.m.metric}|${s.r.task}|${s.r.arch}`).values()].map((g) => {
    const p = pool(g.map((s) => s.r))!;
    const { m, r } = g[0];
    return { kind: 'ok', metric: m.label, task: r.task, arch: r.arch, y: p.value * m.scale, n: p.n };
  });
  const failures = labels.flatMap((metric) => missing.map((f) => ({ kind: 'missing', metric, task: f.task, arch: f.arch, y: 0, status: f.status, error: f.error ?? '' })));
  const x = { field: 'task', type: 'nominal', title: 'task (split)', sort: taskList, axis: { labelAngle: 0 } } as const;
  const xOffset = { field: 'arch', type: 'nominal', sort: archs, scale: { domain: archs } } as const;
  const layers: Layer[] = [
    {
      transform: [okOnly],
      mark: { type: 'bar' },
      encoding: {
        x,
        xOffset,
        y: { field: 'y', type: 'quantitative', title: 'score (0–100)', scale: { domain: [0, 100] } },
        color,
        tooltip: [
          { field: 'arch', title: 'architecture' },
          { field: 'task', title: 'task' },
          { field: 'metric', title: 'metric' },
          { field: 'y', title: 'score', format: '.1f' },
          { field: 'n', title: 'n (sentences)' },
        ],
      },
    },
  ];
  if (failures.length > 0) {
    layers.push({
      transform: [{ filter: "datum.kind === 'missing'" }],
      mark: { type: 'text', angle: 270, align: 'left', baseline: 'middle', dx: 4, fontSize: 10, fontWeight: 600 },
      encoding: { x, xOffset, y: { field: 'y', type: 'quantitative' }, text: { field: 'status' }, color },
    });
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chartTitle('Translation quality', missing),
    description: 'translation',
    config: CHART_CONFIG,
    data: { values: [...bars, ...failures] },
    facet: { field: 'metric', type: 'nominal', title: null, sort: labels },
    columns: labels.length,
    spec: { width: Math.max(160, taskList.length * (18 * archs.length + 24)), height: PANEL.height, layer: layers },
  } as TopLevelSpec;
  return {
    name: 'translation',
    title: 'Translation quality',
    description: 'Corpus BLEU and chrF (sacreBLEU style) and exact match per architecture on each translation task and split; failed runs are labelled with their status.',
    spec,
    missing,
  };
}

// ---------------------------------------------------------------------------------------------------
// Regression against a baseline

/** Current ÷ baseline per compared metric, with the allowed band and the verdict. */
export function regressionView({ comparison, colors }: SpecInput): ChartSpec | null {
  if (!comparison || comparison.length === 0) return null;
  const drawable = comparison.filter((c) => c.baseline !== null && c.current !== null && c.baseline > 0);
  const notDrawn = comparison.length - drawable.length;
  if (drawable.length === 0) return null;
  const items = drawable.map((c) => {
    const b = c.baseline!;
    return {
      label: `${c.task} · ${c.arch} · ${c.metric}${c.slice ? ` [${c.slice}]` : ''}: ${c.verdict}`,
      arch: c.arch,
      ratio: c.current! / b,
      lo: c.lower === null ? null : c.lower / b,
      hi: c.upper === null ? null : c.upper / b,
      baseline: c.baseline,
      current: c.current,
      verdict: c.verdict,
    };
  });
  const extent = items.flatMap((i) => [i.ratio, i.lo ?? i.ratio, i.hi ?? i.ratio, 1]).filter((v) => Number.isFinite(v) && v > 0);
  const domain = [Math.min(...extent) * 0.95, Math.max(...extent) * 1.05];
  const values = items.map((i) => ({ ...i, lo: i.lo ?? domain[0], hi: i.hi ?? domain[1] }));
  const archs = sortedUnique(items.map((i) => i.arch));
  const color = archColor(colors, archs);
  const y = {
    field: 'label',
    type: 'nominal',
    title: null,
    sort: items.map((i) => i.label),
    axis: { labelLimit: 560, labelColor: { condition: { test: "indexof(datum.label, ': regression') >= 0", value: '#b03a2e' }, value: '#333' } },
  } as const;
  const x = { field: 'ratio', type: 'quantitative', title: 'current ÷ baseline (band: allowed range)', scale: { domain, clamp: true } } as const;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chartTitle('Regression check against the baseline', [], notDrawn > 0 ? [`${notDrawn} compared metric(s) not drawn (no baseline, no current value, or a zero baseline): see the table`] : []),
    description: 'regression',
    config: CHART_CONFIG,
    data: { values },
    width: 420,
    height: { step: 20 },
    layer: [
      { mark: { type: 'rule', strokeWidth: 8, opacity: 0.18, color: '#4c78a8' }, encoding: { y, x: { field: 'lo', type: 'quantitative', scale: { domain, clamp: true } }, x2: { field: 'hi' } } },
      { mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { x: { datum: 1, type: 'quantitative' } } },
      {
        mark: { type: 'point', filled: true, size: 80 },
        encoding: {
          y,
          x,
          color,
          shape: { field: 'verdict', type: 'nominal', title: 'verdict', scale: { domain: ['regression', 'improvement', 'unchanged'], range: ['triangle-down', 'triangle-up', 'circle'] } },
          tooltip: [
            { field: 'label', title: 'metric' },
            { field: 'baseline', title: 'baseline', format: ',.4~g' },
            { field: 'current', title: 'current', format: ',.4~g' },
            { field: 'verdict', title: 'verdict' },
          ],
        },
      },
    ],
  } as TopLevelSpec;
  return {
    name: 'regression',
    title: 'Regression check',
    description: 'Each compared metric as current ÷ baseline; the shaded band is the range compare allows, the dashed rule the baseline.',
    spec,
    missing: [],
  };
}

/** Every chart builder, in the order the report shows them. */
export const CHART_BUILDERS = [
  regressionView,
  accuracyVsLength,
  lengthExtrapolation,
  accuracyVsThroughput,
  trainThroughput,
  decodeThroughput,
  peakMemory,
  decodeState,
  microScaling,
  lossCurves,
  translationScores,
] as const;

/** The charts these rows (and comparison) hold data for. */
export function buildCharts(rows: ResultRow[], comparison?: ComparisonRow[]): ChartSpec[] {
  // Calibration rows name no architecture a chart draws (micro-benchmarks file theirs under "micro").
  const archs = [...rows.filter((r) => r.phase !== 'calibration').map((r) => r.arch), ...(comparison ?? []).map((c) => c.arch)];
  const input: SpecInput = { rows, colors: archColors(archs), comparison };
  return CHART_BUILDERS.map((build) => build(input)).filter((c): c is ChartSpec => c !== null);
}
