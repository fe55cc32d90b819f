/**
 * compare: planted regressions are flagged, same-distribution reruns are not, calibration cancels a
 * uniformly slower machine, and the CLI exits 1 on a regression and 0 otherwise. Timings and resident
 * memory are judged where the baseline holds repeats (several fresh runs), which measure their
 * run-to-run noise; with one run a side they are shown, not judged, and accuracy still is.
 */
import { testColumns } from './fixtures/columns.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { bootstrapRatioInterval, compareRows, DEFAULT_METRIC_RULES, parseThresholds, type Comparison } from '../harness/compare.ts';
import { compareMarkdown } from '../harness/exports.ts';
import { appendRows } from '../harness/results/io.ts';
import { resolveBaseline, saveBaseline, listBaselines } from '../harness/baseline.ts';
import { UsageError } from '../harness/errors.ts';
import { metricRow, type RunColumns } from '../harness/results/rows.ts';
import type { ResultRow, RunStatus } from '../harness/results/schema.ts';
import { rng, type Rng } from '../util/rng.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Normal samples (Box–Muller) from a seeded stream. */
function normal(r: Rng, mean: number, sd: number, n: number): number[] {
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - r.float())) * Math.cos(2 * Math.PI * r.float()));
}

const columns = testColumns;

interface RunFigures {
  speed?: number; // machine speed factor: calibration and every throughput scale with it
  tokensPerS?: number; // mean throughput at speed 1
  accuracy?: number;
  rss?: number;
  params?: number;
  status?: RunStatus;
  samples?: number; // samples per timing row
  noise?: number; // relative sd of timing samples
}

/** One run's rows: calibration, throughput, step latency, accuracy, memory, params, a loss curve. */
function runRows(r: Rng, runId: string, arch: string, f: RunFigures = {}): ResultRow[] {
  const speed = f.speed ?? 1;
  const n = f.samples ?? 20;
  const noise = f.noise ?? 0.03;
  const tps = (f.tokensPerS ?? 1000) * speed;
  const c = columns(runId, arch);
  const status = f.status ?? 'ok';
  return [
    metricRow(c, 'matmul_gflops', { samples: normal(r, 40 * speed, 40 * speed * 0.01, 5) }),
    metricRow(c, 'params', { value: f.params ?? 10_000 }),
    metricRow(c, 'tokens_per_s', { samples: normal(r, tps, tps * noise, n), status }),
    metricRow(c, 'step_latency_ms', { samples: normal(r, 8000 / tps, (8000 / tps) * noise, n), status }),
    metricRow(c, 'accuracy', { value: f.accuracy ?? 0.9, n: 512, status }),
    metricRow(c, 'peak_rss_bytes', { value: f.rss ?? 200e6, status }),
    ...[0, 10, 20].map((step) => metricRow(c, 'loss', { value: 2 - step / 20 + r.float(), step, status })),
  ];
}

/** `k` fresh runs of one commit saved as one baseline (repeats 0…k−1), which measures their run-to-run noise. */
const repeated = (k: number, rows: () => ResultRow[]): ResultRow[] => Array.from({ length: k }, (_, repeat) => rows().map((x) => ({ ...x, repeat }))).flat();

const find = (rows: Comparison[], metric: string, arch = 'mamba'): Comparison => {
  const row = rows.find((x) => x.metric === metric && x.arch === arch);
  assert.ok(row, `no comparison row for ${arch} ${metric}`);
  return row;
};

const regressions = (rows: Comparison[]): string[] => rows.filter((x) => x.verdict === 'regression').map((x) => `${x.arch}/${x.metric}`);

