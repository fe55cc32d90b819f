/** `seqarena run`: one run from flags, from a JSON spec, or again from a results row. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { applyThreads, THREADS_HELP } from './threads.ts';
import { BACKEND_CHOICES, checkBackend } from '../engine.ts';
import { UsageError } from '../errors.ts';
import { progressPrinter } from '../progress.ts';
import { environment } from '../provenance.ts';
import { writeEnv, RESULTS_JSONL } from '../results/io.ts';
import { lockResultsDir } from '../results/lock.ts';
import { runSuite } from '../runner.ts';
import { parseKeyValues, resolveRun, type RunSpecInput } from '../spec.ts';
import { timestamp } from './bench.ts';

export interface RunOptions {
  threads?: string;
  arch?: string;
  preset?: string;
  set?: string[];
  task?: string;
  taskParam?: string[];
  seqLen?: string;
  batchSize?: string;
  steps?: string;
  lr?: string;
  seed?: string;
  backend?: string;
  timeLimit?: string;
  checkpointEvery?: string;
  spec?: string;
  fromRow?: string;
  out?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number, got '${value}'`);
  return n;
}

function readJson(file: string, what: string): unknown {
  if (!fs.existsSync(file)) throw new UsageError(`${what} ${file} does not exist`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${what} ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The spec of a run from its flags; --spec and --from-row take a whole spec, and flags override it. */
export function specFromOptions(o: RunOptions): RunSpecInput {
  let base: Partial<RunSpecInput> = {};
  if (o.spec) base = readJson(o.spec, 'spec file') as RunSpecInput;
  if (o.fromRow) {
    const [dir, runId] = o.fromRow.split(':');
    if (!dir || !runId) throw new UsageError(`--from-row expects RESULTS_DIR:RUN_ID (the run_id column), got '${o.fromRow}'`);
    base = readJson(path.join(dir, 'runs', `${runId}.spec.json`), `spec of run ${runId}:`) as RunSpecInput;
  }
  const taskParams = { ...(base.taskParams ?? {}), ...parseKeyValues(o.taskParam, '--task-param') };
  const seqLen = numberFlag(o.seqLen, '--seq-len');
  if (seqLen !== undefined) taskParams.seq_len = seqLen;
  const training = { ...(base.training ?? {}) } as Record<string, unknown>;
  const steps = numberFlag(o.steps, '--steps');
  const batchSize = numberFlag(o.batchSize, '--batch-size');
  const lr = numberFlag(o.lr, '--lr');
  if (steps !== undefined) training.steps = steps;
  if (batchSize !== undefined) training.batchSize = batchSize;
  if (lr !== undefined) training.learningRate = lr;
  const spec = {
    ...base,
    suite: base.suite ?? 'run',
    arch: o.arch ?? base.arch,
    preset: o.preset === 'none' ? null : (o.preset ?? base.preset),
    config: { ...(base.config ?? {}), ...parseKeyValues(o.set, '--set') },
    task: o.task ?? base.task,
    taskParams,
    training,
    seed: numberFlag(o.seed, '--seed') ?? base.seed,
    backend: o.backend ?? base.backend,
    timeLimitS: numberFlag(o.timeLimit, '--time-limit') ?? base.timeLimitS,
    checkpointEvery: numberFlag(o.checkpointEvery, '--checkpoint-every') ?? base.checkpointEvery,
  } as RunSpecInput;
  if (!spec.arch) throw new UsageError('missing --arch (see `seqarena list` for architectures), or give --spec FILE');
  if (!spec.task) throw new UsageError('missing --task (see `seqarena list` for tasks), or give --spec FILE');
  return spec;
}

/** The flags that describe a run (shared by run and profile); specFromOptions reads them. */
export function addRunSpecOptions(command: Command): Command {
  return command
    .option('--arch <name>', 'architecture (see seqarena list)')
    .option('--preset <name>', 'nano | micro | small | none', undefined)
    .option('--set <key=value>', 'architecture config override (repeatable), e.g. --set d_model=64', collect)
    .option('--task <name>', 'task (see seqarena list)')
    .option('--task-param <key=value>', 'task parameter (repeatable), e.g. --task-param num_kv_pairs=8', collect)
    .option('--seq-len <L>', 'task sequence length (sets task param seq_len)')
    .option('--batch-size <B>', 'sequences per step (default 16)')
    .option('--steps <N>', 'training steps (default 200)')
    .option('--lr <rate>', 'peak learning rate (default 3e-3)')
    .option('--seed <S>', 'seed of data and weights (default 0)')
    .option('--backend <name>', `${BACKEND_CHOICES.join(' | ')} (default wasm)`)
    .option('--time-limit <seconds>', 'wall-clock limit of the run (default 600)')
    .option('--checkpoint-every <steps>', 'write a checkpoint every <steps> steps (default: every 10 minutes of training); the same command again continues a killed run from it')
    .option('--spec <file>', 'a JSON run spec (flags override its fields)')
    .option('--from-row <dir:run_id>', 'rerun a run recorded in a results directory');
}

export function register(program: Command): void {
  const command = program.command('run').description('train and evaluate one architecture on one task (in its own process), writing result rows');
  addRunSpecOptions(command)
    .option('--out <dir>', 'results directory (default results/run-<timestamp>)')
    .option('--threads <n>', THREADS_HELP)
    .action(async (o: RunOptions) => {
      applyThreads(o.threads);
      const spec = specFromOptions(o);
      const resolved = resolveRun(spec); // a bad name or number stops here, before anything is written
      await checkBackend(resolved.spec.backend);
      const outDir = o.out ?? path.join('results', `run-${timestamp()}`);
      const release = lockResultsDir(outDir);
      try {
        if (!fs.existsSync(path.join(outDir, RESULTS_JSONL))) writeEnv(outDir, environment({ suite: 'run', backend: spec.backend ?? 'wasm' }));
        const printer = progressPrinter();
        let status = 'ok';
        // Typing the command again reruns a run that failed (its old rows are replaced); a finished one is kept.
        await runSuite([spec], {
          outDir,
          retryFailed: true,
          retryCommand: 'the same seqarena run command',
          onEvent: (e) => {
            printer(e);
            if (e.type === 'end') status = e.status;
          },
        });
        process.stdout.write(`results: ${path.join(outDir, 'results.csv')}\n`);
        process.exitCode = status === 'ok' ? 0 : 1;
      } finally {
        release();
      }
    });
}
