/**
 * Inputs and the messages they get: mistyped keys (did-you-mean), errors that name the flag typed,
 * disk and permission errors (path, cause, exit 2, nothing half-written), an unavailable backend found
 * before anything runs, degenerate corpora, --version and the one-line hint after an unknown option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { appendRows, readRows, writeFileAtomic } from '../harness/results/io.ts';
import { metricRow } from '../harness/results/rows.ts';
import { resolveRun } from '../harness/spec.ts';
import { corpus, CorpusFormatError, readCorpus } from '../tasks/corpus.ts';
import { cli } from './helpers.ts';
import { testColumns } from './fixtures/columns.ts';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `seqarena-${name}-`));
const bin = path.join(import.meta.dirname, '..', 'bin', 'seqarena.js');

const systemError = (code: string, syscall: string, file?: string) =>
  Object.assign(new Error(`${code}: planted, ${syscall}${file ? ` '${file}'` : ''}`), { code, syscall, ...(file ? { path: file } : {}) });

/**
 * Make fs fail like a full or read-only disk for every file under `dir` while `fn` runs: `mkdirSync` and
 * `openSync` with `openCode`, and writes through descriptors opened there (after writing half) with `writeCode`.
 */
async function withFailingDisk<T>(dir: string, codes: { open?: string; mkdir?: string; write?: string; only?: RegExp }, fn: () => Promise<T>): Promise<T> {
  const { openSync, writeSync, mkdirSync } = fs;
  const planted = new Set<number>();
  const under = (p: unknown) => typeof p === 'string' && path.resolve(p).startsWith(path.resolve(dir)) && (!codes.only || codes.only.test(p));
  fs.mkdirSync = ((p: fs.PathLike, o?: fs.MakeDirectoryOptions) => {
    if (codes.mkdir && under(p) && !fs.existsSync(p)) throw systemError(codes.mkdir, 'mkdir', String(p));
    return mkdirSync(p, o);
  }) as typeof fs.mkdirSync;
  fs.openSync = ((p: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
    if (codes.open && under(p)) throw systemError(codes.open, 'open', String(p));
    const fd = openSync(p, flags ?? "r", mode);
    if (under(p)) planted.add(fd);
    return fd;
  }) as typeof fs.openSync;
  fs.writeSync = ((fd: number, data: string | NodeJS.ArrayBufferView, ...rest: never[]) => {
    if (!codes.write || !planted.has(fd)) return writeSync(fd, data as string, ...rest);
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    writeSync(fd, bytes.subarray(0, Math.floor(bytes.length / 2)));
    throw systemError(codes.write, 'write');
  }) as typeof fs.writeSync;
  try {
    return await fn();
  } finally {
    Object.assign(fs, { openSync, writeSync, mkdirSync });
  }
}

const leftovers = (dir: string): string[] =>
  fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.tmp-\d+$/.test(f) || fs.statSync(path.join(dir, f)).size === 0) : [];

