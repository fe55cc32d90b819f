/**
 * Reports: every chart spec compiles without a Vega-Lite warning and renders the marks its rows call for
 * (lines and points per architecture, in that architecture's colour), failed runs are named, PNGs are
 * real PNGs, and the report files and the `report` command come out whole.
 */
import { test } from 'node:test';
import { execa } from 'execa';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../harness/errors.ts';
import { appendRows, ResultsFileError, writeEnv } from '../harness/results/io.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import { failedRuns } from '../reports/data.ts';
import { colorOf } from '../reports/palette.ts';
import { buildReport, writeReport } from '../reports/index.ts';
import { compileSpec, renderPng, renderSvg, textWidth } from '../reports/render.ts';
import * as specs from '../reports/charts/index.ts';
import { paretoFrontier } from '../harness/stats.ts';
import { placeOnRatio } from '../reports/charts/regression.ts';
import { microExponentsTable } from '../reports/summary.ts';
import type { ChartSpec, ComparisonRow } from '../reports/types.ts';
import { ARCHS, CONTEXT_LENGTHS, EXTRAPOLATION_LENGTHS, FAILURES, FIXTURE_ENV, fixtureRows, MICRO_LENGTHS, MIXER_OF } from './fixtures/rows.ts';

const rows = fixtureRows();
const colors = new Map(ARCHS.map((a) => [a, colorOf(a)]));
const comparison: ComparisonRow[] = [
  { task: 'associative-recall', arch: 'mamba', phase: 'train', metric: 'tokens_per_s', slice: null, baseline: 6000, current: 5100, lower: 5700, upper: null, verdict: 'regression' },
  { task: 'associative-recall', arch: 'gru', phase: 'eval', metric: 'accuracy', slice: null, baseline: 0.6, current: 0.62, lower: 0.57, upper: 0.63, verdict: 'unchanged' },
  { task: 'scan-simple', arch: 'transformer', phase: 'train', metric: 'peak_rss_bytes', slice: null, baseline: 1e8, current: 8e7, lower: null, upper: 1.1e8, verdict: 'improvement' },
  { task: 'scan-simple', arch: 'gru', phase: 'eval', metric: 'bleu', slice: null, baseline: null, current: 88, lower: null, upper: null, verdict: 'new' },
];
const input = { rows, comparison };

interface Mark {
  label: string;
  color: string | null;
}

/** The marks of one ARIA role ("line mark", "point", "bar", "text mark") in a vega SVG. */
function marks(svg: string, role: string): Mark[] {
  const elements = svg.match(new RegExp(`<(path|text|line)[^>]*aria-roledescription="${role}"[^>]*>`, 'g')) ?? [];
  return elements.map((e) => ({
    label: /aria-label="([^"]*)"/.exec(e)?.[1] ?? '',
    color: /(?:stroke|fill)="(#[0-9a-f]{6})"/.exec(e)?.[1] ?? null,
  }));
}

/** How many marks carry each architecture's colour. */
function perArch(list: Mark[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const arch of ARCHS) counts[arch] = list.filter((m) => m.color === colors.get(arch)).length;
  return counts;
}

const rendered = new Map<string, Promise<{ chart: ChartSpec; svg: string }>>();

/** Build a chart, check it compiles and renders without warnings, and return its SVG (once per chart). */
function chart(build: (i: specs.SpecInput) => ChartSpec | null): Promise<{ chart: ChartSpec; svg: string }> {
  if (!rendered.has(build.name)) {
    rendered.set(
      build.name,
      (async () => {
        const c = build(input);
        assert.ok(c, `${build.name} returned no chart for the fixture rows`);
        const { warnings } = compileSpec(c.spec);
        assert.deepEqual(warnings, [], `${c.name}: Vega-Lite compile warnings`);
        const runtime: string[] = [];
        const svg = await renderSvg(c.spec, runtime);
        assert.deepEqual(runtime, [], `${c.name}: vega run-time warnings`);
        assert.match(svg, /^<svg /);
        return { chart: c, svg };
      })(),
    );
  }
  return rendered.get(build.name)!;
}

const oom = FAILURES.find((f) => f.status === 'oom')!;
const timeout = FAILURES.find((f) => f.status === 'timeout')!;
const oomText = `transformer at L=256 on associative-recall (oom)`;

test('fixture rows: exactly the planned failures are failed runs', () => {
  assert.deepEqual(
    failedRuns(rows).map((f) => [f.task, f.arch, f.seq_len, f.status]),
    [
      [oom.task, oom.arch, oom.seq_len, oom.status],
      [timeout.task, timeout.arch, timeout.seq_len, timeout.status],
    ],
  );
});

