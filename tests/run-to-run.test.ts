/**
 * Noise is not a regression (issue 14, item 5): a baseline saved from several fresh runs measures each
 * figure's run-to-run noise, fresh runs of the same commit compare clean against it under the default
 * thresholds (and against one run, whose timings are shown, not judged), a planted 2× slowdown is still caught, a figure noisier than a doubling is shown with why
 * and never judged, and missing figures still fail. (.ci/run checks the same on real smoke runs:
 * scripts/noise-check.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { saveBaseline } from '../harness/baseline.ts';
import { loadThresholds } from '../harness/commands/compare.ts';
import { bootstrapRatioInterval, compareRows, gateFailures, type Comparison, type ThresholdsInput } from '../harness/compare.ts';
import { compareMarkdown } from '../harness/exports.ts';
import { appendRows, readRows } from '../harness/results/io.ts';
import { metricRow } from '../harness/results/rows.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import { studentTQuantile } from '../harness/stats.ts';
import { rng, type Rng } from '../util/rng.ts';
import { testColumns } from './fixtures/columns.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The project's default thresholds, as `compare` reads them. */
const DEFAULTS: ThresholdsInput = JSON.parse(fs.readFileSync(path.join(ROOT, 'seqarena.compare.json'), 'utf8'));

const gaussian = (r: Rng): number => Math.sqrt(-2 * Math.log(1 - r.float())) * Math.cos(2 * Math.PI * r.float());
const around = (r: Rng, mean: number, relativeSd: number, n: number): number[] => Array.from({ length: n }, () => mean * (1 + relativeSd * gaussian(r)));

interface Process {
  /** Mean train step of this process, ms (22 samples, 2% within-run noise). */
  stepMs: number;
  /** Mean decode step of this process, ms (15 samples, 5% within-run noise). */
  decodeMs: number;
  calibration?: number;
}

/** One fresh process of a smoke-like run: calibration, train and decode timings, a one-sample timing, accuracy, memory. */
function processRows(r: Rng, repeat: number, p: Process, runId = 'smoke-lstm'): ResultRow[] {
  const c = testColumns(runId, 'lstm', { suite: 'smoke' });
  const cal = p.calibration ?? 40;
  const rows = [
    metricRow(c, 'matmul_gflops', { samples: around(r, cal, 0.01, 7) }),
    metricRow(c, 'step_latency_ms', { samples: around(r, p.stepMs, 0.02, 22) }),
    metricRow(c, 'decode_latency_ms', { samples: around(r, p.decodeMs, 0.05, 15) }),
    metricRow(c, 'eval_tokens_per_s', { value: 80_000 * (0.5 + r.float()) }),
    metricRow(c, 'accuracy', { value: 0.25, n: 16 }),
    metricRow(c, 'peak_tensor_bytes', { value: 1_175_588 }),
  ];
  return rows.map((row) => ({ ...row, repeat }));
}

/**
 * Processes as a shared machine gives them: a train step (a few ms) reproduces to about 4% between
 * processes, a sub-millisecond decode step by a factor of up to 2 (log-normal, sd 0.35).
 */
const freshProcess = (r: Rng, slowdown = 1): Process => ({ stepMs: 4 * slowdown * Math.exp(0.04 * gaussian(r)), decodeMs: 0.45 * slowdown * Math.exp(0.35 * gaussian(r)) });

const baselineOf = (r: Rng, runs: number): ResultRow[] => Array.from({ length: runs }, (_, k) => processRows(r, k, freshProcess(r))).flat();
const find = (rows: readonly Comparison[], metric: string): Comparison => rows.find((c) => c.metric === metric)!;

