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
  /**
   * Uniform noise in ±value that the exporter adds to the weights whose names contain a key (seeded), where the
   * model's initialisation would leave a path unexercised: the mLSTM's gate weights start at 0, so its gates would
   * not see the input; Hyena's filter FFN starts at N(0, 0.02²), so its Sins are near-linear and the long
   * convolution adds ~1e-5 of the output beside D's skip. Absent: the model's own initialisation.
   */
  jitter?: Record<string, number>;
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

/**
 * A longer batch for the newer mixers, whose fast forms part from their readable references only past a few
 * steps: 36 tokens are 4½ chunks of 8 (the chunked scans' cross-chunk recurrence and padded last chunk), 7 windows
 * of 5, and a 128-point FFT (Hyena's butterfly stages past its 64-point DFT-matrix product); maxLen 40 > 36, so
 * Hyena's filter features are laid out for l_max, not for the batch.
 */
const LONG = 36;
const longTokens = [0, 1].map((row) => Array.from({ length: LONG }, (_, t) => 1 + ((7 * t * t + (3 + 2 * row) * t + 5 * row) % (V - 1))));
const longTarget = longTokens.map((row, i) => [...row.slice(1), (i * 3 + 2) % V]);
const longMask = [0, 1].map((row) => Array.from({ length: LONG }, (_, t) => (t % 5 === 3 - row ? 0 : 1)));
const longIo = { vocabSize: V, maxLen: 40, padId: 0 };
const longLm = (name: string, arch: string, config: Record<string, unknown>, jitter?: Record<string, number>): GoldenCase => ({
  name,
  arch,
  config,
  io: longIo,
  tokens: longTokens,
  target: longTarget,
  mask: longMask,
  ...(jitter ? { jitter } : {}),
});

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
  longLm('swa', 'swa', { d_model: 16, n_layers: 2, n_heads: 2, positions: 'learned', tie_embeddings: true, window: 5 }),
  longLm('gla', 'gla', { d_model: 16, n_layers: 2, n_heads: 2, chunk_size: 8 }),
  longLm('mamba2', 'mamba2', { d_model: 16, n_layers: 2, d_state: 8, headdim: 8, chunk_size: 8 }),
  longLm('mlstm', 'mlstm', { d_model: 16, n_layers: 2, n_heads: 2 }, { 'igate.w': 0.5, 'fgate.w': 0.5 }),
  longLm('mlstm-chunkwise', 'mlstm', { d_model: 16, n_layers: 2, n_heads: 2, cell: 'chunkwise', chunk_size: 8 }, { 'igate.w': 0.5, 'fgate.w': 0.5 }),
  // R starts at zero: jittered, so the gates read y_{t−1} and the heads' memory mixing is exercised
  longLm('slstm', 'slstm', { d_model: 16, n_layers: 2, n_heads: 2 }, { recurrent_kernel: 0.5 }),
  longLm('hyena', 'hyena', { d_model: 16, n_layers: 2, order: 3, filter_order: 8, emb_dim: 5 }, { implicit_filter: 0.5 }),
];

/** Settings of the optimizer case: three AdamW steps on the transformer case's batch. */
export const GOLDEN_OPTIMIZER = {
  model: 'transformer',
  steps: 3,
  training: { steps: 3, learningRate: 0.01, warmupSteps: 1, weightDecay: 0.1, gradClip: 0.05 },
};