test('a planted 30% throughput drop and a planted accuracy drop are regressions; nothing else is', () => {
  const r = rng(1);
  const baseline = repeated(3, () => [...runRows(r, 'b1', 'mamba'), ...runRows(r, 'b2', 'lstm')]);
  const current = [...runRows(r, 'c1', 'mamba', { tokensPerS: 700 }), ...runRows(r, 'c2', 'lstm', { accuracy: 0.85 })];
  const rows = compareRows(baseline, current);
  assert.deepEqual(regressions(rows).sort(), ['lstm/accuracy', 'mamba/step_latency_ms', 'mamba/tokens_per_s']);
  const tps = find(rows, 'tokens_per_s');
  assert.ok(Math.abs(tps.change! + 0.3) < 0.03, `change ${tps.change}`);
  assert.ok(tps.normalized && tps.ratioInterval![1] < 1, 'normalised, with an interval below 1');
  // The allowed band: 10% under what the baseline predicts on the current machine.
  assert.ok(Math.abs(tps.lower! - 900) < 20 && tps.upper === null, `band ${tps.lower}..${tps.upper}`);
  const acc = find(rows, 'accuracy', 'lstm');
  assert.ok(Math.abs(acc.change! + 0.05) < 1e-9);
  assert.ok(Math.abs(acc.lower! - 0.88) < 1e-9);
  assert.equal(rows[0].verdict, 'regression', 'regressions sort first');
  // Curve rows (step ≠ null) are never compared.
  assert.ok(!rows.some((x) => x.metric === 'loss'));
});

test('an improvement in the better direction is not a regression', () => {
  const r = rng(2);
  const rows = compareRows(repeated(3, () => runRows(r, 'b', 'mamba')), runRows(r, 'c', 'mamba', { tokensPerS: 1400, rss: 150e6 }));
  assert.equal(find(rows, 'tokens_per_s').verdict, 'improvement');
  assert.equal(find(rows, 'step_latency_ms').verdict, 'improvement');
  assert.equal(find(rows, 'peak_rss_bytes').verdict, 'improvement');
  assert.deepEqual(regressions(rows), []);
});

test('a rerun from the same distribution is not flagged', () => {
  const r = rng(3);
  const rows = compareRows(repeated(3, () => [...runRows(r, 'b1', 'mamba'), ...runRows(r, 'b2', 'lstm')]), [...runRows(r, 'c1', 'mamba'), ...runRows(r, 'c2', 'lstm')]);
  assert.ok(find(rows, 'tokens_per_s').judged);
  assert.deepEqual(
    rows.filter((x) => x.verdict !== 'unchanged').map((x) => `${x.arch}/${x.metric}: ${x.verdict}`),
    [],
  );
});

test('the significance test keeps noisy reruns from being flagged where the threshold alone would be fooled', () => {
  const r = rng(4);
  let flagged = 0;
  let flaggedByThresholdAlone = 0;
  const trials = 150;
  for (let t = 0; t < trials; t++) {
    const c = columns(`b${t}`);
    const base = metricRow(c, 'tokens_per_s', { samples: normal(r, 1000, 200, 8) });
    const cur = metricRow({ ...c, run_id: `c${t}` }, 'tokens_per_s', { samples: normal(r, 1000, 200, 8) });
    const shown = compareRows([base], [cur], { normalize: false, thresholds: { timing: { resamples: 400 } } })[0];
    assert.equal(shown.notJudged, 'one-run-per-side', 'one run a side: shown, not judged');
    // The test the gate applies within the runs once repeats measure the run-to-run noise.
    const [lo, hi] = bootstrapRatioInterval([base.samples!], [cur.samples!], 0.95, 400, t);
    if (Math.abs(shown.change!) >= 0.1 && (lo > 1 || hi < 1)) flagged++;
    if (Math.abs(shown.change!) >= 0.1) flaggedByThresholdAlone++;
  }
  // sd of the ratio ≈ 0.2·√(2/8) = 0.1: |change| ≥ 10% about a third of the time, significant ≈ 5%.
  assert.ok(flaggedByThresholdAlone > 0.2 * trials, `threshold alone flagged ${flaggedByThresholdAlone}/${trials}`);
  assert.ok(flagged <= 0.1 * trials, `flagged ${flagged}/${trials}`);
});

