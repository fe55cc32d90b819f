/**
 * merge: two shards join into their union with the same run ids; exact duplicates are dropped; shards of
 * different suites or schema versions are refused naming the directories. history: one point per
 * directory × figure, ordered by date.
 */
import { testColumns } from './fixtures/columns.ts';
import { test } from 'node:test';
import { execa } from 'execa';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mergeEnvs, mergeResults, mergeRowSets } from '../harness/merge.ts';
import { buildHistory, readHistory } from '../harness/history.ts';
import { UsageError } from '../harness/errors.ts';
import { appendRows, readEnv, readRows, writeEnv } from '../harness/results/io.ts';
import { metricRow, type RunColumns } from '../harness/results/rows.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import { rng } from '../util/rng.ts';

const random = rng(21);

function run(runId: string, arch: string, shard: string, extra: Partial<RunColumns> = {}): ResultRow[] {
  const c = testColumns(runId, arch, { shard, host: `host-${shard[0]}`, ...extra });
  return [
    metricRow(c, 'matmul_gflops', { samples: [40 + random.float(), 41 + random.float()] }),
    metricRow(c, 'tokens_per_s', { samples: [1000 + 100 * random.float(), 1000 + 100 * random.float(), 1000 + 100 * random.float()] }),
    metricRow(c, 'accuracy', { value: random.float() }),
    metricRow(c, 'loss', { value: 2, step: 0 }),
    metricRow(c, 'loss', { value: 1, step: 10 }),
  ];
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-merge-'));
}

function shard(root: string, name: string, rows: ResultRow[], env: Record<string, unknown>): string {
  const dir = path.join(root, name);
  appendRows(dir, rows);
  writeEnv(dir, env);
  return dir;
}

const key = (r: ResultRow): string => [r.run_id, r.phase, r.metric, r.slice, r.step].join('|');

test('merging two shards gives their union with the same run ids, provenance kept', () => {
  const root = tempDir();
  const one = [...run('r1', 'mamba', '1/2'), ...run('r2', 'lstm', '1/2')];
  const two = run('r3', 'gru', '2/2');
  const a = shard(root, 'a', one, { hostname: 'host-1', backend: 'wasm', git_sha: 'abc123' });
  const b = shard(root, 'b', two, { hostname: 'host-2', backend: 'wasm', git_sha: 'abc123' });
  const out = path.join(root, 'merged');
  const merged = mergeResults([a, b], out);
  assert.equal(merged.duplicates, 0);
  const rows = readRows(out);
  assert.deepEqual(rows.map(key).sort(), [...one, ...two].map(key).sort());
  assert.deepEqual([...new Set(rows.map((r) => r.run_id))].sort(), ['r1', 'r2', 'r3']);
  assert.deepEqual(rows, readRows(a).concat(readRows(b)), 'rows are unchanged, in shard order');
  assert.deepEqual([...new Set(rows.map((r) => `${r.shard}@${r.host}`))], ['1/2@host-1', '2/2@host-2']);
  assert.ok(fs.existsSync(path.join(out, 'results.csv')));

  const env = readEnv(out)!;
  assert.deepEqual(
    (env.sources as { dir: string; env: Record<string, unknown> }[]).map((s) => [s.dir, s.env.hostname]),
    [
      [a, 'host-1'],
      [b, 'host-2'],
    ],
  );
  assert.equal(env.backend, 'wasm', 'what every source agrees on stays at the top');
  assert.equal(env.hostname, undefined, 'what they disagree on is only under sources');

  assert.throws(() => mergeResults([a, b], out), /already holds results\.jsonl/);
  assert.throws(() => mergeResults([a, b], a), /also an input/);
});

test('exact duplicate rows are dropped; a conflicting row keeps the first and is reported', () => {
  const one = run('r1', 'mamba', '1/2');
  const two = [...one, ...run('r2', 'lstm', '2/2')];
  const merged = mergeRowSets([
    { dir: 'a', rows: one },
    { dir: 'b', rows: two.map((r) => ({ ...r })) },
  ]);
  assert.equal(merged.duplicates, one.length);
  assert.equal(merged.rows.length, two.length);
  assert.deepEqual(merged.conflicts, []);

  const changed = one.map((r) => (r.metric === 'accuracy' ? { ...r, value: 0.123 } : r));
  const conflicting = mergeRowSets([
    { dir: 'a', rows: one },
    { dir: 'b', rows: changed },
  ]);
  assert.equal(conflicting.rows.length, one.length);
  assert.equal(conflicting.conflicts.length, 1);
  assert.deepEqual(conflicting.conflicts[0], { key: 'r1 · eval · accuracy ·  · ', kept: 'a', dropped: 'b' });
  assert.notEqual(conflicting.rows.find((r) => r.metric === 'accuracy')!.value, 0.123);
});

