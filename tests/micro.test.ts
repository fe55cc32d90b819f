import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { formatMicroTable, implsOf, MIXERS, parseMixers, runMicro, type MixerName } from '../harness/micro.ts';
import { appendRows, readRows } from '../harness/results/io.ts';
import { ResultRow } from '../harness/results/schema.ts';
import { ARCHITECTURES } from '../architectures/index.ts';

/** The mixers with a fused kernel; gated linear attention's chunked form is tested on its own below. */
const FUSED_MIXERS = MIXERS.filter((m) => implsOf(m).includes('fused'));

test('the micro suite at tiny sizes: valid rows, exponents, skipped lengths, decode steps, no leaks', async () => {
  const tensorsBefore = tf.memory().numTensors;
  const streamed: ResultRow[] = [];
  // 100 kB lets every fused kernel run at L = 64 but not the composed references (attention holds (L, L) scores)
  const rows = await runMicro(
    {
      backend: 'wasm',
      mixers: [...FUSED_MIXERS, 'matmul'],
      lengths: [16, 8, 64],
      width: 8,
      batch: 1,
      timeBudgetMs: 1,
      minSamples: 2,
      maxMemoryBytes: 100_000,
      // No time-based skips: estimates from timings depend on the machine's load; memory decides here.
      maxSampleMs: Number.POSITIVE_INFINITY,
      decodeContexts: [2, 3],
      calibrationSize: 32,
    },
    (group) => streamed.push(...group),
  );
  assert.equal(tf.memory().numTensors, tensorsBefore, 'the suite leaked tensors');
  assert.deepEqual(streamed, rows, 'every row is emitted as it is measured');
  for (const row of rows) ResultRow.parse(row);

  const calibration = rows.filter((r) => r.metric === 'matmul_gflops');
  assert.equal(calibration.length, 1);
  assert.equal(calibration[0].phase, 'calibration');
  assert.ok(calibration[0].value! > 0);

  for (const mixer of FUSED_MIXERS) {
    for (const impl of implsOf(mixer)) {
      const arch = `${mixer}/${impl}`;
      const of = (metric: string) => rows.filter((r) => r.arch === arch && r.metric === metric);
      assert.ok(of('forward_ms').every((r) => r.phase === 'micro' && r.task === 'micro'), arch);
      assert.deepEqual(of('forward_ms').map((r) => r.seq_len), [8, 16, 64], `${arch}: one forward row per length, in order`);
      for (const l of [8, 16]) {
        const fb = of('forward_backward_ms').find((r) => r.seq_len === l)!;
        assert.equal(fb.status, 'ok', `${arch} L=${l}: ${fb.error}`);
        assert.ok(fb.n >= 2 && fb.samples!.length === fb.n && fb.value! > 0, `${arch} L=${l} has timed samples`);
      }
      const exponents = [...of('time_exponent'), ...of('memory_exponent')];
      assert.equal(exponents.length, 3, `${arch}: forward, forward+backward and memory exponents`);
      for (const e of exponents) assert.ok(e.status === 'ok' && Number.isFinite(e.value), `${arch} ${e.metric} ${e.slice}: ${e.value}`);
    }
    const referenceAt64 = rows.filter((r) => r.arch === `${mixer}/reference` && r.seq_len === 64);
    const fusedAt64 = rows.filter((r) => r.arch === `${mixer}/fused` && r.seq_len === 64);
    assert.ok(fusedAt64.every((r) => r.status === 'ok'), `${mixer}/fused runs at L = 64`);
    if (mixer === 'attention' || mixer === 'attention-swa' || mixer === 'lstm' || mixer === 'scan' || mixer === 'lti-scan' || mixer === 'hyena') {
      assert.deepEqual(referenceAt64.map((r) => r.status), ['skipped', 'skipped', 'skipped'], `${mixer}/reference at L = 64 is skipped`);
      assert.match(referenceAt64[0].error!, /estimated peak memory .* exceeds/);
      assert.equal(referenceAt64[0].value, null);
    }
  }

  const attentionMemory = rows.find((r) => r.arch === 'attention/reference' && r.metric === 'memory_exponent')!;
  const fusedMemory = rows.find((r) => r.arch === 'attention/fused' && r.metric === 'memory_exponent')!;
  assert.ok(attentionMemory.value! > fusedMemory.value!, `composed attention's memory grows faster (${attentionMemory.value}) than fused (${fusedMemory.value})`);

  const decode = rows.filter((r) => r.metric === 'decode_step_ms');
  assert.equal(decode.length, FUSED_MIXERS.length * 2, 'one decode row per mixer and context');
  for (const r of decode) {
    const archName = r.slice ?? '';
    if (r.status === 'ok') assert.ok(r.value! > 0 && r.seq_len !== null && archName.startsWith('model='));
    else assert.match(r.error!, /is registered to decode/);
  }
  assert.ok(
    decode.filter((r) => r.arch === 'lstm').every((r) => r.status === ('lstm' in ARCHITECTURES ? 'ok' : 'skipped')),
    'lstm decodes through the registered lstm architecture',
  );

  // The length is part of the config hash: a figure at one length never matches another length's.
  const forwardAt = rows.filter((r) => r.arch === 'attention/fused' && r.metric === 'forward_ms');
  assert.ok(forwardAt.length >= 2);
  assert.equal(new Set(forwardAt.map((r) => r.config_hash)).size, forwardAt.length, 'one config hash per length');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-micro-'));
  appendRows(dir, rows);
  assert.equal(readRows(dir, { onBadLine: 'throw' }).length, rows.length);
  fs.rmSync(dir, { recursive: true });

  const table = formatMicroTable(rows);
  assert.match(table, /lstm\/fused\s+64/);
  assert.match(table, /forward\+backward ms/);
  assert.match(table, /estimated peak memory/);
  assert.match(table, /GFLOP\/s/);
});

