import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { readHistory, type HistoryPoint } from '../history.ts';
import { writeFileAtomic } from '../results/io.ts';

function asCsv(points: HistoryPoint[]): string {
  const columns = Object.keys(points[0] ?? { series: '' }) as (keyof HistoryPoint)[];
  return stringify(points.map((p) => columns.map((c) => p[c])), { header: true, columns: columns as string[] });
}

export function register(program: Command): void {
  program
    .command('history')
    .description('the trend of every metric across many results directories (one point per directory × figure), as JSON or CSV, or as an HTML dashboard')
    .argument('<dirs...>', 'results directories, e.g. one per commit, or committed baselines')
    .option('-o, --out <file|dir>', 'a .json or .csv file to write the points to (else stdout); any other path: a directory for the HTML dashboard (index.html, one chart per tracked metric across commits, and history.json)')
    .addHelpText('after', '\nExamples:\n  seqarena history results/history/* --out results/history.json\n  seqarena history results/baselines/* results/pr-123 --out site/history')
    .action(async (dirs: string[], opts: { out?: string }) => {
      const points = readHistory(dirs);
      if (opts.out !== undefined && !/\.(json|csv)$/i.test(opts.out)) {
        const { writeHistoryPage } = await import('../../reports/history.ts');
        process.stdout.write(`${writeHistoryPage(points, opts.out)}\n`);
        return;
      }
      const text = opts.out?.endsWith('.csv') ? asCsv(points) : JSON.stringify(points, null, 2) + '\n';
      if (opts.out === undefined) {
        process.stdout.write(text);
        return;
      }
      fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
      writeFileAtomic(opts.out, text);
      process.stderr.write(`${points.length} points from ${dirs.length} results directories written to ${opts.out}\n`);
    });
}
