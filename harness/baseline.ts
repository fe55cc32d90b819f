/**
 * Committed baselines: a results set copied under results/baselines/NAME/ (results.jsonl without the
 * loss-curve rows, to stay small and reviewable, and env.json with where it came from), which
 * `seqarena compare` holds new results against in CI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, unknownName } from './errors.ts';
import { RESULTS_JSONL, readEnv, readRows, writeEnv, writeFileAtomic } from './results/io.ts';
import type { ResultRow } from './results/schema.ts';
import { isSummaryRow } from './compare.ts';

export const RESULTS_ROOT = 'results';
export const BASELINES_DIR = path.join(RESULTS_ROOT, 'baselines');

const isResultsDir = (dir: string): boolean => fs.existsSync(path.join(dir, RESULTS_JSONL));

/** Every results directory directly under `root` (baselines excluded); none if `root` does not exist. */
export function resultsDirsUnder(root = RESULTS_ROOT): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'baselines')
    .map((e) => path.join(root, e.name))
    .filter(isResultsDir);
}

/**
 * The results directory a command reads: the one given, or else the most recently written directory
 * under results/ (baselines excluded).
 */
export function resolveResultsDir(dir: string | undefined, root = RESULTS_ROOT): string {
  if (dir !== undefined) {
    if (!fs.existsSync(dir)) throw new UsageError(`'${dir}' does not exist; pass a results directory written by \`seqarena bench\` or \`seqarena run\``);
    if (!isResultsDir(dir)) throw new UsageError(`'${dir}' is not a results directory (no ${RESULTS_JSONL}); pass a directory written by \`seqarena bench\` or \`seqarena run\``);
    return dir;
  }
  const candidates = resultsDirsUnder(root);
  if (candidates.length === 0) throw new UsageError(`no results directory given and none found under ${root}/; run \`seqarena bench\` first or pass RESULTS_DIR`);
  const mtime = (d: string): number => fs.statSync(path.join(d, RESULTS_JSONL)).mtimeMs;
  return candidates.reduce((a, b) => (mtime(b) > mtime(a) ? b : a));
}

export function baselineNames(root = BASELINES_DIR): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isResultsDir(path.join(root, e.name)))
    .map((e) => e.name)
    .sort();
}

/**
 * The baseline directory for `--baseline`: a results directory path, or a name under results/baselines/.
 * Without one, the baseline named after the current rows' suite.
 */
export function resolveBaseline(nameOrDir: string | undefined, currentRows: readonly ResultRow[], root = BASELINES_DIR): string {
  const names = baselineNames(root);
  if (nameOrDir === undefined) {
    const suites = [...new Set(currentRows.map((r) => r.suite))];
    if (suites.length === 1 && names.includes(suites[0])) return path.join(root, suites[0]);
    throw new UsageError(
      `no --baseline given and no baseline named after the suite (${suites.join(', ') || 'none'}); ` +
        `pass --baseline NAME|DIR${names.length ? ` (saved baselines: ${names.join(', ')})` : ', or save one with `seqarena baseline save`'}`,
    );
  }
  if (isResultsDir(nameOrDir)) return nameOrDir;
  if (names.includes(nameOrDir)) return path.join(root, nameOrDir);
  if (names.length === 0) throw new UsageError(`no baseline '${nameOrDir}': it is not a results directory and ${root}/ holds no baselines; save one with \`seqarena baseline save\``);
  throw unknownName('baseline', nameOrDir, names);
}

export interface SavedBaseline {
  dir: string;
  rows: number;
  droppedCurveRows: number;
  replaced: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Copy a results set as baseline NAME (default: its suite). Replaces a baseline of the same name. */
export function saveBaseline(resultsDir: string, name: string | undefined, root = BASELINES_DIR): SavedBaseline {
  const rows = readRows(resultsDir, { onBadLine: 'refuse' });
  if (rows.length === 0) throw new UsageError(`${path.join(resultsDir, RESULTS_JSONL)} holds no rows; nothing to save as a baseline`);
  const suites = [...new Set(rows.map((r) => r.suite))];
  const chosen = name ?? (suites.length === 1 ? suites[0] : undefined);
  if (chosen === undefined) throw new UsageError(`the results hold several suites (${suites.join(', ')}); name the baseline with --name NAME`);
  if (!NAME.test(chosen)) throw new UsageError(`baseline name '${chosen}' must be letters, digits, '.', '_' or '-' (it names a directory)`);
  const dir = path.join(root, chosen);
  const replaced = isResultsDir(dir);
  const kept = rows.filter(isSummaryRow);
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, RESULTS_JSONL), kept.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeEnv(dir, {
    ...(readEnv(resultsDir) ?? {}),
    baseline: { name: chosen, saved_at: new Date().toISOString(), source: resultsDir, rows: kept.length, dropped_curve_rows: rows.length - kept.length },
  });
  return { dir, rows: kept.length, droppedCurveRows: rows.length - kept.length, replaced };
}

export interface BaselineInfo {
  name: string;
  date: string | null;
  gitSha: string | null;
  rows: number;
  suite: string;
}

/** The most common non-null value, or null. */
function mostCommon(values: (string | null)[]): string | null {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  for (const [v, c] of counts) if (best === null || c > counts.get(best)!) best = v;
  return best;
}

/** The commit and date a results set was produced at: from its rows, else its env.json. */
export function provenanceOf(rows: readonly ResultRow[], env: Record<string, unknown> | null): { gitSha: string | null; date: string | null } {
  const envString = (key: string): string | null => (typeof env?.[key] === 'string' ? (env[key] as string) : null);
  const stamps = rows.map((r) => r.timestamp).sort();
  return { gitSha: mostCommon(rows.map((r) => r.git_sha)) ?? envString('git_sha'), date: stamps[0] ?? envString('created') };
}

export function listBaselines(root = BASELINES_DIR): BaselineInfo[] {
  return baselineNames(root).map((name) => {
    const dir = path.join(root, name);
    const rows = readRows(dir);
    const { gitSha, date } = provenanceOf(rows, readEnv(dir));
    return {
      name,
      date,
      gitSha,
      rows: rows.length,
      suite: [...new Set(rows.map((r) => r.suite))].join(', '),
    };
  });
}
