/** Every CLI command, each in its own file exporting `register(program)`. */
import type { Command } from 'commander';

type Register = (program: Command) => void;

export const COMMANDS: Register[] = [
];