test('normalising by calibration cancels a uniformly slower machine; --no-normalize does not', () => {
  const r = rng(5);
  const baseline = repeated(3, () => runRows(r, 'b', 'mamba'));
  const slower = runRows(r, 'c', 'mamba', { speed: 0.7 });
  const rows = compareRows(baseline, slower);
  assert.deepEqual(regressions(rows), []);
  const tps = find(rows, 'tokens_per_s');
  assert.ok(tps.normalized && Math.abs(tps.change!) < 0.05, `normalised change ${tps.change}`);
  assert.ok(Math.abs(tps.current! / tps.baseline! - 0.7) < 0.03, 'raw values stay raw');
  // The band follows the machine, widened by how far the calibrations moved (1/0.7).
  assert.ok(Math.abs(tps.lower! - (0.7 * 700) / 1.1) < 15, `band follows the machine: ${tps.lower}`);
  assert.match(tps.note, /machine speed differed 1\.4\d× between the runs/);
  assert.equal(find(rows, 'matmul_gflops').rule, 'info', 'the calibration figure itself is only reported');

  const raw = compareRows(baseline, slower, { normalize: false });
  assert.deepEqual(regressions(raw).sort(), ['mamba/matmul_gflops', 'mamba/step_latency_ms', 'mamba/tokens_per_s']);
});

test('a run without calibration is compared raw, and the note says so', () => {
  const r = rng(6);
  const noCalibration = (rows: ResultRow[]): ResultRow[] => rows.filter((x) => x.metric !== 'matmul_gflops');
  const rows = compareRows(repeated(3, () => noCalibration(runRows(r, 'b', 'mamba'))), runRows(r, 'c', 'mamba', { tokensPerS: 700 }));
  const tps = find(rows, 'tokens_per_s');
  assert.equal(tps.verdict, 'regression');
  assert.equal(tps.normalized, false);
  assert.match(tps.note, /not normalised/);
});

test('a timing with one sample on a side is shown, never judged, and the note says so', () => {
  const r = rng(7);
  const rows = compareRows(runRows(r, 'b', 'mamba', { samples: 1 }), runRows(r, 'c', 'mamba', { samples: 1, tokensPerS: 500 }));
  const tps = find(rows, 'tokens_per_s');
  assert.equal(tps.verdict, 'unchanged');
  assert.equal(tps.judged, false);
  assert.ok(Math.abs(tps.change! + 0.5) < 0.05, 'the change is still shown');
  assert.equal(tps.ratioInterval, null);
  assert.match(tps.note, /1 sample on a side: shown, not judged/);
  assert.match(compareMarkdown(rows), /train\/tokens_per_s .*➖ not judged \| 1 sample/);
});

test('one run per side: a timing 3× slower and resident memory 30% larger are shown, not judged, exit 0, and the summary says why; counted memory is still judged', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-one-run-'));
  const r = rng(15);
  const withTensorBytes = (rows: ResultRow[], bytes: number): ResultRow[] => [...rows, metricRow(columns(rows[0].run_id, rows[0].arch), 'peak_tensor_bytes', { value: bytes })];
  const baseline = withTensorBytes(runRows(r, 'b', 'mamba'), 1_000_000);
  const slower = withTensorBytes(runRows(r, 'c', 'mamba', { tokensPerS: 1000 / 3, rss: 260e6 }), 1_000_000);
  const rows = compareRows(baseline, slower);
  assert.deepEqual(regressions(rows), []);
  for (const metric of ['tokens_per_s', 'step_latency_ms', 'peak_rss_bytes']) {
    const c = find(rows, metric);
    assert.equal(c.verdict, 'unchanged', metric);
    assert.equal(c.judged, false, metric);
    assert.equal(c.notJudged, 'one-run-per-side', metric);
    assert.ok(c.baseline !== null && c.current !== null && c.change !== null, `${metric}: both values and the change are shown`);
    assert.match(c.note, /^one run per side: run-to-run noise unknown \(record repeats: seqarena baseline save RUN_1 RUN_2 RUN_3 …\): shown, not judged$/);
  }
  assert.ok(Math.abs(find(rows, 'step_latency_ms').change! - 2) < 0.1, 'the 3× is in the change column');
  // Counted and seeded figures are judged with one run a side, as before.
  assert.ok(find(rows, 'accuracy').judged && find(rows, 'peak_tensor_bytes').judged);
  const moreTensors = compareRows(baseline, withTensorBytes(runRows(r, 'd', 'mamba'), 1_200_000));
  assert.deepEqual(regressions(moreTensors), ['mamba/peak_tensor_bytes']);

  const markdown = compareMarkdown(rows);
  assert.match(markdown, /^## seqarena compare: ✅ no regressions; ⚠️ no timing judged$/m);
  assert.match(markdown, /, 3 not judged \(3 one run per side: run-to-run noise unknown\), /);
  assert.match(markdown, /⚠️ \*\*No timing was judged\*\*: all 2 timings were only shown \(2 one run per side: run-to-run noise unknown\), so this comparison says nothing about speed;.*`seqarena baseline save RUN_1 RUN_2 RUN_3 …`/);
  assert.match(markdown, /\| train\/step_latency_ms \| mqar \| mamba \| .* \| \+2\d\d\.\d% \(norm\.\) \| ➖ not judged \| one run per side/);

  const write = (name: string, rows: ResultRow[]): string => {
    appendRows(path.join(tmp, name), rows);
    return path.join(tmp, name);
  };
  const cli = await execa('node', [path.join(ROOT, 'bin/seqarena.js'), 'compare', '--baseline', write('baseline', baseline), write('slower', slower)], { cwd: tmp, reject: false });
  assert.equal(cli.exitCode, 0, cli.stderr);
  assert.match(cli.stdout, /⚠️ no timing judged/);
});

