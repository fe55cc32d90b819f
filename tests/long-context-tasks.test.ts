import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TASKS } from '../tasks/index.ts';
import { inductionHeads } from '../tasks/induction-heads.ts';
import { evaluate, listops, PAD, tokenize } from '../tasks/listops.ts';
import { fuzzyRecall, GAP_BUCKETS, mqar, noisyRecall } from '../tasks/mqar.ts';
import { inContextRecall } from '../tasks/in-context-recall.ts';
import { compression, INDEX_BUCKETS } from '../tasks/compression.ts';
import { factMap, memorization } from '../tasks/memorization.ts';
import { deriveSeed, rng } from '../util/rng.ts';
import { NOISE, selectiveCopying } from '../tasks/selective-copying.ts';
import { bucketLabel } from '../tasks/synthetic.ts';
import type { LMExample, Split, Task } from '../tasks/types.ts';

function take(task: Task, params: Record<string, unknown>, n: number, seed = 0, split: Split = 'train'): LMExample[] {
  const out: LMExample[] = [];
  for (const e of task.generate(task.params.parse(params), seed, split)) {
    assert.equal(e.form, 'lm');
    out.push(e as LMExample);
    if (out.length >= n) break;
  }
  return out;
}

const LONG_CONTEXT = ['selective-copying', 'induction-heads', 'mqar', 'fuzzy-recall', 'noisy-recall', 'in-context-recall', 'compression', 'memorization', 'listops'] as const;

// ---------- rng ----------

test('rng: same seed, same stream; helpers stay in range', () => {
  const a = rng(42);
  const b = rng(42);
  const draws = Array.from({ length: 50 }, () => a.float());
  assert.deepEqual(
    Array.from({ length: 50 }, () => b.float()),
    draws,
  );
  assert.ok(draws.every((x) => x >= 0 && x < 1));
  const c = rng(43);
  assert.notDeepEqual(
    Array.from({ length: 50 }, () => c.float()),
    draws,
  );
  const r = rng(1);
  const ints = Array.from({ length: 2000 }, () => r.int(7));
  assert.ok(ints.every((x) => Number.isInteger(x) && x >= 0 && x < 7));
  assert.equal(new Set(ints).size, 7);
  const arr = [1, 2, 3, 4, 5, 6, 7, 8];
  const shuffled = r.shuffle(arr);
  assert.equal(shuffled, arr, 'shuffle works in place');
  assert.deepEqual([...arr].sort(), [1, 2, 3, 4, 5, 6, 7, 8]);
  const sample = r.sample(20, 20);
  assert.deepEqual([...sample].sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i));
  assert.ok(['x', 'y'].includes(r.choice(['x', 'y'])));
  assert.throws(() => r.int(0), /positive integer/);
  assert.throws(() => r.choice([]), /empty/);
});

test('rng: powerLaw favours small indices as a·(k+1)^(a-1)', () => {
  const r = rng(3);
  const counts = [0, 0, 0, 0];
  const n = 40000;
  for (let i = 0; i < n; i++) counts[r.powerLaw(4, 0.5)]++;
  const weights = [1, 2, 3, 4].map((k) => k ** -0.5);
  const total = weights.reduce((s, w) => s + w, 0);
  counts.forEach((c, k) => assert.ok(Math.abs(c / n - weights[k] / total) < 0.01, `P(${k}) = ${c / n}, expected ${weights[k] / total}`));
});

test('deriveSeed: distinct streams per part, stable per input', () => {
  assert.equal(deriveSeed(7, 'mqar', 'train'), deriveSeed(7, 'mqar', 'train'));
  const seeds = new Set([deriveSeed(7, 'mqar', 'train'), deriveSeed(7, 'mqar', 'valid'), deriveSeed(7, 'mqar', 'test'), deriveSeed(8, 'mqar', 'train'), deriveSeed(7, 'listops', 'train')]);
  assert.equal(seeds.size, 5);
});

