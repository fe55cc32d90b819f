/**
 * Faults a user meets: bad names and numbers (exit 2, the bad value named, nothing written), broken
 * results files (file and line named), a spec too big for the machine (skipped with the reason), and
 * Ctrl-C in the middle of a suite (finished runs kept; --resume runs only what is missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { BackendChoice } from '../harness/engine.ts';
import { readRows, ResultsFileError } from '../harness/results/io.ts';
import { metricRow } from '../harness/results/rows.ts';
import { SCHEMA_VERSION } from '../harness/results/schema.ts';
import { runSuite } from '../harness/runner.ts';
import { estimateBytes, memoryRefusal, resolveRun } from '../harness/spec.ts';
import { cli } from './helpers.ts';
import { testColumns } from './fixtures/columns.ts';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `seqarena-${name}-`));

test('unknown names: exit 2, a did-you-mean and the valid names, nothing written', async () => {
  const cases: [string[], RegExp][] = [
    [['run', '--arch', 'lstn', '--task', 'mqar'], /unknown architecture 'lstn'\. Did you mean 'lstm'\? Valid architectures: transformer, /],
    [['run', '--arch', 'lstm', '--task', 'mqr'], /unknown task 'mqr'\. Did you mean 'mqar'\?/],
    [['run', '--arch', 'lstm', '--preset', 'tiny', '--task', 'mqar'], /preset: Invalid option: expected one of "nano"\|"micro"\|"small"/],
    [['run', '--arch', 'lstm', '--task', 'mqar', '--backend', 'wsam'], /backend: Invalid option: expected one of "wasm"\|"cpu"\|"tensorflow"\|"webgpu"\|"auto"/],
    [['bench', '--suite', 'quik'], /unknown suite 'quik'\. Did you mean 'quick'\?/],
  ];
  for (const [args, message] of cases) {
    const out = path.join(tmp('bad-name'), 'out');
    const { code, stderr } = await cli(...args, '--out', out);
    assert.equal(code, 2, `${args.join(' ')} → exit ${code}`);
    assert.match(stderr, message);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace for an input error');
    assert.equal(fs.existsSync(out), false, `${args.join(' ')} wrote ${out}`);
  }
});

test('invalid numbers name the field and the rule', async () => {
  const divisible = await cli('run', '--arch', 'transformer', '--set', 'd_model=30', '--set', 'n_heads=4', '--task', 'mqar');
  assert.equal(divisible.code, 2);
  assert.match(divisible.stderr, /d_model 30 is not divisible by n_heads/);
  const negative = await cli('run', '--arch', 'lstm', '--task', 'mqar', '--seq-len', '-8');
  assert.equal(negative.code, 2);
  assert.match(negative.stderr, /--seq-len \(task param seq_len\): Too small/);
  const steps = await cli('run', '--arch', 'lstm', '--task', 'mqar', '--steps', '0');
  assert.equal(steps.code, 2);
  assert.match(steps.stderr, /--steps: Too small: expected number to be >0/);
  const spec = path.join(tmp('spec'), 'spec.json');
  fs.writeFileSync(spec, JSON.stringify({ arch: 'mamba', task: 'mqar', config: { d_state: -1 } }));
  const fromFile = await cli('run', '--spec', spec);
  assert.equal(fromFile.code, 2);
  assert.match(fromFile.stderr, /--set d_state: Too small/);
});

test('results files: a half-written last line is skipped with its line; a newer schema is refused', async () => {
  const dir = tmp('results');
  const row = metricRow(testColumns('r1'), 'accuracy', { value: 0.5 });
  fs.writeFileSync(path.join(dir, 'results.jsonl'), `${JSON.stringify(row)}\n${JSON.stringify(row).slice(0, 40)}`);
  const warnings: string[] = [];
  assert.equal(readRows(dir, { warn: (m) => warnings.push(m) }).length, 1);
  assert.match(warnings[0], /results\.jsonl:2: half-written last line \(the writer was interrupted\); skipped/);
  fs.writeFileSync(path.join(dir, 'results.jsonl'), `${JSON.stringify(row)}\n${JSON.stringify({ ...row, schema_version: SCHEMA_VERSION + 1 })}\n`);
  assert.throws(() => readRows(dir), (e: unknown) => e instanceof ResultsFileError && /results\.jsonl:2: schema_version 2 is newer than this seqarena reads \(1\); upgrade seqarena/.test((e as Error).message));
  const report = await cli('report', dir, '--out', path.join(dir, 'report'));
  assert.equal(report.code, 2);
  assert.match(report.stderr, /results\.jsonl:2: schema_version 2 is newer/);
});

test('a spec that needs more memory than the machine has is skipped with the reason, not run', async () => {
  const dir = tmp('too-big');
  const summary = await runSuite(
    [{ arch: 'transformer', preset: 'small', task: 'induction-heads', taskParams: { seq_len: 16384, eval_multipliers: [2] }, training: { batchSize: 512 } }],
    { outDir: dir },
  );
  assert.deepEqual(summary, { ran: 0, skipped: 0, failed: 1, ok: 0, failedEarlier: 0 });
  const [run] = readRows(dir).filter((r) => r.phase === 'run');
  assert.equal(run.status, 'skipped');
  assert.match(run.error ?? '', /estimated memory [\d.]+ GiB exceeds 80% of this machine's [\d.]+ GiB; use a smaller batch, length or preset/);
});

test("on wasm, a run estimated past the 4 GiB WebAssembly heap is skipped with the reason, not left to die mid-step; cpu takes it", async () => {
  // The efficiency suite's mLSTM at L = 2,048: its parallel form holds (b, heads, L, L) matrices.
  const spec = (backend: BackendChoice) => ({ arch: 'mlstm', config: { d_model: 88, n_layers: 2 }, task: 'induction-heads', taskParams: { seq_len: 2048, eval_multipliers: [] }, training: { batchSize: 4, steps: 1 }, backend });
  const GiB = 2 ** 30;
  const big = resolveRun(spec('wasm'));
  const estimate = estimateBytes(big);
  assert.ok(estimate > 4 * GiB && estimate < 0.8 * 24 * GiB, `estimate ${(estimate / GiB).toFixed(1)} GiB`);
  assert.match(memoryRefusal(big, estimate, 64 * GiB) ?? '', /estimated memory [\d.]+ GiB exceeds the wasm backend's 4 GiB heap .*; use a smaller batch, length or preset, or --backend cpu/);
  assert.equal(memoryRefusal(resolveRun(spec('cpu')), estimate, 64 * GiB), null, 'cpu has no such heap');
  // the chunkwise and recurrent forms and the sLSTM hold no (L, L) matrices: well inside the heap
  for (const other of [{ arch: 'mlstm', config: { d_model: 88, n_layers: 2, cell: 'chunkwise' } }, { arch: 'mlstm', config: { d_model: 88, n_layers: 2, cell: 'recurrent' } }, { arch: 'slstm', config: { d_model: 88, n_layers: 2 } }]) {
    const run = resolveRun({ ...spec('wasm'), ...other });
    assert.ok(estimateBytes(run) < 2 * GiB, `${other.arch} ${JSON.stringify(other.config)}: ${(estimateBytes(run) / GiB).toFixed(2)} GiB`);
  }
  assert.equal(memoryRefusal(resolveRun({ ...spec('wasm'), taskParams: { seq_len: 512, eval_multipliers: [] } }), estimate / 16, 64 * GiB), null);
  assert.match(memoryRefusal(big, estimate, 4 * GiB) ?? '', /exceeds 80% of this machine's 4\.0 GiB/, 'the machine comes first');
  const dir = tmp('wasm-heap');
  const summary = await runSuite([spec('wasm')], { outDir: dir });
  assert.deepEqual(summary, { ran: 0, skipped: 0, failed: 1, ok: 0, failedEarlier: 0 });
  const [run] = readRows(dir).filter((r) => r.phase === 'run');
  assert.equal(run.status, 'skipped');
  assert.match(run.error ?? '', /wasm backend's 4 GiB heap/);
});

test('the memory estimate counts evaluation at its own batch, and (L, L) scores only where attention is not fused', () => {
  // The performance table's command: training at L 256, evaluation up to 16 × 256 = 4096.
  const at = (backend: BackendChoice, arch = 'transformer') =>
    estimateBytes(resolveRun({ arch, preset: 'micro', task: 'induction-heads', taskParams: { vocab_size: 32, seq_len: 256 }, training: { batchSize: 16 }, backend }));
  const GiB = 2 ** 30;
  // Fused attention (cpu, wasm, webgpu) holds no scores: well under a small machine's memory.
  assert.ok(at('wasm') < 4 * GiB, `wasm: ${(at('wasm') / GiB).toFixed(1)} GiB`);
  assert.equal(at('wasm'), at('webgpu'));
  // The composed reference (tensorflow backend) holds 32 × 2 layers × 4 heads × 4096² scores at evaluation.
  assert.ok(at('tensorflow') - at('wasm') >= 32 * 2 * 4 * 4096 ** 2 * 4, `tensorflow: ${(at('tensorflow') / GiB).toFixed(1)} GiB`);
  // With the WGSL kernels switched off, webgpu runs the composed reference and holds the scores too.
  process.env.SEQARENA_WEBGPU_KERNELS = 'reference';
  try {
    assert.equal(at('webgpu'), at('tensorflow'));
    assert.equal(at('auto'), at('tensorflow'));
  } finally {
    delete process.env.SEQARENA_WEBGPU_KERNELS;
  }
  assert.equal(at('auto'), at('wasm'));
  // A recurrence has no scores on any backend.
  assert.equal(at('tensorflow', 'lstm'), at('wasm', 'lstm'));
  // mLSTM's parallel form holds (L, L) matrices per head on every backend; its recurrent form does not.
  const mlstm = (backend: BackendChoice, cell: string) =>
    estimateBytes(resolveRun({ arch: 'mlstm', preset: 'micro', config: { cell }, task: 'induction-heads', taskParams: { vocab_size: 32, seq_len: 256 }, training: { batchSize: 16 }, backend }));
  assert.ok(mlstm('wasm', 'parallel') - mlstm('wasm', 'recurrent') >= 3 * 32 * 2 * 4 * 4096 ** 2 * 4, 'parallel mLSTM at evaluation');
  assert.equal(mlstm('wasm', 'parallel'), mlstm('webgpu', 'parallel'));
});

test('Ctrl-C during a suite keeps finished runs; --resume runs only the rest', async () => {
  const dir = path.join(tmp('interrupt'), 'smoke');
  const bin = path.join(import.meta.dirname, '..', 'bin', 'seqarena.js');
  const child = execa(process.execPath, [bin, 'bench', '--suite', 'smoke', '--backend', 'cpu', '--out', dir, '--no-report'], { reject: false });
  const results = path.join(dir, 'results.jsonl');
  const runRows = () => (fs.existsSync(results) ? readRows(dir).filter((r) => r.phase === 'run').length : 0);
  while (runRows() < 1) await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGINT');
  const stopped = await child;
  assert.equal(stopped.exitCode, 130);
  assert.match(stopped.stderr, new RegExp(`Resume with: seqarena bench --resume ${dir}`));
  const kept = fs.readFileSync(results, 'utf8');
  const finished = runRows();
  assert.ok(finished >= 1 && finished < 3, `${finished} runs finished before the interrupt`);

  const resumed = await execa(process.execPath, [bin, 'bench', '--resume', dir, '--no-report'], { reject: false });
  assert.equal(resumed.exitCode, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`${3 - finished} ran, ${finished} resumed, 0 not ok`));
  assert.ok(fs.readFileSync(results, 'utf8').startsWith(kept), 'rows written before the interrupt are untouched');
  const ids = readRows(dir).filter((r) => r.phase === 'run').map((r) => r.run_id);
  assert.equal(ids.length, 3);
  assert.equal(new Set(ids).size, 3, 'no run was repeated');
});
