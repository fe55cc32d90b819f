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

/** A log–log fit: the exponent k of y ∝ x^k, its standard error (null below 3 points), and the points used. */
export interface PowerLawFit {
  k: number;
  se: number | null;
  points: number;
}

/** Least-squares log–log fit with the slope's standard error, so an exponent from noisy points shows its spread. */
export function logLogFit(xs: number[], ys: number[]): PowerLawFit {
  const pts = xs.map((x, i) => [x, ys[i]] as const).filter(([x, y]) => x > 0 && y > 0);
  const k = logLogSlope(xs, ys);
  if (pts.length < 3 || !Number.isFinite(k)) return { k, se: null, points: pts.length };
  const lx = pts.map(([x]) => Math.log(x));
  const ly = pts.map(([, y]) => Math.log(y));
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  const sxx = lx.reduce((s, v) => s + (v - mx) ** 2, 0);
  const residual = lx.reduce((s, v, i) => s + (ly[i] - (my + k * (v - mx))) ** 2, 0);
  return { k, se: Math.sqrt(residual / (pts.length - 2) / sxx), points: pts.length };
}

/** A figure pooled over repeated runs, with its sample count and spread. */
export interface Pooled {
  value: number;
  n: number;
  stddev: number | null;
}

/** What pooling needs of a result row. */
interface Figure {
  value: number;
  n: number;
  stddev: number | null;
  samples: number[] | null;
}

/**
 * Pool figures of the same measurement: one keeps its own n and stddev; several with raw samples are
 * pooled sample by sample; otherwise the runs' values are the samples.
 */
export function pool(rows: readonly Figure[]): Pooled | null {
  if (rows.length === 0) return null;
  if (rows.length === 1) return { value: rows[0].value, n: rows[0].n, stddev: rows[0].stddev };
  const samples = rows.every((r) => r.samples !== null && r.samples.length > 0) ? rows.flatMap((r) => r.samples ?? []) : rows.map((r) => r.value);
  const s = summarize(samples);
  return { value: s.mean, n: s.n, stddev: s.stddev };
}

/** Points on the Pareto frontier of (x, y), both bigger-is-better: no other point is larger in both. */
export function paretoFrontier<T extends { x: number; y: number }>(points: T[]): T[] {
  const sorted = [...points].sort((a, b) => b.x - a.x || b.y - a.y);
  const frontier: T[] = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (p.y > best) {
      frontier.push(p);
      best = p.y;
    }
  }
  return frontier;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: about 15 significant digits). */
function logGamma(x: number): number {
  const c = [0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406, 12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0];
  for (let i = 1; i < c.length; i++) sum += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The regularised incomplete beta function I_x(a, b), by its continued fraction (modified Lentz). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  // The fraction converges fast below the mean a / (a + b); above it, use the symmetry I_x(a,b) = 1 − I_{1−x}(b,a).
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const front = Math.exp(a * Math.log(x) + b * Math.log(1 - x) - (logGamma(a) + logGamma(b) - logGamma(a + b))) / a;
  const tiny = 1e-300;
  let f = 1;
  let c = 1;
  let d = 0;
  for (let i = 0; i <= 300; i++) {
    const m = Math.floor(i / 2);
    const numerator = i === 0 ? 1 : i % 2 === 0 ? (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)) : -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + numerator * d;
    d = Math.abs(d) < tiny ? tiny : d;
    d = 1 / d;
    c = 1 + numerator / c;
    c = Math.abs(c) < tiny ? tiny : c;
    f *= c * d;
    if (Math.abs(1 - c * d) < 1e-14) break;
  }
  return front * (f - 1);
}

/** P(T ≤ t) for Student's t with `dof` degrees of freedom. */
export function studentTCdf(t: number, dof: number): number {
  const tail = 0.5 * incompleteBeta(dof / (dof + t * t), dof / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `dof` degrees of freedom (p in (0, 1)), by bisection of the CDF. */
export function studentTQuantile(p: number, dof: number): number {
  if (!(p > 0 && p < 1) || !(dof > 0)) return NaN;
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, dof);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, dof) < p) hi *= 2;
  for (let i = 0; i < 100 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, dof) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
