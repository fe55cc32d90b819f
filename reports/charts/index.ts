/**
 * Every chart of the report, one builder per chart, grouped by family in this folder:
 *
 *   accuracy.ts     accuracy vs length, length extrapolation, accuracy vs throughput (Pareto)
 *   scaling.ts      training and decode throughput, peak memory, decode state against length
 *   micro.ts        sequence-mixer micro-benchmarks (forward, backward, decode step)
 *   loss.ts         training loss curves
 *   translation.ts  BLEU, chrF, exact match
 *   regression.ts   the check against a baseline
 *
 * Each builder reads result rows (and the baseline comparison), returns null when the rows hold nothing
 * for it, and otherwise a spec with its data inlined, so the same spec renders to SVG/PNG here and in
 * the browser page. Colours come from the fixed palette (palette.ts), axes carry units, and failed runs a
 * chart cannot draw are named in its subtitle (and marked ✕ on the axis where the run's length is known).
 */
import type { ResultRow } from '../../harness/results/schema.ts';
import type { ChartSpec, ComparisonRow } from '../types.ts';
import { accuracyVsLength, accuracyVsThroughput, lengthExtrapolation } from './accuracy.ts';
import type { SpecInput } from './common.ts';
import { lossCurves } from './loss.ts';
import { microDecode, microScaling } from './micro.ts';
import { regressionView } from './regression.ts';
import { decodeState, decodeThroughput, peakMemory, trainThroughput } from './scaling.ts';
import { translationScores } from './translation.ts';

export { accuracyVsLength, accuracyVsThroughput, lengthExtrapolation, lossCurves, microDecode, microScaling, regressionView, decodeState, decodeThroughput, peakMemory, trainThroughput, translationScores };
export { CHART_CONFIG, type SpecInput } from './common.ts';

/** Every chart builder, in the order the report shows them. */
export const CHART_BUILDERS = [
  regressionView,
  accuracyVsLength,
  lengthExtrapolation,
  accuracyVsThroughput,
  trainThroughput,
  decodeThroughput,
  peakMemory,
  decodeState,
  microScaling,
  microDecode,
  lossCurves,
  translationScores,
] as const;

/** The charts these rows (and comparison) hold data for. */
export function buildCharts(rows: ResultRow[], comparison?: ComparisonRow[]): ChartSpec[] {
  const input: SpecInput = { rows, comparison };
  return CHART_BUILDERS.map((build) => build(input)).filter((c): c is ChartSpec => c !== null);
}
