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
