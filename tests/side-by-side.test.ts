/** `seqarena report A B --compare`: figures matched across backends, B ÷ A raw and normalised by calibration. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { appendRows, writeEnv } from '../harness/results/io.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import { sideBySide, writeSideBySide } from '../reports/side-by-side.ts';
import { FIXTURE_ENV, fixtureRows } from './fixtures/rows.ts';

const a = fixtureRows().filter((r) => r.task === 'associative-recall');
// B: another backend on a machine twice as fast at matmul, training twice as fast, steps half as long.
const scale = (r: ResultRow, by: number): ResultRow => ({ ...r, value: r.value === null ? null : r.value * by, samples: r.samples?.map((s) => s * by) ?? null, stddev: r.stddev === null ? null : r.stddev * by });
const b = a.map((r) => ({ ...(r.metric === 'matmul_gflops' || r.metric === 'tokens_per_s' ? scale(r, 2) : r.metric === 'step_latency_ms' ? scale(r, 0.5) : r), backend: 'tensorflow' }));

test('side by side: matched across backends, B ÷ A, and the same ratio with each machine\'s calibration taken out', () => {
  const rows = sideBySide(a, b);
  const tps = rows.find((r) => r.arch === 'mamba' && r.seq_len === 64 && r.metric === 'tokens_per_s')!;
  assert.ok(Math.abs(tps.ratio! - 2) < 1e-9, `ratio ${tps.ratio}`);
  assert.ok(Math.abs(tps.normalized! - 1) < 1e-9, 'twice the matmul speed explains all of it');
  const step = rows.find((r) => r.arch === 'mamba' && r.seq_len === 64 && r.metric === 'step_latency_ms')!;
  assert.ok(Math.abs(step.ratio! - 0.5) < 1e-9 && Math.abs(step.normalized! - 1) < 1e-9);
  const accuracy = rows.find((r) => r.arch === 'mamba' && r.seq_len === 64 && r.metric === 'accuracy')!;
  assert.equal(accuracy.ratio, 1);
  assert.equal(accuracy.normalized, null, 'accuracy is not a speed: no calibration');
  assert.ok(!rows.some((r) => r.phase === 'calibration'), 'the calibration is the normaliser, not a compared figure');
  const oom = rows.find((r) => r.arch === 'transformer' && r.seq_len === 256 && r.metric === 'wall_time_s')!;
  assert.equal(oom.a, null, 'a failed run has no figure on either side');
});

test('seqarena report A B --compare writes the page; one directory is a usage error naming the fix', async () => {
  const dirs = [a, b].map((rows, i) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `seqarena-sbs-${i}-`));
    appendRows(dir, rows);
    writeEnv(dir, FIXTURE_ENV);
    return dir;
  });
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-sbs-out-'));
  const page = await writeSideBySide(dirs[0], dirs[1], out);
  const html = fs.readFileSync(page, 'utf8');
  assert.ok(html.includes('B ÷ A normalised') && html.includes('2.000×') && html.includes('1.000×'));
  assert.ok(fs.existsSync(path.join(out, 'charts', 'side-by-side.png')));
  const cli = path.join(import.meta.dirname, '..', 'bin', 'seqarena.js');
  const one = await execa(process.execPath, [cli, 'report', dirs[0], '--compare'], { reject: false });
  assert.equal(one.exitCode, 2, one.stderr);
  assert.match(one.stderr, /--compare takes exactly two results directories/);
});
