/**
 * In-context recall as MAD runs it (Poli et al. 2024, "Mechanistic Design and Scaling of Hybrid
 * Architectures"; mad-lab's `in-context-recall` in its multi-query form, the benchmark's
 * baseline): the whole sequence is key–value pairs, keys drawn with replacement from a small key vocabulary,
 * each key's value fixed within the sequence and drawn afresh per sequence. Every pair whose key was shown
 * before is a query: having read the key, predict its value.
 *
 * Not the MQAR generator (tasks/mqar.ts) with other sizes: MQAR has a context of distinct keys, each asked
 * once in a query region after it; here there is no separate region, a key recurs many times (64 pairs over
 * 8 keys at the defaults), every recurrence is scored, and two keys may share a value.
 *
 * Layout: seq_len / 2 slots of two tokens. Each slot but the last is a pair `key value`, or, with
 * probability noise_fraction, two noise tokens (with noise, one slot before the last, drawn first, is
 * always a pair); the last slot is a pair whose key is drawn from the keys already shown, so every
 * sequence ends on a query. With noise_fraction 0.2, noise_vocab_size 16, vocab_size 32 this is the layout
 * of MAD's noisy-in-context-recall (seqarena's `noisy-recall` is the MQAR layout with noise, not MAD's).
 *
 * Vocabulary (V = vocab_size, N = noise_vocab_size, C = V − N): keys 0..⌊C/2⌋−1, values ⌊C/2⌋..C−1,
 * noise C..V−1, as MAD numbers them. Sequences are all seq_len long, so the pad id 0 (a key) never pads.
 *
 * Scored: the position of a repeated key, whose target is its value. Targets elsewhere are 0 and unscored.
 * Answer slices `gap=<bucket>`: tokens back to the key's previous occurrence (MQAR's buckets).
 *
 * How it differs from MAD's code: MAD trains on every next token (the keys and first values too, which are
 * random) and scores the queries only at test time; here the queries are trained on and scored alike. MAD
 * feeds the model seq_len − 1 tokens (the last value is only a target); here the last value is in the
 * input too, read by no scored position. Sequences are streamed per seed rather than a fixed set of
 * 12,800 (MAD's num_train_examples).
 *
 * Worked examples (seed 0, split 'train'):
 *
 * { vocab_size: 8, seq_len: 12 }: keys 0..3, values 4..7; pairs 1→4, 3→7, 0→5
 *   input   1 4 3 7 3 7 0 5 1 4 0 5
 *   target  0 0 0 0 7 0 0 0 4 0 5 0
 *   answer  [4, 8, 10]   gaps 2, 8, 4 (gap=1-7, gap=8-31, gap=1-7)
 *
 * { vocab_size: 10, seq_len: 12, noise_fraction: 0.4, noise_vocab_size: 2 }: keys 0..3, values 4..7,
 * noise 8..9; slots 0 and 2 are noise
 *   input   9 9 3 4 8 9 3 4 0 7 0 7
 *   target  0 0 0 0 0 0 4 0 0 0 7 0
 *   answer  [6, 10]   gaps 4, 2 (gap=1-7)
 */
import { z } from 'zod';
import type { Rng } from '../util/rng.ts';
import { GAP_BUCKETS } from './mqar.ts';
import { bucketLabel, jsonLines, padded, stream } from './synthetic.ts';
import type { LMExample, SliceLabels, Task } from './types.ts';

const params = z
  .object({
    vocab_size: z.number().int().min(2).default(16).describe('keys, values and noise together (MAD: 16; noisy recall 32)'),
    seq_len: z.number().int().min(4).default(128).describe('sequence length, an even number: seq_len / 2 two-token slots (MAD: 128)'),
    noise_fraction: z.number().min(0).lt(1).default(0).describe('probability that a slot holds two noise tokens instead of a pair (MAD noisy recall: 0.2)'),
    noise_vocab_size: z.number().int().min(0).default(0).describe('ids set apart for noise tokens, at the top of the vocabulary (MAD noisy recall: 16)'),
  })
  .superRefine((p, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (p.seq_len % 2 !== 0) issue('seq_len', `seq_len ${p.seq_len} is odd; the sequence is two-token slots, so use an even seq_len such as ${p.seq_len + 1}`);
    if (p.vocab_size - p.noise_vocab_size < 2) {
      issue('vocab_size', `vocab_size ${p.vocab_size} leaves ${p.vocab_size - p.noise_vocab_size} ids after ${p.noise_vocab_size} noise ids, too few for one key and one value; raise vocab_size to at least ${p.noise_vocab_size + 2}`);
    }
    if (p.noise_fraction > 0 && p.noise_vocab_size < 1) issue('noise_vocab_size', `noise_fraction ${p.noise_fraction} needs noise ids; set noise_vocab_size ≥ 1`);
  });

type Params = z.infer<typeof params>;

function draw(p: Params, r: Rng): LMExample {
  const content = p.vocab_size - p.noise_vocab_size;
  const keys = Math.floor(content / 2);
  const slots = p.seq_len / 2;
  // MAD keeps one slot a pair so that the final query has a key to ask.
  const alwaysPair = p.noise_fraction > 0 ? r.int(slots - 1) : -1;

  const input: number[] = [];
  const target = padded(p.seq_len, 0);
  const answers: { position: number; gap: number }[] = [];
  const valueOf = new Map<number, number>();
  const lastSeen = new Map<number, number>();
  const pair = (key: number) => {
    const position = input.length;
    if (!valueOf.has(key)) valueOf.set(key, keys + r.int(content - keys));
    const value = valueOf.get(key)!;
    const previous = lastSeen.get(key);
    if (previous !== undefined) {
      target[position] = value;
      answers.push({ position, gap: position - previous });
    }
    lastSeen.set(key, position);
    input.push(key, value);
  };

  for (let slot = 0; slot < slots - 1; slot++) {
    if (slot !== alwaysPair && p.noise_fraction > 0 && r.float() < p.noise_fraction) {
      input.push(content + r.int(p.noise_vocab_size), content + r.int(p.noise_vocab_size));
    } else {
      pair(r.int(keys));
    }
  }
  pair(r.choice([...lastSeen.keys()]));

  return {
    form: 'lm',
    input,
    target,
    answer: answers.map((a) => a.position),
    answerSlice: answers.map((a): SliceLabels => ({ gap: bucketLabel(a.gap, GAP_BUCKETS) })),
  };
}

export const inContextRecall: Task<typeof params> = {
  name: 'in-context-recall',
  kind: 'long-context',
  form: 'lm',
  description: 'Recall the value of every key seen before, in a sequence of key–value pairs over few keys (MAD in-context recall, Poli et al. 2024)',
  params,
  vocab: (p) => ({ size: p.vocab_size, pad: 0 }),
  generate: (p, seed, split) => stream('in-context-recall', seed, split, (r) => draw(p, r)),
  finite: false,
  maxLen: (p) => p.seq_len,
  export: (p, seed, split) => jsonLines(stream('in-context-recall', seed, split, (r) => draw(p, r))),
};
