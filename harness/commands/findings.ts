/**
 * `seqarena findings [results-dir...] [--recheck] [--json]`: the paper suites' findings from one or more
 * results directories as one Markdown table (the README's), headed by the machine, each suite's command
 * and its measured wall-clock time. `--recheck` evaluates the suite's checks again on the stored rows
 * (after a check was edited) and rewrites findings.json; without it, findings.json is read as written.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { RESULTS_ROOT, resultsDirsUnder } from '../baseline.ts';
import { groupBy } from '../compare.ts';
import { UsageError } from '../errors.ts';
import { evaluateFindings } from '../findings.ts';
import { findingsSuiteOf } from '../suites/index.ts';
import { readEnv, readRows, RESULTS_JSONL } from '../results/io.ts';
import type { ResultRow } from '../results/schema.ts';
import type { FindingResult } from '../suites/types.ts';
import { FINDINGS_JSON, readFindings, writeFindings } from '../results/findings.ts';
import { findingsSummaryMarkdown, type FindingsSource } from '../../reports/findings.ts';

/**
 * The compute time a suite took: the sum of its runs' wall-clock times (every attempt, resumed or
 * repeated ones too), per shard; the longest shard when shards ran in parallel. Summing the runs'
 * own times stays right for a suite that was interrupted and resumed, where clock time would not.
 */
export function elapsedSeconds(rows: ResultRow[]): { seconds: number | null; shards: number } {
  const perShard = new Map<string, number>();
  for (const r of rows) {
    if (r.metric !== 'wall_time_s' || r.value === null || !Number.isFinite(r.value)) continue;
    const key = r.shard ?? '';
    perShard.set(key, (perShard.get(key) ?? 0) + r.value);
  }
  // Shards are the distinct shard labels; rows without one (an unsharded suite, or a run rerun alone) add none.
  const shards = new Set(rows.filter((r) => r.shard !== null).map((r) => r.shard)).size;
  return { seconds: perShard.size === 0 ? null : Math.max(...perShard.values()), shards: Math.max(shards, 1) };
}

/** Results directories under `root` that hold findings.json, oldest first. */
function findingsDirs(root: string): string[] {
  return resultsDirsUnder(root)
    .filter((d) => fs.existsSync(path.join(d, FINDINGS_JSON)))
    .sort((a, b) => fs.statSync(path.join(a, FINDINGS_JSON)).mtimeMs - fs.statSync(path.join(b, FINDINGS_JSON)).mtimeMs);
}

/** Read (or, with `recheck`, re-evaluate and rewrite) the findings of one results directory. */
export function loadFindingsSource(dir: string, recheck: boolean): FindingsSource {
  if (!fs.existsSync(path.join(dir, RESULTS_JSONL))) {
    throw new UsageError(`'${dir}' is not a results directory (no ${RESULTS_JSONL}); pass a directory written by \`seqarena bench --suite NAME\` for a paper suite`);
  }
  const env = readEnv(dir);
  const rows = readRows(dir, { warn: () => {} });
  let findings: FindingResult[];
  if (recheck) {
    const named = findingsSuiteOf(env);
    if (!named) {
      throw new UsageError(
        `'${dir}': env.json names suite '${String(env?.suite ?? 'unknown')}' at scale '${String(env?.scale ?? 'unknown')}'; --recheck needs a paper suite's results (see seqarena list) at scale cpu or paper`,
      );
    }
    findings = evaluateFindings(named.suite, rows, named.scale);
    writeFindings(dir, findings);
  } else {
    findings = readFindings(dir);
    if (findings.length === 0) throw new UsageError(`'${dir}' has no ${FINDINGS_JSON}; it is written by \`seqarena bench\` for a paper suite (or by \`seqarena merge\` for its shards); add --recheck to evaluate it from the rows`);
  }
  const elapsed = elapsedSeconds(rows);
  // Short form: rows of one commit may carry its id at different lengths.
  const perCommit = groupBy(rows.filter((r): r is ResultRow & { git_sha: string } => Boolean(r.git_sha)), (r) => r.git_sha.slice(0, 7));
  const commits = [...perCommit.entries()].sort((a, b) => b[1].length - a[1].length).map(([sha]) => sha);
  return { dir, findings, env, elapsedS: elapsed.seconds, shards: elapsed.shards, commits };
}

export function register(program: Command): void {
  program
    .command('findings')
    .description('the paper suites’ findings as one Markdown table (published vs measured, held / not held), with the machine, commands and wall-clock times')
    .argument('[results-dir...]', `results directories of paper suites (default: every one under ${RESULTS_ROOT}/ with ${FINDINGS_JSON})`)
    .option('--recheck', 'evaluate the suites’ checks again on the stored rows and rewrite findings.json')
    .option('--json', 'print the findings as JSON instead')
    .addHelpText('after', '\nExamples:\n  seqarena findings\n  seqarena findings results/paper-mqar results/paper-scan --recheck')
    .action((dirArgs: string[], opts: { recheck?: boolean; json?: boolean }) => {
      const dirs = dirArgs.length > 0 ? dirArgs : findingsDirs(RESULTS_ROOT);
      if (dirs.length === 0) throw new UsageError(`no results with ${FINDINGS_JSON} under ${RESULTS_ROOT}/; run a paper suite first (seqarena bench --suite selective-copying) or pass its directory`);
      const sources = dirs.map((d) => loadFindingsSource(d, opts.recheck ?? false));
      if (opts.json) {
        process.stdout.write(JSON.stringify(sources.map((s) => ({ dir: s.dir, elapsed_s: s.elapsedS, shards: s.shards, findings: s.findings })), null, 2) + '\n');
      } else {
        process.stdout.write(findingsSummaryMarkdown(sources));
      }
    });
}
