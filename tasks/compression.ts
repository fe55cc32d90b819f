/**
 * Compression (Poli et al. 2024, "Mechanistic Design and Scaling of Hybrid Architectures"; mad-lab's
 * `compression`): a random sequence of tokens ends in a compression token, and the whole sequence must
 * be recovered from what the model holds there.
 *
 * MAD's form: an auto-encoder. The encoder reads seq_len tokens (seq_len − 1 drawn uniformly from
 * 0..vocab_size−2, then the compression token vocab_size−1) and keeps only its output at the last
 * position; an MLP decoder gets that vector plus a sinusoidal embedding of position n and must name token
 * n, for every n (the compression token included). Accuracy is over all seq_len positions.
 *
 * The LM form here (seqarena's long-context tasks are single sequences read left to right): the same
 * seq_len tokens, then seq_len − 2 more compression tokens as read-out prompts. At the first compression
 * token the target is the first data token; at the k-th read-out the (k+1)-th; so the m = seq_len − 1
 * data tokens come back in order, one per compression token, with nothing but the count of compression
 * tokens to say which is asked (as MAD's decoder has only the position). Length 2·(seq_len − 1).
 * Differences: a fixed-state model (RNN, SSM) must hold all m tokens in its state at the compression
 * token, which is MAD's bottleneck; attention can instead look back at each data token, so for it this is
 * copying, not compression. The compression token's own (trivial) reconstruction is not scored. MAD's
 * generator also takes noise arguments, which its benchmark never sets; they are not carried here.
 *
 * Tokens: data 0..vocab_size−2 (0 is also the pad id; all sequences of one params have the same length,
 * so nothing is padded), compression token vocab_size−1. Targets before the first compression token are 0
 * and unscored. Answer slices `index=<bucket>`: which data token is reconstructed (0-3, 4-7, 8-15, …).
 *
 * Worked example (seed 0, split 'train', { vocab_size: 16, seq_len: 6 }):
 *   input   14 8 1 1 4 | 15 15 15 15 15     (data 14 8 1 1 4; compression token 15, then 4 read-outs)
 *   target   0 0 0 0 0 | 14  8  1  1  4
 *   answer  [5, 6, 7, 8, 9]   index=0-3 four times, then index=4-7
 */
import { z } from 'zod';
import type { Rng } from '../util/rng.ts';
import { bucketLabel, jsonLines, padded, stream } from './synthetic.ts';
import type { LMExample, SliceLabels, Task } from './types.ts';

export const INDEX_BUCKETS = [0, 4, 8, 16, 32, 64, 128, 256, 512] as const;

const params = z.object({
  vocab_size: z.number().int().min(3).default(16).describe('data tokens + the compression token (MAD: 16)'),
  seq_len: z.number().int().min(2).default(32).describe("MAD's sequence: seq_len − 1 data tokens and the compression token; the read-outs follow (MAD: 32)"),
});

type Params = z.infer<typeof params>;

function draw(p: Params, r: Rng): LMExample {
  const compression = p.vocab_size - 1;
  const m = p.seq_len - 1;
  const data = Array.from({ length: m }, () => r.int(p.vocab_size - 1));
  const input = [...data, ...padded(m, compression)];
  const target = [...padded(m, 0), ...data];
  const answer = data.map((_, k) => m + k);
  const answerSlice = data.map((_, k): SliceLabels => ({ index: bucketLabel(k, INDEX_BUCKETS) }));
  return { form: 'lm', input, target, answer, answerSlice };
}

export const compression: Task<typeof params> = {
  name: 'compression',
  kind: 'long-context',
  form: 'lm',
  description: 'Reconstruct a random sequence, token by token, after its compression token (MAD compression, Poli et al. 2024; LM form)',
  params,
  vocab: (p) => ({ size: p.vocab_size, pad: 0 }),
  generate: (p, seed, split) => stream('compression', seed, split, (r) => draw(p, r)),
  finite: false,
  maxLen: (p) => 2 * (p.seq_len - 1),
  export: (p, seed, split) => jsonLines(stream('compression', seed, split, (r) => draw(p, r))),
};