test('bucketLabel: half-open buckets with an open top', () => {
  assert.equal(bucketLabel(1, GAP_BUCKETS), '1-7');
  assert.equal(bucketLabel(7, GAP_BUCKETS), '1-7');
  assert.equal(bucketLabel(8, GAP_BUCKETS), '8-31');
  assert.equal(bucketLabel(127, GAP_BUCKETS), '32-127');
  assert.equal(bucketLabel(5000, GAP_BUCKETS), '512+');
  assert.equal(bucketLabel(0, GAP_BUCKETS), '<1');
});

// ---------- every task ----------

test('registry: the long-context tasks under their names', () => {
  for (const name of LONG_CONTEXT) {
    const task: Task = TASKS[name];
    assert.equal(task.name, name);
    assert.equal(task.kind, 'long-context');
    assert.equal(task.form, 'lm');
    assert.equal(task.finite, false);
  }
});

test('every task: deterministic per seed and split; splits and seeds differ; within maxLen and vocab', () => {
  for (const name of LONG_CONTEXT) {
    const task: Task = TASKS[name];
    const params = name === 'listops' ? { seq_len: 128 } : {};
    const p = task.params.parse(params);
    const first = take(task, params, 5, 11, 'train');
    assert.deepEqual(take(task, params, 5, 11, 'train'), first, `${name}: same seed and split`);
    assert.notDeepEqual(take(task, params, 5, 11, 'valid'), first, `${name}: valid ≠ train`);
    assert.notDeepEqual(take(task, params, 5, 11, 'test'), take(task, params, 5, 11, 'valid'), `${name}: test ≠ valid`);
    assert.notDeepEqual(take(task, params, 5, 12, 'train'), first, `${name}: seed 12 ≠ seed 11`);
    const vocab = task.vocab(p);
    for (const e of take(task, params, 50, 5, 'test')) {
      assert.equal(e.input.length, e.target.length);
      assert.ok(e.input.length <= task.maxLen(p), `${name}: length ${e.input.length} over maxLen ${task.maxLen(p)}`);
      assert.ok(e.answer.length > 0);
      assert.ok(e.answer.every((a) => Number.isInteger(a) && a >= 0 && a < e.input.length));
      assert.ok([...e.input, ...e.target].every((t) => Number.isInteger(t) && t >= 0 && t < vocab.size), `${name}: token outside vocabulary`);
      if (e.answerSlice) assert.equal(e.answerSlice.length, e.answer.length);
    }
  }
});

test('every task: export is JSON Lines of the same examples', () => {
  for (const name of LONG_CONTEXT) {
    const task: Task = TASKS[name];
    const params = name === 'listops' ? { seq_len: 64 } : {};
    const p = task.params.parse(params);
    const lines: string[] = [];
    for (const line of task.export(p, 3, 'valid')) {
      lines.push(line);
      if (lines.length === 3) break;
    }
    const examples = take(task, params, 3, 3, 'valid');
    lines.forEach((line, i) => {
      const parsed = JSON.parse(line);
      assert.deepEqual(parsed.input, examples[i].input);
      assert.deepEqual(parsed.target, examples[i].target);
      assert.deepEqual(parsed.answer, examples[i].answer);
    });
  }
});

// ---------- selective copying ----------

test('selective-copying: worked example', () => {
  const [e] = take(selectiveCopying, { seq_len: 10, num_tokens: 3, vocab_size: 6 }, 1);
  assert.deepEqual(e.input, [2, 0, 0, 3, 3, 0, 0, 0, 0, 0, 5, 5, 5]);
  assert.deepEqual(e.target, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 3]);
  assert.deepEqual(e.answer, [10, 11, 12]);
});