test('accuracy vs length: one line per architecture, the OOM run marked on the axis and named', async () => {
  const { chart: c, svg } = await chart(specs.accuracyVsLength);
  // Only associative-recall has several lengths; transformer lost L=256 to the OOM.
  assert.deepEqual(perArch(marks(svg, 'line mark')), { gru: 1, mamba: 1, transformer: 1 });
  const points = marks(svg, 'point');
  const crosses = points.filter((p) => p.label.includes('status: oom'));
  assert.equal(crosses.length, 1);
  assert.equal(crosses[0].color, colors.get('transformer'));
  assert.deepEqual(perArch(points.filter((p) => !p.label.includes('status:'))), { gru: 3, mamba: 3, transformer: 2 });
  assert.ok(svg.includes(`missing: ${oomText}`), 'subtitle names the OOM run');
  assert.deepEqual(c.missing.map((f) => f.status), ['oom']);
});

test('length extrapolation: a point per evaluation length per architecture, and the training length', async () => {
  const { svg } = await chart(specs.lengthExtrapolation);
  assert.deepEqual(perArch(marks(svg, 'line mark')), { gru: 1, mamba: 1, transformer: 1 });
  const n = EXTRAPOLATION_LENGTHS.length;
  assert.deepEqual(perArch(marks(svg, 'point')), { gru: n, mamba: n, transformer: n });
  assert.ok(svg.includes('trained at L=64'));
});

test('accuracy vs throughput: one point per finished run, the Pareto frontier', async () => {
  const { svg } = await chart(specs.accuracyVsThroughput);
  // associative-recall: 3 + 3 + 2 runs; induction-heads: one run each.
  assert.deepEqual(perArch(marks(svg, 'point')), { gru: 4, mamba: 4, transformer: 3 });
  const frontier = paretoFrontier([
    { x: 10, y: 0.5 },
    { x: 5, y: 0.9 },
    { x: 4, y: 0.8 },
    { x: 1, y: 1 },
  ]);
  assert.deepEqual(frontier.map((p) => p.x), [10, 5, 1]);
});

test('training throughput: log–log lines with the fitted exponent of each architecture in the legend', async () => {
  const { chart: c, svg } = await chart(specs.trainThroughput);
  // One line per task an architecture ran (mamba timed out on scan-length).
  assert.deepEqual(perArch(marks(svg, 'line mark')), { gru: 4, mamba: 3, transformer: 4 });
  for (const label of ['gru (k = −0.05', 'mamba (k = −0.10', 'transformer (k = −0.90']) assert.ok(svg.includes(label), `legend has ${label}`);
  assert.deepEqual(c.missing.map((f) => f.status).sort(), ['oom', 'timeout']);
  assert.equal(marks(svg, 'point').filter((p) => p.label.includes('status:')).length, 2, 'both failed runs marked on the axis');
});

test('decode throughput, peak memory and decode state: exponents as the fixture was built', async () => {
  const decode = await chart(specs.decodeThroughput);
  assert.ok(decode.svg.includes('gru (k = 0.00 ± 0.00)') && decode.svg.includes('transformer (k = −0.60)'));
  const memory = await chart(specs.peakMemory);
  // Panels: tensor bytes (∝ L² for attention, ∝ L otherwise), then process RSS.
  assert.ok(memory.svg.includes('transformer (k = tensors 2.00, process RSS'), 'attention tensor memory grows as L²');
  assert.ok(memory.svg.includes('gru (k = tensors 1.00 ± 0.00, '));
  assert.equal(marks(memory.svg, 'line mark').length, 2 * 11);
  const state = await chart(specs.decodeState);
  for (const label of ['gru (k = 0.00 ± 0.00)', 'mamba (k = 0.00 ± 0.00)', 'transformer (k = 1.00 ± 0.00)']) assert.ok(state.svg.includes(label), label);
  // Computed points (hollow diamonds) and the measured one (filled circle) are told apart, and said so.
  const statePoints = marks(state.svg, 'point');
  const computed = statePoints.filter((p) => p.label.includes('measured or computed: computed')).length;
  const measured = statePoints.filter((p) => p.label.includes('measured or computed: measured')).length;
  assert.ok(measured > 0);
  assert.equal(computed, CONTEXT_LENGTHS.length * measured, 'each run: one measured point, the formula at every context');
  assert.ok(state.svg.includes('filled points: measured in the run'));
});

