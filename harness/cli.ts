/**
 * The seqarena command line. Input errors (UsageError, ResultsFileError, CorpusFormatError, zod validation) print one
 * message and exit 2; anything else is a bug and prints its stack.
 */
import { Command, CommanderError } from 'commander';
import { ZodError } from 'zod';
import { COMMANDS } from './commands/index.ts';
import { seqarenaVersion } from './provenance.ts';
import { fileSystemProblem, UsageError } from './errors.ts';
import { ResultsFileError } from './results/io.ts';
import { BackendUnavailableError } from './engine.ts';
import { CorpusFormatError } from '../tasks/corpus.ts';

export function buildProgram(): Command {
  const program = new Command('seqarena')
    .description('Train and evaluate Transformer, RNN/LSTM/GRU and Mamba-style models side by side; record throughput, memory and accuracy; build reports.')
    .version(seqarenaVersion(), '-V, --version', 'print the seqarena version')
    // One line that points to the help, not the whole help after a mistyped option.
    .showHelpAfterError("(run with --help for the options)")
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Print an input error as one readable message; return the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  if (error instanceof UsageError || error instanceof ResultsFileError || error instanceof BackendUnavailableError || error instanceof CorpusFormatError) {
    process.stderr.write(`seqarena: ${error.message}\n`);
    return 2;
  }
  const disk = fileSystemProblem(error);
  if (disk) {
    process.stderr.write(`seqarena: ${disk}\n`);
    return 2;
  }
  if (error instanceof ZodError) {
    const lines = error.issues.map((i) => `  ${i.path.join('.') || '(value)'}: ${i.message}`);
    process.stderr.write(`seqarena: invalid configuration:\n${lines.join('\n')}\n`);
    return 2;
  }
  process.stderr.write(`seqarena: internal error (please report it): ${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}

/** Run the CLI on `argv` (node, script, …args); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  process.exitCode = undefined;
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportError(error);
  }
}
