import type { Command } from 'commander';
import { listBaselines, resolveResultsDir, saveBaseline } from '../baseline.ts';
import { markdownTable } from '../exports.ts';

export function register(program: Command): void {
  const baseline = program.command('baseline').description('save and list the committed baselines under results/baselines/ that `compare` holds results against');

  baseline
    .command('save')
    .description('copy a results set (without loss-curve rows) to results/baselines/NAME/, replacing a baseline of that name')
    .argument('[results-dir]', 'results directory (default: the newest under results/)')
    .option('-n, --name <name>', 'baseline name (default: the suite of the results)')
    .addHelpText('after', '\nExample:\n  seqarena baseline save results/main --name quick && git add results/baselines/quick')
    .action((dirArg: string | undefined, opts: { name?: string }) => {
      const dir = resolveResultsDir(dirArg);
      const saved = saveBaseline(dir, opts.name);
      process.stdout.write(
        `${saved.replaced ? 'replaced' : 'saved'} baseline ${saved.dir}: ${saved.rows} rows from ${dir}` +
          `${saved.droppedCurveRows ? ` (${saved.droppedCurveRows} loss-curve rows left out)` : ''}\n`,
      );
    });

  baseline
    .command('list')
    .description('list saved baselines: name, date, commit, rows, suite')
    .action(() => {
      const baselines = listBaselines();
      if (baselines.length === 0) {
        process.stdout.write('no baselines under results/baselines/; save one with `seqarena baseline save`\n');
        return;
      }
      const body = baselines.map((b) => [b.name, b.date ?? '', b.gitSha ?? '', String(b.rows), b.suite]);
      process.stdout.write(markdownTable(['name', 'date', 'git sha', 'rows', 'suite'], body, ['left', 'left', 'left', 'right', 'left']) + '\n');
    });
}
