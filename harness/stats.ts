/** Summary statistics of repeated samples: every figure the suite prints carries n and a spread. */

export interface Summary {
  n: number;
  mean: number;
  stddev: number | null;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
}

/** Linear-interpolated quantile of sorted values (q in [0, 1]). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n === 0 ? NaN : sorted.reduce((s, v) => s + v, 0) / n;
  const stddev = n < 2 ? null : Math.sqrt(sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  return {
    n,
    mean,
    stddev,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    min: sorted[0] ?? NaN,
    max: sorted[n - 1] ?? NaN,
  };
}

/**
 * Least-squares slope of log(y) against log(x): the scaling exponent (≈2 for attention's time in L,
 * ≈1 for a scan). Points with non-positive values are left out.
 */
export function logLogSlope(xs: number[], ys: number[]): number {
  const pts = xs.map((x, i) => [x, ys[i]] as const).filter(([x, y]) => x > 0 && y > 0);
  if (pts.length < 2) return NaN;
  const lx = pts.map(([x]) => Math.log(x));
  const ly = pts.map(([, y]) => Math.log(y));
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < lx.length; i++) {
    num += (lx[i] - mx) * (ly[i] - my);
    den += (lx[i] - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}