test('with repeats on the baseline the same 3× slowdown is judged and caught (exit 1); an accuracy drop fails with one run per side', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-repeats-caught-'));
  const r = rng(16);
  const write = (name: string, rows: ResultRow[]): string => {
    appendRows(path.join(tmp, name), rows);
    return path.join(tmp, name);
  };
  const slower = runRows(r, 'c', 'mamba', { tokensPerS: 1000 / 3 });
  const rows = compareRows(repeated(3, () => runRows(r, 'b', 'mamba')), slower);
  assert.deepEqual(regressions(rows).sort(), ['mamba/step_latency_ms', 'mamba/tokens_per_s']);
  const step = find(rows, 'step_latency_ms');
  assert.ok(step.judged && step.notJudged === null && step.runToRun?.runs[0] === 3, 'judged against the measured run-to-run noise');
  assert.doesNotMatch(compareMarkdown(rows), /no timing judged/);

  const cli = (baseline: string, current: string) => execa('node', [path.join(ROOT, 'bin/seqarena.js'), 'compare', '--baseline', baseline, current], { cwd: tmp, reject: false });
  const caught = await cli(write('repeats', repeated(3, () => runRows(r, 'b', 'mamba'))), write('slower', slower));
  assert.equal(caught.exitCode, 1, caught.stderr);
  assert.match(caught.stdout, /\| train\/step_latency_ms \| mqar \| mamba \| .* \| ❌ regression/);

  const worse = await cli(write('one-run', runRows(r, 'b', 'mamba')), write('worse', runRows(r, 'd', 'mamba', { accuracy: 0.8 })));
  assert.equal(worse.exitCode, 1, worse.stderr);
  assert.match(worse.stdout, /^## seqarena compare: ❌ 1 regression; ⚠️ no timing judged$/m);
  assert.match(worse.stdout, /\| eval\/accuracy \| mqar \| mamba \| .* \| ❌ regression/);
});

test('memory is judged by a 5% relative threshold, direction none is info only', () => {
  const r = rng(8);
  const base = repeated(3, () => runRows(r, 'b', 'mamba'));
  const within = compareRows(base, runRows(r, 'c', 'mamba', { rss: 208e6, params: 20_000 }));
  assert.equal(find(within, 'peak_rss_bytes').verdict, 'unchanged');
  const params = find(within, 'params');
  assert.equal(params.rule, 'info');
  assert.equal(params.verdict, 'unchanged');
  assert.equal(params.change, 1);
  const beyond = compareRows(base, runRows(r, 'c', 'mamba', { rss: 212e6 }));
  assert.equal(find(beyond, 'peak_rss_bytes').verdict, 'regression');
  assert.ok(Math.abs(find(beyond, 'peak_rss_bytes').upper! - 210e6) < 1);
});

