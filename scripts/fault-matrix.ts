/**
 * The fault matrix (issue 14): plants every fault the README's "When things go wrong" lists, each in its
 * own temporary directory, and prints one line per fault: what the user sees (exit code and message)
 * and how many result rows were lost (rows on disk before that are neither in results.jsonl afterwards
 * nor kept in a side file). Exits 1 if any fault lost a row or did not give its expected exit code.
 *
 *   node --import tsx scripts/fault-matrix.ts        (about a minute: five tiny runs on the cpu backend)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../harness/cli.ts';
import { appendRows } from '../harness/results/io.ts';
import { LOCK_FILE } from '../harness/results/lock.ts';
import { metricRow, type RunColumns } from '../harness/results/rows.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import { runSuite } from '../harness/runner.ts';
import { resolveRun, type RunSpecInput } from '../harness/spec.ts';
import { SUITES } from '../harness/suites/index.ts';
import { rng } from '../util/rng.ts';
import { testColumns } from '../tests/fixtures/columns.ts';

const cols = (runId: string): RunColumns => testColumns(runId);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-fault-matrix-'));
let counter = 0;
const dir = (name: string) => path.join(root, `${++counter}-${name}`);

/** The CLI in this process; its stdout and stderr captured. */
async function cli(...args: string[]): Promise<{ code: number; output: string }> {
  let output = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  const capture = ((chunk: string) => ((output += String(chunk)), true)) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  try {
    return { code: await main(['node', 'seqarena', ...args]), output };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** Every complete line of results.jsonl and of the side files that keep cut or replaced rows. */
function keptLines(d: string): Set<string> {
  const files = [path.join(d, 'results.jsonl')];
  if (fs.existsSync(d)) files.push(...fs.readdirSync(d).filter((f) => f.startsWith('results.jsonl.cut-')).map((f) => path.join(d, f)));
  if (fs.existsSync(path.join(d, 'runs'))) files.push(...fs.readdirSync(path.join(d, 'runs')).filter((f) => f.endsWith('.replaced.jsonl')).map((f) => path.join(d, 'runs', f)));
  return new Set(files.filter((f) => fs.existsSync(f)).flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim() !== '')));
}

interface Outcome {
  code: number;
  output: string;
}

const lines: string[] = [];
let failures = 0;

/** Plant one fault: `setup` writes the directory, `act` meets the fault; report the exit code, the message matched by `shows`, and rows lost. */
async function fault(item: string, name: string, expectedCode: number, shows: RegExp, d: string | null, act: () => Promise<Outcome>): Promise<void> {
  const before = d ? keptLines(d) : new Set<string>();
  let outcome: Outcome;
  try {
    outcome = await act();
  } catch (error) {
    outcome = { code: -1, output: `threw: ${(error as Error).message}` };
  }
  const after = d ? keptLines(d) : new Set<string>();
  const lost = [...before].filter((l) => !after.has(l)).length;
  const message = shows.exec(outcome.output)?.[0] ?? `(expected message not found) ${outcome.output.trim().split('\n').slice(-1)[0]}`;
  const ok = outcome.code === expectedCode && shows.test(outcome.output) && lost === 0;
  if (!ok) failures++;
  lines.push(`${ok ? 'ok  ' : 'FAIL'} ${item.padEnd(3)} ${name.padEnd(44)} exit ${outcome.code}: ${message.replace(/\s+/g, ' ').slice(0, 150)} | rows lost: ${lost}`);
}

function tiny(seed: number, extra: Partial<RunSpecInput> = {}): RunSpecInput {
  return {
    suite: 'faults',
    arch: 'lstm',
    preset: 'nano',
    task: 'mqar',
    taskParams: { seq_len: 16, num_kv_pairs: 2, vocab_size: 16 },
    training: { steps: 10, batchSize: 2, evalEvery: 5, evalExamples: 4, decodeTokens: 2, inference: false },
    seed,
    backend: 'cpu',
    timeLimitS: 120,
    ...extra,
  };
}

