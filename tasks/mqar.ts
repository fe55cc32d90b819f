/**
 * Multi-query associative recall (Arora, Eyuboglu et al. 2023, "Zoology", §3 and Figure 2) and its
 * MAD variants (Poli et al. 2024, "Mechanistic Design and Scaling of Hybrid Architectures"): fuzzy recall
 * (keys and values of several tokens) and noisy recall (noise tokens among the pairs).
 *
 * Layout, as zoology's `multiquery_ar` lays it out, generalised:
 * - context: num_kv_pairs pairs `key value`, with noise tokens (noisy recall) at random places between pairs;
 * - queries: the rest, cut into slots of key_len + value_len tokens; each key is asked once, in a slot drawn
 *   without replacement with P(slot k) ∝ a·(k+1)^(a-1) (power_a: small a favours early slots, short gaps);
 *   a query slot holds the key, then the value's first value_len-1 tokens (teacher forcing), then a filler;
 *   every other query-region token is a filler drawn uniformly from the whole vocabulary (zoology's
 *   random_non_queries). With one-token keys and values this is zoology's layout exactly.
 * - scored: the position of a query key's last token predicts the value's first token, and each
 *   teacher-forced value token predicts the next one. Other targets are 0 and unscored.
 *
 * Vocabulary (V = vocab_size, N = noise_vocab_size, C = V − N): 0 is never a key or value (and is the
 * pad id; sequences are all seq_len long); keys 1..⌊C/2⌋−1; values ⌊C/2⌋..C−1; noise C..V−1. Keys of one
 * sequence are distinct, and so are values.
 *
 * Slices: `num_kv_pairs=<k>` per sequence; `gap=<bucket>` per answer, the distance from the key in the
 * context to its query (buckets 1-7, 8-31, 32-127, 128-511, 512+).
 *
 * Worked examples (seed 0, split 'train'; `|` ends the context):
 *
 * mqar { vocab_size: 16, seq_len: 16, num_kv_pairs: 2 }: pairs 2→12, 4→9; queries in slots 0 and 1
 *   input   2 12 4 9 | 2  6 4 3 3 7 12 14 12 1 9 11
 *   target  0  0 0 0 | 12 0 9 0 0 0  0  0  0 0 0  0
 *   answer  [4, 6]   gaps 4, 4 (gap=1-7)
 *
 * fuzzy-recall { vocab_size: 16, seq_len: 20, num_kv_pairs: 2, key_len: 2, value_len: 2 }:
 * pairs (4 5)→(12 14), (7 1)→(9 9); slots of 4 tokens, queries in slots 1 and 2
 *   input   4 5 12 14 7 1 9 9 | 5 6 12 6 7 1 9 14 4 5 12 11
 *   target  0 0  0  0 0 0 0 0 | 0 0  0 0 0 9 9  0 0 12 14 0
 *   answer  [13, 14, 17, 18]   gaps 8, 8, 16, 16 (gap=8-31)
 *
 * noisy-recall { vocab_size: 20, seq_len: 16, num_kv_pairs: 2, noise_fraction: 0.5, noise_vocab_size: 4 }:
 * keys 1..7, values 8..15, noise 16..19; pairs 1→14, 3→8 with 4 noise tokens around them
 *   input   1 14 17 19 16 3 8 19 | 1  16 12 4 3 11 11 14
 *   target  0  0  0  0  0 0 0  0 | 14  0  0 0 8  0  0  0
 *   answer  [8, 12]   gaps 8 (gap=8-31), 7 (gap=1-7)
 */
import { z } from 'zod';
import type { Rng } from '../util/rng.ts';
import { bucketLabel, jsonLines, padded, stream } from './synthetic.ts';
import type { LMExample, SliceLabels, Task } from './types.ts';

export const GAP_BUCKETS = [1, 8, 32, 128, 512] as const;

