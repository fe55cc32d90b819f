import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lmMetrics } from '../tasks/metrics.ts';
import type { LMExample, TaskMetric } from '../tasks/types.ts';

const lm = (input: number[], target: number[], answer: number[], slice?: LMExample['slice'], answerSlice?: LMExample['answerSlice']): LMExample => ({
  form: 'lm',
  input,
  target,
  answer,
  slice,
  answerSlice,
});

const row = (rows: TaskMetric[], metric: string, slice: string | null) => {
  const found = rows.find((r) => r.metric === metric && r.slice === slice);
  assert.ok(found, `no ${metric} row for slice ${slice}`);
  return found;
};

// Three sequences, five answer positions; hand-counted below.
const examples = [
  // answers at 1 (right) and 2 (wrong): 1/2, not exact
  lm([5, 6, 7], [0, 3, 4], [1, 2], { n: 2 }, [{ gap: '1-7' }, { gap: '8-31' }]),
  // answer at 0 (right): exact
  lm([1, 1], [9, 0], [0], { n: 1 }, [{ gap: '1-7' }]),
  // answers at 2 (right) and 3 (right): exact; no per-answer labels
  lm([2, 2, 2, 2], [0, 0, 5, 6], [2, 3], { n: 2 }),
];
const predictions = [
  [9, 3, 1], // position 2 predicts 1, target 4
  [9, 7], // position 1 is not an answer: its mistake doesn't count
  [8, 8, 5, 6],
];

test('lmMetrics: accuracy over answer positions and exact match over sequences', () => {
  const rows = lmMetrics(examples, predictions);
  assert.deepEqual(row(rows, 'accuracy', null), { metric: 'accuracy', unit: 'fraction', direction: 'bigger', value: 4 / 5, n: 5, slice: null });
  assert.deepEqual(row(rows, 'exact_match', null), { metric: 'exact_match', unit: 'fraction', direction: 'bigger', value: 2 / 3, n: 3, slice: null });
});

test('lmMetrics: per-slice accuracy from sequence labels and per-answer labels, sorted', () => {
  const rows = lmMetrics(examples, predictions);
  // n=2: sequences 0 and 2 → answers (right, wrong, right, right); n=1: sequence 1 → (right)
  assert.equal(row(rows, 'accuracy', 'n=2').value, 3 / 4);
  assert.equal(row(rows, 'accuracy', 'n=2').n, 4);
  assert.equal(row(rows, 'accuracy', 'n=1').value, 1);
  assert.equal(row(rows, 'accuracy', 'n=1').n, 1);
  // gap=1-7: seq 0 pos 1 (right), seq 1 pos 0 (right); gap=8-31: seq 0 pos 2 (wrong)
  assert.deepEqual([row(rows, 'accuracy', 'gap=1-7').value, row(rows, 'accuracy', 'gap=1-7').n], [1, 2]);
  assert.deepEqual([row(rows, 'accuracy', 'gap=8-31').value, row(rows, 'accuracy', 'gap=8-31').n], [0, 1]);
  assert.deepEqual(
    rows.map((r) => `${r.metric}:${r.slice}`),
    ['accuracy:null', 'exact_match:null', 'accuracy:gap=1-7', 'accuracy:gap=8-31', 'accuracy:n=1', 'accuracy:n=2'],
  );
});

test('lmMetrics: numeric slice values sort as numbers', () => {
  const rows = lmMetrics(
    [lm([1], [1], [0], { length: '129-256' }), lm([1], [1], [0], { length: '17-32' }), lm([1], [1], [0], { length: '33-64' })],
    [[1], [0], [1]],
  );
  assert.deepEqual(
    rows.slice(2).map((r) => [r.slice, r.value]),
    [
      ['length=17-32', 0],
      ['length=33-64', 1],
      ['length=129-256', 1],
    ],
  );
});

test('lmMetrics: no slice labels gives only the whole-split rows', () => {
  const rows = lmMetrics([lm([4, 4], [0, 4], [1])], [[0, 3]]);
  assert.equal(rows.length, 2);
  assert.equal(row(rows, 'accuracy', null).value, 0);
  assert.equal(row(rows, 'exact_match', null).value, 0);
});

test('lmMetrics: mismatched predictions are refused with the bad index named', () => {
  assert.throws(() => lmMetrics(examples, predictions.slice(1)), /2 prediction rows for 3 examples/);
  assert.throws(() => lmMetrics(examples, [predictions[0], [9], predictions[2]]), /row 1 has length 1, its input 2/);
});