test('Student t quantiles match the tables', () => {
  for (const [p, dof, expected] of [[0.975, 1, 12.706], [0.975, 2, 4.303], [0.995, 4, 4.604], [0.975, 30, 2.042], [0.95, 3, 2.353]] as const) {
    assert.ok(Math.abs(studentTQuantile(p, dof) - expected) < 1e-3, `t(${p}, ${dof}) = ${studentTQuantile(p, dof)}`);
  }
  assert.ok(Math.abs(studentTQuantile(0.975, 1e7) - 1.96) < 1e-3);
  assert.equal(studentTQuantile(0.5, 3), 0);
  assert.ok(Math.abs(studentTQuantile(0.025, 4) + 2.776) < 1e-3);
});

test('fresh runs of one commit compare clean under the defaults, against one run (timings shown, not judged, where the within-run test alone would flag them) and against a baseline of five', () => {
  const r = rng(1);
  const trials = 40;
  let flaggedAgainstOne = 0;
  let withinRunAlone = 0;
  let flaggedAgainstFive = 0;
  let unresolved = 0;
  for (let t = 0; t < trials; t++) {
    const baseline = baselineOf(r, 5);
    const current = processRows(r, 0, freshProcess(r));
    const first = baseline.filter((row) => row.repeat === 0);
    const one = compareRows(first, current, { thresholds: DEFAULTS });
    if (gateFailures(one).length > 0) flaggedAgainstOne++;
    const five = compareRows(baseline, current, { thresholds: DEFAULTS });
    if (gateFailures(five).length > 0) flaggedAgainstFive++;
    assert.equal(find(one, 'decode_latency_ms').runToRun, null, 'one run on each side: run-to-run noise unknown');
    for (const metric of ['decode_latency_ms', 'step_latency_ms']) assert.equal(find(one, metric).notJudged, 'one-run-per-side', metric);
    assert.ok(find(one, 'accuracy').judged && find(one, 'peak_tensor_bytes').judged, 'repeatable figures are judged with one run a side');
    // What the within-run test (blocks of steps, 10% threshold) would say of the decode step: a different process looks like a change.
    const samples = (rows: readonly ResultRow[]): number[] => rows.find((row) => row.metric === 'decode_latency_ms')!.samples!;
    const [lo, hi] = bootstrapRatioInterval([samples(first)], [samples(current)], 0.95, 400, t);
    const ratio = find(one, 'decode_latency_ms').change! + 1;
    if ((lo > 1 || hi < 1) && (ratio >= 1.1 || ratio <= 1 / 1.1)) withinRunAlone++;
    const decode = find(five, 'decode_latency_ms');
    if (!decode.judged) {
      unresolved++;
      assert.match(decode.note, /run-to-run noise ±\d+% \(5 and 1 runs\) is wider than the gate resolves \(±100%\): shown, not judged/);
    }
    const step = find(five, 'step_latency_ms');
    assert.ok(step.judged && step.runToRun !== null && step.runToRun.runs[0] === 5, 'the train step is judged, against its measured noise');
  }
  assert.equal(flaggedAgainstOne, 0, `against one run, ${flaggedAgainstOne} of ${trials} fresh pairs flagged`);
  assert.ok(withinRunAlone >= 0.3 * trials, `the within-run test alone would flag the decode step in ${withinRunAlone} of ${trials}`);
  assert.ok(flaggedAgainstFive <= 0.05 * trials, `against five runs, ${flaggedAgainstFive} of ${trials} fresh pairs flagged`);
  // Five runs rarely agree closely enough to resolve a decode step that varies 2× between processes.
  assert.ok(unresolved >= 0.8 * trials, `the decode step unresolved in ${unresolved} of ${trials}`);
});

