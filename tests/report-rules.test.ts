/**
 * The rules every report chart keeps, checked on the specs themselves: an architecture's colour is the
 * fixed palette's in every chart, no chart is drawn over a single x value, the extrapolation marks'
 * labels never sit on one another, and memory axes are in binary units as the tables are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARCHITECTURES } from '../architectures/index.ts';
import { MIXERS } from '../harness/micro.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import * as specs from '../reports/charts/index.ts';
import { BYTES_LABEL } from '../reports/charts/common.ts';
import { ARCH_PALETTE, colorOf, MIXER_ARCH } from '../reports/palette.ts';
import { renderSvg } from '../reports/render.ts';
import type { ComparisonRow } from '../reports/types.ts';
import { fixtureRows } from './fixtures/rows.ts';

const rows = fixtureRows();
const comparison: ComparisonRow[] = [
  { task: 'associative-recall', arch: 'mamba', phase: 'train', metric: 'tokens_per_s', slice: null, baseline: 6000, current: 5100, lower: 5700, upper: null, verdict: 'regression' },
  { task: 'scan-simple', arch: 'transformer', phase: 'train', metric: 'peak_rss_bytes', slice: null, baseline: 1e8, current: 8e7, lower: null, upper: 1.1e8, verdict: 'improvement' },
];

/** Every colour (or fill) encoding with a scale anywhere in a spec. */
function colourScales(node: unknown, out: { domain: string[]; range: string[] }[] = []): { domain: string[]; range: string[] }[] {
  if (Array.isArray(node)) for (const n of node) colourScales(n, out);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      const scale = (value as { scale?: { domain?: string[]; range?: string[] } } | null)?.scale;
      if ((key === 'color' || key === 'fill') && scale) out.push({ domain: scale.domain ?? [], range: scale.range ?? [] });
      colourScales(value, out);
    }
  }
  return out;
}

test('every registered architecture and every micro-benchmark mixer has its fixed colour', () => {
  for (const name of Object.keys(ARCHITECTURES)) assert.ok(ARCH_PALETTE[name], `${name} has a palette entry`);
  for (const mixer of MIXERS) assert.ok(MIXER_ARCH[mixer] && ARCH_PALETTE[MIXER_ARCH[mixer]], `${mixer} maps to a coloured architecture`);
  const colours = Object.values(ARCH_PALETTE);
  assert.equal(new Set(colours).size, colours.length, 'no two architectures share a colour');
  assert.equal(colorOf('attention/fused'), ARCH_PALETTE.transformer);
  assert.equal(colorOf('scan/reference'), ARCH_PALETTE.mamba);
  assert.equal(colorOf('a-new-arch'), colorOf('a-new-arch'), 'an unknown name still gets one stable colour');
});

test('the colour scale of every chart is the fixed palette, whatever subset of architectures the rows hold', () => {
  const subsets = [rows, rows.filter((r) => r.arch !== 'gru' && !r.arch.startsWith('gru')), rows.filter((r) => r.arch === 'transformer' || r.arch.startsWith('attention') || r.phase === 'calibration')];
  for (const subset of subsets) {
    const charts = specs.buildCharts(subset, comparison);
    assert.ok(charts.length >= 5);
    for (const c of charts) {
      const scales = colourScales(c.spec);
      assert.ok(scales.length > 0, `${c.name} colours by architecture`);
      for (const s of scales) {
        assert.deepEqual(s.range, s.domain.map(colorOf), `${c.name}: range is the palette's colours of its domain`);
      }
    }
  }
});

test('no chart is drawn over a single x value', () => {
  const oneLength = rows.filter((r) => (r.task === 'induction-heads' && r.slice === null) || r.phase === 'calibration');
  for (const c of specs.buildCharts(oneLength)) {
    const values = ((c.spec as { data?: { values?: Record<string, unknown>[] } }).data?.values ?? []).filter((v) => v.kind === undefined || v.kind === 'ok');
    const xs = new Set(values.map((v) => v.x ?? v.step ?? v.task));
    assert.ok(xs.size >= 2, `${c.name} is drawn over ${xs.size} x value`);
  }
});

test('length extrapolation: the "trained at" labels of nearby lengths sit at different heights', async () => {
  // The same task trained at 32 and at 64: two dashed rules, two labels.
  const trainedAt32 = rows
    .filter((r) => r.task === 'induction-heads' && r.slice?.startsWith('eval_len='))
    .map((r): ResultRow => ({ ...r, run_id: `${r.run_id}-32`, seq_len: 32 }));
  const c = specs.lengthExtrapolation({ rows: [...rows, ...trainedAt32] })!;
  const labels = ((c.spec as { data: { values: Record<string, unknown>[] } }).data.values).filter((v) => v.kind === 'trained');
  assert.deepEqual(labels.map((l) => l.label).sort(), ['trained at L=32', 'trained at L=64']);
  assert.equal(new Set(labels.map((l) => l.labelY)).size, 2, 'one height per label');
  const svg = await renderSvg(c.spec);
  const positions = [...svg.matchAll(/<text[^>]*transform="translate\(([\d.]+),([\d.]+)\)"[^>]*>trained at L=\d+<\/text>/g)].map((m) => m[2]);
  assert.equal(positions.length, 2);
  assert.notEqual(positions[0], positions[1], 'the labels are drawn at different y');
});

test('memory axes are in binary units (KiB, MiB), as the tables', async () => {
  for (const build of [specs.peakMemory, specs.decodeState]) {
    const c = build({ rows })!;
    const text = JSON.stringify(c.spec);
    assert.ok(text.includes(JSON.stringify(BYTES_LABEL)), `${c.name}: y labels through the binary formatter`);
    assert.doesNotMatch(text, /"format":"[^"]*s"/, `${c.name}: no SI format`);
    const svg = await renderSvg(c.spec);
    const axisLabels = [...svg.matchAll(/>([\d.]+ (?:B|KiB|MiB|GiB))<\/text>/g)].map((m) => m[1]);
    assert.ok(axisLabels.length >= 3, `${c.name}: ${axisLabels.join(', ')}`);
    assert.doesNotMatch(svg, />[\d.]+[kMG]<\/text>/, `${c.name}: no SI labels`);
  }
});
