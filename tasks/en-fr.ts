/**
 * en-fr: English → French sentences of a small synchronous grammar with real words, whose length grows
 * with the number of clauses, to test how well cross-attention (or a recurrent or state-space encoder)
 * carries a long source sentence. Each sentence is drawn as a tree and rendered in both languages:
 *
 *   Sentence → NP Verb [NP] .            (the verb agrees in number with its subject)
 *   NP       → Article [Adjective] Noun [Relative]
 *   Relative → that Verb [NP]            → qui …   (subject relative: the verb agrees with the head noun)
 *            | that NP Verb              → que …   (object relative: the verb agrees with the inner NP)
 *
 * What the model must learn beyond word-for-word lookup:
 * - reordering: most adjectives follow the noun in French (`the red strawberry` → `la fraise rouge`);
 *   a few precede it, as in French (`petit`, `grand`, `beau`, `vieux`, `jeune`, `nouveau`);
 * - agreement: articles and adjectives take the noun's gender and number (`le chat`, `la fraise`,
 *   `les fraises rouges`, `une petite fraise`), verbs their subject's number (`mange` / `mangent`),
 *   also across a relative clause; `some` → `des`, or `de` before a pre-nominal adjective;
 * - English `a`/`an` by the next word's first letter; irregular plurals (`mice`, `chevaux`, `gâteaux`).
 *
 * Clauses = 1 (the main clause) + the number of relative clauses, drawn uniformly in
 * [min_clauses, max_clauses]. Splits are disjoint: test is drawn first, then valid, then train, each
 * skipping sentences already drawn, so a test sentence is never trained on, and the test split does
 * not change when train_size does. Word tokens; `evalVariants` adds sentences with more clauses than
 * any training sentence.
 *
 *   clauses 2: the cat that eats the red strawberry sleeps . → le chat qui mange la fraise rouge dort .
 */
import { z } from 'zod';
import { deriveSeed, rng, type Rng } from '../util/rng.ts';
import type { PairExample, Split, Task } from './types.ts';
import { Vocabulary, wordDetokenize } from './vocabulary.ts';

type Gender = 'm' | 'f';
type GrammaticalNumber = 'sg' | 'pl';

interface Noun {
  en: [singular: string, plural: string];
  fr: [singular: string, plural: string];
  gender: Gender;
}
interface Adjective {
  fr: { m: [string, string]; f: [string, string] };
  /** Placed before the noun in French. */
  before: boolean;
}
interface Verb {
  en: [thirdSingular: string, plural: string];
  fr: [thirdSingular: string, thirdPlural: string];
  transitive: boolean;
}

// French nouns all start with a consonant, so `le`, `la` and `que` never elide.
export const NOUNS: Record<string, Noun> = {
  cat: { en: ['cat', 'cats'], fr: ['chat', 'chats'], gender: 'm' },
  dog: { en: ['dog', 'dogs'], fr: ['chien', 'chiens'], gender: 'm' },
  horse: { en: ['horse', 'horses'], fr: ['cheval', 'chevaux'], gender: 'm' },
  rabbit: { en: ['rabbit', 'rabbits'], fr: ['lapin', 'lapins'], gender: 'm' },
  boy: { en: ['boy', 'boys'], fr: ['garçon', 'garçons'], gender: 'm' },
  book: { en: ['book', 'books'], fr: ['livre', 'livres'], gender: 'm' },
  cake: { en: ['cake', 'cakes'], fr: ['gâteau', 'gâteaux'], gender: 'm' },
  garden: { en: ['garden', 'gardens'], fr: ['jardin', 'jardins'], gender: 'm' },
  strawberry: { en: ['strawberry', 'strawberries'], fr: ['fraise', 'fraises'], gender: 'f' },
  apple: { en: ['apple', 'apples'], fr: ['pomme', 'pommes'], gender: 'f' },
  mouse: { en: ['mouse', 'mice'], fr: ['souris', 'souris'], gender: 'f' },
  girl: { en: ['girl', 'girls'], fr: ['fille', 'filles'], gender: 'f' },
  woman: { en: ['woman', 'women'], fr: ['femme', 'femmes'], gender: 'f' },
  house: { en: ['house', 'houses'], fr: ['maison', 'maisons'], gender: 'f' },
  car: { en: ['car', 'cars'], fr: ['voiture', 'voitures'], gender: 'f' },
  flower: { en: ['flower', 'flowers'], fr: ['fleur', 'fleurs'], gender: 'f' },
};

