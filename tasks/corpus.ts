/**
 * corpus: a parallel corpus read from a tab-separated file, one pair a line, `source<TAB>target`, extra
 * columns ignored: the format of the Tatoeba / Anki (manythings.org) exports, whose third column is the
 * attribution. The default, `path: 'sample'`, is the small English → French sample shipped beside this
 * task, tasks/data/sample-en-fr.tsv (written for this project); give `path` for a real corpus.
 *
 * - Tokenisation (tasks/vocabulary.ts): `word` (lower case, punctuation split), `char` (code points,
 *   case kept) or `subword` (BPE with `bpe_merges` merges learnt on the corpus' words).
 * - The vocabulary is built from the whole file (it cannot depend on the split seed), so no split has
 *   unknown tokens.
 * - Pairs longer than `max_len` tokens (source + target + 2 specials) are dropped, then the pairs are
 *   split by seed into train/valid/test fractions. Pairs with the same source sentence go to the same
 *   split, so a test source is never seen in training with another translation.
 * - BLEU and chrF read the detokenised text (lower case with `word` and `subword`).
 *
 * A malformed file throws CorpusFormatError naming the file, the line and the fix:
 *   data/fra.tsv:12: missing tab; each line is `source<TAB>target`
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { deriveSeed, rng } from '../util/rng.ts';
import type { PairExample, Split, Task } from './types.ts';
import {
  Bpe,
  buildVocabulary,
  charDetokenize,
  charTokenize,
  TOKENIZATIONS,
  wordDetokenize,
  wordTokenize,
  type Vocabulary,
} from './vocabulary.ts';

export const SAMPLE_CORPUS = fileURLToPath(new URL('./data/sample-en-fr.tsv', import.meta.url));

/** A corpus file that cannot be read as `source<TAB>target` lines; the message names file and line. */
export class CorpusFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorpusFormatError';
  }
}

export interface SentencePair {
  source: string;
  target: string;
  /** 1-based line number in the file. */
  line: number;
}

/** The first line that is not valid UTF-8, and the byte offset of the bad sequence within the file. */
function findInvalidUtf8(bytes: Uint8Array): { line: number; offset: number } {
  const strict = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    try {
      strict.decode(bytes.subarray(start, end));
    } catch {
      return { line, offset: start };
    }
    start = end + 1;
  }
  return { line: 1, offset: 0 };
}

/** Read `path` as `source<TAB>target` lines; empty lines are skipped. */
export function readCorpus(path: string): SentencePair[] {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new CorpusFormatError(`${path}: cannot read the corpus file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give path= a tab-separated file`);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const line = bytes.subarray(0, nul).filter((b) => b === 0x0a).length + 1;
    throw new CorpusFormatError(`${path}:${line}: binary data (a NUL byte at byte ${nul}); a corpus is a UTF-8 text file of \`source<TAB>target\` lines`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const { line, offset } = findInvalidUtf8(bytes);
    throw new CorpusFormatError(`${path}:${line}: invalid UTF-8 (in the line starting at byte ${offset}); save the file as UTF-8`);
  }
  const pairs: SentencePair[] = [];
  text.split('\n').forEach((raw, i) => {
    const content = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (content === '') return;
    const where = `${path}:${i + 1}`;
    const [source, target] = content.split('\t');
    if (target === undefined) throw new CorpusFormatError(`${where}: missing tab; each line is \`source<TAB>target\` (extra columns are ignored)`);
    if (source.trim() === '') throw new CorpusFormatError(`${where}: empty source sentence (before the first tab)`);
    if (target.trim() === '') throw new CorpusFormatError(`${where}: empty target sentence (after the first tab)`);
    pairs.push({ source: source.trim(), target: target.trim(), line: i + 1 });
  });
  if (pairs.length === 0) throw new CorpusFormatError(`${path}: empty file; expected lines \`source<TAB>target\``);
  return pairs;
}

const params = z
  .object({
    path: z.string().min(1).default('sample').describe("tab-separated corpus file, or 'sample' for the shipped tasks/data/sample-en-fr.tsv"),
    tokenization: z.enum(TOKENIZATIONS).default('word').describe('word | char | subword (BPE)'),
    bpe_merges: z.number().int().min(0).default(2000).describe('BPE merges learnt (subword tokenisation only)'),
    max_len: z.number().int().min(4).default(128).describe('longest pair kept, in tokens: source + target + 2 specials'),
    train_fraction: z.number().min(0).max(1).default(0.8).describe('fraction of the pairs in train'),
    valid_fraction: z.number().min(0).max(1).default(0.1).describe('fraction of the pairs in valid'),
    test_fraction: z.number().min(0).max(1).default(0.1).describe('fraction of the pairs in test (fractions may sum to less than 1 to subsample)'),
  })
  .refine((p) => p.train_fraction + p.valid_fraction + p.test_fraction <= 1 + 1e-9, {
    message: 'train_fraction + valid_fraction + test_fraction must be at most 1',
    path: ['train_fraction'],
  });
type Params = z.infer<typeof params>;

interface Prepared {
  vocabulary: Vocabulary;
  detokenize: (tokens: string[]) => string;
  /** Token ids of each kept pair. */
  encoded: { source: number[]; target: number[]; pair: SentencePair }[];
}

