/**
 * Selective copying (Gu & Dao 2023, "Mamba", §3.1 and Table 1): data tokens are scattered at random
 * positions among noise tokens; after the sequence, marker tokens ask the model to write the data
 * tokens back in order. Solving it needs content-aware selection — a time-invariant model can't skip
 * the noise. The paper's setting is vocabulary 16, 16 data tokens, length 4096; the default length
 * here is 256 so a CPU run finishes.
 *
 * Tokens: 0 = noise (also the pad id; sequences of one params all have the same length, so nothing is
 * padded), 1..vocab_size-2 = data, vocab_size-1 = marker (one per token to write back, the paper's
 * "copy" prompt). Length seq_len + num_tokens: the seq_len tokens, then num_tokens markers; the
 * target at the k-th marker is the k-th data token; targets elsewhere are 0 and unscored.
 *
 * Worked example (seed 0, split 'train', { seq_len: 10, num_tokens: 3, vocab_size: 6 }):
 *   input   2 0 0 3 3 0 0 0 0 0 | 5 5 5     (data 2 3 3 at positions 0, 3, 4; markers 5)
 *   target  0 0 0 0 0 0 0 0 0 0 | 2 3 3
 *   answer  [10, 11, 12]
 */
import { z } from 'zod';
import type { Rng } from '../util/rng.ts';
import { jsonLines, padded, stream } from './synthetic.ts';
import type { LMExample, Task } from './types.ts';

export const NOISE = 0;

const params = z
  .object({
    seq_len: z.number().int().min(1).default(256).describe('tokens before the markers, data and noise together (paper: 4096)'),
    num_tokens: z.number().int().min(1).default(16).describe('data tokens to copy (paper: 16)'),
    vocab_size: z.number().int().min(3).default(16).describe('noise + data tokens + marker (paper: 16)'),
  })
  .superRefine((p, ctx) => {
    if (p.num_tokens > p.seq_len) {
      ctx.addIssue({ code: 'custom', path: ['num_tokens'], message: `num_tokens ${p.num_tokens} does not fit in seq_len ${p.seq_len}; raise seq_len or lower num_tokens` });
    }
  });

type Params = z.infer<typeof params>;

function draw(p: Params, r: Rng): LMExample {
  const marker = p.vocab_size - 1;
  const data = Array.from({ length: p.num_tokens }, () => 1 + r.int(p.vocab_size - 2));
  const positions = r.sample(p.seq_len, p.num_tokens).sort((a, b) => a - b);
  const input = padded(p.seq_len, NOISE);
  positions.forEach((position, k) => (input[position] = data[k]));
  input.push(...padded(p.num_tokens, marker));
  const target = [...padded(p.seq_len, NOISE), ...data];
  const answer = data.map((_, k) => p.seq_len + k);
  return { form: 'lm', input, target, answer };
}

export const selectiveCopying: Task<typeof params> = {
  name: 'selective-copying',
  kind: 'long-context',
  form: 'lm',
  description: 'Copy the data tokens scattered among noise, in order, after the markers (Mamba, Gu & Dao 2023, Table 1)',
  params,
  vocab: (p) => ({ size: p.vocab_size, pad: NOISE }),
  generate: (p, seed, split) => stream('selective-copying', seed, split, (r) => draw(p, r)),
  finite: false,
  maxLen: (p) => p.seq_len + p.num_tokens,
  export: (p, seed, split) => jsonLines(stream('selective-copying', seed, split, (r) => draw(p, r))),
};