/** The micro suite of one mixer at width 8, L 8, 16 and 64, under a memory limit; no tensor may leak, every row must be valid. */
async function microOfOneMixer(mixer: MixerName, maxMemoryBytes: number): Promise<ResultRow[]> {
  const tensorsBefore = tf.memory().numTensors;
  const rows = await runMicro({
    backend: 'wasm',
    mixers: [mixer],
    lengths: [8, 16, 64],
    width: 8,
    batch: 1,
    timeBudgetMs: 1,
    minSamples: 2,
    maxMemoryBytes,
    maxSampleMs: Number.POSITIVE_INFINITY,
    decodeContexts: [2, 3],
    calibrationSize: 32,
  });
  assert.equal(tf.memory().numTensors, tensorsBefore, 'the suite leaked tensors');
  for (const row of rows) ResultRow.parse(row);
  return rows;
}

test('gated linear attention in the micro suite: the recurrence against the chunked form, rows, speed-up, decode through gla', async () => {
  // 200 kB: at width 8 the chunked form's pairwise decays (16 per key channel a token) need about 8 kB a token,
  // the sequential reference about 1 kB, so the chunked form is skipped at L = 64 and the reference is not
  const rows = await microOfOneMixer('gla', 200_000);
  assert.deepEqual(implsOf('gla'), ['reference', 'chunked']);
  const status = (arch: string, l: number) => rows.find((r) => r.arch === arch && r.metric === 'forward_backward_ms' && r.seq_len === l)!;
  for (const l of [8, 16, 64]) assert.equal(status('gla/reference', l).status, 'ok', `gla/reference L=${l}`);
  for (const l of [8, 16]) assert.equal(status('gla/chunked', l).status, 'ok', `gla/chunked L=${l}`);
  assert.equal(status('gla/chunked', 64).status, 'skipped');
  assert.match(status('gla/chunked', 64).error!, /estimated peak memory .* exceeds/);
  assert.equal(rows.filter((r) => r.arch.startsWith('gla/fused')).length, 0, 'no fused row: gla has no fused kernel');
  for (const arch of ['gla/reference', 'gla/chunked']) {
    const exponents = rows.filter((r) => r.arch === arch && r.metric.endsWith('_exponent'));
    assert.equal(exponents.length, 3, arch);
    assert.ok(exponents.every((e) => e.status === 'ok' && Number.isFinite(e.value)), arch);
  }
  const decode = rows.filter((r) => r.metric === 'decode_step_ms');
  assert.deepEqual(decode.map((r) => [r.arch, r.seq_len, r.slice, r.status]), [['gla', 2, 'model=gla', 'ok'], ['gla', 3, 'model=gla', 'ok']]);
  const table = formatMicroTable(rows);
  assert.match(table, /gla\/chunked\s+16 .* \d+\.\d×/, 'the chunked row carries its speed-up over the reference');
});