async function withFault<T>(faults: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  process.env.SEQARENA_PLANT_FAULT = JSON.stringify(faults);
  try {
    return await fn();
  } finally {
    delete process.env.SEQARENA_PLANT_FAULT;
  }
}

const normal = (r: ReturnType<typeof rng>, mean: number, n: number) => Array.from({ length: n }, () => mean * (1 + 0.02 * (r.float() - 0.5)));
function timingRun(r: ReturnType<typeof rng>, columns: RunColumns, tokensPerS: number): ResultRow[] {
  return [metricRow(columns, 'matmul_gflops', { samples: normal(r, 40, 5) }), metricRow(columns, 'tokens_per_s', { samples: normal(r, tokensPerS, 20) }), metricRow(columns, 'accuracy', { value: 0.9, n: 512 }), metricRow(columns, 'exact_match', { value: 0.5, n: 64 })];
}

// The gate (items 1-3): synthetic result sets, held against a baseline.
{
  const r = rng(14);
  const baseline = dir('baseline');
  appendRows(baseline, [...timingRun(r, { ...cols('b1'), arch: 'mamba' }, 1000), ...timingRun(r, { ...cols('b2'), arch: 'lstm' }, 1000)]);
  const noAccuracy = dir('no-accuracy');
  appendRows(noAccuracy, [...timingRun(r, { ...cols('c1'), arch: 'mamba' }, 1000), ...timingRun(r, { ...cols('c2'), arch: 'lstm' }, 1000)].filter((x) => x.metric !== 'accuracy' && x.metric !== 'exact_match'));
  await fault('1', 'gate: every accuracy figure missing', 1, /❌ \d+ missing/, noAccuracy, () => cli('compare', '--baseline', baseline, noAccuracy));
  const strings = dir('string-numbers');
  appendRows(strings, timingRun(r, { ...cols('s1'), arch: 'mamba' }, 1000));
  fs.appendFileSync(path.join(strings, 'results.jsonl'), JSON.stringify({ ...metricRow({ ...cols('s2'), arch: 'lstm' }, 'accuracy', { value: 0.9 }), value: '0.9' }) + '\n');
  await fault('2', 'gate: a row with its number as a string', 2, /results\.jsonl:\d+[^\n]*/, strings, () => cli('compare', '--baseline', baseline, strings));
  // `repeats` fresh runs in one set (the repeat column), as `baseline save A B C` keeps them: timings are judged only where the run-to-run noise is measured.
  const lengths = (name: string, slowAt: number | null, repeats = 1) => {
    const d = dir(name);
    for (let k = 0; k < repeats; k++) {
      appendRows(d, [64, 128, 256].flatMap((L) => timingRun(r, { ...cols(`${name}-${L}`), seq_len: L, config_hash: 'cfg-micro' }, L === slowAt ? 250 : 500).map((x) => ({ ...x, repeat: k }))));
    }
    return d;
  };
  const base = lengths('lengths-base', null, 3);
  const slow = lengths('lengths-slow', 128);
  await fault('3', 'gate: 2x slowdown at one sequence length only', 1, /❌ [^\n|]*/, slow, () => cli('compare', '--baseline', base, slow));
  const oneRun = lengths('one-run-base', null);
  const twice = lengths('one-run-2x-slower', 128);
  await fault('5', 'gate: 2x apart, one run per side (noise)', 0, /\d+ not judged \([^)]*\)/, twice, () => cli('compare', '--baseline', oneRun, twice));
}