/** French forms: masculine singular/plural, feminine singular/plural. */
const adjective = (ms: string, mp: string, fs: string, fp: string, before = false): Adjective => ({ fr: { m: [ms, mp], f: [fs, fp] }, before });
export const ADJECTIVES: Record<string, Adjective> = {
  red: adjective('rouge', 'rouges', 'rouge', 'rouges'),
  green: adjective('vert', 'verts', 'verte', 'vertes'),
  black: adjective('noir', 'noirs', 'noire', 'noires'),
  white: adjective('blanc', 'blancs', 'blanche', 'blanches'),
  blue: adjective('bleu', 'bleus', 'bleue', 'bleues'),
  happy: adjective('heureux', 'heureux', 'heureuse', 'heureuses'),
  sweet: adjective('doux', 'doux', 'douce', 'douces'),
  small: adjective('petit', 'petits', 'petite', 'petites', true),
  big: adjective('grand', 'grands', 'grande', 'grandes', true),
  beautiful: adjective('beau', 'beaux', 'belle', 'belles', true),
  old: adjective('vieux', 'vieux', 'vieille', 'vieilles', true),
  young: adjective('jeune', 'jeunes', 'jeune', 'jeunes', true),
  new: adjective('nouveau', 'nouveaux', 'nouvelle', 'nouvelles', true),
};

export const VERBS: Record<string, Verb> = {
  eat: { en: ['eats', 'eat'], fr: ['mange', 'mangent'], transitive: true },
  see: { en: ['sees', 'see'], fr: ['voit', 'voient'], transitive: true },
  like: { en: ['likes', 'like'], fr: ['aime', 'aiment'], transitive: true },
  follow: { en: ['follows', 'follow'], fr: ['suit', 'suivent'], transitive: true },
  find: { en: ['finds', 'find'], fr: ['trouve', 'trouvent'], transitive: true },
  watch: { en: ['watches', 'watch'], fr: ['regarde', 'regardent'], transitive: true },
  carry: { en: ['carries', 'carry'], fr: ['porte', 'portent'], transitive: true },
  draw: { en: ['draws', 'draw'], fr: ['dessine', 'dessinent'], transitive: true },
  sleep: { en: ['sleeps', 'sleep'], fr: ['dort', 'dorment'], transitive: false },
  run: { en: ['runs', 'run'], fr: ['court', 'courent'], transitive: false },
  sing: { en: ['sings', 'sing'], fr: ['chante', 'chantent'], transitive: false },
  wait: { en: ['waits', 'wait'], fr: ['attend', 'attendent'], transitive: false },
};

export interface NounPhrase {
  /** A key of NOUNS. */
  noun: string;
  number: GrammaticalNumber;
  /** `a` in the plural is `some`. */
  article: 'the' | 'a';
  /** A key of ADJECTIVES (its English form). */
  adjective?: string;
  relative?: RelativeClause;
}
/** Verbs are keys of VERBS (the English plain form). */
export type RelativeClause = { kind: 'subject'; verb: string; object?: NounPhrase } | { kind: 'object'; subject: NounPhrase; verb: string };
export interface Sentence {
  subject: NounPhrase;
  verb: string;
  object?: NounPhrase;
}

export interface Rendered {
  en: string[];
  fr: string[];
}

const numberIndex = (n: GrammaticalNumber): 0 | 1 => (n === 'sg' ? 0 : 1);

function lexeme<T>(table: Record<string, T>, key: string, what: string): T {
  const entry = table[key];
  if (!entry) throw new RangeError(`en-fr: unknown ${what} '${key}'; the lexicon has ${Object.keys(table).join(', ')}`);
  return entry;
}

function renderVerb(key: string, subjectNumber: GrammaticalNumber, object: NounPhrase | undefined): Rendered {
  const verb = lexeme(VERBS, key, 'verb');
  if (verb.transitive !== (object !== undefined)) throw new RangeError(`en-fr: verb '${key}' ${verb.transitive ? 'needs' : 'takes no'} object`);
  const i = numberIndex(subjectNumber);
  const rendered = { en: [verb.en[i]], fr: [verb.fr[i]] };
  if (!object) return rendered;
  const o = renderNounPhrase(object);
  return { en: [...rendered.en, ...o.en], fr: [...rendered.fr, ...o.fr] };
}

