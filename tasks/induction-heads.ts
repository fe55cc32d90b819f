/**
 * Induction heads (Olsson et al. 2022; as set up in Gu & Dao 2023, "Mamba", §4.1.2 and Table 11):
 * a special token appears once inside a random sequence, followed by a target token; at the end the
 * special token appears again and the model must predict the token that followed it the first time.
 * The paper trains at length 256 with vocabulary 16 and tests length generalisation up to 2^20;
 * `evalVariants` gives the same task at eval_multipliers × the training length.
 *
 * Tokens: 0..vocab_size-2 are ordinary (drawn uniformly), vocab_size-1 is the special token, which
 * occurs exactly twice. Length seq_len; the only scored position is the last (the second special
 * token), whose target is the token after the first; other targets are 0 and unscored. All sequences
 * of one params have the same length, so the pad id (0) is never used.
 *
 * Worked example (seed 0, split 'train', { seq_len: 12, vocab_size: 6 }):
 *   input   2 3 5 3 2 3 0 1 3 3 4 5     (special token 5 at position 2, followed by 3)
 *   target  0 0 0 0 0 0 0 0 0 0 0 3
 *   answer  [11]
 */
import { z } from 'zod';
import type { Rng } from '../util/rng.ts';
import { jsonLines, padded, stream } from './synthetic.ts';
import type { LMExample, Task } from './types.ts';

const params = z.object({
  seq_len: z.number().int().min(4).default(256).describe('training sequence length, both special tokens included (paper: 256)'),
  vocab_size: z.number().int().min(3).default(16).describe('ordinary tokens + the special token (paper: 16)'),
  eval_multipliers: z
    .array(z.number().int().min(2))
    .default([2, 4, 8, 16])
    .describe('evaluate also at seq_len × each multiplier (length generalisation)'),
});

type Params = z.infer<typeof params>;

function draw(p: Params, r: Rng): LMExample {
  const special = p.vocab_size - 1;
  const input = Array.from({ length: p.seq_len }, () => r.int(p.vocab_size - 1));
  // The first special token leaves room for its target token before the final special token.
  const first = r.int(p.seq_len - 2);
  input[first] = special;
  input[p.seq_len - 1] = special;
  const target = padded(p.seq_len, 0);
  target[p.seq_len - 1] = input[first + 1];
  return { form: 'lm', input, target, answer: [p.seq_len - 1] };
}

export const inductionHeads: Task<typeof params> = {
  name: 'induction-heads',
  kind: 'long-context',
  form: 'lm',
  description: 'Predict the token that followed the first occurrence of a special token (Mamba, Gu & Dao 2023, Table 11)',
  params,
  vocab: (p) => ({ size: p.vocab_size, pad: 0 }),
  generate: (p, seed, split) => stream('induction-heads', seed, split, (r) => draw(p, r)),
  finite: false,
  maxLen: (p) => p.seq_len,
  evalVariants: (p) => p.eval_multipliers.map((m) => ({ label: `eval_len=${p.seq_len * m}`, params: { ...p, seq_len: p.seq_len * m } })),
  export: (p, seed, split) => jsonLines(stream('induction-heads', seed, split, (r) => draw(p, r))),
};
