/**
 * ListOps (Nangia & Bowman 2018; as in Long Range Arena, Tay et al. 2021): evaluate a nested
 * expression of MAX, MIN, MED (median, rounded down) and SM (sum mod 10) over digits 0–9, read as one
 * flat token sequence. The answer is a digit, predicted after the whole expression has been read: the
 * LM form scores only the last position, whose target is the answer (classification from the final state).
 *
 * Tokens (vocabulary 16): ids 0–9 are the digits (so the answer id is the answer), 10 `[MAX`, 11 `[MIN`,
 * 12 `[MED`, 13 `[SM`, 14 `]`, 15 `<pad>`. LRA's texts also carry `(`/`)`, which add length, not content; they are left out.
 *
 * Generation: LRA grows random trees and keeps those of length 500–2000, which needs max_args 10 to
 * reach long lengths at all. Here a tree grows to a target length T drawn uniformly from
 * [min_len, seq_len]: an operator spends 2 tokens on itself and `]` and splits the rest among
 * 2..max_args arguments, each a digit or a subtree with probability 1/2, adjusted so that every subtree
 * gets at least 4 tokens (the shortest operator, `[SM 1 2 ]`) and no more than a subtree at its depth
 * can hold with leaves no deeper than max_depth (the root at depth 1, as LRA counts). A tree comes out
 * at T or a few tokens short, never longer; one under min_len is drawn again.
 *
 * Sequences are left as generated (variable length, no padding in the example); the harness pads a
 * batch on the right with `<pad>`, after the answer position, so a causal model never reads padding
 * before it answers.
 *
 * Slices: `length=<bucket>` (power-of-two buckets, e.g. `length=257-512`).
 *
 * Worked example (seed 0, split 'train', { seq_len: 16, min_len: 8 }):
 *   text    [MIN 9 1 [MIN 3 4 6 ] 8 8 ]                          = min(9, 1, min(3, 4, 6), 8, 8) = 1
 *   input   11 9  1  11 3  4  6  14 8  8  14
 *   target  15 15 15 15 15 15 15 15 15 15 1
 *   answer  [10]   slice { length: '9-16' }
 */
import { z } from 'zod';
import type { Rng } from '../util/rng.ts';
import { bucketLabel, jsonLines, padded, stream } from './synthetic.ts';
import type { LMExample, Task } from './types.ts';

export const TOKENS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '[MAX', '[MIN', '[MED', '[SM', ']', '<pad>'] as const;
const OPERATORS = [10, 11, 12, 13] as const;
const CLOSE = 14;
export const PAD = 15;

/** Length buckets (2^(k-1), 2^k]: edges 1, 2, 3, 5, 9, 17 … 2^20 + 1. */
const LENGTH_BUCKETS = [1, ...Array.from({ length: 21 }, (_, k) => 2 ** k + 1)];

const params = z
  .object({
    seq_len: z.number().int().min(4).default(512).describe('longest expression in tokens (LRA: 2000)'),
    min_len: z.number().int().min(4).optional().describe('shortest expression in tokens (default seq_len / 4, as LRA keeps 500–2000)'),
    max_depth: z.number().int().min(2).default(10).describe('deepest leaf, the root at depth 1 (LRA: 10)'),
    max_args: z.number().int().min(2).default(5).describe('most arguments of one operator (LRA: 10)'),
  })
  .superRefine((p, ctx) => {
    const minLen = shortest(p);
    if (minLen > p.seq_len) {
      ctx.addIssue({ code: 'custom', path: ['min_len'], message: `min_len ${minLen} exceeds seq_len ${p.seq_len}; lower min_len or raise seq_len` });
    }
    if (minLen > capacity(1, p)) {
      ctx.addIssue({ code: 'custom', path: ['max_depth'], message: `trees of max_depth ${p.max_depth} and max_args ${p.max_args} hold at most ${capacity(1, p)} tokens, under min_len ${minLen}; raise max_depth or max_args` });
    }
  });

/** The shortest expression drawn: min_len, or seq_len / 4 (at least 4 tokens, one operator over two digits). */
function shortest(p: { seq_len: number; min_len?: number }): number {
  return p.min_len ?? Math.max(4, Math.floor(p.seq_len / 4));
}

type Params = z.infer<typeof params>;

/** The value of an operator over its arguments' values. */
export function apply(operator: number, args: number[]): number {
  switch (operator) {
    case 10:
      return Math.max(...args);
    case 11:
      return Math.min(...args);
    case 12: {
      const sorted = [...args].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 === 1 ? sorted[mid] : Math.floor((sorted[mid - 1] + sorted[mid]) / 2);
    }
    case 13:
      return args.reduce((s, a) => s + a, 0) % 10;
    default:
      throw new RangeError(`listops: ${operator} is not an operator id (10–13)`);
  }
}

/** Token ids of a space-separated expression, e.g. `[MAX 2 9 ]`. */
export function tokenize(text: string): number[] {
  return text
    .trim()
    .split(/\s+/)
    .map((word) => {
      const id = TOKENS.indexOf(word as (typeof TOKENS)[number]);
      if (id < 0 || id === PAD) throw new RangeError(`listops: unknown token '${word}'; use digits, ${TOKENS.slice(10, 15).join(' ')}`);
      return id;
    });
}

