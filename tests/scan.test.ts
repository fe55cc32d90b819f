/** SCAN: the full command set, hand-checked meanings, the simple and length splits, the export format. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanLength, scanLine, scanPairs, scanSimple, SCAN_VOCABULARY } from '../tasks/scan.ts';
import { SPECIAL_TOKENS, type PairExample } from '../tasks/types.ts';

const pairs = scanPairs();
const meaning = new Map(pairs.map((p) => [p.command.join(' '), p.actions.join(' ')]));

test('the grammar yields exactly 20,910 unique command–action pairs', () => {
  assert.equal(pairs.length, 20910);
  assert.equal(new Set(pairs.map(scanLine)).size, 20910);
  assert.equal(meaning.size, 20910);
});

test('hand-checked interpretations', () => {
  const cases: [string, string][] = [
    ['jump', 'I_JUMP'],
    ['turn left', 'I_TURN_LEFT'],
    ['walk right', 'I_TURN_RIGHT I_WALK'],
    ['turn opposite left', 'I_TURN_LEFT I_TURN_LEFT'],
    ['run opposite right', 'I_TURN_RIGHT I_TURN_RIGHT I_RUN'],
    ['walk around left', 'I_TURN_LEFT I_WALK I_TURN_LEFT I_WALK I_TURN_LEFT I_WALK I_TURN_LEFT I_WALK'],
    ['turn around right', 'I_TURN_RIGHT I_TURN_RIGHT I_TURN_RIGHT I_TURN_RIGHT'],
    ['look twice', 'I_LOOK I_LOOK'],
    ['jump left thrice', 'I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP'],
    ['walk and look', 'I_WALK I_LOOK'],
    ['walk after look', 'I_LOOK I_WALK'],
    ['jump opposite right twice and turn left', 'I_TURN_RIGHT I_TURN_RIGHT I_JUMP I_TURN_RIGHT I_TURN_RIGHT I_JUMP I_TURN_LEFT'],
    ['run twice after turn opposite left', 'I_TURN_LEFT I_TURN_LEFT I_RUN I_RUN'],
  ];
  for (const [command, actions] of cases) assert.equal(meaning.get(command), actions, command);
  // not sentences of the grammar
  for (const command of ['turn', 'turn twice', 'left', 'jump and', 'walk and look and run']) assert.equal(meaning.has(command), false, command);
  // the longest: 2 × thrice × around (8 actions) = 48
  assert.equal(meaning.get('jump around left thrice and jump around left thrice')?.split(' ').length, 48);
});

test('vocabulary: specials first, then the 13 command words and 6 actions', () => {
  assert.deepEqual(SCAN_VOCABULARY.tokens.slice(0, 4), [...SPECIAL_TOKENS]);
  assert.equal(SCAN_VOCABULARY.size, 4 + 13 + 6);
  const p = scanSimple.params.parse({});
  const [first] = scanSimple.generate(p, 0, 'test');
  assert.ok([...first.source, ...first.target].every((id) => id >= 4 && id < SCAN_VOCABULARY.size));
  // maxLen: 9 command words + 48 actions + 2 specials
  assert.equal(scanSimple.maxLen(), 59);
});

const texts = (examples: PairExample[]) => examples.map((e) => `${scanSimple.detokenize(null, e.source)} → ${scanSimple.detokenize(null, e.target)}`);

test('scan-simple: seeded 80/20 split (16,728 / 4,182), valid held out of train, disjoint and complete', () => {
  const p = scanSimple.params.parse({});
  const split = (s: 'train' | 'valid' | 'test', seed = 3) => texts(scanSimple.generate(p, seed, s));
  const [train, valid, test] = [split('train'), split('valid'), split('test')];
  assert.equal(test.length, 4182);
  assert.equal(valid.length, 1673); // 10% of 16,728
  assert.equal(train.length + valid.length, 16728);
  assert.equal(new Set([...train, ...valid, ...test]).size, 20910);
  // every example is one of the grammar's pairs
  for (const line of test.slice(0, 200)) {
    const [command, actions] = line.split(' → ');
    assert.equal(meaning.get(command), actions);
  }
  // deterministic for a seed, different for another
  assert.deepEqual(split('test'), test);
  assert.notDeepEqual(split('test', 4), test);
  // valid_fraction 0 keeps all of train
  assert.equal([...scanSimple.generate({ ...p, valid_fraction: 0 }, 3, 'train')].length, 16728);
});

test('scan-length: train ≤ 22 actions (16,990 with valid), test the 3,920 longer ones, per-length slices', () => {
  const p = scanLength.params.parse({});
  const train = scanLength.generate(p, 0, 'train');
  const valid = scanLength.generate(p, 0, 'valid');
  const test = scanLength.generate(p, 0, 'test');
  assert.equal(train.length + valid.length, 16990);
  assert.equal(test.length, 3920);
  assert.equal(Math.max(...[...train, ...valid].map((e) => e.target.length)), 22);
  assert.equal(Math.min(...test.map((e) => e.target.length)), 24); // no command has 23 actions
  assert.deepEqual([...new Set(test.map((e) => e.slice?.action_len))].sort((a, b) => Number(a) - Number(b)), [24, 25, 26, 27, 28, 30, 32, 33, 36, 40, 48]);
  assert.ok(test.every((e) => e.slice?.action_len === e.target.length));
  assert.equal([...scanLength.generate({ ...p, valid_fraction: 0 }, 0, 'train')].length, 16990);
  // the same test set for every seed (only its order is seeded), a seeded valid slice
  assert.deepEqual(new Set(texts(scanLength.generate(p, 1, 'test'))), new Set(texts(test)));
  assert.deepEqual(texts(scanLength.generate(p, 0, 'valid')), texts(valid));
  assert.notDeepEqual(texts(scanLength.generate(p, 1, 'valid')), texts(valid));
});

test('export writes the released files\' line format', () => {
  const p = scanLength.params.parse({});
  const lines = [...scanLength.export(p, 0, 'test')];
  assert.equal(lines.length, 3920);
  for (const line of lines) assert.match(line, /^IN: [a-z]+( [a-z]+)* OUT: I_[A-Z_]+( I_[A-Z_]+)*$/);
  assert.equal(scanLine({ command: ['walk', 'after', 'look'], actions: ['I_LOOK', 'I_WALK'] }), 'IN: walk after look OUT: I_LOOK I_WALK');
  // the export and generate agree line for line
  const first = scanLength.generate(p, 0, 'test')[0];
  assert.equal(lines[0], `IN: ${scanLength.detokenize(null, first.source)} OUT: ${scanLength.detokenize(null, first.target)}`);
});
