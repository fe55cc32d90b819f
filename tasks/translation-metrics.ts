/**
 * Translation metrics on detokenised text, computed as sacreBLEU (Post 2018) computes its defaults, so
 * our figures can be compared with published ones:
 *
 * - BLEU (Papineni et al. 2002): corpus-level, n-grams 1..4 of the 13a (mteval-v13a) tokenisation, each
 *   hypothesis n-gram count clipped by its largest count in any reference; brevity penalty against the
 *   sum of the reference lengths closest to each hypothesis length (the shorter on a tie); 'exp'
 *   smoothing: the k-th order whose matches are zero gets precision 1 / (2^k · total). No match at all → 0.
 * - chrF (Popović 2015): character n-grams 1..6 of the text without whitespace, β = 2. Per sentence the
 *   reference with the best chrF is kept; the kept statistics are summed over the corpus; precision and
 *   recall are averaged over the orders both sides have n-grams of, then combined as F_β.
 *
 * Both take `refs[r][i]`: reference r of sentence i (one array per reference stream, as sacreBLEU does).
 * Empty references are skipped, as sacreBLEU skips them; a sentence needs at least one.
 */
import type { SliceLabels, TaskMetric } from './types.ts';

const MAX_NGRAM = 4;
export const CHRF_CHAR_ORDER = 6;
export const CHRF_BETA = 2;

// Python's str.split() whitespace, which sacreBLEU splits on (JavaScript's \s lacks \x1c-\x1f and \x85).
const PY_WHITESPACE = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;
const splitWords = (text: string): string[] => text.split(PY_WHITESPACE).filter((w) => w.length > 0);

/**
 * The 13a tokenisation: `"Hello, world."` → `"Hello , world ."`. Punctuation and symbols are split off,
 * except a period or comma between digits (`3.5`, `1,000`); a dash after a digit is split off.
 */
