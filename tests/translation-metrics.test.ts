/**
 * BLEU, chrF and the `score` command against hand-worked values. Each worked value was also checked
 * against sacreBLEU 2.6.0 (`sacrebleu REF -i HYP -m bleu chrf`), which prints the same lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../harness/errors.ts';
import { bleu, chrf, formatBleu, formatChrf, pairMetrics, tokenize13a } from '../tasks/translation-metrics.ts';
import { assertClose } from './helpers.ts';

test('13a tokenisation splits punctuation but not decimal points, and unescapes entities', () => {
  assert.equal(tokenize13a('Hello, world.'), 'Hello , world .');
  assert.equal(tokenize13a('It costs 3.50 (1,000 in all)!'), 'It costs 3.50 ( 1,000 in all ) !');
  // the apostrophe is not among 13a's split characters
  assert.equal(tokenize13a("l'eau &amp; 5-6"), "l'eau & 5 - 6");
  assert.equal(tokenize13a('  spaced\tout  '), 'spaced out');
});

test('BLEU of an identical sentence is 100', () => {
  const b = bleu(['the cat is on the mat'], [['the cat is on the mat']]);
  assertClose([b.score], [100], 1e-9);
  assert.deepEqual(b.counts, [6, 5, 4, 3]);
  assert.deepEqual(b.totals, [6, 5, 4, 3]);
  assert.equal(b.bp, 1);
});

test('BLEU worked example: clipped counts and exp smoothing of a zero order', () => {
  // hyp: the cat sat on the mat     ref: the cat is on the mat
  // 1-grams: the×2 cat on mat match, sat does not          5/6
  // 2-grams: "the cat" "on the" "the mat" of 5              3/5
  // 3-grams: "on the mat" of 4                               1/4
  // 4-grams: none of 3 → exp smoothing, first zero order: 1/(2·3) = 1/6
  // BLEU = (5/6 · 3/5 · 1/4 · 1/6)^(1/4) = (1/48)^(1/4) = 0.37992…
  const b = bleu(['the cat sat on the mat'], [['the cat is on the mat']]);
  assert.deepEqual(b.counts, [5, 3, 1, 0]);
  assert.deepEqual(b.totals, [6, 5, 4, 3]);
  assertClose(b.precisions, [500 / 6, 60, 25, 100 / 6], 1e-9);
  assertClose([b.score], [100 * (1 / 48) ** 0.25], 1e-9);
  assert.equal(formatBleu(b), 'BLEU = 37.99 83.3/60.0/25.0/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)');
});

test('BLEU exp smoothing halves again for each further zero order', () => {
  // hyp: a b c d     ref: a b x y
  // 1-grams 2/4, 2-grams 1/3, 3-grams 0/2 → 1/(2·2), 4-grams 0/1 → 1/(4·1)
  // BLEU = (1/2 · 1/3 · 1/4 · 1/4)^(1/4) = (1/96)^(1/4) = 0.31947…
  const b = bleu(['a b c d'], [['a b x y']]);
  assertClose(b.precisions, [50, 100 / 3, 25, 25], 1e-9);
  assertClose([b.score], [100 * (1 / 96) ** 0.25], 1e-9);
});

test('BLEU brevity penalty: exp(1 - ref/hyp) when the hypothesis is shorter', () => {
  // hyp: 5 words, all n-grams right; ref: 6 words → BP = exp(1 - 6/5) = 0.81873
  const b = bleu(['the cat is on the'], [['the cat is on the mat']]);
  assertClose([b.bp, b.score], [Math.exp(-0.2), 100 * Math.exp(-0.2)], 1e-12);
  assert.equal(formatBleu(b), 'BLEU = 81.87 100.0/100.0/100.0/100.0 (BP = 0.819 ratio = 0.833 hyp_len = 5 ref_len = 6)');
});

test('BLEU with several references: clip by any reference, closest length (shorter on a tie)', () => {
  // hyp 5 words; reference lengths 4 and 6 are equally close → 4, so no brevity penalty.
  // "the" twice is allowed because the second reference has it twice.
  const b = bleu(['the cat is on the'], [['the cat is here'], ['the cat is on the mat']]);
  assert.equal(b.refLen, 4);
  assert.equal(b.bp, 1);
  assertClose([b.score], [100], 1e-9);
});

test('BLEU is 0 when a hypothesis is too short to have 3-grams, and when nothing matches', () => {
  const short = bleu(['the cat'], [['the cat is on the mat']]);
  assert.deepEqual(short.totals, [2, 1, 0, 0]);
  assert.equal(short.score, 0);
  const none = bleu(['x y z w'], [['a b c d']]);
  assert.deepEqual(none.precisions, [0, 0, 0, 0]);
  assert.equal(none.score, 0);
});

test('BLEU is corpus-level: statistics are summed before the geometric mean', () => {
  const b = bleu(['The cat sat on the mat.', 'Hello world!'], [['The cat is on the mat.', 'Hello, world!']]);
  // 13a: "The cat sat on the mat ." (7) + "Hello world !" (3) = 10; refs 7 + 4 = 11.
  assert.equal(b.sysLen, 10);
  assert.equal(b.refLen, 11);
  assert.deepEqual(b.counts, [9, 5, 2, 1]);
  assert.equal(formatBleu(b), 'BLEU = 42.10 90.0/62.5/33.3/25.0 (BP = 0.905 ratio = 0.909 hyp_len = 10 ref_len = 11)');
});

test('chrF worked examples', () => {
  // abc vs abd: 1-grams P = R = 2/3, 2-grams 1/2, 3-grams 0; 4..6-grams absent.
  // P = R = (2/3 + 1/2 + 0) / 3 = 7/18 → chrF = 38.89
  assertClose([chrf(['abc'], [['abd']]).score], [(100 * 7) / 18], 1e-9);
  // ab vs abc: 1-grams P 1, R 2/3; 2-grams P 1, R 1/2; 3-grams: hypothesis has none, order skipped.
  // P = 1, R = 7/12; F2 = 5PR / (4P + R) = (35/12) / (55/12) = 7/11 → 63.64
  assertClose([chrf(['ab'], [['abc']]).score], [700 / 11], 1e-9);
  // whitespace is removed before counting
  assert.equal(chrf(['a b'], [['ab']]).score, 100);
  // several references: the best one per sentence
  assert.equal(chrf(['abc'], [['xyz'], ['abc']]).score, 100);
  assert.equal(formatChrf(chrf(['abc'], [['abd']])), 'chrF2 = 38.89');
});

test('chrF sums statistics over the corpus, counting no hypothesis n-grams of an order the reference lacks', () => {
  // abc|abd + ab|abc: 1-grams hyp 5 ref 6 match 4; 2-grams 3, 4, 2; 3-grams 1, 2, 0.
  // P = (4/5 + 2/3 + 0)/3 = 22/45, R = (4/6 + 2/4 + 0)/3 = 7/18, F2 = 5PR/(4P + R) = 40.548
  const p = 22 / 45;
  const r = 7 / 18;
  assertClose([chrf(['abc', 'ab'], [['abd', 'abc']]).score], [(100 * 5 * p * r) / (4 * p + r)], 1e-9);
  // abcd|ab + xyzw|xyzw: "ab" has no 3- or 4-grams, so abcd's are not counted there (sacreBLEU 2).
  // 1-grams hyp 8 ref 6 match 6; 2-grams 6, 4, 4; 3-grams 2, 2, 2; 4-grams 1, 1, 1.
  // P = (3/4 + 2/3 + 1 + 1)/4 = 41/48, R = 1 → F2 = 5P / (4P + 1) = 96.698
  const q = 41 / 48;
  assertClose([chrf(['abcd', 'xyzw'], [['ab', 'xyzw']]).score], [(100 * 5 * q) / (4 * q + 1)], 1e-9);
});

test('metrics reject mismatched streams and sentences without a reference', () => {
  assert.throws(() => bleu(['a', 'b'], [['a']]), /reference stream 0 has 1 sentences, the hypotheses 2/);
  assert.throws(() => chrf(['a'], [['']]), /sentence 0 has only empty references/);
  // an empty reference is skipped when another exists
  assertClose([bleu(['a b c d'], [[''], ['a b c d']]).score], [100], 1e-9);
});

test('pairMetrics: exact match on tokens, BLEU and chrF on text', () => {
  const rows = pairMetrics(
    ['le chat dort.', 'la fraise rouge.'],
    [['le chat dort.', 'la fraise est rouge.']],
    [[5, 6, 7], [8, 9]],
    [[5, 6, 7], [8, 10, 9]],
  );
  assert.deepEqual(rows.map((r) => [r.metric, r.unit, r.direction, r.n, r.slice]), [
    ['exact_match', 'fraction', 'bigger', 2, null],
    ['bleu', 'BLEU', 'bigger', 2, null],
    ['chrf', 'chrF', 'bigger', 2, null],
  ]);
  assert.equal(rows[0].value, 0.5);
  assert.equal(rows[1].value, bleu(['le chat dort.', 'la fraise rouge.'], [['le chat dort.', 'la fraise est rouge.']]).score);
  assert.ok(rows[2].value > 0 && rows[2].value < 100);

  // with slice labels: exact match per key=value after the whole-split rows, numeric order
  const sliced = pairMetrics(['a', 'b', 'c'], [['a', 'b', 'c']], [[1], [2], [3]], [[1], [9], [3]], [{ len: 10 }, { len: 2 }, { len: 2 }]);
  assert.deepEqual(sliced.slice(3).map((r) => [r.metric, r.slice, r.value, r.n]), [
    ['exact_match', 'len=2', 0.5, 2],
    ['exact_match', 'len=10', 1, 1],
  ]);
  assert.throws(() => pairMetrics(['a'], [['a']], [[1]], [[1]], []), /0 slice labels/);
});

function scratchFiles(files: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'seqarena-score-'));
  return Object.fromEntries(
    Object.entries(files).map(([name, text]) => {
      writeFileSync(join(dir, name), text);
      return [name, join(dir, name)];
    }),
  );
}

const HYPS = 'The cat sat on the mat.\nHello world!\n';
const REFS = 'The cat is on the mat.\nHello, world!\n';

test('seqarena score (through bin/seqarena.js) prints sacreBLEU lines, and exits 2 naming the file on bad input', async () => {
  const f = scratchFiles({ 'hyp.txt': HYPS, 'ref.txt': REFS, 'short.txt': 'only one line\n' });
  const cli = (...args: string[]) => execa('node', ['bin/seqarena.js', 'score', ...args], { reject: false });
  const [text, mismatch] = await Promise.all([cli('--hyp', f['hyp.txt'], '--ref', f['ref.txt']), cli('--hyp', f['hyp.txt'], '--ref', f['short.txt'])]);

  assert.equal(text.exitCode, 0, text.stderr);
  const chrfLine = formatChrf(chrf(['The cat sat on the mat.', 'Hello world!'], [['The cat is on the mat.', 'Hello, world!']]));
  assert.equal(text.stdout, `BLEU = 42.10 90.0/62.5/33.3/25.0 (BP = 0.905 ratio = 0.909 hyp_len = 10 ref_len = 11)\n${chrfLine}`);

  assert.equal(mismatch.exitCode, 2);
  assert.match(mismatch.stderr, /^seqarena: --ref file '.*short\.txt' has 1 lines but --hyp file '.*hyp\.txt' has 2/);
});

/** Run `score` in a child process (capturing this process's stdout would swallow the test runner's reports). */
async function scoreInChild(...args: string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const { exitCode, stdout, stderr } = await execa(process.execPath, [join(import.meta.dirname, '..', 'bin', 'seqarena.js'), 'score', ...args], { reject: false });
  return { exitCode, stdout: String(stdout), stderr: String(stderr) };
}

