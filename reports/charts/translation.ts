/** Translation quality: BLEU, chrF and exact match per architecture on each translation task and split. */
import type { TopLevelSpec } from 'vega-lite';
import { pool } from '../../harness/stats.ts';
import { failedRuns, figures, groupBy, sortedUnique, translationTasks } from '../data.ts';
import type { ChartSpec } from '../types.ts';
import { archColor, CHART_CONFIG, chartTitle, facetHints, PANEL, okOnly, SCHEMA, type Layer, type SpecInput } from './common.ts';

const TRANSLATION_METRICS = [
  { metric: 'bleu', label: 'BLEU', scale: 1 },
  { metric: 'chrf', label: 'chrF', scale: 1 },
  { metric: 'exact_match', label: 'exact match (%)', scale: 100 },
] as const;

/** BLEU, chrF and exact match per architecture on each translation task (SCAN simple vs length split …). */
export function translationScores({ rows }: SpecInput): ChartSpec | null {
  const tasks = translationTasks(rows);
  const scored = TRANSLATION_METRICS.flatMap((m) => figures(rows, 'eval', m.metric, null).filter((r) => tasks.has(r.task)).map((r) => ({ m, r })));
  if (scored.length === 0) return null;
  const taskList = sortedUnique(scored.map((s) => s.r.task));
  const missing = failedRuns(rows).filter((f) => tasks.has(f.task) && !scored.some((s) => s.r.run_id === f.run_id));
  const archs = sortedUnique([...scored.map((s) => s.r.arch), ...missing.map((f) => f.arch)]);
  const color = archColor(archs);
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
      mark: { type: 'text', angle: 270, align: 'left', baseline: 'middle', dx: 4, fontSize: 12, fontWeight: 600 },
      encoding: { x, xOffset, y: { field: 'y', type: 'quantitative' }, text: { field: 'status' }, color },
    });
  }
  const spec = {
    $schema: SCHEMA,
    title: chartTitle('Translation quality', missing),
    description: 'translation',
    config: CHART_CONFIG,
    data: { values: [...bars, ...failures] },
    facet: { field: 'metric', type: 'nominal', title: null, sort: labels },
    columns: labels.length,
    usermeta: { fit: { ...facetHints(labels.length, false), minPanel: 160 } },
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