export function renderNounPhrase(np: NounPhrase): Rendered {
  const noun = lexeme(NOUNS, np.noun, 'noun');
  const adj = np.adjective === undefined ? undefined : lexeme(ADJECTIVES, np.adjective, 'adjective');
  const i = numberIndex(np.number);
  const nounFr = noun.fr[i];

  const enHead = [...(np.adjective ? [np.adjective] : []), noun.en[i]];
  const enArticle = np.article === 'the' ? 'the' : np.number === 'pl' ? 'some' : /^[aeiou]/.test(enHead[0]) ? 'an' : 'a';
  const frArticle =
    np.article === 'the'
      ? np.number === 'pl' ? 'les' : noun.gender === 'm' ? 'le' : 'la'
      : np.number === 'pl' ? (adj?.before ? 'de' : 'des') : noun.gender === 'm' ? 'un' : 'une';
  const frHead = !adj ? [nounFr] : adj.before ? [adj.fr[noun.gender][i], nounFr] : [nounFr, adj.fr[noun.gender][i]];

  const rendered = { en: [enArticle, ...enHead], fr: [frArticle, ...frHead] };
  const rel = np.relative;
  if (!rel) return rendered;
  if (rel.kind === 'subject') {
    const vp = renderVerb(rel.verb, np.number, rel.object);
    return { en: [...rendered.en, 'that', ...vp.en], fr: [...rendered.fr, 'qui', ...vp.fr] };
  }
  const verb = lexeme(VERBS, rel.verb, 'verb');
  if (!verb.transitive) throw new RangeError(`en-fr: verb '${rel.verb}' of an object relative must be transitive`);
  const inner = renderNounPhrase(rel.subject);
  const j = numberIndex(rel.subject.number);
  return { en: [...rendered.en, 'that', ...inner.en, verb.en[j]], fr: [...rendered.fr, 'que', ...inner.fr, verb.fr[j]] };
}

export function renderSentence(s: Sentence): Rendered {
  const subject = renderNounPhrase(s.subject);
  const vp = renderVerb(s.verb, s.subject.number, s.object);
  return { en: [...subject.en, ...vp.en, '.'], fr: [...subject.fr, ...vp.fr, '.'] };
}

// Longest rendering, per side: `the old cat sees the old dog .` (8 words), and 5 more per relative
// clause (`that sees the old dog`); the French side has the same counts.
const MAIN_CLAUSE_WORDS = 8;
const RELATIVE_CLAUSE_WORDS = 5;

/* ---- random trees ---- */

const keys = (table: Record<string, unknown>): string[] => Object.keys(table);
const TRANSITIVE = keys(VERBS).filter((v) => VERBS[v].transitive);
const INTRANSITIVE = keys(VERBS).filter((v) => !VERBS[v].transitive);

/** A noun phrase holding exactly `relatives` relative clauses (nested inside one another's phrases). */
function randomNounPhrase(r: Rng, relatives: number): NounPhrase {
  const np: NounPhrase = {
    noun: r.choice(keys(NOUNS)),
    number: r.int(2) === 0 ? 'sg' : 'pl',
    article: r.float() < 0.6 ? 'the' : 'a',
    ...(r.float() < 0.5 ? { adjective: r.choice(keys(ADJECTIVES)) } : {}),
  };
  if (relatives === 0) return np;
  np.relative =
    r.int(2) === 0
      ? { kind: 'subject', ...randomPredicate(r, relatives - 1) }
      : { kind: 'object', subject: randomNounPhrase(r, relatives - 1), verb: r.choice(TRANSITIVE) };
  return np;
}

/** A verb with its object; the object holds `relatives` relative clauses (so a verb with some is transitive). */
function randomPredicate(r: Rng, relatives: number): { verb: string; object?: NounPhrase } {
  if (relatives === 0 && r.float() < 0.3) return { verb: r.choice(INTRANSITIVE) };
  return { verb: r.choice(TRANSITIVE), object: randomNounPhrase(r, relatives) };
}

function randomSentence(r: Rng, clauses: number): Sentence {
  const inSubject = r.int(clauses);
  return { subject: randomNounPhrase(r, inSubject), ...randomPredicate(r, clauses - 1 - inSubject) };
}

/* ---- the task ---- */

export const EN_FR_VOCABULARY = new Vocabulary(
  [
    ...new Set([
      ...['the', 'a', 'an', 'some', 'that', '.'],
      ...Object.values(NOUNS).flatMap((n) => n.en),
      ...keys(ADJECTIVES),
      ...Object.values(VERBS).flatMap((v) => v.en),
      ...['le', 'la', 'les', 'un', 'une', 'des', 'de', 'qui', 'que'],
      ...Object.values(NOUNS).flatMap((n) => n.fr),
      ...Object.values(ADJECTIVES).flatMap((a) => [...a.fr.m, ...a.fr.f]),
      ...Object.values(VERBS).flatMap((v) => v.fr),
    ]),
  ].sort(),
);

