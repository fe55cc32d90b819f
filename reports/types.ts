/** What reports take in and hand out: chart specs, rendered charts; the regression comparison is harness/compare.ts's. */
import type { TopLevelSpec } from 'vega-lite';
import type { ComparisonRow } from '../harness/compare.ts';
import type { ResultRow, RunStatus } from '../harness/results/schema.ts';
import type { FindingResult } from '../harness/suites/types.ts';

export type { ComparisonRow, Verdict } from '../harness/compare.ts';

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
