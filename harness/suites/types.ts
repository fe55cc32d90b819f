/** A suite is a named list of run specs, written as a plain TypeScript function (zoology-style). */
import type { ResultRow } from '../results/schema.ts';
import type { RunSpecInput } from '../spec.ts';

export type Scale = 'cpu' | 'paper';

export interface SuiteOptions {
  /** `cpu`: sizes a 2-core machine finishes; `paper`: the published settings (for a GPU). */
  scale: Scale;
}

/** A published number, with where it was published. */
export interface PublishedValue {
  label: string; // e.g. "Mamba (S6), L = 4096"
  value: number;
  unit: string; // e.g. "% accuracy"
}

/** The outcome of checking a finding against a suite's rows. */
export interface FindingResult {
  id: string;
  suite: string;
  claim: string;
  source: string;
  published: PublishedValue[];
  /** What seqarena measured at the scale run, as labelled values. */
  /** `seeds`: the value of each seed, where the figure is a mean over seeds. */
  measured: { label: string; value: number | null; unit: string; n?: number; stddev?: number; seeds?: number[] }[];
  /** The expected outcome as a check, in words ("selective ≥ 0.9 and LTI ≤ 0.5 at CPU scale"). */
  expectation: string;
  /** The task, models and training measured at this scale, and how they differ from the published setting (absent in older findings.json). */
  setting?: string;
  held: boolean | null; // null: not enough rows to judge (failed or missing runs)
  detail: string;
  scale: Scale;
}

/**
 * An expected outcome from a paper, written as a check on result rows. Checks are evaluated after a
 * suite runs and shown in the report as held / not held; they never fail CI.
 */
export interface Finding {
  id: string;
  claim: string;
  source: string;
  published: PublishedValue[];
  expectation: string;
  /**
   * The setting measured at each scale in words, naming where it differs from the published one
   * ("L = 64 (published: 256) …"), shown beside the published numbers.
   */
  setting?: Record<Scale, string>;
  evaluate(rows: ResultRow[], scale: Scale): Pick<FindingResult, 'measured' | 'held' | 'detail'>;
}

export interface Suite {
  name: string;
  description: string;
  runs(options: SuiteOptions): RunSpecInput[];
  findings?: Finding[];
}