const params = z
  .object({
    min_clauses: z.number().int().min(1).default(1).describe('fewest clauses in a sentence (main clause + relative clauses)'),
    max_clauses: z.number().int().min(1).max(50).default(4).describe('most clauses in a sentence; sentence length grows by 5 words a clause'),
    train_size: z.number().int().min(1).default(10000).describe('sentence pairs in train'),
    valid_size: z.number().int().min(1).default(500).describe('sentence pairs in valid'),
    test_size: z.number().int().min(1).default(1000).describe('sentence pairs in test'),
  })
  .refine((p) => p.min_clauses <= p.max_clauses, { message: 'min_clauses must be ≤ max_clauses', path: ['min_clauses'] });
type Params = z.infer<typeof params>;

interface Drawn {
  sentence: Rendered;
  clauses: number;
}

const SPLIT_ORDER: readonly Split[] = ['test', 'valid', 'train'];
const drawCache = new Map<string, { seen: Set<string>; splits: Partial<Record<Split, Drawn[]>> }>();

/** One split, drawing the splits before it in SPLIT_ORDER first (see the header) so all stay distinct. */
function drawSplit(p: Params, seed: number, split: Split): Drawn[] {
  const key = JSON.stringify([p.min_clauses, p.max_clauses, p.train_size, p.valid_size, p.test_size, seed]);
  const state = drawCache.get(key) ?? { seen: new Set<string>(), splits: {} };
  drawCache.set(key, state);
  const sizes: Record<Split, number> = { train: p.train_size, valid: p.valid_size, test: p.test_size };
  for (const s of SPLIT_ORDER) {
    state.splits[s] ??= drawDistinct(p, seed, s, sizes[s], state.seen);
    if (s === split) return state.splits[s];
  }
  throw new RangeError(`en-fr: unknown split '${split}'`);
}

function drawDistinct(p: Params, seed: number, split: Split, size: number, seen: Set<string>): Drawn[] {
  const r = rng(deriveSeed(seed, 'en-fr', split));
  const drawn: Drawn[] = [];
  // One-clause sentences number a few million; give up, with the fix, if the space runs dry.
  for (let attempts = 0; drawn.length < size; attempts++) {
    if (attempts > 20 * size + 1000) {
      throw new RangeError(`en-fr: could not draw ${size} distinct ${split} sentences of ${p.min_clauses}–${p.max_clauses} clauses; lower the split sizes or raise max_clauses`);
    }
    const clauses = p.min_clauses + r.int(p.max_clauses - p.min_clauses + 1);
    const sentence = renderSentence(randomSentence(r, clauses));
    const text = sentence.en.join(' ');
    if (seen.has(text)) continue;
    seen.add(text);
    drawn.push({ sentence, clauses });
  }
  return drawn;
}

export const enFr = {
  name: 'en-fr',
  kind: 'translation',
  form: 'pair',
  description: 'English → French sentences of a synchronous grammar (agreement, adjective reordering, nested relative clauses); length set by clauses',
  params,
  finite: true,
  vocab: () => ({ size: EN_FR_VOCABULARY.size, tokens: [...EN_FR_VOCABULARY.tokens], pad: 0 }),
  generate: (p: Params, seed: number, split: Split): PairExample[] =>
    drawSplit(p, seed, split).map(({ sentence, clauses }) => ({
      form: 'pair',
      source: EN_FR_VOCABULARY.encode(sentence.en),
      target: EN_FR_VOCABULARY.encode(sentence.fr),
      slice: { clauses },
    })),
  maxLen: (p: Params) => 2 * (MAIN_CLAUSE_WORDS + RELATIVE_CLAUSE_WORDS * (p.max_clauses - 1)) + 2,
  evalVariants: (p: Params) => [{ label: `clauses=${p.max_clauses + 1}-${p.max_clauses + 2}`, params: { ...p, min_clauses: p.max_clauses + 1, max_clauses: p.max_clauses + 2 } }],
  detokenize: (_p: Params, tokens: number[]) => wordDetokenize(EN_FR_VOCABULARY.decode(tokens)),
  export: (p: Params, seed: number, split: Split) =>
    drawSplit(p, seed, split).map(({ sentence }) => JSON.stringify({ source: wordDetokenize(sentence.en), target: wordDetokenize(sentence.fr) })),
} satisfies Task<typeof params>;
