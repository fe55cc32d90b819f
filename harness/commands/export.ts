import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { resolveResultsDir } from '../baseline.ts';
import { resultsMarkdown, writeGithubBenchmark } from '../exports.ts';
import { readRows, writeFileAtomic } from '../results/io.ts';

export function register(program: Command): void {
  const exporter = program.command('export').description('write results in other tools\' formats');

  exporter
    .command('github-benchmark')
    .description('github-action-benchmark JSON: customBiggerIsBetter.json and customSmallerIsBetter.json')
    .argument('[results-dir]', 'results directory (default: the newest under results/)')
    .requiredOption('-o, --out <dir>', 'directory to write the two files into')
    .addHelpText(
      'after',
      '\nThen, in a workflow:\n  - uses: benchmark-action/github-action-benchmark@v1\n    with: { tool: customSmallerIsBetter, output-file-path: OUT/customSmallerIsBetter.json }\n  (and a second step with customBiggerIsBetter)',
    )
    .action((dirArg: string | undefined, opts: { out: string }) => {
      const dir = resolveResultsDir(dirArg);
      const written = writeGithubBenchmark(readRows(dir), opts.out);
      process.stdout.write(`${written.entries} benchmarks from ${dir} written to ${written.bigger} and ${written.smaller}\n`);
    });

  exporter
    .command('markdown')
    .description('the results as Markdown tables, one per task')
    .argument('[results-dir]', 'results directory (default: the newest under results/)')
    .option('-o, --out <file>', 'write here instead of stdout')
    .action((dirArg: string | undefined, opts: { out?: string }) => {
      const dir = resolveResultsDir(dirArg);
      const markdown = resultsMarkdown(readRows(dir));
      if (opts.out === undefined) {
        process.stdout.write(markdown);
        return;
      }
      fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
      writeFileAtomic(opts.out, markdown);
      process.stderr.write(`written to ${opts.out}\n`);
    });
}
