/**
 * The regression check against a baseline: each metric that changed, as the ratio compare judged
 * (speeds normalised by each run's calibration, as compare does) with the allowed band in the same
 * ratio, and the bootstrap interval where compare had one. Unchanged metrics are counted, not drawn.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Comparison } from '../../harness/compare.ts';
import { sortedUnique } from '../data.ts';
import { textWidth } from '../text-width.ts';
import type { ChartSpec, ComparisonRow } from '../types.ts';
import { archColor, CHART_CONFIG, chartTitle, SCHEMA, type SpecInput } from './common.ts';

/** A comparison row with what compare knew when it judged it (absent on rows from elsewhere). */
type Judged = ComparisonRow & Partial<Pick<Comparison, 'rule' | 'change' | 'ratioInterval'>>;

interface Placed {
  /** The judged ratio current ÷ baseline (normalised where compare normalised). */
  ratio: number;
  lo: number | null;
  hi: number | null;
  intervalLo: number | null;
  intervalHi: number | null;
}

/** Where a compared metric sits on the ratio axis, its band and interval in the same ratio; null: not drawable. */
export function placeOnRatio(c: Judged): Placed | null {
  if (c.baseline === null || c.current === null || c.baseline <= 0) return null;
  const interval = c.ratioInterval ?? null;
  if ((c.rule === 'timing' || c.rule === 'relative') && c.change !== null && c.change !== undefined && c.current > 0) {
    // compare's band bounds the current raw value; the judged ratio is normalised: scale the band alike.
    const ratio = 1 + c.change;
    const per = ratio / c.current;
    return { ratio, lo: c.lower === null ? null : c.lower * per, hi: c.upper === null ? null : c.upper * per, intervalLo: interval?.[0] ?? null, intervalHi: interval?.[1] ?? null };
  }
  const b = c.baseline;
  return { ratio: c.current / b, lo: c.lower === null ? null : c.lower / b, hi: c.upper === null ? null : c.upper / b, intervalLo: null, intervalHi: null };
}

export function regressionView({ comparison }: SpecInput): ChartSpec | null {
  if (!comparison || comparison.length === 0) return null;
  const placed = (comparison as Judged[]).map((c) => ({ c, p: placeOnRatio(c) }));
  const notDrawable = placed.filter((x) => x.p === null).length;
  const unchanged = placed.filter((x) => x.p !== null && x.c.verdict === 'unchanged').length;
  const changed = placed.filter((x): x is { c: Judged; p: Placed } => x.p !== null && x.c.verdict !== 'unchanged');
  if (changed.length === 0) return null;
  const items = changed.map(({ c, p }) => ({
    label: `${c.task} · ${c.arch} · ${c.metric}${c.slice ? ` [${c.slice}]` : ''}`,
    arch: c.arch,
    verdict: c.verdict,
    baseline: c.baseline,
    current: c.current,
    ...p,
  }));
  const extent = items.flatMap((i) => [i.ratio, i.lo ?? i.ratio, i.hi ?? i.ratio, i.intervalLo ?? i.ratio, i.intervalHi ?? i.ratio, 1]).filter((v) => Number.isFinite(v) && v > 0);
  const domain = [Math.min(...extent) * 0.95, Math.max(...extent) * 1.05];
  const values = items.map((i) => ({ ...i, lo: i.lo ?? domain[0], hi: i.hi ?? domain[1] }));
  const archs = sortedUnique(items.map((i) => i.arch));
  const color = archColor(archs);
  const y = {
    field: 'label',
    type: 'nominal',
    title: null,
    sort: items.map((i) => i.label),
    // Room for the longest label whatever font the browser substitutes (DejaVu Sans runs ~15 % wider).
    axis: { labelLimit: 520, minExtent: Math.min(520, Math.ceil(1.2 * Math.max(...items.map((i) => textWidth({ fontSize: 12 }, i.label))))) },
  } as const;
  const scale = { domain, clamp: true };
  const notes = [
    ...(unchanged > 0 ? [`${unchanged} unchanged metric(s) not drawn`] : []),
    ...(notDrawable > 0 ? [`${notDrawable} compared metric(s) not drawn (no baseline, no current value, or a zero baseline)`] : []),
  ];
  const spec = {
    $schema: SCHEMA,
    title: chartTitle('Regression check against the baseline', [], notes.length > 0 ? [`${notes.join('; ')}: see the table`] : []),
    description: 'regression',
    config: CHART_CONFIG,
    usermeta: { fit: { kind: 'single', columns: 1, reserve: 420, gap: 0, minPanel: 240 } },
    data: { values },
    width: 420,
    height: { step: 24 },
    layer: [
      { mark: { type: 'rule', strokeWidth: 10, opacity: 0.2, color: '#4c78a8' }, encoding: { y, x: { field: 'lo', type: 'quantitative', scale }, x2: { field: 'hi' } } },
      { mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { x: { datum: 1, type: 'quantitative' } } },
      {
        transform: [{ filter: 'isValid(datum.intervalLo)' }],
        mark: { type: 'rule', strokeWidth: 1.5 },
        encoding: { y, x: { field: 'intervalLo', type: 'quantitative', scale }, x2: { field: 'intervalHi' }, color },
      },
      {
        mark: { type: 'point', filled: true, size: 90 },
        encoding: {
          y,
          x: { field: 'ratio', type: 'quantitative', title: 'current ÷ baseline, as compare judged it (band: allowed range; line: bootstrap interval)', scale },
          color,
          shape: { field: 'verdict', type: 'nominal', title: 'verdict', scale: { domain: ['regression', 'improvement'], range: ['triangle-down', 'triangle-up'] } },
          tooltip: [
            { field: 'label', title: 'metric' },
            { field: 'baseline', title: 'baseline', format: ',.4~g' },
            { field: 'current', title: 'current', format: ',.4~g' },
            { field: 'ratio', title: 'judged ratio', format: '.3f' },
            { field: 'verdict', title: 'verdict' },
          ],
        },
      },
    ],
  } as TopLevelSpec;
  return {
    name: 'regression',
    title: 'Regression check',
    description: 'Each metric that changed against the baseline, as the ratio compare judged (speeds normalised by calibration); the shaded band is the range compare allows, the dashed rule the baseline.',
    spec,
    missing: [],
  };
}
