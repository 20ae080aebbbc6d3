// Small statistics for noisy timings: medians, not means (a shared 2-core machine has
// long-tailed outliers), plus the spread so a reader can judge the noise.

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median: no samples');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** "median (min..max, n=5)" with the given digits. */
export function summary(xs: readonly number[], digits = 2): string {
  return `${median(xs).toFixed(digits)} (min ${Math.min(...xs).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)}, n=${xs.length})`;
}

/** Milliseconds since an hrtime.bigint() reading. */
export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