export function tokenize13a(line: string): string {
  let text = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (text.includes('&')) {
    text = text.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  text = ` ${text} `
    .replace(/([{-~[-` -&(-+:-@/])/gu, ' $1 ')
    .replace(/([^0-9])([.,])/gu, '$1 $2 ')
    .replace(/([.,])([^0-9])/gu, ' $1 $2')
    .replace(/([0-9])(-)/gu, '$1 $2 ');
  return splitWords(text).join(' ');
}

/** Counts of the word n-grams of orders 1..maxOrder, keyed by the n-gram's words joined with a space. */
function wordNgrams(words: readonly string[], maxOrder: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = 1; n <= maxOrder; n++) {
    for (let i = 0; i + n <= words.length; i++) {
      const key = words.slice(i, i + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

function checkStreams(what: string, hyps: readonly string[], refs: readonly (readonly string[])[]): void {
  if (refs.length === 0) throw new RangeError(`${what}: no reference stream; give refs as [stream][sentence]`);
  refs.forEach((stream, r) => {
    if (stream.length !== hyps.length) {
      throw new RangeError(`${what}: reference stream ${r} has ${stream.length} sentences, the hypotheses ${hyps.length}; give one reference per hypothesis in every stream`);
    }
  });
}

/** The non-empty references of sentence i. */
function referencesOf(what: string, refs: readonly (readonly string[])[], i: number): string[] {
  const found = refs.map((stream) => stream[i]).filter((ref) => ref !== '');
  if (found.length === 0) throw new RangeError(`${what}: sentence ${i} has only empty references; give at least one non-empty reference`);
  return found;
}

export interface BleuScore {
  /** BLEU, 0–100. */
  score: number;
  /** Smoothed n-gram precisions, orders 1..4, in percent (as sacreBLEU prints them). */
  precisions: number[];
  /** Brevity penalty. */
  bp: number;
  /** Hypothesis tokens (13a), summed over sentences. */
  sysLen: number;
  /** Closest reference length, summed over sentences. */
  refLen: number;
  /** Clipped n-gram matches per order. */
  counts: number[];
  /** Hypothesis n-grams per order. */
  totals: number[];
}

export function bleu(hyps: readonly string[], refs: readonly (readonly string[])[]): BleuScore {
  checkStreams('bleu', hyps, refs);
  const counts = new Array<number>(MAX_NGRAM).fill(0);
  const totals = new Array<number>(MAX_NGRAM).fill(0);
  let sysLen = 0;
  let refLen = 0;

  hyps.forEach((hyp, i) => {
    const words = splitWords(tokenize13a(hyp.trimEnd()));
    // The largest count of each n-gram in any one reference clips the hypothesis count.
    const clip = new Map<string, number>();
    let closest = -1;
    for (const ref of referencesOf('bleu', refs, i)) {
      const refWords = splitWords(tokenize13a(ref.trimEnd()));
      const diff = Math.abs(words.length - refWords.length);
      const closestDiff = Math.abs(words.length - closest);
      if (closest < 0 || diff < closestDiff || (diff === closestDiff && refWords.length < closest)) closest = refWords.length;
      for (const [ngram, count] of wordNgrams(refWords, MAX_NGRAM)) clip.set(ngram, Math.max(clip.get(ngram) ?? 0, count));
    }
    sysLen += words.length;
    refLen += closest;
    for (const [ngram, count] of wordNgrams(words, MAX_NGRAM)) {
      const order = ngram.split(' ').length - 1;
      totals[order] += count;
      counts[order] += Math.min(count, clip.get(ngram) ?? 0);
    }
  });

  const bp = sysLen >= refLen ? 1 : sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
  const precisions = new Array<number>(MAX_NGRAM).fill(0);
  if (counts.every((c) => c === 0)) return { score: 0, precisions, bp, sysLen, refLen, counts, totals };

  let smoothing = 1;
  for (let n = 0; n < MAX_NGRAM && totals[n] > 0; n++) {
    if (counts[n] > 0) {
      precisions[n] = (100 * counts[n]) / totals[n];
    } else {
      smoothing *= 2;
      precisions[n] = 100 / (smoothing * totals[n]);
    }
  }
  // An order without hypothesis n-grams keeps precision 0, and BLEU is 0 (sacreBLEU logs 0 as -9999999999).
  const logMean = precisions.reduce((sum, p) => sum + (p > 0 ? Math.log(p) : -9999999999), 0) / MAX_NGRAM;
  return { score: bp * Math.exp(logMean), precisions, bp, sysLen, refLen, counts, totals };
}

/**
 * `x` with `digits` decimals as Python's format() writes it, so our lines match sacreBLEU's: the exact
 * binary value rounded, an exact tie to the even digit (toFixed breaks ties upward: 6.25 → "6.3", Python "6.2").
 */
function pyFixed(x: number, digits: number): string {
  const rounded = x.toFixed(digits);
  const exact = x.toFixed(100);
  const cut = exact.indexOf('.') + (digits > 0 ? digits + 1 : 0);
  if (!/^\.?50*$/.test(exact.slice(cut))) return rounded;
  const truncated = exact.slice(0, cut);
  return Number(truncated[truncated.length - 1]) % 2 === 0 ? truncated : rounded;
}

/** `BLEU = 27.30 60.0/33.3/20.0/12.5 (BP = 1.000 ratio = 1.000 hyp_len = 10 ref_len = 10)`, sacreBLEU's line. */
export function formatBleu(b: BleuScore): string {
  const ratio = b.refLen > 0 ? b.sysLen / b.refLen : 0;
  return `BLEU = ${pyFixed(b.score, 2)} ${b.precisions.map((p) => pyFixed(p, 1)).join('/')} (BP = ${pyFixed(b.bp, 3)} ratio = ${pyFixed(ratio, 3)} hyp_len = ${b.sysLen} ref_len = ${b.refLen})`;
}

/** Counts of the character n-grams of orders 1..CHRF_CHAR_ORDER (code points, whitespace removed); index n-1 = order n. */
function charNgrams(text: string): Map<string, number>[] {
  const chars = Array.from(splitWords(text).join(''));
  return Array.from({ length: CHRF_CHAR_ORDER }, (_, i) => {
    const counts = new Map<string, number>();
    for (let j = 0; j + i + 1 <= chars.length; j++) {
      const key = chars.slice(j, j + i + 1).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  });
}

/** [hyp n-grams, ref n-grams, matches] per order, flattened. */
function chrfStatistics(hyp: Map<string, number>[], ref: Map<string, number>[]): number[] {
  return hyp.flatMap((h, i) => {
    const r = ref[i];
    let hypCount = 0;
    let matches = 0;
    for (const [ngram, count] of h) {
      hypCount += count;
      matches += Math.min(count, r.get(ngram) ?? 0);
    }
    let refCount = 0;
    for (const count of r.values()) refCount += count;
    // sacreBLEU counts no hypothesis n-grams of an order the reference has none of.
    return [refCount > 0 ? hypCount : 0, refCount, matches];
  });
}

function chrfFromStatistics(stats: readonly number[]): number {
  let precision = 0;
  let recall = 0;
  let orders = 0;
  for (let i = 0; i < CHRF_CHAR_ORDER; i++) {
    const [hypCount, refCount, matches] = stats.slice(3 * i, 3 * i + 3);
    if (hypCount > 0 && refCount > 0) {
      precision += matches / hypCount;
      recall += matches / refCount;
      orders++;
    }
  }
  if (orders === 0) return 0;
  precision /= orders;
  recall /= orders;
  if (precision + recall === 0) return 0;
  const b2 = CHRF_BETA * CHRF_BETA;
  return (100 * (1 + b2) * precision * recall) / (b2 * precision + recall);
}

export interface ChrfScore {
  /** chrF, 0–100. */
  score: number;
  /** [hyp n-grams, ref n-grams, matches] for orders 1..6, summed over the corpus. */
  statistics: number[];
}

export function chrf(hyps: readonly string[], refs: readonly (readonly string[])[]): ChrfScore {
  checkStreams('chrf', hyps, refs);
  const statistics = new Array<number>(3 * CHRF_CHAR_ORDER).fill(0);
  hyps.forEach((hyp, i) => {
    const hypNgrams = charNgrams(hyp);
    let best: number[] = [];
    let bestScore = -1;
    for (const ref of referencesOf('chrf', refs, i)) {
      const stats = chrfStatistics(hypNgrams, charNgrams(ref));
      const score = chrfFromStatistics(stats);
      if (score > bestScore) {
        best = stats;
        bestScore = score;
      }
    }
    best.forEach((value, j) => (statistics[j] += value));
  });
  return { score: chrfFromStatistics(statistics), statistics };
}

/** `chrF2 = 45.12`, sacreBLEU's line. */
export function formatChrf(c: ChrfScore): string {
  return `chrF${CHRF_BETA} = ${pyFixed(c.score, 2)}`;
}

/**
 * Exact match (token ids, one reference), BLEU and chrF (detokenised text, `refTexts[r][i]`) of a
 * split's predictions, as task metric rows. Given the examples' slice labels, exact match is also
 * reported per `key=value` (SCAN's `action_len=24`, en-fr's `clauses=3`), sorted by key then value.
 */
export function pairMetrics(
  hypTexts: readonly string[],
  refTexts: readonly (readonly string[])[],
  hypTokens: readonly (readonly number[])[],
  refTokens: readonly (readonly number[])[],
  slices?: readonly (SliceLabels | undefined)[],
): TaskMetric[] {
  const n = hypTexts.length;
  if (n === 0) throw new RangeError('pairMetrics: no sentences to score');
  if (hypTokens.length !== n || refTokens.length !== n || (slices && slices.length !== n)) {
    throw new RangeError(
      `pairMetrics: ${n} hypothesis texts, ${hypTokens.length} hypothesis token rows, ${refTokens.length} reference token rows${slices ? `, ${slices.length} slice labels` : ''}; give one of each per sentence`,
    );
  }
  const row = (metric: string, unit: string, value: number, count: number, slice: string | null): TaskMetric => ({ metric, unit, direction: 'bigger', value, n: count, slice });
  const exact = new Map<string | null, { right: number; total: number }>([[null, { right: 0, total: 0 }]]);
  hypTokens.forEach((hyp, i) => {
    const ref = refTokens[i];
    const right = hyp.length === ref.length && hyp.every((token, j) => token === ref[j]);
    const labels = Object.entries(slices?.[i] ?? {}).map(([k, v]) => `${k}=${v}`);
    for (const slice of [null, ...labels]) {
      const tally = exact.get(slice) ?? { right: 0, total: 0 };
      tally.total++;
      if (right) tally.right++;
      exact.set(slice, tally);
    }
  });
  const all = exact.get(null)!;
  const sliceRows = [...exact.entries()]
    .filter((entry): entry is [string, { right: number; total: number }] => entry[0] !== null)
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([slice, t]) => row('exact_match', 'fraction', t.right / t.total, t.total, slice));
  return [
    row('exact_match', 'fraction', all.right / all.total, n, null),
    row('bleu', 'BLEU', bleu(hypTexts, refTexts).score, n, null),
    row('chrf', 'chrF', chrf(hypTexts, refTexts).score, n, null),
    ...sliceRows,
  ];
}
