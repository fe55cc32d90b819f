/** `seqarena slurm submit | status | resubmit`: a suite as a Slurm job array of shards with a dependent merge job. */
import type { Command } from 'commander';
import { BACKEND_CHOICES } from '../engine.ts';
import { UsageError } from '../errors.ts';
import { defaultOut, resubmit, statusText, submit, suiteStatus } from '../slurm/submission.ts';
import { SUITES } from '../suites/index.ts';

interface SubmitFlags {
  suite: string;
  shards: string;
  scale: string;
  backend: string;
  out?: string;
  timeLimit?: string;
  steps?: string;
  sbatchArg: string[];
  shardSbatchArg: string[];
  dryRun?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  const slurm = program
    .command('slurm')
    .description('run a suite on a Slurm cluster: one array task per shard, then a job that merges them and writes the findings and report');

  slurm
    .command('submit')
    .description('write the shard array and merge job scripts into the results directory and submit them with sbatch')
    .option('--suite <name>', `suite to run (${Object.keys(SUITES).join(', ')})`, 'quick')
    .option('--shards <n>', 'number of shards, one array task each (2 to the number of runs)', '2')
    .option('--scale <scale>', 'cpu or paper (see seqarena bench)', 'cpu')
    .option('--backend <name>', `backend (${BACKEND_CHOICES.join(', ')})`, 'wasm')
    .option('--out <dir>', 'results directory: shard-K/ per shard, merged/ with the report, the scripts and logs (default results/<suite>-<timestamp>-slurm)')
    .option('--time-limit <seconds>', 'per-run wall-clock limit, as for seqarena bench')
    .option('--steps <n>', 'override the training steps of every run, as for seqarena bench')
    .option('--sbatch-arg <options>', 'sbatch options for the shard array and the merge job, one #SBATCH line (repeatable), e.g. "--partition=gpu --time=04:00:00"', collect, [])
    .option('--shard-sbatch-arg <options>', 'sbatch options for the shard array only (repeatable), e.g. "--gres=gpu:1 --cpus-per-task=8"', collect, [])
    .option('--dry-run', 'print both job scripts and the sbatch commands without writing or submitting anything')
    .addHelpText('after', '\nExamples:\n  seqarena slurm submit --suite mqar --scale paper --backend tensorflow --shards 16 --shard-sbatch-arg "--gres=gpu:1" --sbatch-arg "--time=08:00:00"\n  seqarena slurm submit --suite smoke --shards 2 --dry-run')
    .action(async (flags: SubmitFlags) => {
      const shards = Number(flags.shards);
      if (!/^\d+$/.test(flags.shards)) throw new UsageError(`--shards must be a whole number, got '${flags.shards}'`);
      const text = await submit({
        suite: flags.suite,
        backend: flags.backend,
        scale: flags.scale,
        timeLimit: flags.timeLimit,
        steps: flags.steps,
        shards,
        out: flags.out ?? defaultOut(flags.suite),
        sbatchArgs: flags.sbatchArg,
        shardSbatchArgs: flags.shardSbatchArg,
        dryRun: flags.dryRun ?? false,
      });
      process.stdout.write(text);
    });

  slurm
    .command('status')
    .description('per shard: runs done / failed / pending from its rows, and its job from Slurm; then the merge job')
    .argument('<dir>', 'the results directory seqarena slurm submit printed')
    .option('--json', 'print the status as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const status = await suiteStatus(dir);
      process.stdout.write(opts.json ? JSON.stringify(status, null, 2) + '\n' : statusText(status));
    });

  slurm
    .command('resubmit')
    .description('submit again only the shards that did not finish (each resumes where it stopped), and the merge job after them')
    .argument('<dir>', 'the results directory seqarena slurm submit printed')
    .option('--retry-failed', 'also rerun the runs that failed (timeout, crash, error, out of memory): bench --resume --retry-failed in their shards')
    .action(async (dir: string, opts: { retryFailed?: boolean }) => {
      const retry = opts.retryFailed ?? false;
      process.stdout.write(await resubmit(dir, { benchArgs: retry ? ['--retry-failed'] : [], shardsWithFailedRuns: retry }));
    });
}