test('micro-benchmarks: a mixer in its architecture\'s colour, the reference dashed, k ≈ 2 for attention and ≈ 1 for the others', async () => {
  const { chart: c, svg } = await chart(specs.microScaling);
  assert.doesNotMatch(svg, /n\/a|k = /, 'exponents are in their table, not in a legend too long to read');
  const exponents = microExponentsTable(rows)!;
  const row = (arch: string) => exponents.rows.find((r) => r[0] === arch)!;
  assert.deepEqual(exponents.columns.slice(2), ['k: forward', 'k: forward + backward', 'k: decode step (vs context)']);
  assert.equal(row('attention/fused')[2], '2.00 ± 0.00 (4 lengths)');
  assert.equal(row('scan/reference')[3], '1.00 ± 0.00 (4 lengths)');
  assert.equal(row('attention')[4], '0.50 ± 0.00 (3 lengths)');
  // Two panels × fused and reference, in the colour of the architecture built on the mixer.
  assert.deepEqual(perArch(marks(svg, 'line mark')), { gru: 4, mamba: 4, transformer: 4 });
  const n = MICRO_LENGTHS.length;
  assert.deepEqual(perArch(marks(svg, 'point')), { gru: 4 * n, mamba: 4 * n, transformer: 4 * n });
  const dashed = (svg.match(/aria-roledescription="line mark"[^>]*stroke-dasharray="(?!1,0")/g) ?? []).length;
  assert.equal(dashed, 6, 'the reference line of each mixer in each panel is dashed');
  assert.ok(c.description.includes('Dashed: the composed reference'));
});

test('micro decode step: against context length, one line per mixer', async () => {
  const { svg } = await chart(specs.microDecode);
  assert.ok(svg.includes('context length (tokens)'));
  assert.doesNotMatch(svg, /sequence length/);
  assert.deepEqual(perArch(marks(svg, 'line mark')), { gru: 1, mamba: 1, transformer: 1 });
  assert.ok(svg.includes(`${MIXER_OF.transformer} (k = 0.50 ± 0.00)`));
});

test('loss curves: a line per finished run, runs of one architecture told apart by length, whole steps', async () => {
  const { chart: c, svg } = await chart(specs.lossCurves);
  // Finished training runs: gru 3+1+2, mamba 3+1+1, transformer 2+1+2; two panels each.
  assert.deepEqual(perArch(marks(svg, 'line mark')), { gru: 12, mamba: 10, transformer: 10 });
  assert.ok(svg.includes('optimiser step') && svg.includes('wall time (s)'));
  const spec = JSON.stringify(c.spec);
  assert.ok(spec.includes('"strokeDash":{"field":"variant"'), 'a dash pattern per training length');
  assert.ok(svg.includes('L=64') && svg.includes('L=128') && svg.includes('L=256'), 'legend names the lengths');
  assert.ok(spec.includes('"tickMinStep":1'), 'no ticks at fractional steps');
});

test('translation: BLEU, chrF and exact match bars per architecture and split, the timeout labelled', async () => {
  const { svg } = await chart(specs.translationScores);
  assert.deepEqual(perArch(marks(svg, 'bar')), { gru: 6, mamba: 3, transformer: 6 });
  const labels = marks(svg, 'text mark');
  assert.equal(labels.length, 3, 'one status label per metric panel');
  assert.ok(labels.every((l) => l.label.includes('status: timeout') && l.color === colors.get('mamba')));
  assert.ok(svg.includes('missing: mamba at L=48 on scan-length (timeout)'));
});

test('regression view: what changed, the rest counted, the band in the judged ratio', async () => {
  const { svg } = await chart(specs.regressionView);
  const points = marks(svg, 'point');
  assert.equal(points.length, 2, 'the regression and the improvement; the unchanged metric is counted');
  assert.ok(points.some((p) => p.label.includes('regression') && p.color === colors.get('mamba')));
  assert.ok(svg.includes('1 unchanged metric(s) not drawn') && svg.includes('1 compared metric(s) not drawn'));
  assert.equal(specs.regressionView({ rows }), null, 'no comparison, no regression view');
});