test('selective-copying: 16 data tokens among noise, then 16 markers whose targets are the data in order', () => {
  const p = selectiveCopying.params.parse({});
  assert.deepEqual(p, { seq_len: 256, num_tokens: 16, vocab_size: 16 });
  for (const e of take(selectiveCopying, {}, 20)) {
    assert.equal(e.input.length, 256 + 16);
    const body = e.input.slice(0, 256);
    const data = body.filter((t) => t !== NOISE);
    assert.equal(data.length, 16);
    assert.ok(data.every((t) => t >= 1 && t <= 14), 'data tokens are neither noise nor marker');
    assert.deepEqual(e.input.slice(256), Array(16).fill(15));
    assert.deepEqual(e.answer, Array.from({ length: 16 }, (_, k) => 256 + k));
    assert.deepEqual(
      e.answer.map((a) => e.target[a]),
      data,
    );
  }
  assert.throws(() => selectiveCopying.params.parse({ seq_len: 8, num_tokens: 9 }), /num_tokens 9 does not fit in seq_len 8/);
});

// ---------- induction heads ----------

test('induction-heads: worked example', () => {
  const [e] = take(inductionHeads, { seq_len: 12, vocab_size: 6 }, 1);
  assert.deepEqual(e.input, [2, 3, 5, 3, 2, 3, 0, 1, 3, 3, 4, 5]);
  assert.deepEqual(e.target, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
  assert.deepEqual(e.answer, [11]);
});

test('induction-heads: the answer is the token after the first special token', () => {
  for (const e of take(inductionHeads, {}, 50)) {
    const special = 15;
    const at = e.input.flatMap((t, i) => (t === special ? [i] : []));
    assert.equal(at.length, 2, 'the special token occurs exactly twice');
    assert.equal(at[1], 255, 'the second occurrence ends the sequence');
    assert.ok(at[0] + 1 < 255);
    assert.deepEqual(e.answer, [255]);
    assert.equal(e.target[255], e.input[at[0] + 1]);
  }
});

test('induction-heads: eval variants at 2, 4, 8, 16 × the training length', () => {
  const p = inductionHeads.params.parse({});
  const variants = inductionHeads.evalVariants!(p);
  assert.deepEqual(
    variants.map((v) => [v.label, v.params.seq_len]),
    [
      ['eval_len=512', 512],
      ['eval_len=1024', 1024],
      ['eval_len=2048', 2048],
      ['eval_len=4096', 4096],
    ],
  );
  const [long] = take(inductionHeads, variants[3].params, 1);
  assert.equal(long.input.length, 4096);
  assert.deepEqual(long.answer, [4095]);
});

// ---------- MQAR family ----------

/**
 * Reads an MQAR-family sequence without the generator: the context is its first pairs (keys below
 * firstValue, values from firstValue up, noise from firstNoise up); checks every scored position.
 */
function checkRecall(e: LMExample, p: { num_kv_pairs: number; key_len: number; value_len: number; seq_len: number }, firstValue: number, firstNoise: number) {
  assert.equal(e.input.length, p.seq_len);
  const pairs = new Map<string, number[]>();
  const keyAt = new Map<string, number>();
  let i = 0;
  while (pairs.size < p.num_kv_pairs) {
    if (e.input[i] >= firstNoise) {
      i++;
      continue;
    }
    const key = e.input.slice(i, i + p.key_len);
    const value = e.input.slice(i + p.key_len, i + p.key_len + p.value_len);
    assert.ok(key.every((t) => t >= 1 && t < firstValue), `key tokens at ${i} are keys`);
    assert.ok(value.every((t) => t >= firstValue && t < firstNoise), `value tokens at ${i + p.key_len} are values`);
    assert.ok(!pairs.has(key.join()), 'keys are distinct');
    pairs.set(key.join(), value);
    keyAt.set(key.join(), i);
    i += p.key_len + p.value_len;
  }
  assert.equal(new Set([...pairs.values()].map((v) => v.join())).size, p.num_kv_pairs, 'values are distinct');
  assert.equal(e.answer.length, p.num_kv_pairs * p.value_len);
  assert.deepEqual(e.slice, { num_kv_pairs: p.num_kv_pairs });
  const queried = new Set<string>();
  for (let j = 0; j < e.answer.length; j += p.value_len) {
    const a = e.answer[j];
    assert.ok(a >= i, 'queries come after the context');
    const key = e.input.slice(a - p.key_len + 1, a + 1).join();
    assert.ok(pairs.has(key), `query at ${a} asks a key of the context`);
    queried.add(key);
    const value = pairs.get(key)!;
    for (let v = 0; v < p.value_len; v++) {
      assert.equal(e.answer[j + v], a + v, 'a value is scored token by token');
      assert.equal(e.target[a + v], value[v], `target at ${a + v} is the paired value`);
      if (v < p.value_len - 1) assert.equal(e.input[a + 1 + v], value[v], 'teacher forcing inside the value');
      const gap = a - p.key_len + 1 - keyAt.get(key)!;
      assert.deepEqual(e.answerSlice![j + v], { gap: bucketLabel(gap, GAP_BUCKETS) });
    }
  }
  assert.equal(queried.size, p.num_kv_pairs, 'each key is asked once');
  const scored = new Set(e.answer);
  e.target.forEach((t, k) => {
    if (!scored.has(k)) assert.equal(t, 0, `unscored target at ${k} is 0`);
  });
}

test('mqar: worked example', () => {
  const [e] = take(mqar, { vocab_size: 16, seq_len: 16, num_kv_pairs: 2 }, 1);
  assert.deepEqual(e.input, [2, 12, 4, 9, 2, 6, 4, 3, 3, 7, 12, 14, 12, 1, 9, 11]);
  assert.deepEqual(e.target, [0, 0, 0, 0, 12, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(e.answer, [4, 6]);
  assert.deepEqual(e.answerSlice, [{ gap: '1-7' }, { gap: '1-7' }]);
  assert.deepEqual(e.slice, { num_kv_pairs: 2 });
});

test('fuzzy-recall: worked example', () => {
  const [e] = take(fuzzyRecall, { vocab_size: 16, seq_len: 20, num_kv_pairs: 2, key_len: 2, value_len: 2 }, 1);
  assert.deepEqual(e.input, [4, 5, 12, 14, 7, 1, 9, 9, 5, 6, 12, 6, 7, 1, 9, 14, 4, 5, 12, 11]);
  assert.deepEqual(e.target, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 0, 0, 12, 14, 0]);
  assert.deepEqual(e.answer, [13, 14, 17, 18]);
});

test('noisy-recall: worked example', () => {
  const [e] = take(noisyRecall, { vocab_size: 20, seq_len: 16, num_kv_pairs: 2, noise_fraction: 0.5, noise_vocab_size: 4 }, 1);
  assert.deepEqual(e.input, [1, 14, 17, 19, 16, 3, 8, 19, 1, 16, 12, 4, 3, 11, 11, 14]);
  assert.deepEqual(e.target, [0, 0, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0, 8, 0, 0, 0]);
  assert.deepEqual(e.answer, [8, 12]);
  assert.deepEqual(e.answerSlice, [{ gap: '8-31' }, { gap: '1-7' }]);
});

test('mqar: defaults, and every query answers with the value paired with its key', () => {
  const p = mqar.params.parse({});
  assert.deepEqual(p, { vocab_size: 128, seq_len: 64, num_kv_pairs: 4, power_a: 0.01, key_len: 1, value_len: 1, noise_fraction: 0, noise_vocab_size: 0 });
  for (const e of take(mqar, {}, 100)) checkRecall(e, p, 64, 128);
  const big = mqar.params.parse({ vocab_size: 8192, seq_len: 256, num_kv_pairs: 16 });
  for (const e of take(mqar, big, 20)) checkRecall(e, big, 4096, 8192);
});

test('fuzzy-recall and noisy-recall: the same reading holds with multi-token pairs and noise', () => {
  const fuzzy = fuzzyRecall.params.parse({});
  assert.equal(fuzzy.key_len, 3);
  assert.equal(fuzzy.value_len, 3);
  for (const e of take(fuzzyRecall, {}, 50)) checkRecall(e, fuzzy, 64, 128);
  const noisy = noisyRecall.params.parse({});
  assert.equal(noisy.noise_fraction, 0.2);
  for (const e of take(noisyRecall, {}, 50)) {
    checkRecall(e, noisy, 56, 112);
    // 8 pair tokens at 20 % noise → 2 noise tokens in the context (the first 10 tokens)
    assert.equal(e.input.slice(0, 10).filter((t) => t >= 112).length, 2);
  }
});

test('mqar: a small power_a puts queries nearer their keys than a uniform draw', () => {
  const meanFirstAnswer = (power_a: number) => {
    const examples = take(mqar, { seq_len: 256, num_kv_pairs: 4, power_a }, 300);
    return examples.reduce((s, e) => s + e.answer[0], 0) / examples.length;
  };
  assert.ok(meanFirstAnswer(0.01) < meanFirstAnswer(1) - 20);
});

test('mqar: impossible params are refused with the fix named', () => {
  assert.throws(() => mqar.params.parse({ seq_len: 16, num_kv_pairs: 8 }), /raise seq_len to at least 32/);
  assert.throws(() => mqar.params.parse({ vocab_size: 8, num_kv_pairs: 4, seq_len: 16 }), /distinct keys/);
  assert.throws(() => noisyRecall.params.parse({ noise_vocab_size: 0 }), /noise_vocab_size ≥ 1/);
});

// ---------- MAD: in-context recall, compression, memorization ----------

test('in-context-recall: worked examples', () => {
  const [e] = take(inContextRecall, { vocab_size: 8, seq_len: 12 }, 1);
  assert.deepEqual(e.input, [1, 4, 3, 7, 3, 7, 0, 5, 1, 4, 0, 5]);
  assert.deepEqual(e.target, [0, 0, 0, 0, 7, 0, 0, 0, 4, 0, 5, 0]);
  assert.deepEqual(e.answer, [4, 8, 10]);
  assert.deepEqual(e.answerSlice, [{ gap: '1-7' }, { gap: '8-31' }, { gap: '1-7' }]);
  const [noisy] = take(inContextRecall, { vocab_size: 10, seq_len: 12, noise_fraction: 0.4, noise_vocab_size: 2 }, 1);
  assert.deepEqual(noisy.input, [9, 9, 3, 4, 8, 9, 3, 4, 0, 7, 0, 7]);
  assert.deepEqual(noisy.target, [0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 7, 0]);
  assert.deepEqual(noisy.answer, [6, 10]);
  assert.deepEqual(noisy.answerSlice, [{ gap: '1-7' }, { gap: '1-7' }]);
});

/** Reads an in-context-recall sequence slot by slot without the generator and checks every scored position. */
function checkInContextRecall(e: LMExample, p: { seq_len: number; vocab_size: number; noise_vocab_size: number }) {
  const content = p.vocab_size - p.noise_vocab_size;
  const firstValue = Math.floor(content / 2);
  assert.equal(e.input.length, p.seq_len);
  const valueOf = new Map<number, number>();
  const lastAt = new Map<number, number>();
  const expected: number[] = [];
  const gaps: number[] = [];
  for (let i = 0; i < p.seq_len; i += 2) {
    const [a, b] = [e.input[i], e.input[i + 1]];
    if (a >= content) {
      assert.ok(b >= content && b < p.vocab_size, `slot at ${i} is two noise tokens`);
      assert.notEqual(i, p.seq_len - 2, 'the last slot is a pair');
      continue;
    }
    assert.ok(a < firstValue && b >= firstValue && b < content, `slot at ${i} is key, value`);
    if (valueOf.has(a)) {
      assert.equal(b, valueOf.get(a), `key ${a} keeps its value within the sequence`);
      expected.push(i);
      gaps.push(i - lastAt.get(a)!);
    }
    valueOf.set(a, b);
    lastAt.set(a, i);
  }
  assert.deepEqual(e.answer, expected, 'every repeated key, and nothing else, is scored');
  assert.equal(e.answer[e.answer.length - 1], p.seq_len - 2, 'the sequence ends on a query');
  for (const a of e.answer) assert.equal(e.target[a], e.input[a + 1], `target at ${a} is the key's value`);
  assert.deepEqual(e.answerSlice, gaps.map((g) => ({ gap: bucketLabel(g, GAP_BUCKETS) })));
  const scored = new Set(e.answer);
  e.target.forEach((t, k) => {
    if (!scored.has(k)) assert.equal(t, 0, `unscored target at ${k} is 0`);
  });
}

test("in-context-recall: MAD's defaults; every repeated key is a query answered by its value", () => {
  const p = inContextRecall.params.parse({});
  assert.deepEqual(p, { vocab_size: 16, seq_len: 128, noise_fraction: 0, noise_vocab_size: 0 });
  const examples = take(inContextRecall, {}, 50);
  for (const e of examples) checkInContextRecall(e, p);
  const mean = examples.reduce((s, e) => s + e.answer.length, 0) / examples.length;
  assert.ok(mean > 50, `64 pairs over 8 keys: at least 56 queries a sequence, got ${mean}`);
  const noisy = inContextRecall.params.parse({ vocab_size: 32, noise_vocab_size: 16, noise_fraction: 0.2 });
  let noiseSlots = 0;
  for (const e of take(inContextRecall, noisy, 50)) {
    checkInContextRecall(e, noisy);
    for (let i = 0; i < 128; i += 2) if (e.input[i] >= 16) noiseSlots++;
  }
  assert.ok(Math.abs(noiseSlots / (50 * 63) - 0.2) < 0.03, `about 20 % of the first 63 slots are noise, got ${noiseSlots / (50 * 63)}`);
});

test('in-context-recall: impossible params are refused with the fix named', () => {
  assert.throws(() => inContextRecall.params.parse({ seq_len: 127 }), /seq_len 127 is odd.*such as 128/);
  assert.throws(() => inContextRecall.params.parse({ vocab_size: 17, noise_vocab_size: 16 }), /raise vocab_size to at least 18/);
  assert.throws(() => inContextRecall.params.parse({ noise_fraction: 0.2 }), /noise_vocab_size ≥ 1/);
});

test('compression: worked example', () => {
  const [e] = take(compression, { vocab_size: 16, seq_len: 6 }, 1);
  assert.deepEqual(e.input, [14, 8, 1, 1, 4, 15, 15, 15, 15, 15]);
  assert.deepEqual(e.target, [0, 0, 0, 0, 0, 14, 8, 1, 1, 4]);
  assert.deepEqual(e.answer, [5, 6, 7, 8, 9]);
  assert.deepEqual(e.answerSlice, [{ index: '0-3' }, { index: '0-3' }, { index: '0-3' }, { index: '0-3' }, { index: '4-7' }]);
});

test("compression: MAD's defaults; each compression token answers the next data token in order", () => {
  const p = compression.params.parse({});
  assert.deepEqual(p, { vocab_size: 16, seq_len: 32 });
  assert.equal(compression.maxLen(p), 62);
  for (const e of take(compression, {}, 50)) {
    assert.equal(e.input.length, 62);
    const data = e.input.slice(0, 31);
    assert.ok(data.every((t) => t >= 0 && t <= 14), 'data tokens are never the compression token');
    assert.deepEqual(e.input.slice(31), Array(31).fill(15));
    assert.deepEqual(e.answer, Array.from({ length: 31 }, (_, k) => 31 + k));
    assert.deepEqual(e.target.slice(0, 31), Array(31).fill(0));
    assert.deepEqual(e.answer.map((a) => e.target[a]), data);
    assert.deepEqual(e.answerSlice, data.map((_, k) => ({ index: bucketLabel(k, INDEX_BUCKETS) })));
  }
  assert.throws(() => compression.params.parse({ seq_len: 1 }), /seq_len/);
});

test('memorization: worked example and its mapping', () => {
  const p = memorization.params.parse({ vocab_size: 9, seq_len: 8 });
  assert.deepEqual(factMap(p, 0), [5, 4, 7, 6]);
  const [e] = take(memorization, p, 1);
  assert.deepEqual(e.input, [1, 8, 0, 8, 0, 8, 2, 8]);
  assert.deepEqual(e.target, [0, 4, 0, 5, 0, 5, 0, 7]);
  assert.deepEqual(e.answer, [1, 3, 5, 7]);
});

test("memorization: MAD's defaults; one mapping per seed, shared by every split, answered at each insert token", () => {
  const p = memorization.params.parse({});
  assert.deepEqual(p, { vocab_size: 256, seq_len: 32 });
  const map = factMap(p, 7);
  assert.equal(map.length, 127);
  assert.equal(new Set(map).size, 127, 'each key has its own value');
  assert.ok(map.every((v) => v >= 127 && v <= 254), 'values lie in 127..254, below the insert token 255');
  assert.notDeepEqual(factMap(p, 8), map, 'another seed, another mapping');
  const seen = new Map<number, number>();
  for (const split of ['train', 'valid', 'test'] as const) {
    for (const e of take(memorization, {}, 40, 7, split)) {
      assert.equal(e.input.length, 32);
      assert.deepEqual(e.answer, Array.from({ length: 16 }, (_, q) => 2 * q + 1));
      for (let q = 0; q < 16; q++) {
        const key = e.input[2 * q];
        assert.ok(key >= 0 && key < 127, `key ${key}`);
        assert.equal(e.input[2 * q + 1], 255, 'every key is followed by the insert token');
        assert.equal(e.target[2 * q], 0);
        assert.equal(e.target[2 * q + 1], map[key], `${split}: key ${key} answers the seed's value`);
        seen.set(key, e.target[2 * q + 1]);
      }
    }
  }
  assert.ok(seen.size > 120, `most of the 127 keys are asked in 1,920 queries, got ${seen.size}`);
  assert.throws(() => memorization.params.parse({ seq_len: 31 }), /seq_len 31 is odd.*such as 32/);
  assert.throws(() => memorization.params.parse({ vocab_size: 2 }), /vocab_size/);
});

// ---------- ListOps ----------

test('listops: hand-worked expressions', () => {
  assert.equal(evaluate(tokenize('[MAX 2 9 [MIN 4 7 ] 0 ]')), 9);
  assert.equal(evaluate(tokenize('[SM 5 6 ]')), 1);
  assert.equal(evaluate(tokenize('[MED 1 2 9 ]')), 2);
  assert.equal(evaluate(tokenize('[MED 1 2 ]')), 1, 'median of an even count rounds down');
  assert.equal(evaluate(tokenize('[MIN [SM 9 9 ] [MAX 3 [MED 8 4 6 5 ] ] ]')), 5);
  assert.throws(() => evaluate(tokenize('[MAX 1 2')), /unfinished/);
  assert.throws(() => tokenize('[AVG 1 ]'), /unknown token '\[AVG'/);
});

test('listops: worked example', () => {
  const p = listops.params.parse({ seq_len: 16, min_len: 8 });
  const [e] = take(listops, { seq_len: 16, min_len: 8 }, 1);
  assert.equal(listops.detokenize!(p, e.input), '[MIN 9 1 [MIN 3 4 6 ] 8 8 ]');
  assert.deepEqual(e.input, [11, 9, 1, 11, 3, 4, 6, 14, 8, 8, 14]);
  assert.deepEqual(e.target, [15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 1]);
  assert.deepEqual(e.answer, [10]);
  assert.deepEqual(e.slice, { length: '9-16' });
});

test('listops: generated answers agree with an independent evaluator; lengths, depth and arity within params', () => {
  const p = listops.params.parse({});
  assert.deepEqual(p, { seq_len: 512, max_depth: 10, max_args: 5 });
  assert.equal(listops.vocab(p).size, 16);
  assert.equal(listops.vocab(p).pad, PAD);
  const examples = take(listops, {}, 150);
  for (const e of examples) {
    const last = e.input.length - 1;
    assert.ok(e.input.length >= 128 && e.input.length <= 512, `length ${e.input.length} outside 128..512`);
    assert.deepEqual(e.answer, [last]);
    assert.equal(e.target[last], evaluate(e.input));
    assert.ok(e.target.slice(0, last).every((t) => t === PAD));
    assert.ok(!e.input.includes(PAD));
    assert.deepEqual(tokenize(listops.detokenize!(p, e.input)), e.input);
    assert.deepEqual(e.slice, { length: bucketLabel(e.input.length, [1, 2, 3, 5, 9, 17, 33, 65, 129, 257, 513]) });
    // Depth (leaves counted) and arguments per operator, read from the brackets.
    const args: number[] = [];
    let deepest = 0;
    for (const t of e.input) {
      if (t >= 10 && t <= 13) {
        if (args.length > 0) args[args.length - 1]++;
        args.push(0);
        deepest = Math.max(deepest, args.length);
      } else if (t === 14) {
        const n = args.pop()!;
        assert.ok(n >= 2 && n <= 5, `operator with ${n} arguments`);
      } else {
        args[args.length - 1]++;
        deepest = Math.max(deepest, args.length + 1);
      }
    }
    assert.ok(deepest <= 10, `depth ${deepest}`);
  }
  const answers = new Set(examples.map((e) => e.target[e.answer[0]]));
  assert.equal(answers.size, 10, 'every digit occurs as an answer');
  const lengths = examples.map((e) => e.input.length);
  assert.ok(Math.max(...lengths) > 400, 'long expressions are reached');
});

test('listops: params that cannot reach min_len are refused', () => {
  assert.throws(() => listops.params.parse({ seq_len: 64, min_len: 65 }), /min_len 65 exceeds seq_len 64/);
  assert.throws(() => listops.params.parse({ seq_len: 512, max_depth: 3, max_args: 2 }), /hold at most 10 tokens/);
});

test('induction-heads num_queries: every return of the special token asks for the token after its first occurrence', () => {
  const p = { seq_len: 64, vocab_size: 16, num_queries: 8 };
  const special = 15;
  for (const e of take(inductionHeads, p, 50)) {
    const occurrences = e.input.map((t, i) => (t === special ? i : -1)).filter((i) => i >= 0);
    const [first, ...returns] = occurrences;
    assert.ok(first < 31, `first special token at ${first}, not in the first half`);
    assert.deepEqual(e.answer, returns, 'the answers are exactly the returns');
    assert.equal(returns.length, 8);
    assert.equal(returns[returns.length - 1], 63, 'the last return ends the sequence');
    assert.ok(returns.every((q) => q >= 32));
    for (const q of returns) {
      assert.equal(e.target[q], e.input[first + 1]);
      if (q < 63) assert.equal(e.input[q + 1], e.input[first + 1], 'a return is followed by the target (teacher forcing)');
    }
    assert.deepEqual(e.answerSlice, returns.map((_, i) => ({ query: i === 0 ? 'first' : 'repeat' })));
  }
  // The judged variants are the published one-query task, at the training length too.
  const variants = inductionHeads.evalVariants!(inductionHeads.params.parse(p));
  assert.deepEqual(variants.map((v) => v.label), ['eval_len=64', 'eval_len=128', 'eval_len=256', 'eval_len=512', 'eval_len=1024']);
  assert.ok(variants.every((v) => ((v.params as { num_queries?: number }).num_queries ?? 1) === 1));
  assert.throws(() => inductionHeads.params.parse({ seq_len: 8, vocab_size: 6, num_queries: 5 }), /at most 2 fit/);
});
