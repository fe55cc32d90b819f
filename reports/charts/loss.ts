/** Training loss curves by optimiser step and by wall time, a row per task. */
import type { TopLevelSpec } from 'vega-lite';
import { groupBy, missingFrom, sortedUnique } from '../data.ts';
import type { ChartSpec } from '../types.ts';
import { textWidth } from '../text-width.ts';
import { archColor, CHART_CONFIG, chartTitle, PANEL, SCHEMA, Y_AXIS_ROOM, type SpecInput } from './common.ts';

/**
 * One line per run in its architecture's colour; where one architecture ran at several lengths or seeds,
 * a dash pattern tells its runs apart (named in the legend).
 */
export function lossCurves({ rows }: SpecInput): ChartSpec | null {
  const curve = rows.filter((r) => r.phase === 'train' && r.metric === 'loss' && r.step !== null && r.value !== null && Number.isFinite(r.value));
  if (curve.length === 0) return null;
  const tasks = sortedUnique(curve.map((r) => r.task));
  const missing = missingFrom(rows, 'train', 'tokens_per_s', new Set(tasks)).filter((f) => !curve.some((r) => r.run_id === f.run_id));
  const archs = sortedUnique(curve.map((r) => r.arch));
  const color = archColor(archs);
  // What varies between the runs of one architecture on one task: length, seed, or both.
  const runsOf = [...groupBy(curve, (r) => `${r.task}|${r.arch}`).values()];
  const lengthsVary = runsOf.some((g) => new Set(g.map((r) => r.seq_len)).size > 1);
  const seedsVary = runsOf.some((g) => new Set(g.map((r) => r.seed)).size > 1);
  const variantOf = (r: (typeof curve)[number]): string =>
    [lengthsVary ? `L=${r.seq_len ?? '?'}` : null, seedsVary ? `seed ${r.seed}` : null].filter((s) => s !== null).join(', ') || 'run';
  const variants = sortedUnique(curve.map(variantOf)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const values = curve.map((r) => ({
    task: r.task,
    arch: r.arch,
    variant: variantOf(r),
    run: `${r.arch} L=${r.seq_len ?? '?'} seed=${r.seed} (${r.run_id.slice(0, 8)})`,
    step: r.step,
    wall_s: r.wall_s,
    loss: r.value,
  }));
  const y = { field: 'loss', type: 'quantitative', title: 'training loss (nats/token)' } as const;
  const dashed = variants.length > 1;
  const panel = (x: 'step' | 'wall_s', title: string) => ({
    facet: { row: { field: 'task', type: 'nominal', title: null, sort: tasks } },
    spec: {
      ...PANEL,
      transform: [{ filter: `isValid(datum.${x})` }],
      mark: { type: 'line', strokeWidth: 1.8, opacity: 0.9 },
      encoding: {
        x: { field: x, type: 'quantitative', title, axis: x === 'step' ? { tickMinStep: 1, format: 'd' } : { format: '~g' } },
        y,
        color,
        ...(dashed ? { strokeDash: { field: 'variant', type: 'nominal', title: lengthsVary && seedsVary ? 'length, seed' : lengthsVary ? 'training length' : 'seed', sort: variants } } : {}),
        detail: { field: 'run', type: 'nominal' },
        tooltip: [{ field: 'run', title: 'run' }, { field: x, title }, { field: 'loss', title: 'loss', format: '.3f' }],
      },
    },
  });
  const hasWall = curve.some((r) => r.wall_s !== null);
  const panels = hasWall ? [panel('step', 'optimiser step'), panel('wall_s', 'wall time (s)')] : [panel('step', 'optimiser step')];
  const spec = {
    $schema: SCHEMA,
    title: chartTitle('Training loss', missing),
    description: 'loss-curves',
    config: CHART_CONFIG,
    usermeta: { fit: { kind: 'hconcat', columns: panels.length, reserve: Y_AXIS_ROOM + 140, gap: Y_AXIS_ROOM + 20, minPanel: 240, legendEntry: Math.max(...[...archs, ...variants].map((t) => textWidth({ fontSize: 12 }, t))) + 28, legends: dashed ? 2 : 1 } },
    data: { values },
    hconcat: panels,
  } as TopLevelSpec;
  return {
    name: 'loss-curves',
    title: 'Training loss',
    description: 'Training loss on answer positions against optimiser steps and against wall time, one line per run (dash pattern: length or seed of the run).',
    spec,
    missing,
  };
}
