/**
 * The golden cases: one small model per family and a fixed batch, shared by the exporter
 * (scripts/golden/export.ts) and the test that checks seqarena against PyTorch (tests/golden.test.ts).
 * Sizes are tiny on purpose: the fixtures are committed.
 */
export interface GoldenCase {
  /** File stem under tests/fixtures/golden/. */
  name: string;
  arch: string;
  config: Record<string, unknown>;
  io: { vocabSize: number; maxLen: number; padId: number };
  /** (b, l) input tokens; for seq2seq the decoder input. */
  tokens: number[][];
  /** (b, l) targets of the loss. */
  target: number[][];
  /** (b, l) 1 where the loss counts. */
  mask: number[][];
  /** (b, ls) source tokens, seq2seq only. */
  source?: number[][];
}

/** A variable's name without the store's index and random suffix: "h0.attn.query.w_4_ab12cd" → "h0.attn.query.w". */
export const baseName = (name: string): string => name.replace(/_\d+_[a-z0-9]+$/, '');

const V = 11;
const tokens = [
  [1, 5, 9, 2, 7, 3, 10, 4],
  [6, 2, 8, 8, 1, 9, 5, 3],
];
const shiftedTarget = tokens.map((row, i) => [...row.slice(1), (i * 3 + 2) % V]);
const mask = [
  [1, 1, 1, 0, 1, 1, 1, 1],
  [0, 1, 1, 1, 1, 0, 1, 1],
];
const io = { vocabSize: V, maxLen: 8, padId: 0 };
const lm = (name: string, arch: string, config: Record<string, unknown>): GoldenCase => ({ name, arch, config, io, tokens, target: shiftedTarget, mask });

export const GOLDEN_CASES: GoldenCase[] = [
  lm('transformer', 'transformer', { d_model: 8, n_layers: 2, n_heads: 2, positions: 'learned', tie_embeddings: true }),
  lm('transformer-rope', 'transformer', { d_model: 8, n_layers: 2, n_heads: 2, positions: 'rope', tie_embeddings: false }),
  lm('lstm', 'lstm', { d_model: 8, n_layers: 2 }),
  lm('gru', 'gru', { d_model: 8, n_layers: 2 }),
  lm('rnn', 'rnn', { d_model: 8, n_layers: 2 }),
  lm('mamba', 'mamba', { d_model: 8, n_layers: 2, d_state: 4, scan: 'auto' }),
  {
    name: 'lstm-seq2seq',
    arch: 'lstm-seq2seq',
    config: { d_model: 8, n_layers: 2, cell: 'lstm', attention: 'luong' },
    io,
    // Sources of one length: the reference runs nn.LSTM unpacked.
    source: [
      [4, 7, 2, 9, 3, 5],
      [8, 1, 6, 2, 10, 7],
    ],
    tokens: tokens.map((row) => row.slice(0, 6)),
    target: shiftedTarget.map((row) => row.slice(0, 6)),
    mask: mask.map((row) => row.slice(0, 6)),
  },
];

/** Settings of the optimizer case: three AdamW steps on the transformer case's batch. */
export const GOLDEN_OPTIMIZER = {
  model: 'transformer',
  steps: 3,
  training: { steps: 3, learningRate: 0.01, warmupSteps: 1, weightDecay: 0.1, gradClip: 0.05 },
};
