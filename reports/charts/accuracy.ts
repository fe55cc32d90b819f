/** Accuracy charts: against training length, beyond it (length extrapolation), and against throughput (Pareto). */
import { paretoFrontier, pool } from '../../harness/stats.ts';
import { figures, groupBy, missingFrom, sliceNumber, sortedUnique, translationTasks } from '../data.ts';
import type { ChartSpec } from '../types.ts';
import { archColor, chartTitle, facetByTask, lengthAxis, missingData, missingLayer, okOnly, type Layer, type SpecInput } from './common.ts';

const accuracyY = { field: 'y', type: 'quantitative' as const, title: 'accuracy (% of answer positions)', axis: { format: '%' }, scale: { domain: [0, 1] } };

/** Whole-split accuracy against training length, one line per architecture, a panel per task run at ≥ 2 lengths. */
export function accuracyVsLength({ rows }: SpecInput): ChartSpec | null {
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
  const color = archColor(archs);
  const lengths = sortedUnique([...acc.map((r) => r.seq_len!), ...missing.flatMap((f) => (f.seq_len === null ? [] : [f.seq_len]))]);
  const layers: Layer[] = [
    {
      transform: [okOnly],
      mark: { type: 'line', point: { filled: true, size: 50 } },
      encoding: {
        x: lengthAxis('training sequence length (tokens)', lengths),
        y: accuracyY,
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
  return {
    name: 'accuracy-vs-length',
    title: 'Accuracy vs sequence length',
    description: 'Whole-split accuracy on answer positions at each training length; one line per architecture, one panel per task.',
    spec: facetByTask('accuracy-vs-length', chartTitle('Accuracy vs sequence length', missing), [...points, ...missingData(missing)], layers, tasks),
    missing,
  };
}

/** Pixels between the stacked "trained at" labels of one panel, so labels of nearby lengths never overlap. */
const LABEL_STEP = 16;

/** Accuracy at evaluation lengths beyond the training length (slices `eval_len=<L>`). */
export function lengthExtrapolation({ rows }: SpecInput): ChartSpec | null {
  const acc = figures(rows, 'eval', 'accuracy').filter((r) => sliceNumber(r.slice, 'eval_len') !== null);
  const lengths = sortedUnique(acc.map((r) => sliceNumber(r.slice, 'eval_len')!));
  if (lengths.length < 2) return null;
  const tasks = sortedUnique(acc.map((r) => r.task));
  const missing = missingFrom(rows, 'eval', 'accuracy', new Set(tasks));
  const points = [...groupBy(acc, (r) => `${r.task}|${r.arch}|${r.seq_len}|${r.slice}`).values()].map((g) => {
    const p = pool(g)!;
    return { kind: 'ok', task: g[0].task, arch: g[0].arch, trained: g[0].seq_len, x: sliceNumber(g[0].slice, 'eval_len'), y: p.value, n: p.n };
  });
  // One label per training length of a task, each on its own line from the top (labelY in pixels).
  const trainedAt = [...groupBy(acc.filter((r) => r.seq_len !== null), (r) => r.task).values()].flatMap((g) =>
    sortedUnique(g.map((r) => r.seq_len!)).map((L, i) => ({ kind: 'trained', task: g[0].task, x: L, labelY: 4 + i * LABEL_STEP, label: `trained at L=${L}` })),
  );
  const archs = sortedUnique([...acc, ...missing].map((r) => r.arch));
  const color = archColor(archs);
  const severalTrainLengths = new Set(acc.map((r) => r.seq_len)).size > 1;
  const layers: Layer[] = [
    {
      transform: [{ filter: "datum.kind === 'trained'" }],
      mark: { type: 'rule', strokeDash: [4, 3], color: '#777' },
      encoding: { x: { field: 'x', type: 'quantitative' } },
    },
    {
      transform: [{ filter: "datum.kind === 'trained'" }],
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, fontSize: 12, color: '#444' },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'labelY', type: 'quantitative', scale: null }, text: { field: 'label' } },
    },
    {
      transform: [okOnly],
      mark: { type: 'line', point: { filled: true, size: 50 } },
      encoding: {
        x: lengthAxis('evaluation length (tokens)', lengths),
        y: accuracyY,
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

/** Each run as a point of training throughput against accuracy, with the Pareto frontier per task. */
export function accuracyVsThroughput({ rows }: SpecInput): ChartSpec | null {
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
  const color = archColor(archs);
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
        x: { field: 'x', type: 'quantitative', title: 'training throughput (tokens/s)', scale: { type: 'log' }, axis: { format: ',~r', labelOverlap: true } },
        y: accuracyY,
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
