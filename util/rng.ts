/**
 * The seeded random numbers that tasks, weight initialisation and the harness draw from (util/: imported by
 * architectures and tasks alike, which know nothing of each other): sfc32 (Chris Doty-Humphrey's small fast counter
 * generator, 128-bit state) seeded through splitmix32, so nearby seeds (0, 1, 2 …) give unrelated streams.
 * Same seed → same stream on every platform; Math.random is never used.
 *
 *   const r = rng(deriveSeed(seed, 'train'));
 *   r.int(10);            // 0..9
 *   r.shuffle([1, 2, 3]); // in place
 */

export interface Rng {
  /** Uniform float in [0, 1), 32 bits of randomness. */
  float(): number;
  /** Uniform integer in 0..n-1. */
  int(n: number): number;
  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(arr: T[]): T[];
  /** One element, uniformly. */
  choice<T>(arr: readonly T[]): T;
  /** k distinct integers from 0..n-1, in random order. */
  sample(n: number, k: number): number[];
  /** Index in 0..weights.length-1 drawn with probability ∝ weights[i] (weights ≥ 0, not all 0). */
  weighted(weights: readonly number[]): number;
  /**
   * Integer in 0..n-1 with P(k) ∝ a·(k+1)^(a-1): numpy's `random.power(a)` shape on a grid, as
   * zoology draws MQAR query gaps (a < 1 favours small k; a = 1 is uniform).
   */
  powerLaw(n: number, a: number): number;
}

/** splitmix32: one well-mixed 32-bit word per call, used to fill sfc32's state from a single seed. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function checkCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer, got ${n}`);
}

export function rng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`rng seed must be a finite number, got ${seed}`);
  const mix = splitmix32(Math.trunc(seed));
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();

  const nextU32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // The first outputs of a fresh sfc32 state are poorly mixed; the reference implementation discards 12.
  for (let i = 0; i < 12; i++) nextU32();

  const float = (): number => nextU32() / 4294967296;

  const int = (n: number): number => {
    checkCount(n, 'int(n): n');
    return Math.floor(float() * n);
  };

  const weighted = (weights: readonly number[]): number => {
    let total = 0;
    for (const w of weights) {
      if (!(w >= 0)) throw new RangeError(`weighted: weights must be ≥ 0, got ${w}`);
      total += w;
    }
    if (!(total > 0)) throw new RangeError('weighted: weights sum to 0; give at least one positive weight');
    let u = float() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    // Rounding can leave u a hair above 0: fall back to the last positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  };

  return {
    float,
    int,
    shuffle<T>(arr: T[]): T[] {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = int(i + 1);
        const tmp = arr[i];
        arr[i] = arr[j];
        arr[j] = tmp;
      }
      return arr;
    },
    choice<T>(arr: readonly T[]): T {
      if (arr.length === 0) throw new RangeError('choice: the array is empty');
      return arr[int(arr.length)];
    },
    sample(n: number, k: number): number[] {
      checkCount(n, 'sample(n, k): n');
      if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`sample(n, k): k must be an integer in 0..${n}, got ${k}`);
      // Partial Fisher–Yates over 0..n-1: O(n) memory, exact.
      const pool = Array.from({ length: n }, (_, i) => i);
      for (let i = 0; i < k; i++) {
        const j = i + int(n - i);
        const tmp = pool[i];
        pool[i] = pool[j];
        pool[j] = tmp;
      }
      return pool.slice(0, k);
    },
    weighted,
    powerLaw(n: number, a: number): number {
      checkCount(n, 'powerLaw(n, a): n');
      if (!(a > 0)) throw new RangeError(`powerLaw(n, a): a must be > 0, got ${a}`);
      return weighted(Array.from({ length: n }, (_, k) => a * (k + 1) ** (a - 1)));
    },
  };
}

/**
 * A seed for one named stream derived from a base seed (FNV-1a over the parts), e.g.
 * `deriveSeed(seed, 'train')`: splits and sub-streams of one run never share a stream.
 */
export function deriveSeed(seed: number, ...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = [Math.trunc(seed), ...parts].join('\u0000');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