const prepareCache = new Map<string, Prepared>();

/** The fewest pairs a split may hold: fewer measure nothing (the shipped sample's test split holds 5). */
export const MIN_SPLIT_PAIRS = 4;

/** Read, tokenise, build the vocabulary and drop long pairs: everything that does not depend on the seed. */
function prepare(p: Params): Prepared {
  const path = p.path === 'sample' ? SAMPLE_CORPUS : resolve(p.path);
  const key = JSON.stringify([path, p.tokenization, p.tokenization === 'subword' ? p.bpe_merges : 0, p.max_len]);
  const cached = prepareCache.get(key);
  if (cached) return cached;

  const pairs = readCorpus(path);
  let tokenize: (text: string) => string[];
  let detokenize: (tokens: string[]) => string;
  if (p.tokenization === 'char') {
    tokenize = charTokenize;
    detokenize = charDetokenize;
  } else if (p.tokenization === 'word') {
    tokenize = wordTokenize;
    detokenize = wordDetokenize;
  } else {
    const bpe = Bpe.train(pairs.flatMap((pair) => [...wordTokenize(pair.source), ...wordTokenize(pair.target)]), p.bpe_merges);
    tokenize = (text) => bpe.tokenize(text);
    detokenize = (tokens) => bpe.detokenize(tokens);
  }
  const tokenized = pairs.map((pair) => ({ pair, source: tokenize(pair.source), target: tokenize(pair.target) }));
  const vocabulary = buildVocabulary(tokenized.flatMap((t) => [t.source, t.target]));
  const encoded = tokenized
    .filter((t) => t.source.length + t.target.length + 2 <= p.max_len)
    .map((t) => ({ pair: t.pair, source: vocabulary.encode(t.source), target: vocabulary.encode(t.target) }));
  if (encoded.length === 0) {
    const shortest = Math.min(...tokenized.map((t) => t.source.length + t.target.length + 2));
    throw new RangeError(`corpus: no pair of ${path} fits max_len ${p.max_len} (the shortest has ${shortest} tokens); raise max_len`);
  }
  // The splits a run is measured on; a small train split still trains.
  for (const split of ['test', 'valid'] as const) {
    const fraction = p[`${split}_fraction`];
    const expected = Math.round(fraction * encoded.length);
    if (fraction > 0 && expected < MIN_SPLIT_PAIRS) {
      throw new CorpusFormatError(
        `${path}: the ${split} split would hold ${expected} of the ${encoded.length} pairs (${split}_fraction ${fraction}); a split needs at least ${MIN_SPLIT_PAIRS} pairs to be measured. Add pairs (at least ${Math.ceil(MIN_SPLIT_PAIRS / fraction)}) or raise ${split}_fraction`,
      );
    }
  }
  const prepared = { vocabulary, detokenize, encoded };
  prepareCache.set(key, prepared);
  return prepared;
}

/** The kept pairs of one split: source sentences shuffled by seed, then cut by the fractions. */
function splitPairs(p: Params, seed: number, split: Split): Prepared['encoded'] {
  const { encoded } = prepare(p);
  const bySource = new Map<string, Prepared['encoded']>();
  for (const item of encoded) {
    const group = bySource.get(item.pair.source) ?? [];
    group.push(item);
    bySource.set(item.pair.source, group);
  }
  const groups = rng(deriveSeed(seed, 'corpus-split')).shuffle([...bySource.values()]);
  const cuts = { train: p.train_fraction, valid: p.valid_fraction, test: p.test_fraction };
  // Cut by pairs, not groups: a split takes whole groups until it holds its fraction of the pairs.
  const bounds: Record<Split, [number, number]> = { train: [0, 0], valid: [0, 0], test: [0, 0] };
  let next = 0;
  let taken = 0;
  let goal = 0;
  for (const s of ['train', 'valid', 'test'] as const) {
    goal += cuts[s] * encoded.length;
    const start = next;
    while (next < groups.length && taken + groups[next].length / 2 <= goal) taken += groups[next++].length;
    bounds[s] = [start, next];
  }
  return groups.slice(...bounds[split]).flat();
}

export const corpus = {
  name: 'corpus',
  kind: 'translation',
  form: 'pair',
  description: 'A parallel corpus from a source<TAB>target file (Tatoeba/Anki format); word, char or BPE tokens; BLEU and chrF',
  params,
  finite: true,
  vocab: (p: Params) => {
    const { vocabulary } = prepare(p);
    return { size: vocabulary.size, tokens: [...vocabulary.tokens], pad: 0 };
  },
  generate: (p: Params, seed: number, split: Split): PairExample[] =>
    splitPairs(p, seed, split).map(({ source, target }) => ({ form: 'pair', source, target })),
  maxLen: (p: Params) => Math.max(...prepare(p).encoded.map((e) => e.source.length + e.target.length)) + 2,
  detokenize: (p: Params, tokens: number[]) => {
    const { vocabulary, detokenize } = prepare(p);
    return detokenize(vocabulary.decode(tokens));
  },
  /** The split's original lines, `source<TAB>target`: the corpus' own format, readable again as a corpus. */
  export: (p: Params, seed: number, split: Split) => splitPairs(p, seed, split).map(({ pair }) => `${pair.source}\t${pair.target}`),
} satisfies Task<typeof params>;
