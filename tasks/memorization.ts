/**
 * Memorization (Poli et al. 2024, "Mechanistic Design and Scaling of Hybrid Architectures"; mad-lab's
 * `memorization`): a fixed key → value mapping, drawn once per seed and shared by every sequence of every
 * split, is queried many times. The value never appears in the input, so nothing in the context helps: the
 * model must hold the mapping (MAD's stand-in for facts) in its weights.
 *
 * Vocabulary (V = vocab_size, C = V − 1): keys 0..⌊C/2⌋−1, values ⌊C/2⌋..C−1, the insert token V−1, as MAD
 * numbers them. The mapping gives each key a distinct value (at the default 256: 127 keys, 127 of the 128
 * value ids). Sequences are seq_len / 2 queries `key insert`, keys drawn uniformly with replacement; the
 * target at each insert token is the key's value, targets at keys are 0 and unscored. Every sequence is
 * seq_len long, so the pad id 0 (a key) never pads. No slices: every query asks the same kind of thing.
 *
 * How it differs from MAD: MAD trains on a fixed set of 256 sequences for many epochs (num_train_examples)
 * and tests on fresh ones; here every split streams fresh sequences over the same mapping, so the mapping,
 * not a set of sequences, is what is learned and tested. MAD's noise arguments, which its benchmark never
 * sets, are not carried.
 *
 * Worked example (seed 0, split 'train', { vocab_size: 9, seq_len: 8 }): keys 0..3, values 4..7,
 * insert 8; the seed's mapping 0→5, 1→4, 2→7, 3→6
 *   input   1 8 0 8 0 8 2 8
 *   target  0 4 0 5 0 5 0 7
 *   answer  [1, 3, 5, 7]
 */
import { z } from 'zod';
import { deriveSeed, rng, type Rng } from '../util/rng.ts';
import { jsonLines, padded, stream } from './synthetic.ts';
import type { LMExample, Split, Task } from './types.ts';

const params = z
  .object({
    vocab_size: z.number().int().min(3).default(256).describe('keys, values and the insert token; ⌊(vocab_size − 1) / 2⌋ facts (MAD: 256)'),
    seq_len: z.number().int().min(2).default(32).describe('sequence length, an even number: seq_len / 2 queries `key insert` (MAD: 32)'),
  })
  .superRefine((p, ctx) => {
    if (p.seq_len % 2 !== 0) {
      ctx.addIssue({ code: 'custom', path: ['seq_len'], message: `seq_len ${p.seq_len} is odd; each query is two tokens (key, insert), so use an even seq_len such as ${p.seq_len + 1}` });
    }
  });

type Params = z.infer<typeof params>;

/** The seed's mapping: `valueOf[key]` for keys 0..⌊(vocab_size − 1) / 2⌋ − 1; the same for every split. */
export function factMap(p: Params, seed: number): number[] {
  const keys = Math.floor((p.vocab_size - 1) / 2);
  const values = p.vocab_size - 1 - keys;
  return rng(deriveSeed(seed, 'memorization', 'map'))
    .sample(values, keys)
    .map((v) => keys + v);
}

function draw(p: Params, valueOf: number[], r: Rng): LMExample {
  const insert = p.vocab_size - 1;
  const input: number[] = [];
  const target = padded(p.seq_len, 0);
  const answer: number[] = [];
  for (let q = 0; q < p.seq_len / 2; q++) {
    const key = r.int(valueOf.length);
    input.push(key, insert);
    target[2 * q + 1] = valueOf[key];
    answer.push(2 * q + 1);
  }
  return { form: 'lm', input, target, answer };
}

const examples = (p: Params, seed: number, split: Split) => {
  const valueOf = factMap(p, seed);
  return stream('memorization', seed, split, (r) => draw(p, valueOf, r));
};

export const memorization: Task<typeof params> = {
  name: 'memorization',
  kind: 'long-context',
  form: 'lm',
  description: 'Recall values of a fixed key–value mapping drawn once per seed, learned into the weights (MAD memorization, Poli et al. 2024)',
  params,
  vocab: (p) => ({ size: p.vocab_size, pad: 0 }),
  generate: examples,
  finite: false,
  maxLen: (p) => p.seq_len,
  export: (p, seed, split) => jsonLines(examples(p, seed, split)),
};