test('regression view: a normalised timing verdict sits against a band scaled the same way', () => {
  // compare normalised by calibration: raw ratio 5100/6000 = 0.85, but the judged ratio (change) is 0.9;
  // the band's lower bound 5700 on the current raw value is 0.95 of the prediction 6000.
  const judged = { ...comparison[0], rule: 'timing' as const, change: -0.1, ratioInterval: [0.88, 0.92] as [number, number] };
  const placed = placeOnRatio(judged)!;
  assert.ok(Math.abs(placed.ratio - 0.9) < 1e-12);
  assert.ok(Math.abs(placed.lo! - 5700 * (0.9 / 5100)) < 1e-12);
  assert.ok(placed.ratio < placed.lo!, 'the regression lies outside its band');
  assert.deepEqual([placed.intervalLo, placed.intervalHi], [0.88, 0.92]);
  const unchanged = placeOnRatio(comparison[1])!;
  assert.ok(unchanged.ratio >= unchanged.lo! && unchanged.ratio <= unchanged.hi!, 'the unchanged accuracy lies inside its band');
});

test('no chart is drawn over a single x value: a single-length suite gets no "vs sequence length" charts', () => {
  const oneLength = rows.filter((r) => r.task === 'induction-heads' || r.phase === 'calibration');
  const names = specs.buildCharts(oneLength).map((c) => c.name);
  for (const name of ['accuracy-vs-length', 'train-throughput', 'decode-throughput', 'peak-memory']) assert.ok(!names.includes(name), `${name} left out`);
  // Every chart that is drawn spans at least two x values in each of its quantitative-x layers.
  for (const c of specs.buildCharts(rows, comparison)) {
    const values = (c.spec as { data?: { values?: Record<string, unknown>[] } }).data?.values ?? [];
    const xs = new Set(values.filter((v) => v.kind === undefined || v.kind === 'ok').map((v) => v.x ?? v.step ?? v.ratio ?? v.task));
    assert.ok(xs.size >= 2, `${c.name}: ${xs.size} x value(s)`);
  }
});

test('a chart is left out when the rows hold nothing for it', () => {
  const onlyMicro = rows.filter((r) => r.phase === 'micro');
  assert.deepEqual(
    specs.buildCharts(onlyMicro).map((c) => c.name),
    ['micro-scaling', 'micro-decode'],
  );
});

test('the compile check sees Vega-Lite warnings (so "no warnings" above means something)', () => {
  const { warnings } = compileSpec({
    data: { values: [{ a: 1 }] },
    mark: 'bar',
    encoding: { x: { field: 'a', type: 'quantitative' }, shape: { field: 'a', type: 'nominal' } },
  });
  assert.deepEqual(warnings, ['shape dropped as it is incompatible with "bar".']);
});

test('text widths follow Liberation Sans metrics, not vega\'s 0.8 em guess', () => {
  assert.equal(textWidth({ fontSize: 10 }, 'mm'), 2 * 8.33);
  assert.equal(textWidth({ fontSize: 10 }, 'il'), 2 * 2.22);
  assert.ok(textWidth({ fontSize: 10, fontWeight: 'bold' }, 'abc') > textWidth({ fontSize: 10 }, 'abc'));
});

test('PNG: a real PNG, twice the SVG size', async () => {
  const { svg } = await chart(specs.accuracyVsLength);
  const png = await renderPng(svg);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const svgWidth = Number(/width="(\d+)"/.exec(svg)![1]);
  assert.equal(width, 2 * svgWidth);
  assert.ok(width >= 600 && width <= 8000 && height >= 300 && height <= 8000, `${width}×${height}`);
  assert.ok(png.length > 10_000, 'has content');
});

function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `seqarena-${name}-`));
}

