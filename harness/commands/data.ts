/** `seqarena data export`: a task's examples in its native format, for inspection or other frameworks. */
import fs from 'node:fs';
import type { Command } from 'commander';
import { TASKS } from '../../tasks/index.ts';
import { SPLITS, type Split, type Task } from '../../tasks/types.ts';
import { lookup, UsageError } from '../errors.ts';
import { parseKeyValues } from '../spec.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Lines of one split of a task in its native format, with `--task-param` values validated. */
export function exportLines(task: Task, split: Split, taskParams: string[] | undefined, seed: number): Iterable<string> {
  const parsed = task.params.safeParse(parseKeyValues(taskParams, '--task-param'));
  if (!parsed.success) throw new UsageError(`invalid params of task ${task.name}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return task.export(parsed.data, seed, split);
}

export function register(program: Command): void {
  const data = program.command('data').description('task data');
  data
    .command('export <task>')
    .description("write a task's examples in its native format (SCAN: IN:/OUT: lines; others: JSON Lines)")
    .option('--split <split>', 'train | valid | test | all', 'test')
    .option('--task-param <key=value>', 'task parameter (repeatable)', collect)
    .option('--seed <n>', 'seed', '0')
    .option('--limit <n>', 'at most this many examples per split (synthetic tasks have no end; default 1000 for them)')
    .requiredOption('--out <file>', 'output file')
    .action((taskName: string, o: { split: string; taskParam?: string[]; seed: string; limit?: string; out: string }) => {
      const task = lookup('task', TASKS as Record<string, Task>, taskName);
      const limit = o.limit ? Number(o.limit) : task.finite ? Infinity : 1000;
      if (!(limit > 0)) throw new UsageError(`--limit must be a positive number, got '${o.limit}'`);
      const seed = Number(o.seed);
      if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${o.seed}'`);
      const fd = fs.openSync(o.out, 'w');
      let count = 0;
      if (o.split !== 'all' && !SPLITS.includes(o.split as Split)) throw new UsageError(`--split must be one of ${SPLITS.join(', ')}, all; got '${o.split}'`);
      const splits: readonly Split[] = o.split === 'all' ? SPLITS : [o.split as Split];
      for (const s of splits) {
        let inSplit = 0;
        for (const line of exportLines(task, s, o.taskParam, seed)) {
          if (inSplit++ >= limit) break;
          fs.writeSync(fd, line + '\n');
          count++;
        }
      }
      fs.closeSync(fd);
      process.stdout.write(`wrote ${count} examples of ${taskName} (${o.split}) to ${o.out}\n`);
    });
}
