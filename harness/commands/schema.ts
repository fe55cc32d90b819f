/** `seqarena schema`: the results columns and the metric catalogue, for people and tools. */
import type { Command } from 'commander';
import { METRICS } from '../results/metrics.ts';
import { schemaDocument } from '../results/schema.ts';

export function register(program: Command): void {
  program
    .command('schema')
    .description('describe the results columns and every metric (unit, direction, phase)')
    .option('--json', 'machine-readable output: the rows\' JSON Schema (as in results/<dir>/schema.json) with the metric catalogue under `metrics`')
    .action((o: { json?: boolean }) => {
      const doc = schemaDocument();
      if (o.json) {
        process.stdout.write(JSON.stringify({ ...doc, metrics: METRICS }, null, 2) + '\n');
        return;
      }
      const lines = [`results schema version ${doc['x-schema-version']}`, '', 'Columns:'];
      for (const [name, column] of Object.entries(doc.properties)) lines.push(`  ${name.padEnd(15)} ${column.description ?? ''}`);
      lines.push('', 'Metrics (phase, unit, direction):');
      for (const [name, m] of Object.entries(METRICS)) lines.push(`  ${name.padEnd(22)} ${m.phase.padEnd(12)} ${m.unit.padEnd(12)} ${m.direction.padEnd(8)} ${m.description}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
