/**
 * Build a report from result rows: charts (Vega-Lite specs rendered to SVG and PNG), one self-contained
 * HTML page and a Markdown summary, written to
 *
 *   <outDir>/index.html   <outDir>/summary.md   <outDir>/charts/<name>.svg, .png
 */
import fs from 'node:fs';
import path from 'node:path';
import { compareRows, type CompareOptions } from '../harness/compare.ts';
import { UsageError } from '../harness/errors.ts';
import { readFindings } from '../harness/results/findings.ts';
import { readEnv, readRows, readRowsFrom, writeFileAtomic } from '../harness/results/io.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import { failedRuns, sortedUnique } from './data.ts';
import { findingsTables } from './findings.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { renderChart } from './render.ts';
import { buildCharts } from './charts/index.ts';
import { comparisonTable, environmentTable, failuresTable, microExponentsTable, microTable, resultsTables, type Table } from './summary.ts';
import type { Environment, RenderedChart, Report, ReportInput } from './types.ts';

export type { ComparisonRow, Report, ReportInput, Verdict } from './types.ts';

export const CHARTS_DIR = 'charts';
export const HTML_FILE = 'index.html';
export const MARKDOWN_FILE = 'summary.md';

const list = (values: string[], max = 6): string => (values.length <= max ? values.join(', ') : `${values.slice(0, max).join(', ')} and ${values.length - max} more`);

/** "suite quick · 12 runs: gru, mamba on copy, scan-simple · wasm · 2026-11-28" */
function subtitle(rows: ResultRow[]): string {
  const runs = new Set(rows.map((r) => r.run_id)).size;
  const days = sortedUnique(rows.map((r) => r.timestamp.slice(0, 10)));
  const when = days.length === 1 ? days[0] : `${days[0]} to ${days[days.length - 1]}`;
  return [
    `suite ${list(sortedUnique(rows.map((r) => r.suite)))}`,
    `${runs} run${runs === 1 ? '' : 's'} of ${list(sortedUnique(rows.map((r) => r.arch)))} on ${list(sortedUnique(rows.map((r) => r.task)))}`,
    `backend ${list(sortedUnique(rows.map((r) => r.backend)))}`,
    when,
  ].join(' · ');
}

/** Write the chart files, removing charts a previous report drew that this one does not. */
function writeCharts(dir: string, charts: RenderedChart[]): void {
  fs.mkdirSync(dir, { recursive: true });
  const current = new Set(charts.flatMap((c) => [`${c.name}.svg`, `${c.name}.png`]));
  for (const file of fs.readdirSync(dir)) {
    if (/\.(svg|png)$/.test(file) && !current.has(file)) fs.rmSync(path.join(dir, file));
  }
  for (const c of charts) {
    writeFileAtomic(path.join(dir, `${c.name}.svg`), c.svg);
    fs.writeFileSync(path.join(dir, `${c.name}.png`), c.png);
  }
}

export async function buildReport({ rows, envs, outDir, baseline, findings }: ReportInput): Promise<Report> {
  if (rows.length === 0) throw new UsageError('no result rows to report on; run `seqarena bench` (or `seqarena run`) first, or pass a results directory that has rows');
  const specs = buildCharts(rows, baseline);
  const charts: RenderedChart[] = [];
  for (const spec of specs) charts.push(await renderChart(spec));

  const failed = failedRuns(rows);
  const regressions = (baseline ?? []).filter((c) => c.verdict === 'regression');
  const alerts = [
    ...(regressions.length > 0 ? [`${regressions.length} regression(s) against the baseline: ${list(regressions.map((c) => `${c.arch} ${c.task} ${c.metric}`))}.`] : []),
    ...(failed.length > 0 ? [`${failed.length} run(s) did not finish (${list(sortedUnique(failed.map((f) => f.status)))}); see "Failed and missing runs".`] : []),
  ];
  const before = [comparisonTable(baseline), ...findingsTables(findings ?? []), ...resultsTables(rows), failuresTable(rows)].filter((t): t is Table => t !== null);
  const after = [microTable(rows), microExponentsTable(rows), environmentTable(rows, envs)].filter((t): t is Table => t !== null);
  const page = { title: 'seqarena report', subtitle: subtitle(rows), alerts, tablesBefore: before, tablesAfter: after, charts: specs };
  const html = renderHtml(page);
  const markdown = renderMarkdown({ ...page, chartsDir: CHARTS_DIR });

  fs.mkdirSync(outDir, { recursive: true });
  writeCharts(path.join(outDir, CHARTS_DIR), charts);
  writeFileAtomic(path.join(outDir, HTML_FILE), html);
  writeFileAtomic(path.join(outDir, MARKDOWN_FILE), markdown);
  return { html, markdown, charts };
}

/**
 * Read one or more results directories (shards, cpu and gpu runs: combined as one set), optionally hold
 * them against a baseline results directory with harness/compare.ts, write the report to `outDir`,
 * and return the path of its index.html.
 */
export async function writeReport(resultsDirs: string[], outDir: string, baselineDir?: string, compareOptions?: CompareOptions): Promise<string> {
  if (resultsDirs.length === 0) throw new UsageError('no results directory to report on; pass RESULTS_DIR (a directory written by `seqarena bench` or `seqarena run`)');
  const rows = readRowsFrom(resultsDirs);
  if (rows.length === 0) throw new UsageError(`no result rows in ${resultsDirs.join(', ')}; run \`seqarena bench\` first, or pass a results directory with finished runs`);
  const envs = resultsDirs.map(readEnv).filter((e): e is Environment => e !== null);
  const findings = resultsDirs.flatMap(readFindings);
  const baseline = baselineDir === undefined ? undefined : compareRows(readRows(baselineDir), rows, compareOptions);
  await buildReport({ rows, envs, outDir, baseline, findings });
  return path.join(outDir, HTML_FILE);
}
