/** `seqarena profile`: a training step's time by kernel, with the run command's flags. */
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { formatProfile, profileSteps } from '../profile.ts';
import { addRunSpecOptions, specFromOptions, type RunOptions } from './run.ts';
import { applyThreads, THREADS_HELP } from './threads.ts';

interface ProfileOptions extends RunOptions {
  warmup: string;
  profileSteps: string;
  top: string;
  json?: boolean;
}

function count(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number ≥ ${min}, got '${value}'`);
  return n;
}

export function register(program: Command): void {
  const command = program
    .command('profile')
    .description("time one training step by kernel (tf.profile): each kernel's ms, share of the step and calls, largest first");
  addRunSpecOptions(command)
    .option('--warmup <n>', 'unprofiled steps first (kernel compilation, JIT warm-up)', '2')
    .option('--profile-steps <n>', 'steps profiled and averaged', '2')
    .option('--top <n>', 'kernels listed (the rest are summed in one line)', '25')
    .option('--json', 'machine-readable output')
    .option('--threads <n>', THREADS_HELP)
    .action(async (o: ProfileOptions) => {
      applyThreads(o.threads);
      // without --task: the induction-heads task at its training length only
      const spec = specFromOptions({ ...o, task: o.task ?? 'induction-heads', taskParam: o.task ? o.taskParam : ['eval_multipliers=[]', ...(o.taskParam ?? [])] });
      const profile = await profileSteps(spec, { warmupSteps: count(o.warmup, '--warmup', 0), steps: count(o.profileSteps, '--profile-steps', 1) });
      process.stdout.write((o.json ? JSON.stringify(profile, null, 2) : formatProfile(profile, count(o.top, '--top', 1))) + '\n');
    });
}
