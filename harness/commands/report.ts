/** `seqarena report`: charts, an offline HTML page and a Markdown summary from one or more results directories. */
import path from 'node:path';
import type { Command } from 'commander';
import { resolveBaseline, resolveResultsDir } from '../baseline.ts';
import { readRowsFrom } from '../results/io.ts';
import { loadThresholds } from './compare.ts';
import { UsageError } from '../errors.ts';

export function register(program: Command): void {
  program
    .command('report')
    .description('build a report (index.html that works offline, summary.md, charts/*.svg and *.png) from results directories')
    .argument('[results-dir...]', 'results directories to combine (default: the newest under results/)')
    .option('-o, --out <dir>', 'where to write the report (default: FIRST_RESULTS_DIR/report)')
    .option('--compare', 'two results directories A B side by side (CPU vs GPU, before vs after): each figure of A beside B with B ÷ A, normalised by each set\'s calibration where that applies')
    .option('-b, --baseline <name|dir>', 'hold the results against a baseline (a name under results/baselines/ or a results directory) and add the regression view; thresholds as for `seqarena compare`')
    .addHelpText(
      'after',
      '\nExamples:\n  seqarena report\n  seqarena report results/cpu results/gpu --out site/\n  seqarena report results/cpu results/gpu --compare --out site/cpu-vs-gpu\n  seqarena report results/pr-123 --baseline quick',
    )
    .action(async (dirArgs: string[], opts: { out?: string; baseline?: string; compare?: boolean }) => {
      const dirs = dirArgs.length > 0 ? dirArgs.map((d) => resolveResultsDir(d)) : [resolveResultsDir(undefined)];
      if (opts.compare) {
        if (dirs.length !== 2) throw new UsageError(`--compare takes exactly two results directories (A B), got ${dirs.length}: ${dirArgs.join(' ') || '(none)'}`);
        if (opts.baseline !== undefined) throw new UsageError('--compare and --baseline do not combine: --compare sets B beside A, --baseline judges one set against a baseline');
        const { writeSideBySide } = await import('../../reports/side-by-side.ts');
        process.stdout.write(`${await writeSideBySide(dirs[0], dirs[1], opts.out ?? path.join(dirs[1], 'compare'))}\n`);
        return;
      }
      const baselineDir = opts.baseline === undefined ? undefined : resolveBaseline(opts.baseline, readRowsFrom(dirs, { warn: () => {} }));
      const compareOptions = baselineDir === undefined ? undefined : { thresholds: loadThresholds(undefined).thresholds };
      const { writeReport } = await import('../../reports/index.ts');
      const page = await writeReport(dirs, opts.out ?? path.join(dirs[0], 'report'), baselineDir, compareOptions);
      process.stdout.write(`${page}\n`);
    });
}
