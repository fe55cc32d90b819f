import type { Command } from 'commander';
import { listBaselines, resolveResultsDir, saveBaseline } from '../baseline.ts';
import { markdownTable } from '../exports.ts';

export function register(program: Command): void {
  const baseline = program.command('baseline').description('save and list the committed baselines under results/baselines/ that `compare` holds results against');

  baseline
    .command('save')
    .description(
      'copy a results set (without loss-curve rows) to results/baselines/NAME/, replacing a baseline of that name; ' +
        'several sets (fresh runs of one commit\'s suite) are kept side by side as repeats, from which `compare` measures each figure\'s run-to-run noise',
    )
    .argument('[results-dirs...]', 'results directories, one per fresh run (default: the newest under results/)')
    .option('-n, --name <name>', 'baseline name (default: the suite of the results)')
    .option('-o, --out <dir>', 'write the baseline to this directory instead of results/baselines/NAME/')
    .addHelpText(
      'after',
      '\nExamples:\n  seqarena baseline save results/main --name quick && git add results/baselines/quick\n  seqarena baseline save runs/1 runs/2 runs/3 runs/4 runs/5 --name smoke   (five fresh runs: run-to-run noise measured)',
    )
    .action((dirArgs: string[], opts: { name?: string; out?: string }) => {
      const dirs = dirArgs.length > 0 ? dirArgs.map((d) => resolveResultsDir(d)) : [resolveResultsDir(undefined)];
      const saved = saveBaseline(dirs, { name: opts.name, dir: opts.out });
      process.stdout.write(
        `${saved.replaced ? 'replaced' : 'saved'} baseline ${saved.dir}: ${saved.rows} rows from ${dirs.join(', ')}` +
          `${saved.repeats > 1 ? ` (${saved.repeats} repeats)` : ''}` +
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
