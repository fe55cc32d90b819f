/**
 * SCAN (Lake & Baroni 2018, "Generalization without systematicity", §2 and Figure 7): navigation
 * commands → action sequences, generated in full from the published grammar and interpretation rules.
 *
 *   C → S | S and S | S after S        S → V | V twice | V thrice
 *   V → U | W R | W opposite R | W around R
 *   W → U | turn      U → walk | look | run | jump      R → left | right
 *
 *   ⟦jump⟧ = I_JUMP   ⟦turn⟧ = (nothing)   ⟦left⟧ = I_TURN_LEFT   ⟦w left⟧ = I_TURN_LEFT ⟦w⟧
 *   ⟦w opposite left⟧ = I_TURN_LEFT I_TURN_LEFT ⟦w⟧   ⟦w around left⟧ = (I_TURN_LEFT ⟦w⟧) × 4
 *   ⟦x twice⟧ = ⟦x⟧ ⟦x⟧   ⟦x thrice⟧ = ⟦x⟧ ⟦x⟧ ⟦x⟧   ⟦x and y⟧ = ⟦x⟧ ⟦y⟧   ⟦x after y⟧ = ⟦y⟧ ⟦x⟧
 *   (so ⟦turn opposite left⟧ = I_TURN_LEFT I_TURN_LEFT and ⟦turn around left⟧ = I_TURN_LEFT × 4)
 *
 * 34 verb phrases × 3 → 102 S; 102 + 2 · 102² = 20,910 commands, each with one action sequence.
 *
 * - scan-simple: a seeded random 80/20 split of all commands (the original: 16,728 / 4,182).
 * - scan-length: train on action sequences of at most 22 actions (16,990), test on the longer ones,
 *   24 to 48 actions (3,920), which the model has never produced; per-length accuracy is in the
 *   `action_len` slice.
 * In both, valid is a seeded `valid_fraction` of train held out of it (default 10%).
 *
 *   IN: jump opposite right twice and turn left OUT: I_TURN_RIGHT I_TURN_RIGHT I_JUMP I_TURN_RIGHT I_TURN_RIGHT I_JUMP I_TURN_LEFT
 */
import { z } from 'zod';
import { deriveSeed, rng } from '../util/rng.ts';
import type { PairExample, Split, Task } from './types.ts';
import { Vocabulary } from './vocabulary.ts';

export interface ScanPair {
  command: string[];
  actions: string[];
}

const PRIMITIVES: Record<string, string> = { walk: 'I_WALK', look: 'I_LOOK', run: 'I_RUN', jump: 'I_JUMP' };
const TURNS: Record<string, string> = { left: 'I_TURN_LEFT', right: 'I_TURN_RIGHT' };
const COMMAND_WORDS = ['walk', 'look', 'run', 'jump', 'turn', 'left', 'right', 'opposite', 'around', 'twice', 'thrice', 'and', 'after'];
const ACTION_WORDS = ['I_WALK', 'I_LOOK', 'I_RUN', 'I_JUMP', 'I_TURN_LEFT', 'I_TURN_RIGHT'];

export const SCAN_VOCABULARY = new Vocabulary([...COMMAND_WORDS, ...ACTION_WORDS]);

const repeat = <T>(items: T[], times: number): T[] => Array.from({ length: times }, () => items).flat();

/** The 34 verb phrases V with their meanings (first the 4 U, then W R, W opposite R, W around R). */
function verbPhrases(): ScanPair[] {
  const phrases: ScanPair[] = Object.entries(PRIMITIVES).map(([word, action]) => ({ command: [word], actions: [action] }));
  // `turn` joins the primitives in directed phrases, with an empty meaning of its own.
  const movers: [string, string[]][] = [...Object.entries(PRIMITIVES).map(([w, a]): [string, string[]] => [w, [a]]), ['turn', []]];
  for (const [word, action] of movers) {
    for (const [direction, turn] of Object.entries(TURNS)) {
      phrases.push({ command: [word, direction], actions: [turn, ...action] });
      phrases.push({ command: [word, 'opposite', direction], actions: [turn, turn, ...action] });
      phrases.push({ command: [word, 'around', direction], actions: repeat([turn, ...action], 4) });
    }
  }
  return phrases;
}

