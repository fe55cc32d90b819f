/**
 * The process one run executes in: `seqarena _child SPEC.json ROWS.jsonl [SHARD]` (a hidden command).
 * Writes the run's rows to ROWS.jsonl when it finishes; reports progress on stdout as JSON lines;
 * on an exception writes {"error": …} to ROWS.jsonl.error and exits 3, so the runner can record it;
 * when the disk fails (full, read-only) it prints the problem and exits 4, and the runner stops the suite.
 *
 * SEQARENA_PLANT_FAULT='{"<seed>": "throw|nan|hang|crash|kill|oom[@STEP]"}' plants that fault at training step 2 (or STEP)
 * of the runs with that seed, so the reliability tests can check that each one is recorded and the
 * suite goes on.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { executeRun } from './run.ts';
import { writeFileAtomic } from './results/io.ts';
import type { RunSpecInput } from './spec.ts';
import { checkpointFileOf, DISK_PROBLEM_EXIT, DISK_PROBLEM_PREFIX, PROGRESS_PREFIX } from './runner.ts';
import { fileSystemProblem } from './errors.ts';

/** Run the spec in SPEC_FILE in this process and write its rows to ROWS_FILE. */
export async function childMain(specFile: string, rowsFile: string, shard: string | undefined): Promise<void> {
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8')) as RunSpecInput;
  const say = (message: object) => process.stdout.write(PROGRESS_PREFIX + JSON.stringify(message) + '\n');
  let lastReport = 0;
  const planted = (JSON.parse(process.env.SEQARENA_PLANT_FAULT ?? '{}') as Record<string, string>)[String(spec.seed ?? 0)];

  // "kind" plants at step 2, "kind@N" at step N.
  const [fault, faultStep] = (planted ?? '').split('@');
  function plant(step: number, record: { loss: number }): void {
    if (!fault || step !== (faultStep ? Number(faultStep) : 2)) return;
    if (fault === 'throw') throw new Error(`planted fault: the run threw at step ${step}`);
    if (fault === 'nan') record.loss = NaN;
    if (fault === 'crash') process.kill(process.pid, 'SIGSEGV');
    if (fault === 'kill') process.kill(process.pid, 'SIGKILL');
    if (fault === 'hang') for (;;);
    if (fault === 'oom') {
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array(1e6).fill(Math.random()));
    }
  }
  try {
    const rows = await executeRun(spec, {
      shard: shard || null,
      checkpointFile: checkpointFileOf(rowsFile),
      onProgress: (r, total) => {
        plant(r.step, r);
        const now = performance.now();
        if (now - lastReport < 250 && r.step !== total - 1) return;
        lastReport = now;
        say({ type: 'step', step: r.step + 1, total, loss: r.loss, tokensPerS: r.tokens / (r.ms / 1000) });
      },
      onEval: (e) => say({ type: 'eval', step: e.step, accuracy: e.accuracy }),
    });
    writeFileAtomic(rowsFile, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  } catch (error) {
    const disk = fileSystemProblem(error);
    if (disk) {
      // The disk, not the run, failed: the runner stops the suite with this message.
      process.stderr.write(`${DISK_PROBLEM_PREFIX}${disk}\n`);
      process.exitCode = DISK_PROBLEM_EXIT;
      return;
    }
    const e = error as Error;
    writeFileAtomic(`${rowsFile}.error`, JSON.stringify({ error: e.message ?? String(e), name: e.name, stack: e.stack }));
    process.exitCode = 3;
  }
}

export function register(program: Command): void {
  program
    .command('_child <specFile> <rowsFile> [shard]', { hidden: true })
    .description('run one spec in this process (used by the runner)')
    .action(childMain);
}
