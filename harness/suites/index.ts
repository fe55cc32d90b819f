/** The suite registry: standard suites and the paper-findings suites. */
import { full, quick, smoke, standard } from './standard.ts';
import { efficiencySuite, inductionHeadsSuite, mqarSuite, scanSuite, selectiveCopyingSuite } from './papers/index.ts';
import type { Scale, Suite } from './types.ts';

export const SUITES = {
  quick,
  default: standard,
  full,
  smoke,
  'selective-copying': selectiveCopyingSuite,
  'induction-heads': inductionHeadsSuite,
  mqar: mqarSuite,
  scan: scanSuite,
  efficiency: efficiencySuite,
} satisfies Record<string, Suite>;

/** The paper suite and scale a results directory's env.json names; null unless it names a suite with findings and a scale. */
export function findingsSuiteOf(env: Record<string, unknown> | null): { suite: Suite; scale: Scale } | null {
  const suite = (SUITES as Record<string, Suite>)[String(env?.suite)];
  const scale = env?.scale;
  return suite?.findings && (scale === 'cpu' || scale === 'paper') ? { suite, scale } : null;
}
