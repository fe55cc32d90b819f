/** The en-fr grammar, the TSV corpus task and its errors, and the tokenisers and vocabularies they use. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpus, CorpusFormatError, readCorpus, SAMPLE_CORPUS } from '../tasks/corpus.ts';
import { enFr, EN_FR_VOCABULARY, NOUNS, renderNounPhrase, renderSentence, type NounPhrase } from '../tasks/en-fr.ts';
import { SPECIAL_TOKENS, type Split } from '../tasks/types.ts';
import { Bpe, buildVocabulary, charTokenize, wordDetokenize, wordTokenize } from '../tasks/vocabulary.ts';

const SPLITS: Split[] = ['train', 'valid', 'test'];

/* ---- tokenisers and vocabularies ---- */

test('word tokens: lower case, punctuation split, elision kept with its apostrophe; detokenise undoes it', () => {
  assert.deepEqual(wordTokenize("L’eau est-elle froide ? Il coûte 3.50 €."), ["l'", 'eau', 'est-elle', 'froide', '?', 'il', 'coûte', '3.50', '€', '.']);
  assert.equal(wordDetokenize(wordTokenize("J'aime les fraises, (vraiment) !")), "j'aime les fraises, (vraiment)!");
  assert.deepEqual(charTokenize('Oui  !\n'), ['O', 'u', 'i', ' ', '!']);
});

test('buildVocabulary: specials first, then by frequency, ties in code-point order; decode drops specials', () => {
  const v = buildVocabulary([['b', 'a'], ['a', 'c']]);
  assert.deepEqual(v.tokens, [...SPECIAL_TOKENS, 'a', 'b', 'c']);
  assert.deepEqual(v.encode(['c', 'a']), [6, 4]);
  assert.deepEqual(v.decode([1, 6, 4, 2, 0]), ['c', 'a']);
  assert.throws(() => v.encode(['z']), /token 'z' is not in the vocabulary/);
});

test('BPE learns the most frequent pairs first and round-trips text', () => {
  // pairs of "low low low lower": (l,o) ×4, (o,w</w>) ×3, (o,w) ×1, (w,e) ×1, (e,r</w>) ×1
  const bpe = Bpe.train(['low', 'low', 'low', 'lower'], 10);
  assert.deepEqual(bpe.merges.slice(0, 2), [['l', 'o'], ['lo', 'w</w>']]);
  assert.deepEqual(bpe.segment('low'), ['low</w>']);
  assert.deepEqual(bpe.segment('lower'), ['lo', 'w', 'e', 'r</w>']);
  // no pair of the remaining ones occurs twice, so training stopped early
  assert.equal(bpe.merges.length, 2);
  const text = "la fraise, c'est bon.";
  assert.equal(bpe.detokenize(bpe.tokenize(text)), text);
});

/* ---- en-fr ---- */

const np = (noun: string, extra: Partial<NounPhrase> = {}): NounPhrase => ({ noun, number: 'sg', article: 'the', ...extra });
const both = (r: { en: string[]; fr: string[] }) => [r.en.join(' '), r.fr.join(' ')];

test('en-fr: lexicon, agreement and adjective order', () => {
  assert.equal(NOUNS.strawberry.fr[0], 'fraise');
  assert.deepEqual(both(renderNounPhrase(np('strawberry'))), ['the strawberry', 'la fraise']);
  assert.deepEqual(both(renderNounPhrase(np('strawberry', { adjective: 'red' }))), ['the red strawberry', 'la fraise rouge']);
  assert.deepEqual(both(renderNounPhrase(np('strawberry', { number: 'pl', adjective: 'green' }))), ['the green strawberries', 'les fraises vertes']);
  assert.deepEqual(both(renderNounPhrase(np('cat', { article: 'a', adjective: 'small' }))), ['a small cat', 'un petit chat']);
  assert.deepEqual(both(renderNounPhrase(np('apple', { article: 'a', adjective: 'old' }))), ['an old apple', 'une vieille pomme']);
  assert.deepEqual(both(renderNounPhrase(np('horse', { article: 'a', number: 'pl', adjective: 'white' }))), ['some white horses', 'des chevaux blancs']);
  assert.deepEqual(both(renderNounPhrase(np('horse', { article: 'a', number: 'pl', adjective: 'beautiful' }))), ['some beautiful horses', 'de beaux chevaux']);
  assert.deepEqual(both(renderNounPhrase(np('mouse', { number: 'pl', adjective: 'happy' }))), ['the happy mice', 'les souris heureuses']);
});

