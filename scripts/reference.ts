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
 * p90, min and max stay), to keep the repository small, and runs/ (the per-run spec files and logs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appendRows, readEnv, readRows, writeEnv } from '../harness/results/io.ts';
import { writeReport } from '../reports/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REFERENCE_RESULTS = path.join(ROOT, 'results', 'reference');
export const REFERENCE_SITE = path.join(ROOT, 'docs', 'reference');
/** Files of a results directory that travel with its rows. */
const KEPT = ['suite.json', 'findings.json'];

/** Copy one results directory into results/reference/<its suite>/, without per-step samples. */
function importResults(dir: string): string {
  const rows = readRows(dir);
  const suites = [...new Set(rows.map((r) => r.suite))];
  if (suites.length !== 1) throw new Error(`${dir} holds rows of ${suites.length} suites (${suites.join(', ')}); import one suite's results directory at a time`);
  const dest = path.join(REFERENCE_RESULTS, suites[0]);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  appendRows(dest, rows.map((r) => ({ ...r, samples: null })));
  const env = readEnv(dir);
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

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`reference: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
