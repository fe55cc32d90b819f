/**
 * What every chart shares: the look, the fixed architecture colours, length and byte axes, titles that
 * name missing runs, the ✕ marks of failed runs, and the layout hints the page uses to fit a chart to
 * its container (layout.ts).
 */
import type { Config, TopLevelSpec } from 'vega-lite';
import type { Encoding } from 'vega-lite/types_unstable/encoding.js';
import type { UnitSpec } from 'vega-lite/types_unstable/spec/unit.js';
import type { ResultRow } from '../../harness/results/schema.ts';
import { describeFailure } from '../data.ts';
import { colorOf } from '../palette.ts';
import type { ComparisonRow, FailedRun } from '../types.ts';
import type { FitHints } from '../layout.ts';

export type Layer = UnitSpec<string>;
export type ColorDef = Encoding<string>['color'];
export type Datum = Record<string, string | number | boolean | null>;

export interface SpecInput {
  rows: ResultRow[];
  comparison?: ComparisonRow[];
}

export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** The look every chart shares (text ≥ 12 px; also used by the HTML page, so browser and PNG agree). */
export const CHART_CONFIG: Config = {
  font: 'Liberation Sans, DejaVu Sans, Helvetica, Arial, sans-serif',
  background: 'white',
  padding: 12,
  title: { fontSize: 16, fontWeight: 600, anchor: 'start', subtitleFontSize: 12, subtitleColor: '#b03a2e', offset: 10 },
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 500, gridColor: '#e8e8e8', domainColor: '#888', tickColor: '#888' },
  legend: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 500, labelLimit: 420, titleLimit: 720, orient: 'bottom', direction: 'horizontal' },
  header: { labelFontSize: 13, labelFontWeight: 600, titleFontSize: 13 },
  view: { stroke: '#ddd' },
  line: { strokeWidth: 2 },
  text: { fontSize: 12 },
};

export const PANEL = { width: 300, height: 200 };
const MAX_SUBTITLE_LINES = 4;

/**
 * The colour encoding of the architectures in this chart: domain the names, range their fixed colours
 * (palette.ts). `labels` maps a name to its legend text (an exponent, say) without changing the domain.
 */
export function archColor(archs: string[], options: { field?: string; title?: string | string[]; labels?: Record<string, string> } = {}): ColorDef {
  const { field = 'arch', title = 'architecture', labels } = options;
  const labelExpr = labels === undefined ? undefined : `${JSON.stringify(labels)}[datum.label] || datum.label`;
  return {
    field,
    type: 'nominal',
    title,
    scale: { domain: archs, range: archs.map(colorOf) },
    legend: labelExpr === undefined ? {} : { labelExpr },
  };
}

/** A sequence-length axis: log base 2, ticked at the lengths that were run. */
export function lengthAxis(title: string, values: number[], field = 'x'): Encoding<string>['x'] {
  return { field, type: 'quantitative', title, scale: { type: 'log', base: 2 }, axis: { values, format: 'd', labelOverlap: true } };
}

/** Vega expression labelling a byte count with binary prefixes (B, KiB, MiB, GiB, TiB), as the tables do. */
export const BYTES_LABEL =
  "datum.value >= 1099511627776 ? format(datum.value / 1099511627776, '.3~g') + ' TiB' : datum.value >= 1073741824 ? format(datum.value / 1073741824, '.3~g') + ' GiB' : datum.value >= 1048576 ? format(datum.value / 1048576, '.3~g') + ' MiB' : datum.value >= 1024 ? format(datum.value / 1024, '.3~g') + ' KiB' : format(datum.value, '.3~g') + ' B'";


export function chartTitle(text: string, missing: FailedRun[], extra: string[] = []): TopLevelSpec['title'] {
  const lines = missing.map((f) => `missing: ${describeFailure(f)}${f.error ? ` — ${f.error.slice(0, 60)}` : ''}`);
  const shown = lines.length > MAX_SUBTITLE_LINES ? [...lines.slice(0, MAX_SUBTITLE_LINES - 1), `… and ${lines.length - MAX_SUBTITLE_LINES + 1} more missing runs (see the table)`] : lines;
  const subtitle = [...extra, ...shown];
  return subtitle.length === 0 ? { text } : { text, subtitle, subtitleColor: shown.length > 0 ? '#b03a2e' : '#555' };
}

/** Data records placing failed runs at their length on the x axis (the ✕ marks). */
export function missingData(missing: FailedRun[], extra: (f: FailedRun) => Datum = () => ({})): Datum[] {
  return missing
    .filter((f) => f.seq_len !== null)
    .map((f) => ({ kind: 'missing', task: f.task, arch: f.arch, x: f.seq_len, status: f.status, error: f.error ?? '', ...extra(f) }));
}

/** ✕ on the bottom axis at a failed run's length, in its architecture's colour. */
export function missingLayer(color: ColorDef): Layer {
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

export const okOnly = { filter: "datum.kind === 'ok'" };

/** Room one panel's y axis takes beside it (labels and title), for layout. */
export const Y_AXIS_ROOM = 78;

/** Layout hints of a faceted chart: at most `columns` panels a row, each axis beside its panel when independent. */
export function facetHints(columns: number, independentY: boolean): FitHints {
  return { kind: 'facet', columns, reserve: Y_AXIS_ROOM + 30, gap: 20 + (independentY ? Y_AXIS_ROOM : 0), minPanel: 220 };
}

/** Facet a layered chart by task (wrapping), with the shared look. */
export function facetByTask(name: string, title: TopLevelSpec['title'], values: Datum[], layers: Layer[], tasks: string[], extra: Partial<TopLevelSpec> = {}): TopLevelSpec {
  const columns = Math.min(3, tasks.length);
  return {
    $schema: SCHEMA,
    title,
    description: name,
    config: CHART_CONFIG,
    usermeta: { fit: facetHints(columns, false) },
    data: { values },
    facet: { field: 'task', type: 'nominal', title: null, sort: tasks },
    columns,
    spec: { ...PANEL, layer: layers },
    ...extra,
  } as TopLevelSpec;
}
