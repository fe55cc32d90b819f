/**
 * Sequence-mixer micro-benchmarks (`seqarena micro`): forward and forward + backward latency against
 * sequence length, and one decode step against context length. A mixer takes the colour of the
 * architecture built on it; the composed reference is dashed, the fused kernel solid.
 */
import type { ResultRow } from '../../harness/results/schema.ts';
import { mixerOf } from '../palette.ts';
import type { ChartSpec } from '../types.ts';
import type { SpecInput } from './common.ts';
import { scalingChart } from './scaling.ts';

/** "attention/fused" → "fused"; rows of the older form (no implementation) → null. */
const implementationOf = (r: ResultRow): string | null => (r.arch.includes('/') ? r.arch.slice(r.arch.indexOf('/') + 1) : null);

const microRun = (rows: ResultRow[]) => {
  const micro = new Set(rows.filter((r) => r.phase === 'micro').map((r) => r.run_id));
  return (runId: string) => micro.has(runId);
};

export function microScaling(input: SpecInput): ChartSpec | null {
  return scalingChart(input, {
    name: 'micro-scaling',
    title: 'Sequence-mixer micro-benchmarks',
    description: 'Forward and forward + backward latency of each sequence mixer against sequence length, log–log; k ≈ 2 for attention, ≈ 1 for scans and recurrences. Dashed: the composed reference; solid: the fused kernel.',
    phase: 'micro',
    panels: [
      { metric: 'forward_ms', label: 'forward' },
      { metric: 'forward_backward_ms', label: 'forward + backward' },
    ],
    x: (r) => r.seq_len,
    xTitle: 'sequence length (tokens)',
    yTitle: 'latency (ms)',
    yFormat: ',~g',
    markMissing: false,
    seriesOf: (r) => mixerOf(r.arch),
    dashOf: implementationOf,
    dashTitle: 'implementation',
    failedHere: microRun(input.rows),
  });
}

export function microDecode(input: SpecInput): ChartSpec | null {
  return scalingChart(input, {
    name: 'micro-decode',
    title: 'Decode-step latency vs context length',
    description: 'One autoregressive decode step with the cached state (KV cache or recurrent state) after a context of the given length; constant for recurrences and scans, growing for attention.',
    phase: 'micro',
    panels: [{ metric: 'decode_step_ms', label: 'decode step' }],
    x: (r) => r.seq_len,
    xTitle: 'context length (tokens)',
    yTitle: 'latency per decode step (ms)',
    yFormat: ',~g',
    markMissing: false,
    seriesOf: (r) => mixerOf(r.arch),
    failedHere: () => false,
  });
}