/** All 20,910 command–action pairs, in grammar order (S, then S and S, then S after S). */
export function scanPairs(): ScanPair[] {
  const sentences: ScanPair[] = verbPhrases().flatMap((v) => [
    v,
    { command: [...v.command, 'twice'], actions: repeat(v.actions, 2) },
    { command: [...v.command, 'thrice'], actions: repeat(v.actions, 3) },
  ]);
  const pairs = [...sentences];
  for (const first of sentences) {
    for (const second of sentences) pairs.push({ command: [...first.command, 'and', ...second.command], actions: [...first.actions, ...second.actions] });
  }
  for (const first of sentences) {
    for (const second of sentences) pairs.push({ command: [...first.command, 'after', ...second.command], actions: [...second.actions, ...first.actions] });
  }
  return pairs;
}

let allPairs: ScanPair[] | null = null;
const pairs = (): ScanPair[] => (allPairs ??= scanPairs());
let longestPair: number | null = null;

/** `IN: <command> OUT: <actions>`, the line format of the released SCAN files. */
export const scanLine = (pair: ScanPair): string => `IN: ${pair.command.join(' ')} OUT: ${pair.actions.join(' ')}`;

/** Hold out a seeded `validFraction` of train as valid; the order within each split is seeded too. */
function holdOutValid(train: ScanPair[], validFraction: number, seed: number, split: Split): ScanPair[] {
  const shuffled = rng(deriveSeed(seed, 'scan-valid')).shuffle([...train]);
  const nValid = Math.round(shuffled.length * validFraction);
  return split === 'valid' ? shuffled.slice(0, nValid) : shuffled.slice(nValid);
}

const scanBase = {
  kind: 'translation',
  form: 'pair',
  finite: true,
  vocab: () => ({ size: SCAN_VOCABULARY.size, tokens: [...SCAN_VOCABULARY.tokens], pad: 0 }),
  maxLen: () => (longestPair ??= Math.max(...pairs().map((p) => p.command.length + p.actions.length))) + 2,
  detokenize: (_params: unknown, tokens: number[]) => SCAN_VOCABULARY.decode(tokens).join(' '),
} as const;

function toExample(pair: ScanPair, withLength: boolean): PairExample {
  return {
    form: 'pair',
    source: SCAN_VOCABULARY.encode(pair.command),
    target: SCAN_VOCABULARY.encode(pair.actions),
    ...(withLength ? { slice: { action_len: pair.actions.length } } : {}),
  };
}

const validFraction = z.number().min(0).lt(1).default(0.1).describe('fraction of train held out (seeded) as the valid split');

const simpleParams = z.object({
  test_fraction: z.number().gt(0).lt(1).default(0.2).describe('fraction of all commands in test (the original: 0.2)'),
  valid_fraction: validFraction,
});
type SimpleParams = z.infer<typeof simpleParams>;

function simpleSplit(params: SimpleParams, seed: number, split: Split): ScanPair[] {
  const shuffled = rng(deriveSeed(seed, 'scan-simple')).shuffle([...pairs()]);
  const nTest = Math.round(shuffled.length * params.test_fraction);
  if (split === 'test') return shuffled.slice(0, nTest);
  return holdOutValid(shuffled.slice(nTest), params.valid_fraction, seed, split);
}

export const scanSimple = {
  ...scanBase,
  name: 'scan-simple',
  description: 'SCAN commands → actions (Lake & Baroni 2018), random 80/20 split of the 20,910 commands; exact match',
  params: simpleParams,
  generate: (params: SimpleParams, seed: number, split: Split) => simpleSplit(params, seed, split).map((p) => toExample(p, false)),
  export: (params: SimpleParams, seed: number, split: Split) => simpleSplit(params, seed, split).map(scanLine),
} satisfies Task<typeof simpleParams>;

const lengthParams = z.object({
  max_train_actions: z.number().int().min(1).max(47).default(22).describe('longest action sequence in train; longer ones are the test split (the original: 22)'),
  valid_fraction: validFraction,
});
type LengthParams = z.infer<typeof lengthParams>;

function lengthSplit(params: LengthParams, seed: number, split: Split): ScanPair[] {
  if (split === 'test') {
    const long = pairs().filter((p) => p.actions.length > params.max_train_actions);
    return rng(deriveSeed(seed, 'scan-length-test')).shuffle(long);
  }
  const short = pairs().filter((p) => p.actions.length <= params.max_train_actions);
  return holdOutValid(short, params.valid_fraction, seed, split);
}

export const scanLength = {
  ...scanBase,
  name: 'scan-length',
  description: 'SCAN length split (Lake & Baroni 2018): train on ≤ 22 actions, test on 24–48; exact match per action length',
  params: lengthParams,
  generate: (params: LengthParams, seed: number, split: Split) => lengthSplit(params, seed, split).map((p) => toExample(p, true)),
  export: (params: LengthParams, seed: number, split: Split) => lengthSplit(params, seed, split).map(scanLine),
} satisfies Task<typeof lengthParams>;
