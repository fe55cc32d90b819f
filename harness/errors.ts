/**
 * Input errors: a bad name, number or file. The CLI prints their message (no stack trace) and exits 2.
 * Messages name the bad value and say how to fix it.
 */

export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Levenshtein distance, for did-you-mean suggestions. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The closest valid name, when it is close enough to be a likely typo. */
export function didYouMean(value: string, options: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const option of options) {
    const d = editDistance(value.toLowerCase(), option.toLowerCase());
    if (d < bestDistance) {
      best = option;
      bestDistance = d;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(value.length / 3)) ? best : null;
}

/** `unknown architecture 'lstn'. Did you mean 'lstm'? Valid: …` */
export function unknownName(kind: string, value: string, options: readonly string[]): UsageError {
  const suggestion = didYouMean(value, options);
  return new UsageError(
    `unknown ${kind} '${value}'.${suggestion ? ` Did you mean '${suggestion}'?` : ''} Valid ${kind}s: ${options.join(', ')}`,
  );
}

/** Look a name up in a registry, or throw the did-you-mean error. */
export function lookup<T>(kind: string, registry: Record<string, T>, name: string): T {
  if (Object.hasOwn(registry, name)) return registry[name];
  throw unknownName(kind, name, Object.keys(registry));
}

/** What each file-system error code means to a user, and what to do about it. */
const FILE_SYSTEM_CAUSES: Record<string, { cause: string; fix: string }> = {
  EROFS: { cause: 'the file system is read-only', fix: 'choose a writable directory (--out)' },
  EACCES: { cause: 'permission denied', fix: 'choose a directory you may write (--out), or fix its permissions' },
  EPERM: { cause: 'operation not permitted', fix: 'choose a directory you may write (--out), or fix its permissions' },
  ENOSPC: { cause: 'no space left on the device', fix: 'free some space or choose another directory (--out); finished runs are kept, resume with --resume' },
  EDQUOT: { cause: 'disk quota exceeded', fix: 'free some space or choose another directory (--out)' },
  ENOENT: { cause: 'it or a parent directory does not exist', fix: 'check the path' },
  ENOTDIR: { cause: 'a part of the path is a file, not a directory', fix: 'check the path' },
  EISDIR: { cause: 'it is a directory', fix: 'give a file name' },
};

/**
 * The message for a file-system error (read-only, permission, full disk, missing directory): the path,
 * the cause and the fix, or null when `error` is not one. The CLI prints it and exits 2.
 */
export function fileSystemProblem(error: unknown): string | null {
  const e = error as NodeJS.ErrnoException | null;
  const known = e && typeof e.code === 'string' ? FILE_SYSTEM_CAUSES[e.code] : undefined;
  if (!known || typeof e?.path !== 'string') return null;
  const verb = e.syscall === 'mkdir' ? 'create the directory' : e.syscall === 'scandir' || e.syscall === 'read' || e.syscall === 'stat' ? 'read' : 'write';
  return `cannot ${verb} ${e.path}: ${known.cause} (${e.code}); ${known.fix}`;
}

/** Name the file on an error raised through a file descriptor (write, fsync), which Node leaves without a path. */
export function withPath(error: unknown, file: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && e.path === undefined) e.path = file;
  return error;
}
