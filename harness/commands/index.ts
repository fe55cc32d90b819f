/** Every CLI command, each in its own file exporting `register(program)`. */
import type { Command } from 'commander';
import { register as bench } from './bench.ts';
import { register as child } from '../child.ts';
import { register as data } from './data.ts';
import { register as list } from './list.ts';
import { register as run } from './run.ts';
import { register as schema } from './schema.ts';
import { register as compare } from './compare.ts';
import { register as baseline } from './baseline.ts';
import { register as merge } from './merge.ts';
import { register as history } from './history.ts';
import { register as exporter } from './export.ts';
import { register as report } from './report.ts';
import { register as micro } from './micro.ts';
import { register as score } from './score.ts';
import { register as findings } from './findings.ts';
import { register as profile } from './profile.ts';
import { register as slurm } from './slurm.ts';

type Register = (program: Command) => void;

export const COMMANDS: Register[] = [
  bench,
  child,
  run,
  list,
  data,
  schema,
  compare,
  baseline,
  merge,
  history,
  exporter,
  report,
  micro,
  score,
  findings,
  profile,
  slurm,
];
