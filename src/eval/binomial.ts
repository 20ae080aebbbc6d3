// Inference on one binomial proportion, k successes in n trials: the Wilson score interval
// and the exact two-sided binomial test. Readers calling images real or fake (Table I) are
// the use here; the functions know nothing of images.

/** Two-sided 95% normal quantile, Phi^-1(0.975). */
export const Z_95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

function checkCounts(k: number, n: number, where: string): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: n must be an integer >= 1, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`${where}: k must be an integer in 0..n (n = ${n}), got ${k}`);
}

/**
 * Wilson score interval (Wilson 1927; Newcombe 1998 method 3, no continuity correction).
 * Unlike the Wald interval p +- z sqrt(p(1-p)/n) it stays inside [0, 1] and keeps close to
 * its nominal coverage at small n and at proportions near 0 or 1.
 */
export function wilsonInterval(k: number, n: number, z = Z_95): Interval {
  checkCounts(k, n, 'wilsonInterval');
  if (!(z > 0)) throw new Error(`wilsonInterval: z must be > 0, got ${z}`);
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At k = 0 or k = n one bound is exactly 0 or 1; rounding must not push it past.
  return { low: k === 0 ? 0 : Math.max(0, centre - half), high: k === n ? 1 : Math.min(1, centre + half) };
}

/** log(i!) for i = 0..n, by summing logs: exact to rounding for the n a reading study has. */
function logFactorials(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let i = 2; i <= n; i++) out[i] = out[i - 1] + Math.log(i);
  return out;
}

/** P(X = i) for i = 0..n, X ~ Binomial(n, p), computed in log space so large n does not overflow. */
export function binomialPmf(n: number, p: number): Float64Array {
  checkCounts(0, n, 'binomialPmf');
  if (!(p >= 0 && p <= 1)) throw new Error(`binomialPmf: p must be in [0, 1], got ${p}`);
  const out = new Float64Array(n + 1);
  if (p === 0 || p === 1) {
    out[p === 0 ? 0 : n] = 1;
    return out;
  }
  const lf = logFactorials(n);
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  for (let i = 0; i <= n; i++) out[i] = Math.exp(lf[n] - lf[i] - lf[n - i] + i * lp + (n - i) * lq);
  return out;
}

/**
 * Exact two-sided binomial test of H0: success probability = p0, given k of n. The p-value
 * sums P(X = i) over every outcome no more likely than the observed one (the rule of R's
 * binom.test and scipy.stats.binomtest, with their 1e-7 relative slack so that outcomes
 * equally likely up to rounding count as ties). For p0 = 0.5 this is
 * min(1, 2 P(X <= min(k, n - k))).
 */
export function binomialTestTwoSided(k: number, n: number, p0 = 0.5): number {
  checkCounts(k, n, 'binomialTestTwoSided');
  if (!(p0 > 0 && p0 < 1)) throw new Error(`binomialTestTwoSided: p0 must be in (0, 1), got ${p0}`);
  const pmf = binomialPmf(n, p0);
  const limit = pmf[k] * (1 + 1e-7);
  let sum = 0;
  for (let i = 0; i <= n; i++) if (pmf[i] <= limit) sum += pmf[i];
  return Math.min(1, sum);
}

export interface ProportionSummary {
  k: number;
  n: number;
  /** k / n. */
  rate: number;
  /** Wilson 95% interval. */
  ci95: Interval;
  /** Two-sided exact binomial test against p0 (default 0.5, chance for a two-way call). */
  pValue: number;
}

/** k of n with its Wilson 95% interval and the two-sided binomial p-value against p0. */
export function proportionSummary(k: number, n: number, p0 = 0.5): ProportionSummary {
  return { k, n, rate: k / n, ci95: wilsonInterval(k, n), pValue: binomialTestTwoSided(k, n, p0) };
}
