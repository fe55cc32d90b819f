import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { resolveBaseline, resolveResultsDir, provenanceOf } from '../baseline.ts';
import { compareRows, gateFailures, MEASUREMENT_FIELDS, Thresholds, type Comparison, type ThresholdsInput } from '../compare.ts';
import { UsageError } from '../errors.ts';
import { compareMarkdown } from '../exports.ts';
import { readEnv, readRows, writeFileAtomic } from '../results/io.ts';
import type { ResultRow } from '../results/schema.ts';

export const DEFAULT_THRESHOLDS_FILE = 'seqarena.compare.json';

/** The thresholds file given, or ./seqarena.compare.json when present, or the built-in defaults. */
export function loadThresholds(file: string | undefined): { thresholds: ThresholdsInput; source: string } {
  const chosen = file ?? (fs.existsSync(DEFAULT_THRESHOLDS_FILE) ? DEFAULT_THRESHOLDS_FILE : undefined);
  if (chosen === undefined) return { thresholds: {}, source: 'built-in defaults' };
  if (!fs.existsSync(chosen)) throw new UsageError(`thresholds file '${chosen}' does not exist; pass an existing JSON file to --config`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(chosen, 'utf8'));
  } catch (error) {
    throw new UsageError(`thresholds file '${chosen}' is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = Thresholds.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ');
    throw new UsageError(`thresholds file '${chosen}' is invalid: ${issues} (see ${DEFAULT_THRESHOLDS_FILE} for every field)`);
  }
  return { thresholds: parsed.data, source: chosen };
}

function describeSet(label: string, dir: string, rows: readonly ResultRow[]): string {
  const { gitSha, date } = provenanceOf(rows, readEnv(dir));
  const suites = [...new Set(rows.map((r) => r.suite))].join(', ');
  return `**${label}** \`${dir}\`: suite ${suites || '(none)'}, commit ${gitSha ? `\`${gitSha}\`` : 'unknown'}, ${date ?? 'undated'}, ${rows.length} rows`;
}

function calibrationLine(rows: readonly Comparison[], baseline: readonly ResultRow[], current: readonly ResultRow[]): string {
  const mean = (rs: readonly ResultRow[]): string => {
    const v = rs.filter((r) => r.phase === 'calibration' && r.metric === 'matmul_gflops' && r.value !== null).map((r) => r.value!);
    return v.length ? `${(v.reduce((a, b) => a + b, 0) / v.length).toPrecision(4)} GFLOP/s` : 'none';
  };
  const normalized = rows.some((r) => r.normalized);
  return normalized
    ? `Speeds normalised by each run's calibration matmul throughput (baseline ${mean(baseline)}, current ${mean(current)}); "(norm.)" marks those changes.`
    : 'Speeds compared raw (not normalised by calibration).';
}

export function register(program: Command): void {
  program
    .command('compare')
    .description('hold results against a baseline with noise-aware rules; print a Markdown table; exit 1 on any regression or missing figure')
    .argument('[results-dir]', 'results directory (default: the newest under results/)')
    .option('-b, --baseline <name|dir>', 'baseline name under results/baselines/, or a results directory (default: the baseline named after the suite)')
    .option('-c, --config <file>', `thresholds file (default: ./${DEFAULT_THRESHOLDS_FILE} if present)`)
    .option('-o, --out <file>', 'where to write the Markdown (default: RESULTS_DIR/compare.md)')
    .option('--no-normalize', 'compare raw speeds instead of normalising them by the run\'s calibration matmul GFLOP/s')
    .option('--allow-missing', 'accept baseline figures and runs that the current results lack (still listed in the table)')
    .addHelpText(
      'after',
      '\nExit status: 0 no regression, 1 a regression or a missing figure (see --allow-missing), 2 bad input (including an invalid row).\n' +
        'Timings and resident memory are judged against their run-to-run noise, measured from a baseline saved from several fresh runs\n' +
        '(seqarena baseline save RUN_1 RUN_2 RUN_3 …); with one run per side they are shown, not judged (exit 0, headline "⚠️ no timing judged").\nExamples:\n  seqarena compare --baseline quick results/pr-123\n  seqarena compare --baseline results/main results/pr-123 --out comment.md --no-normalize',
    )
    .action((dirArg: string | undefined, opts: { baseline?: string; config?: string; out?: string; normalize: boolean; allowMissing?: boolean }) => {
      const dir = resolveResultsDir(dirArg);
      const current = readRows(dir, { onBadLine: 'refuse' });
      const baselineDir = resolveBaseline(opts.baseline, current);
      const baseline = readRows(baselineDir, { onBadLine: 'refuse' });
      const { thresholds, source } = loadThresholds(opts.config);
      const rows = compareRows(baseline, current, { thresholds, normalize: opts.normalize });
      if (!rows.some((r) => r.baseline !== null && r.current !== null)) {
        const describe = (rs: readonly ResultRow[]): string =>
          `suite ${[...new Set(rs.map((r) => r.suite))].join(', ')}, backend ${[...new Set(rs.map((r) => r.backend))].join(', ')}`;
        throw new UsageError(
          `no figure of ${dir} (${describe(current)}) matches baseline ${baselineDir} (${describe(baseline)}); ` +
            `rows match on ${MEASUREMENT_FIELDS.join(', ')}, phase, metric and slice: compare results of the same suite, backend and thread count`,
        );
      }
      const gate = { allowMissing: opts.allowMissing ?? false };
      const markdown = compareMarkdown(
        rows,
        [describeSet('Baseline', baselineDir, baseline), describeSet('Current', dir, current), `${calibrationLine(rows, baseline, current)} Thresholds: ${source}.`],
        gate,
      );
      const out = opts.out ?? path.join(dir, 'compare.md');
      fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
      writeFileAtomic(out, markdown);
      process.stdout.write(markdown);
      process.stderr.write(`written to ${out}\n`);
      process.exitCode = gateFailures(rows, gate).length > 0 ? 1 : 0;
    });
}