/** stdout of a `score` that must succeed. */
async function scoreOk(...args: string[]): Promise<string> {
  const r = await scoreInChild(...args);
  assert.equal(r.exitCode, 0, r.stderr);
  return r.stdout;
}

/** A `score` that must fail as a usage error (exit 2) with `message` on stderr. */
async function scoreUsageError(message: RegExp, ...args: string[]): Promise<void> {
  const r = await scoreInChild(...args);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, message);
}

test('seqarena score --json, several references, and its usage errors', async () => {
  const f = scratchFiles({ 'hyp.txt': HYPS, 'ref.txt': REFS, 'ref2.txt': 'There is a cat on the mat.\nHi world!\n', 'blank.txt': '\n\n' });
  const parsed = JSON.parse(await scoreOk('--hyp', f['hyp.txt'], '--ref', f['ref.txt'], '--json'));
  assert.equal(parsed.sentences, 2);
  assert.deepEqual(parsed.bleu.counts, [9, 5, 2, 1]);
  assert.equal(parsed.bleu.ref_len, 11);
  assertClose([parsed.bleu.score], [42.1], 0.005);

  const two = await scoreOk('--hyp', f['hyp.txt'], '--ref', f['ref.txt'], '--ref', f['ref2.txt']);
  const b = bleu(HYPS.trim().split('\n'), [REFS.trim().split('\n'), ['There is a cat on the mat.', 'Hi world!']]);
  assert.equal(two.split('\n')[0], formatBleu(b));
  assert.equal(b.refLen, 10);

  await scoreUsageError(/cannot read --hyp file '.*absent\.txt': no such file/, '--hyp', f['hyp.txt'].replace('hyp', 'absent'), '--ref', f['ref.txt']);
  await scoreUsageError(/at least one --ref/, '--hyp', f['hyp.txt']);
  await scoreUsageError(/line 1 is empty in every --ref file/, '--hyp', f['hyp.txt'], '--ref', f['blank.txt']);
});