/** Value of a token sequence, read independently of the generator (a stack machine). */
export function evaluate(tokens: number[]): number {
  const stack: { operator: number; args: number[] }[] = [];
  let result: number | undefined;
  const push = (value: number) => {
    if (stack.length === 0) {
      if (result !== undefined) throw new RangeError('listops: more than one expression at top level');
      result = value;
    } else stack[stack.length - 1].args.push(value);
  };
  for (const t of tokens) {
    if (t <= 9) push(t);
    else if (t === CLOSE) {
      const frame = stack.pop();
      if (!frame) throw new RangeError('listops: `]` without an operator');
      push(apply(frame.operator, frame.args));
    } else if (t !== PAD) stack.push({ operator: t, args: [] });
  }
  if (stack.length > 0 || result === undefined) throw new RangeError('listops: unfinished expression');
  return result;
}

interface Tree {
  tokens: number[];
  value: number;
}

function digit(r: Rng): Tree {
  const value = r.int(10);
  return { tokens: [value], value };
}

/** `total` split into `parts` positive shares at random (parts ≤ total). */
function composition(r: Rng, total: number, parts: number): number[] {
  if (parts <= 1) return parts === 1 ? [total] : [];
  const cuts = r
    .sample(total - 1, parts - 1)
    .map((c) => c + 1)
    .sort((a, b) => a - b);
  return [...cuts, total].map((c, i) => c - (i === 0 ? 0 : cuts[i - 1]));
}

/** Most tokens a tree whose root sits at `depth` can hold (leaves no deeper than max_depth). */
function capacity(depth: number, p: { max_depth: number; max_args: number }): number {
  return depth >= p.max_depth ? 1 : 2 + p.max_args * capacity(depth + 1, p);
}

/** A tree of at most `budget` tokens (≤ capacity(depth)) whose root sits at `depth`. */
function grow(r: Rng, budget: number, depth: number, p: Params): Tree {
  if (depth >= p.max_depth || budget < 4) return digit(r);
  const inner = budget - 2; // less the operator and `]`
  const room = capacity(depth + 1, p); // most tokens one argument can hold
  const fewest = Math.max(2, Math.ceil(inner / room));
  const count = fewest + r.int(Math.min(p.max_args, inner) - fewest + 1);
  // Each argument is a digit or a subtree with probability 1/2, within what the budget allows: enough
  // subtrees to hold it, no more than can get 4 tokens (the shortest operator) each.
  const spare = inner - count; // tokens beyond one per argument
  const most = Math.floor(spare / 3);
  const least = room > 1 ? Math.ceil(spare / (room - 1)) : 0;
  const coin = Array.from({ length: count }, () => r.float() < 0.5).filter(Boolean).length;
  const subtrees = Math.min(most, Math.max(least, coin));
  const shares = composition(r, spare - 2 * subtrees, subtrees).map((s) => s + 3);
  // Shares over an argument's room go to the arguments that have room left.
  let overflow = 0;
  for (let i = 0; i < shares.length; i++) {
    overflow += Math.max(0, shares[i] - room);
    shares[i] = Math.min(shares[i], room);
  }
  for (let i = 0; i < shares.length && overflow > 0; i++) {
    const add = Math.min(room - shares[i], overflow);
    shares[i] += add;
    overflow -= add;
  }
  const isSubtree = new Set(r.sample(count, subtrees));
  let next = 0;
  const args = Array.from({ length: count }, (_, i) => (isSubtree.has(i) ? grow(r, shares[next++], depth + 1, p) : digit(r)));
  const operator = r.choice(OPERATORS);
  return {
    tokens: [operator, ...args.flatMap((a) => a.tokens), CLOSE],
    value: apply(
      operator,
      args.map((a) => a.value),
    ),
  };
}

function draw(p: Params, r: Rng): LMExample {
  const minLen = shortest(p);
  for (;;) {
    const tree = grow(r, Math.min(minLen + r.int(p.seq_len - minLen + 1), capacity(1, p)), 1, p);
    if (tree.tokens.length < minLen) continue;
    const last = tree.tokens.length - 1;
    const target = padded(tree.tokens.length, PAD);
    target[last] = tree.value;
    return { form: 'lm', input: tree.tokens, target, answer: [last], slice: { length: bucketLabel(tree.tokens.length, LENGTH_BUCKETS) } };
  }
}

export const listops: Task<typeof params> = {
  name: 'listops',
  kind: 'long-context',
  form: 'lm',
  description: 'Evaluate nested MAX/MIN/MED/SUM-mod-10 expressions over digits, answer from the final state (ListOps, Long Range Arena)',
  params,
  vocab: () => ({ size: TOKENS.length, tokens: [...TOKENS], pad: PAD }),
  generate: (p, seed, split) => stream('listops', seed, split, (r) => draw(p, r)),
  finite: false,
  maxLen: (p) => p.seq_len,
  detokenize: (_p, tokens) => tokens.map((t) => TOKENS[t]).join(' '),
  export: (p, seed, split) => jsonLines(stream('listops', seed, split, (r) => draw(p, r))),
};