test('en-fr: relative clauses, with the verb agreeing across them', () => {
  const cat = np('cat', { relative: { kind: 'subject', verb: 'eat', object: np('strawberry', { adjective: 'red' }) } });
  assert.deepEqual(both(renderNounPhrase(cat)), ['the cat that eats the red strawberry', 'le chat qui mange la fraise rouge']);
  assert.deepEqual(both(renderSentence({ subject: cat, verb: 'sleep' })), ['the cat that eats the red strawberry sleeps .', 'le chat qui mange la fraise rouge dort .']);
  // plural head, singular inner subject: "que le chien voit" but "suivent"
  const cats = np('cat', { number: 'pl', relative: { kind: 'object', subject: np('dog'), verb: 'see' } });
  assert.deepEqual(both(renderSentence({ subject: cats, verb: 'follow', object: np('girl', { article: 'a' }) })), [
    'the cats that the dog sees follow a girl .',
    'les chats que le chien voit suivent une fille .',
  ]);
  assert.throws(() => renderSentence({ subject: np('cat'), verb: 'sleep', object: np('dog') }), /verb 'sleep' takes no object/);
});

test('en-fr task: sizes, clauses, disjoint and deterministic splits, maxLen bound, detokenised export', () => {
  const p = enFr.params.parse({ min_clauses: 2, max_clauses: 3, train_size: 300, valid_size: 40, test_size: 60 });
  const splits = Object.fromEntries(SPLITS.map((s) => [s, enFr.generate(p, 7, s)]));
  assert.deepEqual(SPLITS.map((s) => splits[s].length), [300, 40, 60]);
  const sources = SPLITS.flatMap((s) => splits[s].map((e) => e.source.join(' ')));
  assert.equal(new Set(sources).size, 400);
  const all = SPLITS.flatMap((s) => splits[s]);
  assert.ok(all.every((e) => e.slice?.clauses === 2 || e.slice?.clauses === 3));
  assert.ok(all.every((e) => e.source.length + e.target.length + 2 <= enFr.maxLen(p)));
  // clauses show in the text: one "that"/"qui|que" per relative clause
  for (const e of all) {
    const en = enFr.detokenize(p, e.source).split(' ');
    const fr = enFr.detokenize(p, e.target).split(' ');
    assert.equal(en.filter((w) => w === 'that').length, Number(e.slice?.clauses) - 1);
    assert.equal(fr.filter((w) => w === 'qui' || w === 'que').length, Number(e.slice?.clauses) - 1);
  }
  assert.ok(all.every((e) => [...e.source, ...e.target].every((id) => id >= 4 && id < EN_FR_VOCABULARY.size)));

  // determinism, a different seed, and a test split that does not depend on train_size
  const again = enFr.params.parse({ ...p });
  assert.deepEqual(enFr.generate(again, 7, 'test'), splits.test);
  assert.notDeepEqual(enFr.generate(p, 8, 'test'), splits.test);
  assert.deepEqual(enFr.generate({ ...p, train_size: 10 }, 7, 'test'), splits.test);

  const [line] = enFr.export(p, 7, 'test');
  const exported = JSON.parse(line);
  assert.equal(exported.source, enFr.detokenize(p, splits.test[0].source));
  assert.match(exported.target, /\.$/);

  // longer sentences to evaluate at
  const [variant] = enFr.evalVariants(p);
  assert.equal(variant.label, 'clauses=4-5');
  assert.ok(enFr.generate(variant.params, 7, 'test').every((e) => Number(e.slice?.clauses) >= 4));
  assert.throws(() => enFr.params.parse({ min_clauses: 3, max_clauses: 2 }), /min_clauses must be ≤ max_clauses/);
});

/* ---- corpus ---- */

