/**
 * The regression gate cannot be fooled (issue 14, items 1–4): missing figures and vanished runs fail
 * unless allowed, invalid rows are refused rather than skipped, rows of different measurements (another
 * length, batch or thread count) are never pooled, and the significance test resamples blocks or runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { bootstrapRatioInterval, blockLength, compareRows, gateFailures, matchKey, resamplingFor } from '../harness/compare.ts';
import { compareMarkdown, githubBenchmarkEntries } from '../harness/exports.ts';
import { buildHistory } from '../harness/history.ts';
import { appendRows, readRows, RESULTS_JSONL } from '../harness/results/io.ts';
import { metricRow } from '../harness/results/rows.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import { rng, type Rng } from '../util/rng.ts';
import { testColumns } from './fixtures/columns.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = (cwd: string, ...args: string[]) => execa('node', [path.join(ROOT, 'bin/seqarena.js'), ...args], { cwd, reject: false });

function normal(r: Rng, mean: number, sd: number, n: number): number[] {
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - r.float())) * Math.cos(2 * Math.PI * r.float()));
}

/** One training run's summary rows: calibration, throughput (20 samples), accuracy. */
function run(r: Rng, runId: string, arch: string, tokensPerS = 1000): ResultRow[] {
  const c = testColumns(runId, arch);
  return [
    metricRow(c, 'matmul_gflops', { samples: normal(r, 40, 0.4, 5) }),
    metricRow(c, 'tokens_per_s', { samples: normal(r, tokensPerS, tokensPerS * 0.03, 20) }),
    metricRow(c, 'accuracy', { value: 0.9, n: 512 }),
    metricRow(c, 'exact_match', { value: 0.5, n: 64 }),
  ];
}

const tmpDir = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `seqarena-gate-${name}-`));

