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
  /** Fresh runs of the suite the baseline holds: one per results set saved. */
  repeats: number;
  replaced: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface SaveOptions {
  /** Baseline name (default: the suite of the results). */
  name?: string;
  /** Where baselines live (default results/baselines); the baseline goes to ROOT/NAME … */
  root?: string;
  /** … unless `dir` names the directory itself. */
  dir?: string;
}

/**
 * Copy one or several results sets as baseline NAME (default: their suite), replacing a baseline of
 * the same name. Several sets are fresh runs of one commit's suite (`npm run refresh-smoke-baseline`
 * runs the smoke suite several times): their rows are kept side by side, each set's numbered in the
 * `repeat` column, so `compare` measures every figure's run-to-run noise from them. Sets of different
 * suites or commits are refused: their differences are not noise.
 */
export function saveBaseline(resultsDirs: string | readonly string[], options: SaveOptions = {}): SavedBaseline {
  const dirs = typeof resultsDirs === 'string' ? [resultsDirs] : [...resultsDirs];
  if (dirs.length === 0) throw new UsageError('baseline save needs a results directory');
  const sets = dirs.map((dir) => ({ dir, rows: readRows(dir, { onBadLine: 'refuse' }) }));
  for (const set of sets) if (set.rows.length === 0) throw new UsageError(`${path.join(set.dir, RESULTS_JSONL)} holds no rows; nothing to save as a baseline`);
  const rows = sets.flatMap((set) => set.rows);
  const suites = [...new Set(rows.map((r) => r.suite))];
  if (sets.length > 1) {
    const describe = (value: (rs: ResultRow[]) => string | null): string => sets.map((set) => `${set.dir}: ${value(set.rows) ?? 'unknown'}`).join('; ');
    if (suites.length > 1) throw new UsageError(`repeats of a baseline must be runs of one suite, got ${describe((rs) => [...new Set(rs.map((r) => r.suite))].join(', '))}`);
    const commits = new Set(sets.map((set) => mostCommon(set.rows.map((r) => r.git_sha))));
    if (commits.size > 1) throw new UsageError(`repeats of a baseline must be runs of one commit (only then are their differences noise), got ${describe((rs) => mostCommon(rs.map((r) => r.git_sha)))}`);
  }
  const chosen = options.name ?? (suites.length === 1 ? suites[0] : undefined);
  if (chosen === undefined) throw new UsageError(`the results hold several suites (${suites.join(', ')}); name the baseline with --name NAME`);
  if (!NAME.test(chosen)) throw new UsageError(`baseline name '${chosen}' must be letters, digits, '.', '_' or '-' (it names a directory)`);
  const dir = options.dir ?? path.join(options.root ?? BASELINES_DIR, chosen);
  if (sets.length > 1 && dirs.some((d) => path.resolve(d) === path.resolve(dir))) throw new UsageError(`${dir} is both a repeat and where the baseline goes; save to another name or --out`);
  const replaced = isResultsDir(dir);
  // Each set's repeats follow the previous set's (a set that is itself a baseline of repeats keeps them apart).
  let offset = 0;
  const kept: ResultRow[] = [];
  for (const set of sets) {
    const summary = set.rows.filter(isSummaryRow);
    kept.push(...(sets.length === 1 ? summary : summary.map((r) => ({ ...r, repeat: offset + r.repeat }))));
    offset += 1 + Math.max(0, ...set.rows.map((r) => r.repeat));
  }
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, RESULTS_JSONL), kept.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeEnv(dir, {
    ...(readEnv(dirs[0]) ?? {}),
    baseline: {
      name: chosen,
      saved_at: new Date().toISOString(),
      sources: dirs,
      repeats: offset,
      rows: kept.length,
      dropped_curve_rows: rows.length - kept.length,
    },
  });
  return { dir, rows: kept.length, droppedCurveRows: rows.length - kept.length, repeats: offset, replaced };
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
