/**
 * Metrics of single-sequence (LM) tasks, from the model's argmax prediction at every position:
 * accuracy over answer positions, exact match over sequences, and accuracy per slice.
 *
 *   examples   [{ input: [5, 6, 7], target: [0, 3, 4], answer: [1, 2], slice: { n: 2 } }]
 *   predictions [[9, 3, 1]]
 *   → accuracy 0.5 (n 2), exact_match 0 (n 1), accuracy on slice "n=2" 0.5 (n 2)
 */
import type { LMExample, TaskMetric } from './types.ts';

interface Tally {
  right: number;
  total: number;
}

const fraction = (metric: string, tally: Tally, slice: string | null): TaskMetric => ({
  metric,
  unit: 'fraction',
  direction: 'bigger',
  value: tally.total === 0 ? 0 : tally.right / tally.total,
  n: tally.total,
  slice,
});

/**
 * `predictions[i][p]` is the argmax token after reading `examples[i].input[0..p]` (same length as the input).
 * Slice labels come from `example.slice` (every answer of the sequence) and `example.answerSlice[j]`
 * (answer j alone); each `key=value` gets its own accuracy row, sorted by key then value.
 */
export function lmMetrics(examples: LMExample[], predictions: number[][]): TaskMetric[] {
  if (predictions.length !== examples.length) {
    throw new RangeError(`lmMetrics: ${predictions.length} prediction rows for ${examples.length} examples; give one row per example`);
  }
  const all: Tally = { right: 0, total: 0 };
  const sequences: Tally = { right: 0, total: 0 };
  const slices = new Map<string, Tally>();
  const count = (slice: string, right: boolean): void => {
    const tally = slices.get(slice) ?? { right: 0, total: 0 };
    tally.total++;
    if (right) tally.right++;
    slices.set(slice, tally);
  };

  examples.forEach((example, i) => {
    const predicted = predictions[i];
    if (predicted.length !== example.input.length) {
      throw new RangeError(`lmMetrics: prediction row ${i} has length ${predicted.length}, its input ${example.input.length}; predict at every input position`);
    }
    const sequenceSlices = Object.entries(example.slice ?? {}).map(([k, v]) => `${k}=${v}`);
    let allRight = true;
    example.answer.forEach((position, j) => {
      const right = predicted[position] === example.target[position];
      allRight &&= right;
      all.total++;
      if (right) all.right++;
      for (const s of sequenceSlices) count(s, right);
      for (const [k, v] of Object.entries(example.answerSlice?.[j] ?? {})) count(`${k}=${v}`, right);
    });
    sequences.total++;
    if (allRight) sequences.right++;
  });

  const sliceRows = [...slices.entries()]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([slice, tally]) => fraction('accuracy', tally, slice));
  return [fraction('accuracy', all, null), fraction('exact_match', sequences, null), ...sliceRows];
}