test('a planted 2× slowdown is caught where the figure is resolved, and shown, never passed as ok, where it is not', () => {
  const r = rng(2);
  let caught = 0;
  let decodeCaught = 0;
  let decodeOk = 0;
  const trials = 20;
  for (let t = 0; t < trials; t++) {
    const rows = compareRows(baselineOf(r, 5), processRows(r, 0, freshProcess(r, 2)), { thresholds: DEFAULTS });
    const step = find(rows, 'step_latency_ms');
    if (step.verdict === 'regression') caught++;
    const decode = find(rows, 'decode_latency_ms');
    if (decode.verdict === 'regression') decodeCaught++;
    else if (!decode.judged) assert.match(decode.note, /shown, not judged/);
    else decodeOk++;
  }
  assert.equal(caught, trials, `2× train step caught in ${caught} of ${trials}`);
  // The 2× decode step: caught where its band was resolved, else shown with why; rarely judged ok.
  assert.ok(decodeOk <= 0.1 * trials, `2× decode judged ok in ${decodeOk} of ${trials} (caught in ${decodeCaught})`);
});

test('a change beyond the threshold and significant within the run, but inside the run-to-run band, is ok, and the table says so', () => {
  const r = rng(3);
  // Five baseline processes whose mean step spread ±10% around 10 ms; a sixth 35% slower.
  const baseline = [0.9, 0.95, 1, 1.05, 1.1].flatMap((f, k) => processRows(r, k, { stepMs: 10 * f, decodeMs: 0.5 }));
  const current = processRows(r, 0, { stepMs: 13.5, decodeMs: 0.5 });
  const rows = compareRows(baseline, current, { thresholds: DEFAULTS });
  const step = find(rows, 'step_latency_ms');
  assert.equal(step.verdict, 'unchanged');
  assert.ok(step.judged);
  assert.ok(step.ratioInterval![0] > 1, 'significant within the run');
  assert.match(step.note, /^within run-to-run noise ±\d+% \(5 and 1 runs\)/);
  assert.ok(step.upper! > 13.5, `the allowed band holds the run-to-run band: ${step.upper}`);
  assert.match(compareMarkdown(rows), /within run-to-run noise ±\d+% \(5 and 1 runs\)/);
  // Beyond the band it is a regression.
  const far = compareRows(baseline, processRows(r, 0, { stepMs: 20, decodeMs: 0.5 }), { thresholds: DEFAULTS });
  assert.equal(find(far, 'step_latency_ms').verdict, 'regression');
  // The same baseline without its repeats (one process) cannot tell the 35% from another run: shown, not judged.
  const single = compareRows(baseline.filter((row) => row.repeat === 2).map((row) => ({ ...row, repeat: 0 })), current, { thresholds: DEFAULTS });
  assert.equal(find(single, 'step_latency_ms').verdict, 'unchanged');
  assert.equal(find(single, 'step_latency_ms').notJudged, 'one-run-per-side');
});

test('with repeats, a single-sample figure is still shown, never judged; deterministic figures keep their tolerance; missing figures still fail', () => {
  const r = rng(4);
  const baseline = baselineOf(r, 5);
  const current = processRows(r, 0, freshProcess(r));
  const rows = compareRows(baseline, current, { thresholds: DEFAULTS });
  const single = find(rows, 'eval_tokens_per_s');
  assert.ok(!single.judged && /1 sample on a side: shown, not judged/.test(single.note));
  const accuracy = find(rows, 'accuracy');
  assert.ok(accuracy.judged && accuracy.runToRun!.band === 0 && accuracy.note === '', 'five equal accuracies: no noise to widen by');
  const worse = compareRows(baseline, current.map((row) => (row.metric === 'accuracy' ? { ...row, value: 0.2 } : row)), { thresholds: DEFAULTS });
  assert.equal(find(worse, 'accuracy').verdict, 'regression');
  const bigger = compareRows(baseline, current.map((row) => (row.metric === 'peak_tensor_bytes' ? { ...row, value: 1_300_000 } : row)), { thresholds: DEFAULTS });
  assert.equal(find(bigger, 'peak_tensor_bytes').verdict, 'regression');
  const missing = compareRows(baseline, current.filter((row) => row.metric !== 'accuracy'), { thresholds: DEFAULTS });
  assert.deepEqual(gateFailures(missing).map((c) => `${c.metric}: ${c.verdict}`), ['accuracy: missing']);
});

