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
 *
 * Denser training signal (num_queries = k > 1; not the published task, which is k = 1): the first
 * special token and its target sit in the first half; the special token comes back k times in the second
 * half, the last time at the end, and each return is scored on the same target. A return that is not
 * the last is followed by the target (teacher forcing, as MQAR's value tokens are), so every return is an
 * induction lookup: the token that followed the special token before. Answer slices `query=first` (the
 * first return, the lookup across the whole gap) and `query=repeat`. The length variants, and a variant
 * at the training length itself (`eval_len=<seq_len>`), are the published one-query task, so a model
 * trained on the dense layout is judged on the published one.
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
  num_queries: z
    .number()
    .int()
    .min(1)
    // Optional, not defaulted: params that leave it out keep the config hash (and run ids) they had before it existed.
    .optional()
    .describe('returns of the special token scored per sequence (1 or absent: the published task; more: a denser training signal, see above)'),
})
  .superRefine((p, ctx) => {
    const fit = Math.floor((p.seq_len - 1 - Math.floor(p.seq_len / 2)) / 2) + 1;
    if ((p.num_queries ?? 1) > fit) {
      ctx.addIssue({ code: 'custom', path: ['num_queries'], message: `${p.num_queries ?? 1} returns do not fit in seq_len ${p.seq_len}: at most ${fit} fit in its second half; lower --task-param num_queries or raise --seq-len` });
    }
  });

type Params = z.infer<typeof params>;

function draw(p: Params, r: Rng): LMExample {
  const special = p.vocab_size - 1;
  const input = Array.from({ length: p.seq_len }, () => r.int(p.vocab_size - 1));
  const target = padded(p.seq_len, 0);
  const queries = p.num_queries ?? 1;
  if (queries === 1) {
    // The first special token leaves room for its target token before the final special token.
    const first = r.int(p.seq_len - 2);
    input[first] = special;
    input[p.seq_len - 1] = special;
    target[p.seq_len - 1] = input[first + 1];
    return { form: 'lm', input, target, answer: [p.seq_len - 1] };
  }
  const half = Math.floor(p.seq_len / 2);
  const first = r.int(half - 1);
  input[first] = special;
  const token = input[first + 1];
  // Returns: the last position, and k − 1 others in the second half, each with room for its target after it.
  const slots = Array.from({ length: Math.floor((p.seq_len - 1 - half) / 2) }, (_, i) => half + 2 * i);
  const returns = [...pick(slots, queries - 1, r), p.seq_len - 1].sort((a, b) => a - b);
  for (const q of returns) {
    input[q] = special;
    target[q] = token;
    if (q + 1 < p.seq_len) input[q + 1] = token;
  }
  return { form: 'lm', input, target, answer: returns, answerSlice: returns.map((_, i) => ({ query: i === 0 ? 'first' : 'repeat' })) };
}

/** k distinct items of xs, drawn without replacement (partial Fisher–Yates). */
function pick(xs: number[], k: number, r: Rng): number[] {
  const a = [...xs];
  for (let i = 0; i < k; i++) {
    const j = i + r.int(a.length - i);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, k);
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
  evalVariants: (p) => {
    // The published one-query task at each test length (and, for a dense-trained model, at its own length too).
    const dense = (p.num_queries ?? 1) > 1;
    const lengths = [...(dense ? [1] : []), ...p.eval_multipliers].map((m) => p.seq_len * m);
    return lengths.map((l) => ({ label: `eval_len=${l}`, params: { ...p, seq_len: l, num_queries: undefined } }));
  },
  export: (p, seed, split) => jsonLines(stream('induction-heads', seed, split, (r) => draw(p, r))),
};
