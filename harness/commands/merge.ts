import type { Command } from 'commander';
import { recordFindings } from '../findings.ts';
import { findingsSuiteOf } from '../suites/index.ts';
import { mergeResults } from '../merge.ts';
import { readEnv } from '../results/io.ts';

export function register(program: Command): void {
  program
    .command('merge')
    .description('join shard result sets of one suite into one results directory')
    .argument('<dirs...>', 'results directories of the shards')
    .requiredOption('-o, --out <dir>', 'new results directory to write')
    .addHelpText('after', '\nExample:\n  seqarena merge results/shard-1 results/shard-2 results/shard-3 --out results/merged')
    .action((dirs: string[], opts: { out: string }) => {
      const merged = mergeResults(dirs, opts.out);
      for (const c of merged.conflicts.slice(0, 10)) {
        process.stderr.write(`warning: ${c.key} differs between ${c.kept} and ${c.dropped}; kept the row from ${c.kept}\n`);
      }
      if (merged.conflicts.length > 10) process.stderr.write(`warning: … and ${merged.conflicts.length - 10} more conflicting rows\n`);
      process.stdout.write(
        `merged ${dirs.length} result sets into ${merged.outDir}: ${merged.rows.length} rows` +
          `${merged.duplicates ? `, ${merged.duplicates} exact duplicates dropped` : ''}` +
          `${merged.conflicts.length ? `, ${merged.conflicts.length} conflicting rows dropped` : ''}\n`,
      );
      // Shards of a paper suite: its findings can be judged only now that every run is together.
      const named = findingsSuiteOf(readEnv(merged.outDir));
      if (named) process.stdout.write(recordFindings(named.suite, merged.outDir, named.scale));
    });
}