test('corpus: the shipped sample, split by seed, sources kept together, word/char/subword round trips', () => {
  const pairs = readCorpus(SAMPLE_CORPUS);
  assert.ok(pairs.length >= 40);
  for (const tokenization of ['word', 'char', 'subword'] as const) {
    const p = corpus.params.parse({ tokenization });
    const splits = Object.fromEntries(SPLITS.map((s) => [s, corpus.generate(p, 1, s)]));
    assert.equal(SPLITS.reduce((n, s) => n + splits[s].length, 0), pairs.length, tokenization);
    assert.equal(splits.test.length, Math.round(pairs.length * 0.1), tokenization);
    assert.deepEqual(corpus.generate(p, 1, 'test'), splits.test);
    assert.deepEqual(corpus.vocab(p).tokens?.slice(0, 4), [...SPECIAL_TOKENS]);
    const longest = Math.max(...SPLITS.flatMap((s) => splits[s].map((e) => e.source.length + e.target.length))) + 2;
    assert.equal(corpus.maxLen(p), longest);
  }
  // the two translations of "I like strawberries." land in the same split
  const p = corpus.params.parse({});
  const strawberries = SPLITS.filter((s) => corpus.export(p, 1, s).some((line) => line.startsWith('I like strawberries.\t')));
  assert.equal(strawberries.length, 1);
  assert.equal(corpus.export(p, 1, strawberries[0]).filter((line) => line.startsWith('I like strawberries.\t')).length, 2);

  // detokenised ids give back the text (lower-cased by word and subword tokens); export lines up with generate
  for (const tokenization of ['word', 'char', 'subword'] as const) {
    const q = corpus.params.parse({ tokenization });
    const examples = corpus.generate(q, 1, 'train');
    corpus.export(q, 1, 'train').forEach((line, i) => {
      const [source, target] = line.split('\t');
      const expect = (text: string) => (tokenization === 'char' ? text : wordDetokenize(wordTokenize(text)));
      assert.equal(corpus.detokenize(q, examples[i].source), expect(source), tokenization);
      assert.equal(corpus.detokenize(q, examples[i].target), expect(target), tokenization);
    });
  }
  assert.equal(wordDetokenize(wordTokenize("J'ai deux sœurs.")), "j'ai deux sœurs.");
});

test('corpus: extra columns ignored, CRLF accepted, max_len filter, fractions checked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seqarena-corpus-'));
  const path = join(dir, 'anki.tsv');
  writeFileSync(path, 'Hi.\tSalut.\tCC-BY 2.0 (France) Attribution: example\r\nRun!\tCours !\r\n\r\nA much longer sentence here.\tUne phrase bien plus longue ici.\r\n');
  assert.deepEqual(readCorpus(path).map((x) => [x.source, x.target, x.line]), [
    ['Hi.', 'Salut.', 1],
    ['Run!', 'Cours !', 2],
    ['A much longer sentence here.', 'Une phrase bien plus longue ici.', 4],
  ]);
  const p = corpus.params.parse({ path, max_len: 8, train_fraction: 1, valid_fraction: 0, test_fraction: 0 });
  assert.equal(corpus.generate(p, 0, 'train').length, 2); // the long pair (13 tokens) is dropped
  assert.equal(corpus.maxLen(p), 6);
  assert.throws(() => corpus.generate({ ...p, max_len: 4 }, 0, 'train'), /no pair of .*anki\.tsv fits max_len 4 \(the shortest has 6 tokens\); raise max_len/);
  assert.throws(() => corpus.params.parse({ train_fraction: 0.9, valid_fraction: 0.1, test_fraction: 0.1 }), /must be at most 1/);
});

test('corpus: malformed files throw CorpusFormatError naming file, line and reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seqarena-corpus-'));
  const cases: [string, string | Uint8Array, RegExp][] = [
    ['no-tab.tsv', 'Hi.\tSalut.\nRun! Cours !\n', /no-tab\.tsv:2: missing tab/],
    ['empty-source.tsv', 'Hi.\tSalut.\nOk.\tD’accord.\n  \tBonjour.\n', /empty-source\.tsv:3: empty source sentence/],
    ['empty-target.tsv', 'Hi.\t \n', /empty-target\.tsv:1: empty target sentence/],
    ['bad-utf8.tsv', new Uint8Array([...Buffer.from('Hi.\tSalut.\nCaf'), 0xc3, 0x28, ...Buffer.from('\tCafé\n')]), /bad-utf8\.tsv:2: invalid UTF-8/],
    ['empty.tsv', '', /empty\.tsv: empty file/],
    ['blank.tsv', '\n\n', /blank\.tsv: empty file/],
  ];
  for (const [name, content, message] of cases) {
    const path = join(dir, name);
    writeFileSync(path, content);
    assert.throws(() => readCorpus(path), (e: Error) => e instanceof CorpusFormatError && message.test(e.message), name);
  }
  assert.throws(() => corpus.vocab(corpus.params.parse({ path: join(dir, 'no-tab.tsv') })), /no-tab\.tsv:2: missing tab/);
  assert.throws(() => readCorpus(join(dir, 'absent.tsv')), (e: Error) => e instanceof CorpusFormatError && /absent\.tsv: cannot read the corpus file \(ENOENT\)/.test(e.message));
});