test('buildReport writes the page, the Markdown and every chart; failures and tables are in both', async () => {
  const outDir = tmpDir('report');
  fs.mkdirSync(path.join(outDir, 'charts'));
  fs.writeFileSync(path.join(outDir, 'charts', 'stale-chart.svg'), '<svg/>');
  const report = await buildReport({ rows, envs: [FIXTURE_ENV], outDir, baseline: comparison });
  const names = report.charts.map((c) => c.name);
  assert.deepEqual(names, specs.buildCharts(rows, comparison).map((c) => c.name));
  assert.equal(names.length, specs.CHART_BUILDERS.length, 'the fixture feeds every chart');
  for (const c of report.charts) {
    assert.equal(fs.readFileSync(path.join(outDir, 'charts', `${c.name}.svg`), 'utf8'), c.svg);
    assert.deepEqual(fs.readFileSync(path.join(outDir, 'charts', `${c.name}.png`)).subarray(0, 4), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    assert.ok(report.markdown.includes(`[![`) && report.markdown.includes(`(charts/${c.name}.png)](charts/${c.name}.svg)`), `markdown links ${c.name}`);
    assert.ok(report.html.includes(`data-chart="${c.name}"`));
  }
  assert.ok(!fs.existsSync(path.join(outDir, 'charts', 'stale-chart.svg')), 'a chart from an older report is removed');
  assert.equal(fs.readFileSync(path.join(outDir, 'index.html'), 'utf8'), report.html);
  assert.equal(fs.readFileSync(path.join(outDir, 'summary.md'), 'utf8'), report.markdown);

  for (const text of [report.markdown, report.html]) {
    assert.ok(text.includes('Failed and missing runs'));
    assert.ok(text.includes('RangeError: Array buffer allocation failed') && text.includes('run exceeded its 600 s time limit'));
    assert.ok(text.includes('Comparison with the baseline'));
    assert.ok(text.includes(FIXTURE_ENV.machine.cpu) && text.includes(FIXTURE_ENV.git_sha), 'environment from env.json and rows');
  }
  // Summary figures carry n and spread; units are in the headers.
  assert.match(report.markdown, /\| associative-recall \| mamba \| 64 \| 98\.0 % \(n=512\) \| 6,000 ± \d+ \(n=8\) \|/);
  assert.match(report.markdown, /\| scan-length \| mamba \| 48 \| — \| — \| — \| — \| — \| — \| timeout: run exceeded/);
  assert.ok(report.markdown.includes('Missing from this chart: transformer at L=256 on associative-recall (oom)'));
  // Self-contained: the libraries are inlined, nothing is fetched.
  assert.doesNotMatch(report.html, /<script[^>]+src=/);
  assert.doesNotMatch(report.html, /<link[^>]+href="http/);
  assert.ok(report.html.includes('vegaEmbed'));
});

test('buildReport refuses an empty set of rows', async () => {
  await assert.rejects(buildReport({ rows: [], envs: [], outDir: tmpDir('empty') }), UsageError);
});

/** A results directory holding some of the fixture's rows. */
function resultsDir(name: string, pick: (r: ResultRow) => boolean): string {
  const dir = tmpDir(name);
  appendRows(dir, rows.filter(pick));
  writeEnv(dir, FIXTURE_ENV);
  return dir;
}

test('seqarena report: combines results directories, writes report/ in the first, prints the page path', async () => {
  // Micro-benchmark rows only (one chart), split by architecture over two directories.
  const recall = resultsDir('micro-gru', (r) => r.phase === 'micro' && r.arch.startsWith('gru'));
  const micro = resultsDir('micro-rest', (r) => r.phase === 'micro' && !r.arch.startsWith('gru'));
  // In a child process: capturing this process's stdout swallowed the test runner's reports of the tests before this one.
  const child = await execa(process.execPath, [path.join(import.meta.dirname, '..', 'bin', 'seqarena.js'), 'report', recall, micro], { reject: false });
  assert.equal(child.exitCode, 0, child.stderr);
  const page = path.join(recall, 'report', 'index.html');
  assert.equal(child.stdout, page);
  const markdown = fs.readFileSync(path.join(recall, 'report', 'summary.md'), 'utf8');
  for (const arch of ARCHS) assert.match(markdown, new RegExp(`\\| ${MIXER_OF[arch]}/fused \\| wasm \\| 64 \\|`), `${arch} rows in the micro table`);
  assert.ok(fs.existsSync(path.join(recall, 'report', 'charts', 'micro-scaling.png')));
});

test('writeReport with a baseline adds the comparison; bad inputs are input errors', async () => {
  const current = resultsDir('current', (r) => r.phase === 'micro');
  const baseline = resultsDir('baseline', (r) => r.phase === 'micro');
  const out = tmpDir('out');
  const page = await writeReport([current], out, baseline);
  assert.equal(page, path.join(out, 'index.html'));
  const markdown = fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
  assert.ok(markdown.includes('Comparison with the baseline') && markdown.includes('0 regression(s)'));
  assert.ok(!fs.existsSync(path.join(out, 'charts', 'regression.svg')), 'nothing changed: no regression chart, the table says so');

  await assert.rejects(writeReport([path.join(out, 'no-such-dir')], out), ResultsFileError);
  const empty = tmpDir('no-rows');
  fs.writeFileSync(path.join(empty, 'results.jsonl'), '');
  await assert.rejects(writeReport([empty], out), (e: unknown) => e instanceof UsageError && /no result rows/.test(e.message));
  await assert.rejects(writeReport([], out), UsageError);
});
