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
    .description('the trend of every metric across many results directories (one point per directory × figure), as JSON or CSV')
    .argument('<dirs...>', 'results directories, e.g. one per commit')
    .option('-o, --out <file>', 'write here instead of stdout (.csv for CSV, else JSON)')
    .addHelpText('after', '\nExample:\n  seqarena history results/history/* --out results/history.json')
    .action((dirs: string[], opts: { out?: string }) => {
      const points = readHistory(dirs);
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
