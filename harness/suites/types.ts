/** A suite is a named list of run specs, written as a plain TypeScript function (zoology-style). */
import type { RunSpecInput } from '../spec.ts';

export type Scale = 'cpu' | 'paper';

export interface SuiteOptions {
  /** `cpu`: sizes a 2-core machine finishes; `paper`: the published settings (for a GPU). */
  scale: Scale;
}

export interface Suite {
  name: string;
  description: string;
  runs(options: SuiteOptions): RunSpecInput[];
}
