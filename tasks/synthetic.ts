/**
 * What the synthetic long-context tasks share: one seeded stream per (task, seed, split), JSON Lines
 * export, and the bucket labels their slices use.
 */
import { deriveSeed, rng, type Rng } from '../util/rng.ts';
import type { LMExample, Split } from './types.ts';

/** Examples drawn one at a time from the stream of (task, seed, split); splits never share a stream. */
export function* stream(task: string, seed: number, split: Split, draw: (r: Rng) => LMExample): Generator<LMExample> {
  const r = rng(deriveSeed(seed, task, split));
  for (;;) yield draw(r);
}

/** One JSON object per example: `{"input":[…],"target":[…],"answer":[…],"slice":{…}}`. */
export function* jsonLines(examples: Iterable<LMExample>): Generator<string> {
  for (const { input, target, answer, slice, answerSlice } of examples) {
    yield JSON.stringify({ input, target, answer, slice, answerSlice });
  }
}

/**
 * Label of the bucket `value` falls in, for edges [e0, e1, …]: `e0-(e1-1)`, …, `eLast+`
 * (edges [1, 8, 32] → `1-7`, `8-31`, `32+`). Values below the first edge get `<e0`.
 */
export function bucketLabel(value: number, edges: readonly number[]): string {
  if (value < edges[0]) return `<${edges[0]}`;
  for (let i = 0; i < edges.length - 1; i++) {
    if (value < edges[i + 1]) return `${edges[i]}-${edges[i + 1] - 1}`;
  }
  return `${edges[edges.length - 1]}+`;
}

/** A sequence of `length` pad tokens, the target every unscored position carries. */
export function padded(length: number, pad: number): number[] {
  return new Array<number>(length).fill(pad);
}
