/**
 * The published reference report: results/reference/<suite>/ holds the committed results (rows without
 * their per-step samples), docs/reference/ the static site built from them (index.html that works
 * offline, summary.md, charts/*.svg and *.png), which a project page can serve as is.
 *
 *   npm run reference                       rebuild docs/reference/ from results/reference/*
 *   npm run reference -- RESULTS_DIR...     first import these results directories (a suite each,
 *                                           replacing that suite's reference), then rebuild
 *
 * Dropped on import: the `samples` column (every per-step and per-repeat sample; value, n, stddev, p50,
 * p90, min and max stay), to keep the repository small, and runs/ (the per-run spec files and logs). A paper
 * suite's rows of runs the suite no longer plans (a learning rate since dropped from its sweep, carried along
 * by a --resume into an older directory) are dropped too, and counted, so the reference holds what its
 * findings read and nothing they ignore.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { appendRows, readEnv, readRows, writeEnv } from '../harness/results/io.ts';
import { resolveSuite } from '../harness/commands/bench.ts';
import type { ResultRow } from '../harness/results/schema.ts';
import { findingsSuiteOf } from '../harness/suites/index.ts';
import { writeReport } from '../reports/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REFERENCE_RESULTS = path.join(ROOT, 'results', 'reference');
export const REFERENCE_SITE = path.join(ROOT, 'docs', 'reference');
/** Files of a results directory that travel with its rows. */
const KEPT = ['suite.json', 'findings.json'];

/** A paper suite's rows of the runs it plans at the scale that ran (all rows for any other directory), and how many were left out. */
export function plannedRows(rows: ResultRow[], env: Record<string, unknown> | null): { rows: ResultRow[]; dropped: number } {
  const named = findingsSuiteOf(env);
  if (!named) return { rows, dropped: 0 };
  const planned = new Set(resolveSuite({ suite: named.suite.name, backend: String(env!.backend ?? 'wasm'), scale: named.scale }).resolved.map((r) => r.runId));
  const kept = rows.filter((r) => planned.has(r.run_id));
  return { rows: kept, dropped: rows.length - kept.length };
}

/** Copy one results directory into results/reference/<its suite>/, without per-step samples. */
function importResults(dir: string): string {
  const env = readEnv(dir);
  const { rows, dropped } = plannedRows(readRows(dir), env);
  if (dropped > 0) process.stderr.write(`${dir}: ${dropped} rows of runs the suite no longer plans left out\n`);
  if (rows.length === 0) throw new Error(`${dir} holds no rows of the runs its suite plans; was it written by an older version of the suite?`);
  const suites = [...new Set(rows.map((r) => r.suite))];
  if (suites.length !== 1) throw new Error(`${dir} holds rows of ${suites.length} suites (${suites.join(', ')}); import one suite's results directory at a time`);
  const dest = path.join(REFERENCE_RESULTS, suites[0]);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  appendRows(dest, rows.map((r) => ({ ...r, samples: null })));
  if (env) writeEnv(dest, env);
  for (const file of KEPT) if (fs.existsSync(path.join(dir, file))) fs.copyFileSync(path.join(dir, file), path.join(dest, file));
  return dest;
}

async function main(args: string[]): Promise<void> {
  for (const dir of args) process.stderr.write(`imported ${dir} → ${path.relative(ROOT, importResults(dir))}\n`);
  const dirs = fs.existsSync(REFERENCE_RESULTS)
    ? fs.readdirSync(REFERENCE_RESULTS, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(REFERENCE_RESULTS, e.name)).sort()
    : [];
  if (dirs.length === 0) throw new Error(`no results under ${REFERENCE_RESULTS}; pass results directories to import: npm run reference -- results/<suite>-<timestamp>`);
  const page = await writeReport(dirs, REFERENCE_SITE);
  process.stdout.write(`${path.relative(ROOT, page)} (from ${dirs.map((d) => path.relative(ROOT, d)).join(', ')})\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`reference: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}
