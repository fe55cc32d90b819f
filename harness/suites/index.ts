/** The suite registry: standard suites and the paper-findings suites. */
import { full, quick, smoke, standard } from './standard.ts';
import type { Suite } from './types.ts';

export const SUITES = {
  quick,
  default: standard,
  full,
  smoke,
} satisfies Record<string, Suite>;
