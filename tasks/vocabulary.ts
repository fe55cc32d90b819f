/**
 * Tokenisers and vocabularies of the translation tasks. Source and target share one vocabulary, whose
 * first ids are SPECIAL_TOKENS (`<pad> <bos> <eos> <sep>`), so a decoder-only model can read
 * `source <sep> target` and an encoder–decoder model can tie its embeddings.
 *
 * - word: NFC, lower case, words split from punctuation; a French elision keeps its apostrophe
 *   (`L'eau est froide.` → `l' eau est froide .`), hyphenated words stay whole (`peux-tu`).
 * - char: NFC code points, case kept, runs of whitespace read as one space.
 * - subword: byte-pair encoding (Sennrich, Haddow & Birch 2016) learnt on word tokens: a word is its
 *   characters, the last marked `</w>`, and the most frequent adjacent pair is merged, again and again
 *   (`fraise` → `f r a i s e</w>` → … → `fraise</w>` once its pairs are frequent enough).
 */
import { SPECIAL_TOKENS } from './types.ts';

export const TOKENIZATIONS = ['word', 'char', 'subword'] as const;
export type Tokenization = (typeof TOKENIZATIONS)[number];

// A number with its decimal point, a word (with inner hyphens, and the apostrophe of an elision), or
// one punctuation mark.
const WORD_PATTERN = /\p{N}+(?:[.,]\p{N}+)+|[\p{L}\p{M}\p{N}]+(?:-[\p{L}\p{M}\p{N}]+)*(?:'(?=[\p{L}\p{N}]))?|[^\s\p{L}\p{M}\p{N}]/gu;
const NO_SPACE_BEFORE = new Set(['.', ',', '!', '?', ';', ':', '%', ')', ']', '}', '…', '»']);
const NO_SPACE_AFTER = new Set(['(', '[', '{', '«', '¿', '¡']);

/** `"L’homme dort."` → `["l'", "homme", "dort", "."]` */
export function wordTokenize(text: string): string[] {
  return text.normalize('NFC').replace(/’/g, "'").toLowerCase().match(WORD_PATTERN) ?? [];
}

/** The text of word tokens: punctuation attached to its word, an elision to the next word. */
export function wordDetokenize(tokens: readonly string[]): string {
  let text = '';
  tokens.forEach((token, i) => {
    const previous = tokens[i - 1];
    const glued = i === 0 || NO_SPACE_BEFORE.has(token) || NO_SPACE_AFTER.has(previous) || (previous.length > 1 && previous.endsWith("'"));
    text += glued ? token : ` ${token}`;
  });
  return text;
}

/** `"Oui !"` → `["O", "u", "i", " ", "!"]` */
export function charTokenize(text: string): string[] {
  return Array.from(text.normalize('NFC').replace(/\s+/gu, ' ').trim());
}

export function charDetokenize(tokens: readonly string[]): string {
  return tokens.join('');
}

/** Token strings and their ids; ids 0..3 are the specials. */
export class Vocabulary {
  readonly tokens: readonly string[];
  private readonly ids: Map<string, number>;

  /** The specials, then `tokens` in the order given (repeats and specials among them are skipped). */
  constructor(tokens: Iterable<string>) {
    const all: string[] = [...SPECIAL_TOKENS];
    const ids = new Map(all.map((t, i) => [t, i]));
    for (const token of tokens) {
      if (ids.has(token)) continue;
      ids.set(token, all.length);
      all.push(token);
    }
    this.tokens = all;
    this.ids = ids;
  }

  get size(): number {
    return this.tokens.length;
  }

  encode(tokens: readonly string[]): number[] {
    return tokens.map((token) => {
      const id = this.ids.get(token);
      if (id === undefined) throw new RangeError(`token '${token}' is not in the vocabulary of ${this.size} tokens; build the vocabulary from every sentence it must encode`);
      return id;
    });
  }

  /** Token strings of ids, specials left out (a model's output may hold `<eos>` or padding). */
  decode(ids: readonly number[]): string[] {
    return ids.filter((id) => id >= SPECIAL_TOKENS.length && id < this.size).map((id) => this.tokens[id]);
  }
}

/** A vocabulary of every token in `sequences`, most frequent first (ties in code-point order), so ids are stable. */
export function buildVocabulary(sequences: Iterable<readonly string[]>): Vocabulary {
  const counts = new Map<string, number>();
  for (const sequence of sequences) for (const token of sequence) counts.set(token, (counts.get(token) ?? 0) + 1);
  const ordered = [...counts.entries()].sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0));
  return new Vocabulary(ordered.map(([token]) => token));
}

