/**
 * The bundle the GPU check carries (scripts/gpu-bundle.sh, which scripts/gpu-pack.sh packs): run from a
 * folder with no node_modules beside it but Dawn's, its kernel pools start their worker threads from the
 * worker modules bundled beside seqarena.mjs, and on webgpu its models run the WGSL kernels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { webgpuSkipReason } from './helpers.ts';

const skip = (await webgpuSkipReason()) ?? false;
const ROOT = path.resolve(import.meta.dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-bundle-'));
const app = path.join(dir, 'app');
execFileSync('bash', [path.join(ROOT, 'scripts', 'gpu-bundle.sh'), app], { cwd: ROOT, stdio: 'pipe' });
const bundled = (...args: string[]): string => execFileSync(process.execPath, [path.join(app, 'seqarena.mjs'), ...args], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the bundle holds the worker modules of both kernel pools and every WGSL kernel', () => {
  for (const name of ['seqarena.mjs', 'gemm-wasm-worker.mjs', 'js-pool-worker.mjs', 'selective-scan-loops.mjs']) assert.ok(fs.existsSync(path.join(app, name)), `${name} is in the bundle`);
  const source = fs.readFileSync(path.join(app, 'seqarena.mjs'), 'utf8');
  for (const kernel of ['SelectiveScan', 'SelectiveScanGrad', 'FlashAttention', 'FlashAttentionGradQ', 'FlashAttentionGradKV', 'LstmSequenceGrad', 'GruSequenceGrad', 'RnnSequenceGrad']) {
    assert.ok(source.includes(`SeqarenaWgsl${kernel}`), `SeqarenaWgsl${kernel} is in the bundle`);
  }
});

test('a Mamba run from the bundle trains on 2 threads: the GEMM pool and the scan pool start their workers', () => {
  const out = path.join(dir, 'run');
  bundled('run', '--arch', 'mamba', '--preset', 'nano', '--task', 'induction-heads', '--task-param', 'vocab_size=32', '--seq-len', '64', '--batch-size', '4', '--steps', '2', '--backend', 'wasm', '--threads', '2', '--out', out);
  const rows = fs.readFileSync(path.join(out, 'results.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { phase: string; status: string; error: string | null });
  const run = rows.find((r) => r.phase === 'run');
  assert.equal(run?.status, 'ok', `the bundled run failed: ${run?.error}`);
});


test('on webgpu the bundled Mamba runs the WGSL scan, forward and backward', { skip }, () => {
  const table = bundled('profile', '--arch', 'mamba', '--preset', 'nano', '--task-param', 'vocab_size=16', '--seq-len', '16', '--batch-size', '2', '--backend', 'webgpu', '--warmup', '1', '--profile-steps', '1', '--top', '200');
  assert.match(table, /^SeqarenaWgslSelectiveScan\s/m);
  assert.match(table, /^SeqarenaWgslSelectiveScanGrad\s/m);
});
