/**
 * Joining shard result sets (`bench --shard i/n` on several machines) into one. Shards must share a
 * suite and a schema version; rows keep their shard and host columns, exact duplicates (the same row
 * in two sets) are dropped, and env.json lists every source environment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './errors.ts';
import { RESULTS_JSONL, appendRows, readEnv, readRows, writeEnv } from './results/io.ts';
import type { ResultRow } from './results/schema.ts';

export interface ResultSet {
  dir: string;
  rows: ResultRow[];
}

/** Two rows of the same run × phase × metric × slice × step with different contents. */
export interface Conflict {
  key: string;
  kept: string;
  dropped: string;
}

export interface MergedRows {
  rows: ResultRow[];
  duplicates: number;
  conflicts: Conflict[];
}

/** A row's identity: its run (and repeat, in a set of repeats), phase, metric, slice and step. */
const rowKey = (r: ResultRow): string => [r.repeat > 0 ? `${r.run_id}#${r.repeat}` : r.run_id, r.phase, r.metric, r.slice ?? '', r.step ?? ''].join(' · ');

/** Refuse sets that do not belong together, naming each set and what it holds. */
function checkCompatible(sets: readonly ResultSet[]): void {
  const describe = (values: (s: ResultSet) => (string | number)[]): string =>
    sets.map((s) => `${s.dir}: ${[...new Set(values(s))].join(', ') || '(no rows)'}`).join('; ');
  const all = (values: (s: ResultSet) => (string | number)[]): Set<string | number> => new Set(sets.flatMap(values));
  const suites = (s: ResultSet): string[] => s.rows.map((r) => r.suite);
  if (all(suites).size > 1) {
    throw new UsageError(`cannot merge results of different suites (${describe(suites)}); merge only the shards of one suite`);
  }
  const versions = (s: ResultSet): number[] => s.rows.map((r) => r.schema_version);
  if (all(versions).size > 1) {
    throw new UsageError(
      `cannot merge results written with different schema versions (${describe(versions)}); re-run the older shards with this seqarena`,
    );
  }
}

/** The union of the sets' rows, in order, without exact duplicates; on a conflict the first row wins. */
export function mergeRowSets(sets: readonly ResultSet[]): MergedRows {
  checkCompatible(sets);
  const seen = new Map<string, { row: string; dir: string }>();
  const rows: ResultRow[] = [];
  const conflicts: Conflict[] = [];
  let duplicates = 0;
  for (const set of sets) {
    for (const row of set.rows) {
      const key = rowKey(row);
      const text = JSON.stringify(row, Object.keys(row).sort());
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, { row: text, dir: set.dir });
        rows.push(row);
      } else if (first.row === text) {
        duplicates++;
      } else {
        conflicts.push({ key, kept: first.dir, dropped: set.dir });
      }
    }
  }
  return { rows, duplicates, conflicts };
}

/**
 * Which suite a set belongs to: a source that is not a suite's (a run rerun alone with `seqarena run`,
 * whose env says suite 'run') does not veto what the suite's shards agree on, so the merge can still
 * judge the suite's findings.
 */
const SUITE_KEYS = ['suite', 'scale'];
const isSuiteEnv = (e: Record<string, unknown>): boolean => typeof e.suite === 'string' && e.suite !== 'run';

/** env.json of a merge: what every source agrees on at the top, and each source's env in `sources`. */
export function mergeEnvs(sources: { dir: string; env: Record<string, unknown> | null }[]): Record<string, unknown> {
  const envs = sources.map((s) => s.env ?? {});
  const common: Record<string, unknown> = {};
  const keys = new Set(envs.flatMap((e) => Object.keys(e)));
  for (const key of keys) {
    const voters = SUITE_KEYS.includes(key) ? envs.filter(isSuiteEnv) : envs;
    const value = voters[0]?.[key];
    if (voters.length > 0 && voters.every((e) => key in e && JSON.stringify(e[key]) === JSON.stringify(value))) common[key] = value;
  }
  return { ...common, merged_at: new Date().toISOString(), sources: sources.map((s) => ({ dir: s.dir, env: s.env })) };
}

export interface MergeResult extends MergedRows {
  outDir: string;
}

/** Merge the results directories `dirs` into `outDir` (which must not hold results yet). */
export function mergeResults(dirs: readonly string[], outDir: string): MergeResult {
  if (dirs.length < 2) throw new UsageError(`merge needs at least two results directories, got ${dirs.length}`);
  const out = path.resolve(outDir);
  const clash = dirs.find((d) => path.resolve(d) === out);
  if (clash !== undefined) throw new UsageError(`--out ${outDir} is also an input; write the merge to a new directory`);
  if (fs.existsSync(path.join(outDir, RESULTS_JSONL))) {
    throw new UsageError(`--out ${outDir} already holds ${RESULTS_JSONL}; choose an empty directory (merge never appends to existing results)`);
  }
  const sets = dirs.map((dir) => ({ dir, rows: readRows(dir, { onBadLine: 'refuse' }) }));
  const merged = mergeRowSets(sets);
  appendRows(outDir, merged.rows);
  writeEnv(outDir, mergeEnvs(dirs.map((dir) => ({ dir, env: readEnv(dir) }))));
  return { ...merged, outDir };
}
