/**
 * seqarena against PyTorch on this CPU, side by side in one sitting: the README's performance table.
 *
 *   node --import tsx scripts/peer-cpu.ts [--pairs 3] [--archs transformer,lstm,mamba] [--threads 2] [--out FILE.json]
 *
 * For each architecture and each pair it runs one seqarena training run and then the same model in
 * PyTorch eager fp32 (scripts/peer-pytorch.py with Debian's python3-torch, /usr/bin/python3), alternating,
 * so both sides see the same machine state. The model is the one the performance issue names: 2 layers,
 * d_model 64, 4 heads, L 256, batch 16, vocabulary 32, AdamW. Both sides report tokens/s as Σ tokens / Σ time
 * over the timed steps (seqarena: its `tokens_per_s` row; PyTorch: the peer's own), ± the stddev of per-step
 * rates. It prints a Markdown table (one line per pair, then the median ratio per architecture) with the
 * machine, the load average before and after, the git commit and the commands, and writes every figure to
 * --out as JSON when given. Needs a quiet machine to mean anything: the load average is printed so a
 * reader can judge.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '3' },
    archs: { type: 'string', default: 'transformer,lstm,mamba' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string' },
  },
});
const pairs = Number(values.pairs);
const threads = Number(values.threads);
const archs = values.archs!.split(',').map((a) => a.trim()).filter(Boolean);
if (!Number.isInteger(pairs) || pairs < 1) throw new Error(`--pairs ${values.pairs}: give a whole number ≥ 1`);
if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads ${values.threads}: give a whole number ≥ 1`);
for (const a of archs) if (!['transformer', 'lstm', 'mamba'].includes(a)) throw new Error(`--archs: '${a}' has no PyTorch peer; choose from transformer, lstm, mamba`);

/** Mamba's PyTorch peer is about 10× slower a step; fewer steps keep its pair short. */
const peerSteps = (arch: string) => (arch === 'mamba' ? 6 : 20);
const seqarenaArgs = (arch: string, out: string) => [
  'bin/seqarena.js', 'run', '--arch', arch, '--preset', 'micro', '--task', 'induction-heads', '--task-param', 'vocab_size=32',
  '--task-param', 'eval_multipliers=[]', '--seq-len', '256', '--batch-size', '16', '--steps', '20', '--threads', String(threads), '--out', out,
];
const peerArgs = (arch: string) => ['scripts/peer-pytorch.py', '--arch', arch, '--steps', String(peerSteps(arch)), '--decode', '0', '--threads', String(threads), '--json'];

interface Figure { tokensPerS: number; std: number; n: number }
interface Pair { arch: string; pair: number; seqarena: Figure; pytorch: Figure; ratio: number }

function runSeqarena(arch: string): Figure {
  const dir = mkdtempSync(join(tmpdir(), 'seqarena-peer-'));
  try {
    const r = spawnSync(process.execPath, seqarenaArgs(arch, dir), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`seqarena run --arch ${arch} exited ${r.status}:\n${r.stderr || r.stdout}`);
    const rows = readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const row = rows.find((x) => x.metric === 'tokens_per_s' && x.phase === 'train' && x.status === 'ok');
    if (!row) throw new Error(`seqarena run --arch ${arch} wrote no ok train tokens_per_s row in ${dir}`);
    return { tokensPerS: row.value, std: row.stddev ?? 0, n: row.n };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runPeer(arch: string): Figure {
  const r = spawnSync('/usr/bin/python3', peerArgs(arch), { encoding: 'utf8' });
  if (r.error || r.status === null) throw new Error(`/usr/bin/python3 did not run (${r.error?.message}); install Debian's python3-torch libopenblas0-pthread`);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(line);
  } catch {
    throw new Error(`scripts/peer-pytorch.py --arch ${arch} printed no JSON (exit ${r.status}); is python3-torch installed?\n${r.stderr}`);
  }
  if (j.error) throw new Error(`scripts/peer-pytorch.py --arch ${arch} failed: ${j.error}`);
  return { tokensPerS: j.train_tokens_per_s as number, std: j.train_tokens_per_s_std as number, n: j.n as number };
}

/** An argument as a shell would need it typed. */
const shell = (a: string) => (/[\[\]\s*?]/.test(a) ? `'${a}'` : a);
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const git = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const torch = spawnSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout?.trim() || 'not installed';
const loadBefore = loadavg()[0];

const results: Pair[] = [];
for (const arch of archs) {
  for (let p = 1; p <= pairs; p++) {
    const seqarena = runSeqarena(arch);
    const pytorch = runPeer(arch);
    const pair = { arch, pair: p, seqarena, pytorch, ratio: seqarena.tokensPerS / pytorch.tokensPerS };
    results.push(pair);
    process.stderr.write(`${arch} pair ${p}: seqarena ${fmt(seqarena.tokensPerS)}, PyTorch ${fmt(pytorch.tokensPerS)} tokens/s, ${pair.ratio.toFixed(2)}×\n`);
  }
}
const loadAfter = loadavg()[0];

const lines = [
  `| model | pair | seqarena, ${threads} threads (tokens/s) | PyTorch ${torch}, ${threads} threads (tokens/s) | ratio |`,
  '|---|---:|---:|---:|---:|',
  ...results.map((r) => `| ${r.arch} | ${r.pair} | ${fmt(r.seqarena.tokensPerS)} ± ${fmt(r.seqarena.std)} (n=${r.seqarena.n}) | ${fmt(r.pytorch.tokensPerS)} ± ${fmt(r.pytorch.std)} (n=${r.pytorch.n}) | ${r.ratio.toFixed(2)}× |`),
  '',
  '| model | median ratio over pairs | range |',
  '|---|---:|---:|',
  ...archs.map((a) => {
    const rs = results.filter((r) => r.arch === a).map((r) => r.ratio);
    return `| ${a} | ${median(rs).toFixed(2)}× (n=${rs.length}) | ${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}× |`;
  }),
  '',
  `Machine: ${cpus()[0]?.model.trim()} (${cpus().length} cores), load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after; git ${git}; ${new Date().toISOString().slice(0, 10)}.`,
  `seqarena: \`npx seqarena ${seqarenaArgs('ARCH', 'DIR').slice(1).map(shell).join(' ')}\``,
  `PyTorch: \`/usr/bin/python3 ${peerArgs('ARCH').join(' ')}\` (mamba: --steps ${peerSteps('mamba')}; mamba_simple's layer with a log-depth parallel scan)`,
];
console.log(lines.join('\n'));
if (values.out) writeFileSync(values.out, JSON.stringify({ git, torch, threads, loadBefore, loadAfter, results }, null, 2) + '\n');
