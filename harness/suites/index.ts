/** The suite registry: standard suites and the paper-findings suites. */
import { full, quick, smoke, standard } from './standard.ts';
import { efficiencySuite, inductionHeadsSuite, mqarSuite, scanSuite, selectiveCopyingSuite } from './papers.ts';
import type { Suite } from './types.ts';

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
