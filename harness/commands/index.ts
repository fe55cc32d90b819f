/** Every CLI command, each in its own file exporting `register(program)`. */
import type { Command } from 'commander';
import { register as bench } from './bench.ts';
import { register as data } from './data.ts';
import { register as list } from './list.ts';
import { register as run } from './run.ts';

type Register = (program: Command) => void;

export const COMMANDS: Register[] = [
  bench,
  run,
  list,
  data,
];