test("Mamba-2's SSD in the micro suite: the sequential scan against the chunked form, rows, exponents, speed-up, decode through mamba2", async () => {
  const rows = await microOfOneMixer('ssd', 10_000_000);
  assert.deepEqual(implsOf('ssd'), ['reference', 'chunked']);
  const at = (impl: string, l: number) => rows.find((r) => r.arch === `ssd/${impl}` && r.metric === 'forward_backward_ms' && r.seq_len === l)!;
  for (const impl of ['reference', 'chunked']) {
    for (const l of [8, 16, 64]) assert.equal(at(impl, l).status, 'ok', `ssd/${impl} L=${l}`);
    const exponents = rows.filter((r) => r.arch === `ssd/${impl}` && r.metric.endsWith('_exponent'));
    assert.ok(exponents.length === 3 && exponents.every((e) => e.status === 'ok' && Number.isFinite(e.value)), `ssd/${impl} exponents`);
  }
  assert.equal(rows.filter((r) => r.arch.startsWith('ssd/fused')).length, 0, 'no fused row: the SSD has no fused kernel');
  assert.match(formatMicroTable(rows), /ssd\/chunked\s+16 .* \d+\.\d×/, 'the chunked row carries its speed-up over the reference');
  const decode = rows.filter((r) => r.metric === 'decode_step_ms');
  assert.deepEqual(decode.map((r) => [r.arch, r.seq_len, r.slice, r.status]), [['ssd', 2, 'model=mamba2', 'ok'], ['ssd', 3, 'model=mamba2', 'ok']]);
});

test('the mLSTM in the micro suite: the recurrence against the parallel and chunkwise forms, rows, speed-up, decode through mlstm', async () => {
  // 100 kB at width 8 (4 heads of 2): the recurrence keeps about 400 B a token, the parallel form 10 (L, L)
  // matrices per head, 655 kB at L = 64, so only the parallel form is skipped there
  const rows = await microOfOneMixer('mlstm', 100_000);
  assert.deepEqual(implsOf('mlstm'), ['reference', 'parallel', 'chunkwise']);
  const mlstmAt = (impl: string, l: number) => rows.find((r) => r.arch === `mlstm/${impl}` && r.metric === 'forward_backward_ms' && r.seq_len === l)!;
  for (const l of [8, 16, 64]) assert.equal(mlstmAt('reference', l).status, 'ok', `mlstm/reference L=${l}`);
  for (const l of [8, 16]) assert.equal(mlstmAt('parallel', l).status, 'ok', `mlstm/parallel L=${l}`);
  assert.match(mlstmAt('parallel', 64).error!, /estimated peak memory .* exceeds/);
  // chunks of 64: up to L = 64 the chunkwise form is the parallel one in a single chunk, and skipped with it
  for (const l of [8, 16]) assert.equal(mlstmAt('chunkwise', l).status, 'ok', `mlstm/chunkwise L=${l}`);
  assert.match(mlstmAt('chunkwise', 64).error!, /estimated peak memory .* exceeds/);
  for (const impl of ['reference', 'parallel', 'chunkwise']) {
    const exponents = rows.filter((r) => r.arch === `mlstm/${impl}` && r.metric.endsWith('_exponent'));
    assert.ok(exponents.length === 3 && exponents.every((e) => e.status === 'ok' && Number.isFinite(e.value)), `mlstm/${impl} exponents`);
  }
  assert.match(formatMicroTable(rows), /mlstm\/parallel\s+16 .* \d+\.\d×/, 'the parallel row carries its speed-up over the reference');
  const decode = rows.filter((r) => r.metric === 'decode_step_ms');
  assert.deepEqual(decode.map((r) => [r.arch, r.seq_len, r.slice, r.status]), [['mlstm', 2, 'model=mlstm', 'ok'], ['mlstm', 3, 'model=mlstm', 'ok']]);
});

test("the sLSTM in the micro suite: its recurrence alone (no parallel form), rows, exponents, decode through slstm", async () => {
  const rows = await microOfOneMixer('slstm', 10_000_000);
  assert.deepEqual(implsOf('slstm'), ['reference']);
  for (const l of [8, 16, 64]) {
    const row = rows.find((r) => r.arch === 'slstm/reference' && r.metric === 'forward_backward_ms' && r.seq_len === l)!;
    assert.equal(row.status, 'ok', `slstm/reference L=${l}`);
  }
  assert.equal(rows.filter((r) => r.arch.startsWith('slstm/') && r.arch !== 'slstm/reference').length, 0, 'no fast form');
  const exponents = rows.filter((r) => r.arch === 'slstm/reference' && r.metric.endsWith('_exponent'));
  assert.ok(exponents.length === 3 && exponents.every((e) => e.status === 'ok' && Number.isFinite(e.value)), 'slstm exponents');
  const decode = rows.filter((r) => r.metric === 'decode_step_ms');
  assert.deepEqual(decode.map((r) => [r.arch, r.seq_len, r.slice, r.status]), [['slstm', 2, 'model=slstm', 'ok'], ['slstm', 3, 'model=slstm', 'ok']]);
  assert.match(formatMicroTable(rows), /slstm\/reference\s+64 /);
});

test('an unknown mixer is refused with a suggestion', () => {
  assert.throws(() => parseMixers('attention,lstn'), /unknown mixer 'lstn'. Did you mean 'lstm'\?/);
});