test('a full disk: appends are cut back, atomic writes leave no temporary file, bench exits 2 naming the path and ENOSPC', async () => {
  const dir = tmp('full');
  const row = metricRow(testColumns('r1'), 'accuracy', { value: 0.5 });
  appendRows(dir, [row]);
  const before = fs.readFileSync(path.join(dir, 'results.jsonl'));
  await withFailingDisk(dir, { write: 'ENOSPC' }, async () => {
    assert.throws(() => appendRows(dir, [row, row]), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC' && e.path === path.join(dir, 'results.jsonl'));
    assert.throws(() => writeFileAtomic(path.join(dir, 'env.json'), '{"a": 1}\n'), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC');
  });
  assert.deepEqual(fs.readFileSync(path.join(dir, 'results.jsonl')), before, 'no half row appended');
  assert.deepEqual(leftovers(dir), []);
  assert.equal(fs.existsSync(path.join(dir, 'env.json')), false);

  const out = path.join(tmp('full-bench'), 'out');
  const { code, stderr } = await withFailingDisk(out, { write: 'ENOSPC' }, () => cli('bench', '--suite', 'smoke', '--backend', 'cpu', '--out', out, '--no-report'));
  assert.equal(code, 2, stderr);
  assert.match(stderr, new RegExp(`seqarena: cannot write ${out}/\\S+: no space left on the device \\(ENOSPC\\); free some space or choose another directory \\(--out\\)`));
  assert.doesNotMatch(stderr, /internal error|\n\s+at /);
  assert.deepEqual(leftovers(out), [], 'no 0-byte or *.tmp-PID file is left');

  // The disk fills up as the first run's spec is written: the bench stops there, and leaves no 0-byte spec.json.
  const late = path.join(tmp('full-spec'), 'out');
  const spec = await withFailingDisk(late, { write: 'ENOSPC', only: /\.spec\.json/ }, () => cli('bench', '--suite', 'smoke', '--backend', 'cpu', '--out', late, '--no-report'));
  assert.equal(spec.code, 2, spec.stderr);
  assert.match(spec.stderr, /cannot write \S+\/runs\/\w+\.spec\.json: no space left on the device \(ENOSPC\)/);
  assert.deepEqual(leftovers(late), []);
  assert.deepEqual(fs.readdirSync(path.join(late, 'runs')), []);
  assert.equal(fs.existsSync(path.join(late, '.seqarena.lock')), false, 'the lock is released');
});

test('read-only and permission errors name the path and the cause; exit 2, no stack trace', async () => {
  const root = tmp('ro');
  for (const [code, cause] of [['EROFS', 'the file system is read-only'], ['EACCES', 'permission denied']]) {
    const out = path.join(root, code, 'sub');
    const { code: exit, stderr } = await withFailingDisk(path.join(root, code), { mkdir: code }, () => cli('run', '--arch', 'lstm', '--task', 'mqar', '--backend', 'cpu', '--out', out));
    assert.equal(exit, 2, code);
    assert.match(stderr, new RegExp(`cannot create the directory ${root}/${code}\\S*: ${cause} \\(${code}\\)`));
    assert.doesNotMatch(stderr, /internal error|\n\s+at /);
  }
});

test('unknown keys in --set, --task-param and spec files are errors with a did-you-mean', async () => {
  const cases: [string[], RegExp][] = [
    [['--arch', 'transformer', '--set', 'positons=rope', '--task', 'mqar'], /unknown config key 'positons' \(--set positons=…\) for architecture transformer\. Did you mean 'positions'\? Valid keys: /],
    [['--arch', 'lstm', '--task', 'mqar', '--task-param', 'num_kv_pair=4'], /unknown task parameter 'num_kv_pair' \(--task-param num_kv_pair=…\) for task mqar\. Did you mean 'num_kv_pairs'\?/],
    [['--arch', 'lstm', '--task', 'mqar', '--task-param', 'foo=1'], /unknown task parameter 'foo' .* for task mqar\. Valid keys: vocab_size, seq_len/],
  ];
  for (const [args, message] of cases) {
    const out = path.join(tmp('keys'), 'out');
    const { code, stderr } = await cli('run', ...args, '--out', out);
    assert.equal(code, 2, args.join(' '));
    assert.match(stderr, message);
    assert.equal(fs.existsSync(out), false);
  }
  assert.throws(() => resolveRun({ arch: 'lstm', task: 'mqar', trainig: {} } as never), /unknown key 'trainig' for a run spec\. Did you mean 'training'\?/);
  assert.throws(() => resolveRun({ arch: 'lstm', task: 'mqar', training: { learningrate: 1e-3 } } as never), /unknown key 'learningrate' for the training settings of a run spec\. Did you mean 'learningRate'\?/);
  const spec = path.join(tmp('spec'), 'spec.json');
  fs.writeFileSync(spec, JSON.stringify({ arch: 'mamba', task: 'mqar', config: { d_stat: 8 } }));
  const fromFile = await cli('run', '--spec', spec);
  assert.equal(fromFile.code, 2);
  assert.match(fromFile.stderr, /unknown config key 'd_stat' .* for architecture mamba\. Did you mean 'd_state'\?/);
});

test('messages name the flag the user typed and the right fix', async () => {
  const steps = await cli('run', '--arch', 'lstm', '--task', 'mqar', '--steps', '0');
  assert.match(steps.stderr, /  --steps: Too small: expected number to be >0/);
  assert.doesNotMatch(steps.stderr, /run spec\.training/);
  const lr = await cli('run', '--arch', 'lstm', '--task', 'mqar', '--lr', '-1');
  assert.match(lr.stderr, /  --lr: Too small/);
  const set = await cli('run', '--arch', 'mamba', '--set', 'd_state=-1', '--task', 'mqar');
  assert.match(set.stderr, /  --set d_state: Too small/);
  const seqLen = await cli('run', '--arch', 'lstm', '--task', 'mqar', '--seq-len', '-8');
  assert.match(seqLen.stderr, /  --seq-len \(task param seq_len\): Too small/);
  for (const command of ['report', 'compare --baseline smoke']) {
    const { code, stderr } = await cli(...command.split(' '), '/nonexistent/results');
    assert.equal(code, 2, command);
    assert.match(stderr, /\/nonexistent\/results'? does not exist/, command);
  }
  // A diverging run names --lr (the flag that sets the learning rate) and the rate it used.
  const out = tmp('diverge');
  const diverged = await execa(process.execPath, [bin, 'run', '--arch', 'lstm', '--task', 'mqar', '--task-param', 'seq_len=16', '--task-param', 'num_kv_pairs=2', '--task-param', 'vocab_size=16', '--steps', '4', '--batch-size', '2', '--seed', '9', '--backend', 'cpu', '--out', out], {
    reject: false,
    env: { SEQARENA_PLANT_FAULT: JSON.stringify({ '9': 'nan' }) },
  });
  assert.equal(diverged.exitCode, 1);
  const outcome = readRows(out).find((r) => r.phase === 'run');
  assert.equal(outcome?.status, 'diverged');
  assert.match(outcome?.error ?? '', /loss became NaN at step 2; lower the learning rate with --lr \(this run used 0\.003\)/);
});

test('an unavailable backend stops bench and run before anything runs or is written (exit 2, install hint)', async () => {
  for (const args of [['bench', '--suite', 'smoke'], ['run', '--arch', 'lstm', '--task', 'mqar']]) {
    const out = path.join(tmp('backend'), 'out');
    const { code, stderr } = await cli(...args, '--backend', 'tensorflow', '--out', out);
    if (code === 0) return; // a machine with tfjs-node installed: nothing to check here
    assert.equal(code, 2, args[0]);
    assert.match(stderr, /backend 'tensorflow' is not available: its package is not installed\. To get it: npm install @tensorflow\/tfjs-node-gpu@4\.22\.0/);
    assert.equal(fs.existsSync(out), false, `${args[0]} wrote ${out}`);
  }
  const list = await execa(process.execPath, [bin, 'list', '--json']);
  const backends = JSON.parse(list.stdout).backends as { name: string; installed: boolean; reason: string | null }[];
  assert.deepEqual(backends.filter((b) => b.name === 'cpu').map((b) => [b.installed, b.reason]), [[true, null]]);
  for (const b of backends) if (!b.installed) assert.match(b.reason ?? '', /not installed|failed to initialise|loading it failed|found no GPU adapter/, b.name);
});

test('bench exits 1 when every run failed', async () => {
  const out = path.join(tmp('all-fail'), 'out');
  const result = await execa(process.execPath, [bin, 'bench', '--suite', 'smoke', '--backend', 'cpu', '--out', out, '--no-report'], {
    reject: false,
    env: { SEQARENA_PLANT_FAULT: JSON.stringify({ '0': 'throw' }) },
  });
  assert.equal(result.exitCode, 1, result.stderr);
  assert.match(result.stderr, /3 ran, 0 resumed, 3 not ok/);
  assert.match(result.stderr, /every run failed \(3 of 3\)/);
});

test('corpus: a split too small to measure and binary data are refused, naming the minimum', () => {
  const dir = tmp('corpus');
  const small = path.join(dir, 'three.tsv');
  fs.writeFileSync(small, 'Hi.\tSalut.\nRun!\tCours !\nWho?\tQui ?\n');
  assert.throws(
    () => corpus.vocab(corpus.params.parse({ path: small })),
    (e: Error) => e instanceof CorpusFormatError && /three\.tsv: the test split would hold 0 of the 3 pairs \(test_fraction 0\.1\); a split needs at least 4 pairs to be measured\. Add pairs \(at least 40\) or raise test_fraction/.test(e.message),
  );
  assert.throws(() => resolveRun({ arch: 'lstm-seq2seq', task: 'corpus', taskParams: { path: small } }), CorpusFormatError, 'refused when the run is resolved, before it starts');
  const nul = path.join(dir, 'nul.tsv');
  fs.writeFileSync(nul, Buffer.concat([Buffer.from('Hi.\tSalut.\n'), Buffer.alloc(64)]));
  assert.throws(() => readCorpus(nul), (e: Error) => e instanceof CorpusFormatError && /nul\.tsv:2: binary data \(a NUL byte at byte 11\)/.test(e.message));
});

test('--version prints the version; an unknown option prints the error and one line pointing to --help', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
  const version = await execa(process.execPath, [bin, '--version']);
  assert.equal(version.stdout.trim(), pkg.version);
  const unknown = await execa(process.execPath, [bin, 'bench', '--sute', 'quick'], { reject: false });
  assert.equal(unknown.exitCode, 2);
  assert.match(unknown.stderr, /error: unknown option '--sute'\n\(Did you mean --suite\?\)\n\(run with --help for the options\)/);
  assert.doesNotMatch(unknown.stderr + unknown.stdout, /Usage:|--retry-failed/, 'not the whole help');
});