test('thresholds from a config override the defaults; the shipped file holds exactly the defaults', () => {
  const r = rng(9);
  const base = runRows(r, 'b', 'lstm');
  const cur = runRows(r, 'c', 'lstm', { accuracy: 0.85 });
  assert.equal(find(compareRows(base, cur), 'accuracy', 'lstm').verdict, 'regression');
  const loose = compareRows(base, cur, { thresholds: { metrics: { accuracy: { absolute: 0.1 } } } });
  assert.equal(find(loose, 'accuracy', 'lstm').verdict, 'unchanged');
  const infoOnly = compareRows(base, cur, { thresholds: { metrics: { accuracy: { info: true } } } });
  assert.equal(find(infoOnly, 'accuracy', 'lstm').rule, 'info');

  const shipped = JSON.parse(fs.readFileSync(path.join(ROOT, 'seqarena.compare.json'), 'utf8'));
  const parsed = parseThresholds(shipped);
  assert.deepEqual(parsed.metrics, DEFAULT_METRIC_RULES);
  const { $comment, ...rest } = parsed;
  assert.ok($comment);
  assert.deepEqual(rest, { ...parseThresholds({}), metrics: DEFAULT_METRIC_RULES });
  assert.throws(() => parseThresholds({ timing: { relative: -1 } } as never));
  assert.throws(() => parseThresholds({ timnig: {} } as never), /timnig/);
});

test('a run that went from ok to failing is a regression; missing and new rows are listed', () => {
  const r = rng(10);
  const baseline = [...runRows(r, 'b1', 'mamba'), ...runRows(r, 'b2', 'lstm')];
  const current = [
    ...runRows(r, 'c1', 'mamba', { status: 'oom' }),
    ...runRows(r, 'c3', 'gru'),
  ];
  const rows = compareRows(baseline, current);
  const status = rows.find((x) => x.rule === 'status' && x.arch === 'mamba');
  assert.equal(status?.verdict, 'regression');
  assert.match(status!.note, /ok → oom/);
  // The failed run's figures are missing, and say why; the dropped lstm run is missing; gru is new.
  assert.equal(find(rows, 'tokens_per_s').verdict, 'missing');
  assert.match(find(rows, 'tokens_per_s').note, /oom/);
  assert.equal(find(rows, 'accuracy', 'lstm').verdict, 'missing');
  assert.equal(find(rows, 'accuracy', 'gru').verdict, 'new');
  assert.equal(find(rows, 'accuracy', 'gru').baseline, null);

  const markdown = compareMarkdown(rows);
  assert.match(markdown, /❌ 1 regression/);
  assert.match(markdown, /### Missing and new/);
  // A whole run's worth of missing figures is one line.
  assert.match(markdown, /\| 6 figures: calibration\/matmul_gflops, eval\/accuracy, model\/params, … \| mqar \| lstm \|  \|  \|  \| ❌ missing \| not in the current results \|/);
  // The run itself is listed as missing too.
  assert.equal(rows.find((x) => x.rule === 'status' && x.arch === 'lstm')?.verdict, 'missing');
  assert.match(markdown, /🆕 new/);
});

test('repeated runs (seeds) of one config are pooled before judging', () => {
  const r = rng(11);
  const seeds = (prefix: string, f: RunFigures): ResultRow[] => [0, 1, 2].flatMap((s) => runRows(r, `${prefix}${s}`, 'mamba', f));
  const rows = compareRows(seeds('b', { accuracy: 0.9 }), seeds('c', { accuracy: 0.9 }));
  assert.equal(rows.filter((x) => x.metric === 'accuracy').length, 1);
  assert.deepEqual(regressions(rows), []);
});

test('the bootstrap interval of a ratio of means matches the delta-method interval for large samples', () => {
  const r = rng(12);
  const base = normal(r, 100, 10, 400);
  const cur = normal(r, 90, 9, 400);
  const [lo, hi] = bootstrapRatioInterval([base], [cur], 0.95, 2000, 1);
  const m = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = (xs: number[]) => xs.reduce((a, b) => a + (b - m(xs)) ** 2, 0) / (xs.length - 1) / xs.length;
  const ratio = m(cur) / m(base);
  const se = ratio * Math.sqrt(v(cur) / m(cur) ** 2 + v(base) / m(base) ** 2);
  assert.ok(Math.abs(lo - (ratio - 1.96 * se)) < 0.15 * 1.96 * se, `lower ${lo} vs ${ratio - 1.96 * se}`);
  assert.ok(Math.abs(hi - (ratio + 1.96 * se)) < 0.15 * 1.96 * se, `upper ${hi} vs ${ratio + 1.96 * se}`);
  assert.deepEqual(bootstrapRatioInterval([base], [cur], 0.95, 2000, 1), [lo, hi], 'same seed, same interval');
});

test('CLI: compare exits 1 on a planted regression and 0 on a rerun, writing the Markdown', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-compare-'));
  const r = rng(13);
  const write = (name: string, rows: ResultRow[]): string => {
    const dir = path.join(tmp, name);
    appendRows(dir, rows);
    return dir;
  };
  const baseline = write('baseline', repeated(3, () => [...runRows(r, 'b1', 'mamba'), ...runRows(r, 'b2', 'lstm')]));
  const rerun = write('rerun', [...runRows(r, 'c1', 'mamba'), ...runRows(r, 'c2', 'lstm')]);
  const slower = write('slower', [...runRows(r, 'd1', 'mamba', { tokensPerS: 700 }), ...runRows(r, 'd2', 'gru')]);
  const cli = (...args: string[]) => execa('node', [path.join(ROOT, 'bin/seqarena.js'), 'compare', ...args], { cwd: tmp, reject: false });

  const out = path.join(tmp, 'comment.md');
  const [ok, bad] = await Promise.all([cli('--baseline', baseline, rerun), cli('--baseline', baseline, slower, '--out', out)]);
  assert.equal(ok.exitCode, 0, ok.stderr);
  assert.match(ok.stdout, /✅ no regressions/);
  assert.ok(fs.existsSync(path.join(rerun, 'compare.md')), 'written beside the results by default');

  assert.equal(bad.exitCode, 1, bad.stderr);
  const markdown = fs.readFileSync(out, 'utf8');
  assert.equal(markdown.trimEnd(), bad.stdout.trimEnd());
  assert.match(markdown, /\| train\/tokens_per_s \| mqar \| mamba \| .* \| ❌ regression/);
  assert.match(markdown, /❌ missing/, 'the lstm rows are listed as missing');
  assert.match(markdown, /🆕 new/, 'the gru rows are listed as new');
});

