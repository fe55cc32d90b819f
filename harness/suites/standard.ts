/**
 * The standard suites: `quick` (what `npm run bench` runs: every family on two long-context tasks and
 * a translation task, in minutes on 2 cores), `default` (more tasks, longer training) and `full`
 * (every architecture on every task at two sizes).
 */
import type { RunSpecInput } from '../spec.ts';
import type { Suite } from './types.ts';

const DECODER_FAMILIES = ['transformer', 'lstm', 'mamba'] as const;

/** Every decoder family on every task in `tasks`, plus the encoder–decoders on the translation ones. */
function grid(
  suite: string,
  tasks: { task: string; taskParams?: Record<string, unknown>; steps: number; batchSize?: number; translation?: boolean; learningRate?: number }[],
  archs: readonly string[],
  preset: 'nano' | 'micro' | 'small',
): RunSpecInput[] {
  const runs: RunSpecInput[] = [];
  for (const t of tasks) {
    const families = t.translation ? [...archs, 'transformer-encdec', 'lstm-seq2seq'] : archs;
    for (const arch of families) {
      runs.push({
        suite,
        arch,
        preset,
        task: t.task,
        taskParams: t.taskParams ?? {},
        training: { steps: t.steps, batchSize: t.batchSize ?? 16, learningRate: t.learningRate ?? 3e-3, evalEvery: Math.max(25, Math.floor(t.steps / 4)), evalExamples: 64, decodeTokens: 8 },
        seed: 0,
        timeLimitS: 300,
      });
    }
  }
  return runs;
}

export const quick: Suite = {
  name: 'quick',
  description: 'transformer, lstm and mamba (nano) on associative recall and selective copying, plus the encoder–decoders on en-fr, and the LTI Mamba ablation on selective copying (the contrast of Mamba Table 1); about 2.5 minutes on 2 cores',
  runs: () =>
    grid(
      'quick',
      [
        { task: 'mqar', taskParams: { seq_len: 32, num_kv_pairs: 2, vocab_size: 32 }, steps: 800, batchSize: 16 },
        { task: 'selective-copying', taskParams: { seq_len: 32, num_tokens: 2 }, steps: 800, batchSize: 16 },
        { task: 'en-fr', taskParams: { max_clauses: 1 }, steps: 300, batchSize: 16, translation: true },
      ],
      DECODER_FAMILIES,
      'nano',
    ).concat(
      grid('quick', [{ task: 'selective-copying', taskParams: { seq_len: 32, num_tokens: 2 }, steps: 800, batchSize: 16 }], ['mamba-lti'], 'nano'),
    ),
};

export const standard: Suite = {
  name: 'default',
  description: 'every family (micro) on the long-context tasks and SCAN, longer training; hours on 2 cores (shard it with --shard)',
  runs: () =>
    grid(
      'default',
      [
        { task: 'mqar', taskParams: { seq_len: 128, num_kv_pairs: 8 }, steps: 600 },
        { task: 'selective-copying', taskParams: { seq_len: 128 }, steps: 600 },
        { task: 'induction-heads', taskParams: { seq_len: 128 }, steps: 600 },
        { task: 'listops', taskParams: { seq_len: 128 }, steps: 400 },
        { task: 'scan-simple', steps: 600, translation: true },
      ],
      [...DECODER_FAMILIES, 'gru', 'mamba-lti'],
      'micro',
    ),
};

export const full: Suite = {
  name: 'full',
  description: 'every architecture on every task at micro and small sizes; for a GPU or a long CPU session',
  runs: () =>
    (['micro', 'small'] as const).flatMap((preset) =>
      grid(
        'full',
        [
          { task: 'mqar', taskParams: { seq_len: 256, num_kv_pairs: 16 }, steps: 2000 },
          { task: 'fuzzy-recall', steps: 2000 },
          { task: 'noisy-recall', steps: 2000 },
          { task: 'selective-copying', taskParams: { seq_len: 256 }, steps: 2000 },
          { task: 'induction-heads', taskParams: { seq_len: 256 }, steps: 2000 },
          { task: 'listops', taskParams: { seq_len: 512 }, steps: 2000 },
          { task: 'scan-simple', steps: 3000, translation: true },
          { task: 'scan-length', steps: 3000, translation: true },
          { task: 'en-fr', steps: 3000, translation: true },
        ],
        [...DECODER_FAMILIES, 'gru', 'rnn', 'mamba-lti'],
        preset,
      ),
    ),
};

export const smoke: Suite = {
  name: 'smoke',
  description: 'one tiny run per family (a few steps): checks an installation end to end in under a minute',
  runs: () =>
    DECODER_FAMILIES.map((arch) => ({
      suite: 'smoke',
      arch,
      preset: 'nano' as const,
      task: 'mqar',
      taskParams: { seq_len: 16, num_kv_pairs: 2, vocab_size: 16 },
      training: { steps: 24, batchSize: 4, evalEvery: 8, evalExamples: 8, decodeTokens: 16 },
      seed: 0,
      timeLimitS: 120,
    })),
};