test('missing figures and vanished runs fail the gate by default; --allow-missing accepts them; the table lists them either way', async () => {
  const tmp = tmpDir('missing');
  const r = rng(1);
  const write = (name: string, rows: ResultRow[]): string => {
    appendRows(path.join(tmp, name), rows);
    return path.join(tmp, name);
  };
  const baseline = write('baseline', [...run(r, 'b1', 'mamba'), ...run(r, 'b2', 'lstm')]);
  // Every accuracy and exact-match row removed; and, separately, the lstm run gone.
  const noAccuracy = write('no-accuracy', [...run(r, 'c1', 'mamba'), ...run(r, 'c2', 'lstm')].filter((x) => x.metric !== 'accuracy' && x.metric !== 'exact_match'));
  const noLstm = write('no-lstm', run(r, 'd1', 'mamba'));

  const rows = compareRows(readRows(baseline), readRows(noAccuracy));
  assert.equal(rows.filter((x) => x.verdict === 'missing').length, 4);
  assert.equal(gateFailures(rows).length, 4);
  assert.deepEqual(gateFailures(rows, { allowMissing: true }), []);
  const vanished = compareRows(readRows(baseline), readRows(noLstm));
  assert.ok(vanished.some((x) => x.rule === 'status' && x.arch === 'lstm' && x.verdict === 'missing'), 'the run itself is missing');

  const [failed, allowed, gone] = await Promise.all([
    cli(tmp, 'compare', '--baseline', baseline, noAccuracy),
    cli(tmp, 'compare', '--baseline', baseline, noAccuracy, '--allow-missing', '--out', path.join(tmp, 'allowed.md')),
    cli(tmp, 'compare', '--baseline', baseline, noLstm),
  ]);
  assert.equal(failed.exitCode, 1, failed.stderr);
  assert.match(failed.stdout, /^## seqarena compare: ❌ 4 missing/);
  assert.match(failed.stdout, /\| eval\/accuracy \| mqar \| lstm \| .*❌ missing \| not in the current results \|/);
  assert.equal(allowed.exitCode, 0, allowed.stderr);
  assert.match(allowed.stdout, /✅ no regressions \(4 missing figures accepted with --allow-missing\)/);
  assert.match(allowed.stdout, /\| eval\/accuracy \| mqar \| lstm \| .*➖ missing \(allowed\)/);
  assert.equal(gone.exitCode, 1, gone.stderr);
  assert.match(gone.stdout, /\| run\/status \| mqar \| lstm \| .*❌ missing \| run of the baseline not in the current results \|/);
});

test('compare, merge and baseline save refuse invalid rows (exit 2, file:line of the first, how many); reports skip them with a warning', async () => {
  const tmp = tmpDir('invalid');
  const r = rng(2);
  const good = path.join(tmp, 'good');
  appendRows(good, run(r, 'b1', 'mamba'));
  const bad = path.join(tmp, 'bad');
  appendRows(bad, run(r, 'c1', 'mamba'));
  // Numbers held as strings on lines 2 and 3 (of 4), as a hand-edited or foreign file would have them.
  const file = path.join(bad, RESULTS_JSONL);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  for (const i of [1, 2]) {
    const row = JSON.parse(lines[i]);
    lines[i] = JSON.stringify({ ...row, value: String(row.value) });
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');

  const [compared, merged, saved] = await Promise.all([
    cli(tmp, 'compare', '--baseline', good, bad),
    cli(tmp, 'merge', good, bad, '--out', path.join(tmp, 'merged')),
    cli(tmp, 'baseline', 'save', bad, '--name', 'x'),
  ]);
  for (const [name, result] of [['compare', compared], ['merge', merged], ['baseline save', saved]] as const) {
    assert.equal(result.exitCode, 2, `${name}: ${result.stdout}${result.stderr}`);
    assert.ok(result.stderr.includes(`${file}:2: not a valid row: value:`), `${name} names the first bad line: ${result.stderr}`);
    assert.match(result.stderr, /2 of 4 rows are invalid \(lines 2, 3\)/, name);
    assert.doesNotMatch(result.stderr, /internal error/);
  }
  assert.ok(!fs.existsSync(path.join(tmp, 'merged', RESULTS_JSONL)), 'merge wrote nothing');
  assert.ok(!fs.existsSync(path.join(tmp, 'results', 'baselines', 'x')), 'baseline save wrote nothing');
  const warnings: string[] = [];
  assert.equal(readRows(bad, { warn: (m) => warnings.push(m) }).length, 2, 'a report reads the valid rows');
  assert.equal(warnings.length, 2);
});

/** A micro benchmark's rows at three lengths, as micro.ts wrote them before its config hash held the length. */
function microRows(r: Rng, runPrefix: string, slowAt: number | null, repeat = 0): ResultRow[] {
  return [64, 128, 256].map((l) => {
    const ms = 2.4 * (l / 64) ** 1.9 * (l === slowAt ? 2 : 1);
    const c = testColumns(`${runPrefix}${l}`, 'attention/fused', { suite: 'micro', task: 'micro', preset: null, seq_len: l, config_hash: 'cfg-micro' });
    return { ...metricRow(c, 'forward_ms', { samples: normal(r, ms, ms * 0.03, 12) }), repeat };
  });
}

test('a 2× slowdown at one sequence length only fails the gate and names the length; lengths are never pooled', () => {
  const r = rng(3);
  // A baseline of three fresh runs: timings are judged against their measured run-to-run noise.
  const baseline = [0, 1, 2].flatMap((k) => microRows(r, 'b', null, k));
  const current = microRows(r, 'c', 128);
  const rows = compareRows(baseline, current, { normalize: false });
  const regressions = rows.filter((x) => x.verdict === 'regression');
  assert.deepEqual(regressions.map((x) => x.seq_len), [128]);
  assert.equal(rows.filter((x) => x.metric === 'forward_ms').length, 3, 'one figure per length');
  const markdown = compareMarkdown(rows);
  assert.match(markdown, /\| micro\/forward_ms \| micro \| attention\/fused L=128 \| .* \| ❌ regression/);

  // github-action-benchmark and history keep the three lengths apart too.
  const entries = githubBenchmarkEntries(current).smaller;
  assert.equal(entries.length, 3);
  assert.deepEqual(new Set(entries.map((e) => e.name)).size, 3);
  const history = buildHistory([{ dir: 'a', rows: current, env: null }]);
  assert.deepEqual(history.map((p) => p.seq_len).sort((a, b) => a! - b!), [64, 128, 256]);
  assert.equal(new Set(history.map((p) => p.series)).size, 3);
});

test('the match key holds batch size and thread count: rows measured with other settings are new, not pooled', () => {
  const r = rng(4);
  const row = (runId: string, extra: Partial<ResultRow>) => ({ ...metricRow(testColumns(runId), 'tokens_per_s', { samples: normal(r, 1000, 30, 10) }), ...extra });
  const base = row('b', { versions: 'node=20 tfjs=4.22.0 seqarena=0.1.0 threads=1' });
  for (const other of [{ batch_size: 16 }, { versions: 'node=20 tfjs=4.22.0 seqarena=0.1.0 threads=2' }, { seq_len: 128 }, { preset: 'micro' }, { backend: 'cpu' }]) {
    const cur = row('c', { versions: base.versions, ...other });
    assert.notEqual(matchKey(base), matchKey(cur), JSON.stringify(other));
    assert.deepEqual(compareRows([base], [cur]).map((x) => x.verdict).sort(), ['missing', 'missing', 'new'], JSON.stringify(other));
  }
  assert.equal(matchKey(base), matchKey(row('d', { versions: base.versions, seed: 7, run_id: 'other' })), 'seeds and run ids do not split a measurement');
});

/** AR(1) series: consecutive steps share the machine's state, so neighbours are correlated. */
function correlated(r: Rng, mean: number, n: number, phi: number, sd: number): number[] {
  const out: number[] = [];
  let x = normal(r, 0, sd, 1)[0];
  for (let i = 0; i < n; i++) {
    x = phi * x + normal(r, 0, sd * Math.sqrt(1 - phi * phi), 1)[0];
    out.push(mean * (1 + x));
  }
  return out;
}

test('the significance test resamples blocks of correlated steps: unchanged code is not flagged where per-step resampling would be', () => {
  const r = rng(5);
  const trials = 80;
  let byBlock = 0;
  let perStep = 0;
  for (let t = 0; t < trials; t++) {
    const base = [correlated(r, 100, 60, 0.7, 0.1)];
    const cur = [correlated(r, 100, 60, 0.7, 0.1)];
    const resampling = resamplingFor(base, cur);
    assert.equal(resampling.base.by, 'block');
    const excludes = ([lo, hi]: [number, number]): boolean => lo > 1 || hi < 1;
    if (excludes(bootstrapRatioInterval(base, cur, 0.95, 400, t, resampling))) byBlock++;
    const single = { by: 'block', block: 1, units: 60 } as const;
    if (excludes(bootstrapRatioInterval(base, cur, 0.95, 400, t, { base: single, cur: single }))) perStep++;
  }
  assert.ok(perStep > 0.4 * trials, `per-step resampling flagged ${perStep}/${trials}`);
  assert.ok(byBlock < 0.25 * trials && byBlock < perStep / 2, `block resampling flagged ${byBlock}/${trials} (per step: ${perStep})`);
  assert.ok(blockLength(correlated(r, 100, 60, 0.7, 0.1)) > 2, 'correlated steps get blocks longer than 2');
  assert.equal(blockLength(normal(r, 100, 10, 60)), 1, 'independent samples get blocks of 1');
});

test('with three runs (seeds) a side the test resamples whole runs, so a between-run spread is not a regression, and the table says so', () => {
  const r = rng(6);
  // Each run has its own level (±8%: the process, the machine's state) and tight steps within it.
  const seeds = (prefix: string): ResultRow[] =>
    [0, 1, 2].map((s) => {
      const level = 1000 * (1 + normal(r, 0, 0.08, 1)[0]);
      return metricRow(testColumns(`${prefix}${s}`, 'mamba', { seed: s }), 'tokens_per_s', { samples: normal(r, level, level * 0.01, 20) });
    });
  let flagged = 0;
  let last = compareRows([], []);
  for (let t = 0; t < 30; t++) {
    last = compareRows(seeds(`b${t}-`), seeds(`c${t}-`), { normalize: false, thresholds: { timing: { relative: 0.03, resamples: 400 } } });
    if (last.some((x) => x.verdict === 'regression')) flagged++;
  }
  assert.ok(flagged <= 6, `flagged ${flagged}/30 by run`);
  const tps = last.find((x) => x.metric === 'tokens_per_s')!;
  assert.equal(tps.resampling, 'by run (3 and 3 runs)');
  assert.match(compareMarkdown([{ ...tps, verdict: 'regression' }]), /bootstrap by run \(3 and 3 runs\)/);
});

test('timings of a run whose calibration swung (a machine busier than its cores) are shown, not judged', () => {
  const r = rng(7);
  const withCalibration = (runId: string, calibration: number[], tokensPerS: number, repeat = 0): ResultRow[] => {
    const c = testColumns(runId);
    return [metricRow(c, 'matmul_gflops', { samples: calibration }), metricRow(c, 'tokens_per_s', { samples: normal(r, tokensPerS, tokensPerS * 0.03, 20) })].map((row) => ({ ...row, repeat }));
  };
  // Three fresh runs on a steady machine, so the run-to-run noise is measured.
  const steady = [0, 1, 2].flatMap((k) => withCalibration('b', normal(r, 40, 0.4, 7), 1000, k));
  // The same 40 GFLOP/s on average, but swinging from 4 to 76 within the run: timings mean nothing.
  const busy = withCalibration('c', [4, 76, 10, 70, 40, 20, 60], 300);
  const tps = compareRows(steady, busy).find((x) => x.metric === 'tokens_per_s')!;
  assert.equal(tps.verdict, 'unchanged');
  assert.equal(tps.judged, false);
  assert.match(tps.note, /machine too busy to time: its calibration varied ±\d+% within a run/);
  // On a steady machine the same drop is a regression.
  const slow = withCalibration('d', normal(r, 40, 0.4, 7), 300);
  assert.equal(compareRows(steady, slow).find((x) => x.metric === 'tokens_per_s')!.verdict, 'regression');
});