test('baselines: save drops curve rows and keeps env; --baseline resolves names, directories and typos', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-baseline-'));
  const results = path.join(tmp, 'run');
  const rows = runRows(rng(14), 'b', 'mamba');
  appendRows(results, rows);
  fs.writeFileSync(path.join(results, 'env.json'), JSON.stringify({ git_sha: 'abc123', created: '2026-11-28T10:00:00Z' }));
  const root = path.join(tmp, 'baselines');
  const saved = saveBaseline(results, { root });
  assert.equal(saved.dir, path.join(root, 'quick'), 'named after the suite by default');
  assert.equal(saved.droppedCurveRows, 3);
  assert.equal(saved.rows, rows.length - 3);
  const env = JSON.parse(fs.readFileSync(path.join(saved.dir, 'env.json'), 'utf8'));
  assert.equal(env.git_sha, 'abc123');
  assert.equal(env.baseline.name, 'quick');
  assert.equal(saveBaseline(results, { name: 'quick', root }).replaced, true);

  const [listed] = listBaselines(root);
  assert.deepEqual({ ...listed, date: null }, { name: 'quick', date: null, gitSha: 'abc123', rows: rows.length - 3, suite: 'quick' });
  assert.equal(resolveBaseline('quick', rows, root), saved.dir);
  assert.equal(resolveBaseline(undefined, rows, root), saved.dir, 'the suite names the default baseline');
  assert.equal(resolveBaseline(results, rows, root), results, 'a results directory is used as it is');
  assert.throws(() => resolveBaseline('quik', rows, root), (e: Error) => e instanceof UsageError && /Did you mean 'quick'/.test(e.message));
  assert.throws(() => saveBaseline(results, { name: '../escape', root }), UsageError);
});