// The runner (items 6-10).
const smokeIds = SUITES.smoke.runs({ scale: 'cpu' }).map((s) => resolveRun({ ...s, backend: 'cpu' }).runId);
function smokeDir(status: 'ok' | 'timeout'): string {
  const d = dir(`smoke-${status}`);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'suite.json'), JSON.stringify({ suite: 'smoke', backend: 'cpu', scale: 'cpu', shard: null, runs: 3 }));
  appendRows(d, smokeIds.map((id) => metricRow({ ...cols(id), suite: 'smoke' }, 'wall_time_s', { value: 1, status, error: status === 'ok' ? null : 'exceeded its time limit' })));
  return d;
}
{
  const d = smokeDir('timeout');
  await fault('6', '--resume over timed-out runs, no --retry-failed', 0, /3 of the resumed runs had failed[^\n]*--retry-failed/, d, () => cli('bench', '--resume', d, '--no-report'));
  await fault('6', '--resume with a contradicting --steps', 2, /continues a suite started without --steps, but this command gives --steps 9[^\n]*/, d, () => cli('bench', '--resume', d, '--steps', '9', '--no-report'));
  const retry = dir('retry');
  await withFault({ '1': 'throw' }, () => runSuite([tiny(1)], { outDir: retry }));
  await fault('6', 'a failed run, --resume --retry-failed', 0, /its \d+ rows from the earlier attempt \(status error\) are replaced[^\n]*/, retry, async () => {
    let output = '';
    const summary = await runSuite([tiny(1)], { outDir: retry, retryFailed: true, notice: (m) => (output += m + '\n') });
    return { code: summary.ok === 1 ? 0 : 1, output };
  });
}
{
  const d = smokeDir('ok');
  fs.writeFileSync(path.join(d, LOCK_FILE), JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString(), command: 'bench (planted holder)' }));
  await fault('7', 'a second bench on a locked directory', 2, /is in use by seqarena process PID \d+[^;]*/, d, () => cli('bench', '--resume', d, '--no-report'));
  fs.rmSync(path.join(d, LOCK_FILE));
}
{
  const d = dir('torn');
  const id = resolveRun(tiny(2)).runId;
  appendRows(d, [metricRow({ ...cols(id) }, 'params', { value: 1 })]);
  fs.appendFileSync(path.join(d, 'results.jsonl'), JSON.stringify(metricRow(cols(id), 'loss', { value: 1 })).slice(0, 60));
  await fault('8', 'half-written last line + partial rows of a run', 0, /ended in a half-written line[^;]*; cut it off[^\n]*/, d, async () => {
    let output = '';
    const summary = await runSuite([tiny(2)], { outDir: d, notice: (m) => (output += m + '\n') });
    return { code: summary.ok === 1 ? 0 : 1, output };
  });
}
{
  const d = dir('full-disk');
  const { openSync, writeSync } = fs;
  const planted = new Set<number>();
  fs.openSync = ((p: string, flags?: fs.OpenMode, mode?: fs.Mode) => {
    const fd = openSync(p, flags ?? 'r', mode);
    if (typeof p === 'string' && p.includes('.spec.json')) planted.add(fd);
    return fd;
  }) as typeof fs.openSync;
  fs.writeSync = ((fd: number, data: never, ...rest: never[]) => {
    if (planted.has(fd)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    return writeSync(fd, data, ...rest);
  }) as typeof fs.writeSync;
  try {
    await fault('9', 'disk full while a run starts (ENOSPC, injected)', 2, /cannot write \S+: no space left on the device \(ENOSPC\)/, d, () => cli('bench', '--suite', 'smoke', '--backend', 'cpu', '--out', d, '--no-report'));
  } finally {
    Object.assign(fs, { openSync, writeSync });
  }
  const leftovers = (fs.readdirSync(d, { recursive: true }) as string[]).filter((f) => /\.tmp-\d+$/.test(f) || fs.statSync(path.join(d, f)).size === 0);
  if (leftovers.length > 0) lines.push(`FAIL 9   half-written files left: ${leftovers.join(', ')}`);
  const { mkdirSync } = fs;
  fs.mkdirSync = ((p: string, o?: fs.MakeDirectoryOptions) => {
    if (String(p).includes('read-only')) throw Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS', syscall: 'mkdir', path: String(p) });
    return mkdirSync(p, o);
  }) as typeof fs.mkdirSync;
  try {
    await fault('9', 'read-only --out (EROFS, injected)', 2, /cannot create the directory \S+: the file system is read-only \(EROFS\)/, null, () => cli('run', '--arch', 'lstm', '--task', 'mqar', '--backend', 'cpu', '--out', dir('read-only')));
  } finally {
    fs.mkdirSync = mkdirSync;
  }
}
{
  const d = dir('checkpoint');
  const spec = tiny(3, { checkpointEvery: 2 });
  const whole = dir('uninterrupted');
  await runSuite([spec], { outDir: whole });
  await withFault({ '3': 'kill@6' }, () => runSuite([spec], { outDir: d }));
  await fault('10', 'kill -9 at step 6 of 10, then --retry-failed', 0, /final loss [^\n]*/, d, async () => {
    await runSuite([spec], { outDir: d, retryFailed: true, notice: () => {} });
    const final = (x: string) => fs.readFileSync(path.join(x, 'results.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ResultRow).find((row) => row.metric === 'final_loss')?.value;
    const same = final(d) === final(whole);
    return { code: same ? 0 : 1, output: `final loss ${final(d)} after resuming from the checkpoint, ${final(whole)} uninterrupted` };
  });
}

// Inputs (items 11-15).
await fault('11', '--set positons=rope (a typo)', 2, /unknown config key 'positons'[^.]*\. Did you mean 'positions'\?/, null, () => cli('run', '--arch', 'transformer', '--set', 'positons=rope', '--task', 'mqar'));
await fault('11', '--task-param foo=1', 2, /unknown task parameter 'foo'[^.]*\./, null, () => cli('run', '--arch', 'lstm', '--task', 'mqar', '--task-param', 'foo=1'));
await fault('12', '--steps 0', 2, /--steps: Too small[^\n]*/, null, () => cli('run', '--arch', 'lstm', '--task', 'mqar', '--steps', '0'));
await fault('12', 'report /nonexistent', 2, /'\/nonexistent' does not exist/, null, () => cli('report', '/nonexistent'));
{
  const d = dir('diverged');
  await fault('12', 'a run whose loss becomes NaN', 0, /lower the learning rate with --lr[^"\n]*/, d, () =>
    withFault({ '4': 'nan' }, async () => {
      await runSuite([tiny(4)], { outDir: d });
      return { code: 0, output: fs.readFileSync(path.join(d, 'results.jsonl'), 'utf8') };
    }),
  );
}
await fault('13', 'bench --backend tensorflow, not installed', 2, /backend 'tensorflow' is not available: its package is not installed/, null, () => cli('bench', '--suite', 'smoke', '--backend', 'tensorflow', '--out', dir('tf')));
{
  const corpus = path.join(dir('corpus'), 'three.tsv');
  fs.mkdirSync(path.dirname(corpus), { recursive: true });
  fs.writeFileSync(corpus, 'Hi.\tSalut.\nRun!\tCours !\nWho?\tQui ?\n');
  await fault('14', 'a 3-line corpus', 2, /the test split would hold 0 of the 3 pairs[^.]*\.[^.]*\./, null, () => cli('run', '--arch', 'lstm-seq2seq', '--task', 'corpus', '--task-param', `path=${corpus}`, '--backend', 'cpu', '--out', dir('c')));
  const nul = path.join(path.dirname(corpus), 'nul.tsv');
  fs.writeFileSync(nul, Buffer.alloc(32));
  await fault('14', 'a corpus of NUL bytes', 2, /binary data \(a NUL byte at byte 0\)/, null, () => cli('run', '--arch', 'lstm-seq2seq', '--task', 'corpus', '--task-param', `path=${nul}`, '--backend', 'cpu', '--out', dir('n')));
}
await fault('15', 'an unknown option (--sute)', 2, /unknown option '--sute'[\s\S]*?\(run with --help for the options\)/, null, () => cli('bench', '--sute', 'quick'));

process.stdout.write(`${lines.join('\n')}\n${failures === 0 ? 'every fault handled' : `${failures} fault(s) not handled`}; directories under ${root}\n`);
process.exitCode = failures === 0 ? 0 : 1;
