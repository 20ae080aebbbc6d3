// Agreement among several raters who each put every item into one of a few categories
// (readers calling an image real or fake): Fleiss' kappa. Agreement of one rater with a
// reference grade is quadraticWeightedKappa in grading-metrics.ts.

export interface FleissKappa {
  kappa: number;
  /** Mean share of agreeing rater pairs per item (P-bar). */
  observed: number;
  /** Agreement expected by chance from the overall category shares (P-bar_e). */
  chance: number;
  items: number;
  raters: number;
}

/**
 * Fleiss' kappa (Fleiss 1971) from counts[item][category] = raters who chose that category
 * for that item; every item needs the same number of raters, at least 2.
 *   P_i = (sum_j n_ij^2 - m) / (m (m - 1)),  p_j = sum_i n_ij / (N m),
 *   kappa = (mean P_i - sum p_j^2) / (1 - sum p_j^2).
 * Degenerate case: when every rating falls in one category the chance agreement is 1 and
 * kappa is 0/0; we return 1, because the raters agree perfectly (as quadraticWeightedKappa
 * does for two constant ratings).
 */
export function fleissKappa(counts: readonly (readonly number[])[]): FleissKappa {
  const N = counts.length;
  if (N === 0) throw new Error('fleissKappa: no items');
  const K = counts[0].length;
  if (K < 2) throw new Error(`fleissKappa: need at least 2 categories, got ${K}`);
  let m = -1;
  counts.forEach((row, i) => {
    if (row.length !== K) throw new Error(`fleissKappa: item ${i} has ${row.length} categories, item 0 has ${K}`);
    for (const c of row) if (!Number.isInteger(c) || c < 0) throw new Error(`fleissKappa: item ${i}: counts must be integers >= 0, got ${c}`);
    const total = row.reduce((a, b) => a + b, 0);
    if (m < 0) m = total;
    else if (total !== m) throw new Error(`fleissKappa: item ${i} has ${total} ratings, item 0 has ${m} (every item needs the same raters)`);
  });
  if (m < 2) throw new Error(`fleissKappa: need at least 2 raters per item, got ${m}`);
  let observed = 0;
  const share = new Array<number>(K).fill(0);
  for (const row of counts) {
    let sq = 0;
    row.forEach((c, j) => {
      sq += c * c;
      share[j] += c;
    });
    observed += (sq - m) / (m * (m - 1));
  }
  observed /= N;
  const chance = share.reduce((a, s) => a + (s / (N * m)) ** 2, 0);
  const kappa = chance === 1 ? 1 : (observed - chance) / (1 - chance);
  return { kappa, observed, chance, items: N, raters: m };
}

/** counts[item][category] from ratings[rater][item] (category indices 0..numCategories-1). */
export function categoryCounts(ratings: readonly (readonly number[])[], numCategories: number): number[][] {
  if (ratings.length === 0) throw new Error('categoryCounts: no raters');
  const N = ratings[0].length;
  const counts = Array.from({ length: N }, () => new Array<number>(numCategories).fill(0));
  ratings.forEach((r, a) => {
    if (r.length !== N) throw new Error(`categoryCounts: rater ${a} rated ${r.length} items, rater 0 rated ${N}`);
    r.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c >= numCategories) throw new Error(`categoryCounts: rater ${a}, item ${i}: category ${c} is not in 0..${numCategories - 1}`);
      counts[i][c]++;
    });
  });
  return counts;
}
