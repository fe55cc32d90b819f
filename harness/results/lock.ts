/**
 * One writer per results directory: `bench` and `run` hold DIR/.seqarena.lock while they write, so two
 * processes on one directory cannot both run every run and pool their rows. The lock file is created
 * with O_EXCL and holds the owner's PID and host; a lock whose process is gone (same host, no such PID,
 * e.g. after kill -9) is stale and taken over.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError, withPath } from '../errors.ts';

export const LOCK_FILE = '.seqarena.lock';

interface Holder {
  pid: number;
  host: string;
  started: string;
  command: string;
}

function readHolder(file: string): Holder | null {
  try {
    const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
    return typeof holder.pid === 'number' ? holder : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Seconds a lock file may stay empty (its writer between open and write) before it counts as stale. */
const EMPTY_LOCK_GRACE_S = 10;

/** Take the lock on `dir` (creating the directory); returns its release. Throws a UsageError (exit 2) naming the holder. */
export function lockResultsDir(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const mine: Holder = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), command: process.argv.slice(2).join(' ') };
  for (;;) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(file);
      const stale = holder
        ? holder.host === mine.host && !isAlive(holder.pid)
        : (Date.now() - fs.statSync(file).mtimeMs) / 1000 > EMPTY_LOCK_GRACE_S;
      if (stale) {
        fs.rmSync(file, { force: true });
        continue;
      }
      const who = holder ? `seqarena process PID ${holder.pid} on ${holder.host} (since ${holder.started}: seqarena ${holder.command})` : 'another seqarena process (its lock is being written)';
      throw new UsageError(`${dir} is in use by ${who}; wait for it to finish or choose another --out. If that process no longer exists, delete ${file}`);
    }
    try {
      fs.writeSync(fd, JSON.stringify(mine) + '\n');
    } catch (error) {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      throw withPath(error, file);
    }
    fs.closeSync(fd);
    const release = () => {
      if (readHolder(file)?.pid === process.pid) fs.rmSync(file, { force: true });
    };
    process.once('exit', release);
    return () => {
      process.off('exit', release);
      release();
    };
  }
}
