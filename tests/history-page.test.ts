/** The history dashboard's charts: one per tracked metric over the commits, the allowed band as compare draws it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseThresholds } from '../harness/compare.ts';
import { buildHistory } from '../harness/history.ts';
import { allowedBand, historyCharts } from '../reports/history.ts';
import { colorOf } from '../reports/palette.ts';
import { fixtureRows } from './fixtures/rows.ts';

const sources = ['abc1234', 'def5678'].map((sha, i) => ({
  dir: `results/history/${sha}`,
  env: null,
  rows: fixtureRows()
    .filter((r) => r.task === 'induction-heads')
    .map((r) => ({ ...r, git_sha: sha, timestamp: `2026-11-2${i + 1}T12:00:00.000Z` })),
}));
const points = buildHistory(sources);

test('history: one chart per tracked metric, over both commits, coloured by the fixed palette', () => {
  const charts = historyCharts(points);
  const names = charts.map((c) => c.title);
  assert.ok(names.includes('train/tokens_per_s') && names.includes('eval/accuracy') && names.includes('train/peak_rss_bytes'));
  assert.ok(!names.some((n) => n.startsWith('model/') || n.startsWith('calibration/')), 'info-only figures are not tracked');
  const throughput = charts.find((c) => c.title === 'train/tokens_per_s')!;
  const values = (throughput.spec as { data: { values: { commit: string; arch: string }[] } }).data.values;
  assert.deepEqual([...new Set(values.map((v) => v.commit))], ['2026-11-21 abc1234', '2026-11-22 def5678']);
  const text = JSON.stringify(throughput.spec);
  for (const arch of ['gru', 'mamba', 'transformer']) assert.ok(text.includes(colorOf(arch)), `${arch} in its colour`);
});

test('history: the band is what compare allows around the first commit (a factor for speed, absolute for accuracy)', () => {
  const t = parseThresholds();
  const speed = points.find((p) => p.metric === 'tokens_per_s')!;
  // A timing threshold is a factor either way: a throughput may fall to 1 / (1 + relative) of the baseline.
  assert.deepEqual(allowedBand(speed, 1000), { lower: 1000 / (1 + t.timing.relative), upper: null });
  const memory = points.find((p) => p.metric === 'peak_rss_bytes')!;
  assert.deepEqual(allowedBand(memory, 1000), { lower: null, upper: 1000 * (1 + t.memory.relative) });
  const accuracy = points.find((p) => p.metric === 'accuracy')!;
  assert.deepEqual(allowedBand(accuracy, 0.9), { lower: 0.9 - 0.02, upper: null });
  const params = points.find((p) => p.metric === 'params')!;
  assert.equal(allowedBand(params, 1), null, 'compare only reports parameter counts');
});
