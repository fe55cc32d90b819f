/** Where a result came from: git commit, versions, machine. Recorded in every row and in env.json. */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execaSync } from 'execa';
import * as tf from '@tensorflow/tfjs';
import packageJson from '../package.json' with { type: 'json' };
import { activeKernels } from '../architectures/kernels/active.ts';
import { matmulInfo } from '../architectures/kernels/matmul.ts';
import { nativeAddon } from '../architectures/kernels/native.ts';
import { engineThreads } from './engine.ts';
import type { ResultRow } from './results/schema.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let cachedSha: string | null | undefined;

/** The checkout's commit (with "-dirty" when tracked files changed), or null outside git. */
export function gitSha(): string | null {
  if (cachedSha !== undefined) return cachedSha;
  if (process.env.SEQARENA_GIT_SHA) return (cachedSha = process.env.SEQARENA_GIT_SHA);
  try {
    const sha = execaSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT }).stdout.trim();
    const dirty = execaSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT }).stdout.trim() !== '';
    cachedSha = sha + (dirty ? '-dirty' : '');
  } catch {
    cachedSha = null;
  }
  return cachedSha;
}

export function seqarenaVersion(): string {
  return packageJson.version;
}

/** Versions, and the threads and GEMM the run used (a figure depends on both). */
export function versionsString(): string {
  const gemm = matmulInfo();
  return `node=${process.versions.node} tfjs=${tf.version.tfjs} seqarena=${seqarenaVersion()} threads=${engineThreads()} gemm=${gemm.kind === 'native' ? `native-${nativeIsa()}` : gemm.kind}`;
}

const nativeIsa = (): string => nativeAddon()?.isa() ?? 'none';

/** nvidia-smi's view of the GPUs, or null where there is none. */
export function gpuInfo(): { name: string; memoryTotalMiB: number; driver: string }[] | null {
  try {
    const out = execaSync('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits'], { timeout: 5000 }).stdout.trim();
    return out.split('\n').map((line) => {
      const [name, mem, driver] = line.split(',').map((s) => s.trim());
      return { name, memoryTotalMiB: Number(mem), driver };
    });
  } catch {
    return null;
  }
}

export type SlurmJob = Pick<ResultRow, 'slurm_job_id' | 'slurm_array_job_id' | 'slurm_array_task_id'>;

/** The Slurm job this process runs in (sbatch sets these in a job's environment, and runs inherit it); nulls outside Slurm. */
export function slurmJob(env: NodeJS.ProcessEnv = process.env): SlurmJob {
  return {
    slurm_job_id: env.SLURM_JOB_ID || null,
    slurm_array_job_id: env.SLURM_ARRAY_JOB_ID || null,
    slurm_array_task_id: env.SLURM_ARRAY_TASK_ID || null,
  };
}

/** The environment file written beside results. */
export function environment(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: { model: cpus[0]?.model.trim() ?? 'unknown', cores: cpus.length },
    memory_bytes: os.totalmem(),
    gpu: gpuInfo(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    hostname: os.hostname(),
    node: process.versions.node,
    tfjs: tf.version.tfjs,
    seqarena: seqarenaVersion(),
    git_sha: gitSha(),
    threads: engineThreads(),
    kernels: activeKernels(),
    created: new Date().toISOString(),
    ...(process.env.SLURM_JOB_ID ? { slurm: slurmJob() } : {}),
    ...extra,
  };
}