export const END_OF_WORD = '</w>';
const pairKey = (a: string, b: string): string => `${a}\u0000${b}`;

/** Byte-pair encoding over words: learnt merges, applied in the order they were learnt. */
export class Bpe {
  readonly merges: readonly (readonly [string, string])[];
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, string[]>();

  constructor(merges: readonly (readonly [string, string])[]) {
    this.merges = merges;
    this.ranks = new Map(merges.map(([a, b], rank) => [pairKey(a, b), rank]));
  }

  /**
   * Learn up to `numMerges` merges from word tokens (repeats count). Stops early when no pair occurs
   * twice. Ties go to the pair first in code-point order, so training is deterministic.
   */
  static train(words: Iterable<string>, numMerges: number): Bpe {
    const frequency = new Map<string, number>();
    for (const word of words) frequency.set(word, (frequency.get(word) ?? 0) + 1);
    const entries = [...frequency.entries()].map(([word, count]) => ({ symbols: initialSymbols(word), count }));

    // Pair counts weighted by word frequency, and which words hold each pair, updated as words merge.
    const pairCounts = new Map<string, number>();
    const pairWords = new Map<string, Set<number>>();
    const addPairs = (index: number, sign: 1 | -1): void => {
      const { symbols, count } = entries[index];
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = pairKey(symbols[i], symbols[i + 1]);
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * count);
        if (sign > 0) {
          const holders = pairWords.get(key) ?? new Set<number>();
          holders.add(index);
          pairWords.set(key, holders);
        }
      }
    };
    entries.forEach((_, index) => addPairs(index, 1));

    const merges: [string, string][] = [];
    while (merges.length < numMerges) {
      let best: string | null = null;
      let bestCount = 1;
      for (const [key, count] of pairCounts) {
        if (count > bestCount || (count === bestCount && best !== null && key < best)) {
          best = key;
          bestCount = count;
        }
      }
      if (best === null) break;
      const [a, b] = best.split('\u0000') as [string, string];
      merges.push([a, b]);
      for (const index of pairWords.get(best) ?? []) {
        addPairs(index, -1);
        entries[index].symbols = mergePair(entries[index].symbols, a, b);
        addPairs(index, 1);
      }
      pairWords.delete(best);
      pairCounts.delete(best);
    }
    return new Bpe(merges);
  }

  /** `"fraises"` → e.g. `["fraise", "s</w>"]`: the merges applied lowest rank first. */
  segment(word: string): string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let symbols = initialSymbols(word);
    for (;;) {
      let bestRank = Infinity;
      let bestIndex = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(pairKey(symbols[i], symbols[i + 1]));
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestIndex = i;
        }
      }
      if (bestIndex < 0) break;
      symbols = mergePair(symbols, symbols[bestIndex], symbols[bestIndex + 1]);
    }
    this.cache.set(word, symbols);
    return symbols;
  }

  /** Word-tokenise, then split each word into its pieces. */
  tokenize(text: string): string[] {
    return wordTokenize(text).flatMap((word) => this.segment(word));
  }

  /** Join pieces back into words (a piece ending in `</w>` ends one), then detokenise the words. */
  detokenize(pieces: readonly string[]): string {
    const words: string[] = [];
    let current = '';
    for (const piece of pieces) {
      if (piece.endsWith(END_OF_WORD)) {
        words.push(current + piece.slice(0, -END_OF_WORD.length));
        current = '';
      } else {
        current += piece;
      }
    }
    if (current) words.push(current);
    return wordDetokenize(words);
  }
}

function initialSymbols(word: string): string[] {
  const chars = Array.from(word);
  chars[chars.length - 1] += END_OF_WORD;
  return chars;
}

/** Every adjacent (a, b) in `symbols` joined into one symbol, left to right. */
function mergePair(symbols: readonly string[], a: string, b: string): string[] {
  const merged: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
      merged.push(a + b);
      i++;
    } else {
      merged.push(symbols[i]);
    }
  }
  return merged;
}