test('each repeat is normalised by its own calibration, though repeats share a run_id', () => {
  const r = rng(5);
  // The machine ran at 0.7×, 1× and 1.3× speed in three processes; the normalised step is the same in each.
  const baseline = [0.7, 1, 1.3].flatMap((speed, k) => processRows(r, k, { stepMs: 4 / speed, decodeMs: 0.5 / speed, calibration: 40 * speed }));
  const rows = compareRows(baseline, processRows(r, 0, { stepMs: 4, decodeMs: 0.5 }), { thresholds: DEFAULTS });
  const step = find(rows, 'step_latency_ms');
  assert.ok(step.runToRun !== null && step.runToRun.spread < 0.03, `normalised run-to-run spread ${step.runToRun?.spread}`);
  assert.ok(step.judged);
});

test('baseline save keeps several fresh result sets side by side as repeats, and refuses sets of other commits or suites', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-repeats-'));
  const r = rng(6);
  const sets = [1, 2, 3].map((i) => {
    const dir = path.join(tmp, `run-${i}`);
    appendRows(dir, processRows(r, 0, freshProcess(r)));
    return dir;
  });
  const saved = saveBaseline(sets, { name: 'smoke', root: path.join(tmp, 'baselines') });
  assert.equal(saved.repeats, 3);
  const rows = readRows(saved.dir);
  assert.deepEqual([...new Set(rows.map((row) => row.repeat))], [0, 1, 2]);
  assert.equal(new Set(rows.map((row) => row.run_id)).size, 1, 'run ids are the spec hash, kept as they are');
  const env = JSON.parse(fs.readFileSync(path.join(saved.dir, 'env.json'), 'utf8'));
  assert.deepEqual({ repeats: env.baseline.repeats, sources: env.baseline.sources }, { repeats: 3, sources: sets });
  const step = find(compareRows(rows, processRows(r, 0, freshProcess(r)), { thresholds: DEFAULTS }), 'step_latency_ms');
  assert.deepEqual(step.runToRun?.runs, [3, 1]);
  // A saved baseline of repeats saved again with one more set keeps every repeat apart.
  const more = path.join(tmp, 'run-4');
  appendRows(more, processRows(r, 0, freshProcess(r)));
  const again = saveBaseline([saved.dir, more], { dir: path.join(tmp, 'four') });
  assert.deepEqual([...new Set(readRows(again.dir).map((row) => row.repeat))], [0, 1, 2, 3]);

  const otherCommit = path.join(tmp, 'other-commit');
  appendRows(otherCommit, processRows(r, 0, freshProcess(r)).map((row) => ({ ...row, git_sha: 'def456' })));
  assert.throws(() => saveBaseline([sets[0], otherCommit], { root: path.join(tmp, 'baselines') }), /repeats of a baseline must be runs of one commit .*abc123.*def456/);
  const otherSuite = path.join(tmp, 'other-suite');
  appendRows(otherSuite, processRows(r, 0, freshProcess(r)).map((row) => ({ ...row, suite: 'quick' })));
  assert.throws(() => saveBaseline([sets[0], otherSuite], { root: path.join(tmp, 'baselines') }), /repeats of a baseline must be runs of one suite/);

  // The CLI: several directories, --out.
  const out = path.join(tmp, 'cli-baseline');
  const cli = await execa(process.execPath, [path.join(ROOT, 'bin/seqarena.js'), 'baseline', 'save', ...sets, '--out', out], { reject: false, cwd: tmp });
  assert.equal(cli.exitCode, 0, cli.stderr);
  assert.match(cli.stdout, /saved baseline .*cli-baseline: \d+ rows from .*run-1, .*run-2, .*run-3 \(3 repeats\)/);
  assert.equal(loadThresholds(path.join(ROOT, 'seqarena.compare.json')).source, path.join(ROOT, 'seqarena.compare.json'));
});
