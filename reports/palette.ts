/**
 * The colour of every architecture, the same in every chart of every report whatever subset of
 * architectures a results set holds. Families share a hue (the Transformers red, the recurrent models
 * blue–teal–brown, the state-space models green, the long convolutions orange), variants take its lighter partner. Micro-benchmark
 * rows name a sequence mixer ("attention/fused"): a mixer takes the colour of the architecture built on it.
 * Reports read result rows only, so the names are written here as strings; tests/reports.test.ts checks
 * that every registered architecture and every micro-benchmark mixer has its entry.
 */

export const ARCH_PALETTE: Readonly<Record<string, string>> = {
  transformer: '#e45756',
  'transformer-encdec': '#ff9d98',
  swa: '#9e2a2b',
  lstm: '#4c78a8',
  'lstm-seq2seq': '#9ecae9',
  gru: '#72b7b2',
  rnn: '#9d755d',
  mamba: '#54a24b',
  'mamba-lti': '#88d27a',
  mamba2: '#2e7d32',
  mlstm: '#1d3f66',
  slstm: '#6b8fc7',
  hybrid: '#b279a2',
  hyena: '#ff7f0e',
  gla: '#17becf',
};

/** The architecture each micro-benchmark mixer stands for. */
export const MIXER_ARCH: Readonly<Record<string, string>> = {
  attention: 'transformer',
  'attention-swa': 'swa',
  lstm: 'lstm',
  gru: 'gru',
  rnn: 'rnn',
  scan: 'mamba',
  'lti-scan': 'mamba-lti',
  ssd: 'mamba2',
  hyena: 'hyena',
  gla: 'gla',
  mlstm: 'mlstm',
  slstm: 'slstm',
};

/** For names the palette does not know yet (a new architecture): picked by a hash of the name, so still stable. */
const FALLBACK = ['#f58518', '#eeca3b', '#ff9da6', '#bab0ac', '#d6a5c9', '#79706e', '#f2cf5b', '#d8b5a5'];

/** "attention/fused" → "attention"; other names unchanged. */
export const mixerOf = (name: string): string => name.split('/')[0];

/** The fixed colour of an architecture (or mixer, or "mixer/implementation"). */
export function colorOf(name: string): string {
  const base = mixerOf(name);
  const arch = MIXER_ARCH[base] ?? base;
  const known = ARCH_PALETTE[arch];
  if (known !== undefined) return known;
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return FALLBACK[h % FALLBACK.length];
}
