/** `seqarena report`: charts, an offline HTML page and a Markdown summary from one or more results directories. */
import path from 'node:path';
import type { Command } from 'commander';
import { resolveBaseline, resolveResultsDir } from '../baseline.ts';
import { readRowsFrom } from '../results/io.ts';
import { loadThresholds } from './compare.ts';

export function register(program: Command): void {
  program
    .command('report')
    .description('build a report (index.html that works offline, summary.md, charts/*.svg and *.png) from results directories')
    .argument('[results-dir...]', 'results directories to combine (default: the newest under results/)')
    .option('-o, --out <dir>', 'where to write the report (default: FIRST_RESULTS_DIR/report)')
    .option('-b, --baseline <name|dir>', 'hold the results against a baseline (a name under results/baselines/ or a results directory) and add the regression view; thresholds as for `seqarena compare`')
    .addHelpText(
      'after',
      '\nExamples:\n  seqarena report\n  seqarena report results/cpu results/gpu --out site/\n  seqarena report results/pr-123 --baseline quick',
    )
    .action(async (dirArgs: string[], opts: { out?: string; baseline?: string }) => {
      const dirs = dirArgs.length > 0 ? dirArgs.map((d) => resolveResultsDir(d)) : [resolveResultsDir(undefined)];
      const baselineDir = opts.baseline === undefined ? undefined : resolveBaseline(opts.baseline, readRowsFrom(dirs, { warn: () => {} }));
      const compareOptions = baselineDir === undefined ? undefined : { thresholds: loadThresholds(undefined).thresholds };
      const { writeReport } = await import('../../reports/index.ts');
      const page = await writeReport(dirs, opts.out ?? path.join(dirs[0], 'report'), baselineDir, compareOptions);
      process.stdout.write(`${page}\n`);
    });
}
