/** What reports take in and hand out: chart specs, rendered charts, the regression comparison. */
import type { TopLevelSpec } from 'vega-lite';
import type { Phase, ResultRow, RunStatus } from '../harness/results/schema.ts';
import type { FindingResult } from '../harness/suites/types.ts';

/** How a metric moved against the baseline, by the compare rules for its direction. */
export type Verdict = 'regression' | 'improvement' | 'unchanged' | 'new' | 'missing';

/**
 * One metric of one run held against a baseline (produced by harness/compare.ts). `lower`/`upper` bound
 * the allowed band for `current` in the metric's own unit (null: unbounded on that side); `baseline` is
 * null for a metric the baseline lacks, `current` null for one the current run lacks.
 */
export interface ComparisonRow {
  task: string;
  arch: string;
  phase: Phase;
  metric: string;
  slice: string | null;
  baseline: number | null;
  current: number | null;
  lower: number | null;
  upper: number | null;
  verdict: Verdict;
}

/** A run that did not finish (status ≠ ok), as every chart and table names it. */
export interface FailedRun {
  run_id: string;
  task: string;
  arch: string;
  seq_len: number | null;
  status: RunStatus;
  error: string | null;
}

/** One chart: a file-safe name, what it shows, its Vega-Lite spec, and the failed runs it lacks. */
export interface ChartSpec {
  name: string;
  title: string;
  description: string;
  spec: TopLevelSpec;
  missing: FailedRun[];
}

export interface RenderedChart {
  name: string;
  svg: string;
  png: Buffer;
}

/** The contents of an env.json (machine, backend, calibration, versions), as its writer left it. */
export type Environment = Record<string, unknown>;

export interface ReportInput {
  rows: ResultRow[];
  envs: Environment[];
  /** Written into: index.html, summary.md, charts/<name>.svg and .png. */
  outDir: string;
  /** The comparison of these rows against a baseline, drawn as the regression view when given. */
  baseline?: ComparisonRow[];
  /** Paper findings checked on these rows (findings.json of each results directory), shown above the results. */
  findings?: FindingResult[];
}

export interface Report {
  html: string;
  markdown: string;
  charts: RenderedChart[];
}