test('shards of different suites or schema versions are refused, naming the directories', () => {
  const quick = run('r1', 'mamba', '1/2');
  const full = run('r2', 'lstm', '2/2', { suite: 'full' });
  assert.throws(
    () => mergeRowSets([{ dir: 'shards/a', rows: quick }, { dir: 'shards/b', rows: full }]),
    (e: Error) => e instanceof UsageError && /different suites/.test(e.message) && /shards\/a: quick/.test(e.message) && /shards\/b: full/.test(e.message),
  );
  const older = run('r3', 'gru', '2/2').map((r) => ({ ...r, schema_version: 0 }));
  assert.throws(
    () => mergeRowSets([{ dir: 'shards/a', rows: quick }, { dir: 'shards/c', rows: older }]),
    (e: Error) => e instanceof UsageError && /schema versions/.test(e.message) && /shards\/a: 1/.test(e.message) && /shards\/c: 0/.test(e.message),
  );
});

test('history: one point per directory × figure, by date, with the commit and calibration', () => {
  const root = tempDir();
  const at = (timestamp: string, rows: ResultRow[]): ResultRow[] => rows.map((r) => ({ ...r, timestamp }));
  // Names and argument order both disagree with the dates: points still come out by date.
  const early = shard(root, 'z-early', at('2026-11-01T00:00:00Z', run('r1', 'mamba', '1/1', { git_sha: 'aaa111' })), {});
  const lateRows = [...run('r1', 'mamba', '1/1', { git_sha: 'bbb222' }), ...run('r2', 'mamba', '1/1', { git_sha: 'bbb222', seed: 1 })];
  const late = shard(root, 'a-late', at('2026-11-02T00:00:00Z', lateRows), {});
  const points = readHistory([late, early]);
  const tps = points.filter((p) => p.metric === 'tokens_per_s');
  assert.deepEqual(
    tps.map((p) => [p.git_sha, p.runs, p.n]),
    [
      ['aaa111', 1, 3],
      ['bbb222', 2, 6],
    ],
  );
  assert.equal(tps[0].series, 'mqar/mamba/train/tokens_per_s (wasm)');
  assert.ok(tps[1].calibration_gflops! > 40 && tps[1].calibration_gflops! < 42);
  assert.ok(!points.some((p) => p.metric === 'loss'), 'curve rows are left out');
  // A directory without row commits takes env.json's.
  const fromEnv = buildHistory([{ dir: 'x', rows: run('r9', 'gru', '1/1', { git_sha: null }), env: { git_sha: 'ccc333' } }]);
  assert.equal(fromEnv[0].git_sha, 'ccc333');
});

test('merging the shards of a paper suite judges its findings on the whole set', async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-merge-findings-'));
  const shards = ['1/2', '2/2'].map((shard, i) => {
    const dir = path.join(base, `shard-${i + 1}`);
    appendRows(dir, run(`run-${i}`, 'mamba', shard, { suite: 'efficiency' }));
    writeEnv(dir, { suite: 'efficiency', scale: 'cpu', shard });
    return dir;
  });
  const out = path.join(base, 'merged');
  // The CLI in a child process: capturing this process's stdout would swallow the test runner's reports.
  const child = await execa(process.execPath, [path.join(import.meta.dirname, '..', 'bin', 'seqarena.js'), 'merge', ...shards, '--out', out], { reject: false });
  assert.equal(child.exitCode, 0, child.stderr);
  const findings = JSON.parse(fs.readFileSync(path.join(out, 'findings.json'), 'utf8')) as { findings: { suite: string; held: boolean | null }[] };
  assert.ok(findings.findings.length > 0);
  assert.ok(findings.findings.every((f) => f.suite === 'efficiency' && f.held === null), 'not enough rows to judge: each finding says so');
});

test('merge env: a source that names no suite (a run rerun alone) does not drop the suite the shards agree on', () => {
  const shard = (i: number) => ({ dir: `s${i}`, env: { suite: 'selective-copying', scale: 'cpu', backend: 'wasm', shard: `${i}/2`, node: '20' } });
  const rerun = { dir: 'rerun', env: { suite: 'run', backend: 'wasm', node: '20' } }; // as `seqarena run` writes it
  const merged = mergeEnvs([rerun, shard(1), shard(2)]);
  assert.equal(merged.suite, 'selective-copying');
  assert.equal(merged.scale, 'cpu');
  assert.equal(merged.backend, 'wasm');
  assert.equal(merged.shard, undefined, 'shards disagree: no common shard');
  // Shards that disagree on the suite still leave it out.
  const mixed = mergeEnvs([shard(1), { dir: 'other', env: { suite: 'scan', scale: 'cpu' } }]);
  assert.equal(mixed.suite, undefined);
  assert.equal(mixed.scale, 'cpu');
});