interface Defaults {
  seq_len: number;
  key_len: number;
  value_len: number;
  noise_fraction: number;
  noise_vocab_size: number;
}

function recallParams(d: Defaults) {
  return z
    .object({
      vocab_size: z.number().int().min(4).default(128).describe('all tokens: keys, values, noise (zoology: 8192)'),
      seq_len: z.number().int().min(4).default(d.seq_len).describe('sequence length, context and queries together'),
      num_kv_pairs: z.number().int().min(1).default(4).describe('key–value pairs in the context, each queried once'),
      power_a: z.number().positive().max(1).default(0.01).describe('power-law exponent of query slots (zoology: 0.01; 1 = uniform)'),
      key_len: z.number().int().min(1).default(d.key_len).describe('tokens per key (fuzzy recall: > 1)'),
      value_len: z.number().int().min(1).default(d.value_len).describe('tokens per value (fuzzy recall: > 1)'),
      noise_fraction: z.number().min(0).lt(1).default(d.noise_fraction).describe('fraction of context tokens that are noise (noisy recall)'),
      noise_vocab_size: z.number().int().min(0).default(d.noise_vocab_size).describe('ids set apart for noise tokens, at the top of the vocabulary'),
    })
    .superRefine((p, ctx) => {
      const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
      const { keys, values, context, slots } = layout(p);
      if (keys < 1 || values < 1) {
        issue('vocab_size', `vocab_size ${p.vocab_size} leaves no room for keys and values after ${p.noise_vocab_size} noise ids; raise vocab_size`);
        return;
      }
      if (keys ** p.key_len < p.num_kv_pairs) issue('num_kv_pairs', `${p.num_kv_pairs} distinct keys don't exist with ${keys} key tokens of key_len ${p.key_len}; raise vocab_size or key_len`);
      if (values ** p.value_len < p.num_kv_pairs) issue('num_kv_pairs', `${p.num_kv_pairs} distinct values don't exist with ${values} value tokens of value_len ${p.value_len}; raise vocab_size or value_len`);
      if (p.noise_fraction > 0 && p.noise_vocab_size < 1) issue('noise_vocab_size', 'noise_fraction > 0 needs noise ids; set noise_vocab_size ≥ 1');
      if (slots < p.num_kv_pairs) {
        issue('seq_len', `seq_len ${p.seq_len} holds a context of ${context} tokens and only ${slots} query slots for ${p.num_kv_pairs} queries; raise seq_len to at least ${context + p.num_kv_pairs * (p.key_len + p.value_len)}`);
      }
    });
}

type Params = z.infer<ReturnType<typeof recallParams>>;

/** Token ranges and sizes that follow from the params. */
function layout(p: Params) {
  const content = p.vocab_size - p.noise_vocab_size;
  const firstValue = Math.floor(content / 2);
  const pairTokens = p.num_kv_pairs * (p.key_len + p.value_len);
  const noise = p.noise_fraction === 0 ? 0 : Math.round((p.noise_fraction * pairTokens) / (1 - p.noise_fraction));
  const context = pairTokens + noise;
  return {
    keys: firstValue - 1, // ids 1..firstValue-1
    firstValue,
    values: content - firstValue,
    firstNoise: content,
    noise,
    context,
    slots: Math.floor((p.seq_len - context) / (p.key_len + p.value_len)),
  };
}

/** `count` distinct tuples of `len` tokens from ids first..first+size-1. */
function distinctTuples(r: Rng, first: number, size: number, len: number, count: number): number[][] {
  if (len === 1) return r.sample(size, count).map((t) => [first + t]);
  const seen = new Set<string>();
  const out: number[][] = [];
  while (out.length < count) {
    const tuple = Array.from({ length: len }, () => first + r.int(size));
    const key = tuple.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(tuple);
  }
  return out;
}

function draw(p: Params, r: Rng): LMExample {
  const L = layout(p);
  const keys = distinctTuples(r, 1, L.keys, p.key_len, p.num_kv_pairs);
  const values = distinctTuples(r, L.firstValue, L.values, p.value_len, p.num_kv_pairs);

  // Context: pairs in order, noise tokens dropped at random boundaries between them.
  const noiseBefore = padded(p.num_kv_pairs + 1, 0);
  for (let t = 0; t < L.noise; t++) noiseBefore[r.int(p.num_kv_pairs + 1)]++;
  const noiseTokens = (n: number) => Array.from({ length: n }, () => L.firstNoise + r.int(p.noise_vocab_size));
  const input: number[] = [];
  const keyPosition: number[] = [];
  keys.forEach((key, i) => {
    input.push(...noiseTokens(noiseBefore[i]));
    keyPosition.push(input.length);
    input.push(...key, ...values[i]);
  });
  input.push(...noiseTokens(noiseBefore[p.num_kv_pairs]));

  // Queries: fillers everywhere, then each key written into its power-law-drawn slot.
  const queryStart = input.length; // (= L.context)
  while (input.length < p.seq_len) input.push(r.int(p.vocab_size));
  const target = padded(p.seq_len, 0);
  const width = p.key_len + p.value_len;
  const weights = Array.from({ length: L.slots }, (_, k) => p.power_a * (k + 1) ** (p.power_a - 1));
  const answers: { position: number; gap: number }[] = [];
  keys.forEach((key, i) => {
    const slot = r.weighted(weights);
    weights[slot] = 0;
    const start = queryStart + slot * width;
    const value = values[i];
    key.forEach((token, j) => (input[start + j] = token));
    value.slice(0, -1).forEach((token, j) => (input[start + p.key_len + j] = token));
    value.forEach((token, j) => {
      const position = start + p.key_len - 1 + j;
      target[position] = token;
      answers.push({ position, gap: start - keyPosition[i] });
    });
  });
  answers.sort((a, b) => a.position - b.position);

  return {
    form: 'lm',
    input,
    target,
    answer: answers.map((a) => a.position),
    slice: { num_kv_pairs: p.num_kv_pairs },
    answerSlice: answers.map((a): SliceLabels => ({ gap: bucketLabel(a.gap, GAP_BUCKETS) })),
  };
}

function recallTask(name: string, description: string, defaults: Defaults): Task<ReturnType<typeof recallParams>> {
  const params = recallParams(defaults);
  return {
    name,
    kind: 'long-context',
    form: 'lm',
    description,
    params,
    vocab: (p) => ({ size: p.vocab_size, pad: 0 }),
    generate: (p, seed, split) => stream(name, seed, split, (r) => draw(p, r)),
    finite: false,
    maxLen: (p) => p.seq_len,
    export: (p, seed, split) => jsonLines(stream(name, seed, split, (r) => draw(p, r))),
  };
}

export const mqar = recallTask('mqar', 'Multi-query associative recall: recall the value of each queried key (Zoology, Arora et al. 2023)', {
  seq_len: 64,
  key_len: 1,
  value_len: 1,
  noise_fraction: 0,
  noise_vocab_size: 0,
});

/** MAD's fuzzy recall keys and values are up to 3 tokens and its sequences 128 long; here every key and value has exactly key_len / value_len tokens. */
export const fuzzyRecall = recallTask('fuzzy-recall', 'Associative recall with multi-token keys and values (MAD fuzzy recall, Poli et al. 2024)', {
  seq_len: 128,
  key_len: 3,
  value_len: 3,
  noise_fraction: 0,
  noise_vocab_size: 0,
});

/** MAD's noisy recall: 16 noise ids, 20 % noise, length 128. */
export const noisyRecall = recallTask('noisy-recall', 'Associative recall with noise tokens among the key–value pairs (MAD noisy recall, Poli et al. 2024)', {
  seq_len: 128,
  key_len: 1,
  value_len: 1,
  noise_fraction: 0.2,
  noise_vocab_size: 16,
});
