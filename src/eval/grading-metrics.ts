// Grading metrics (method.md section 9, Tables III-V): accuracy, quadratic weighted kappa,
// per-class true positive rate and the confusion matrix, on integer grade labels. Pure
// arithmetic on number arrays: a grader's predictions are few and live in JavaScript.

/** DR grades 0 (none) .. 4 (proliferative). */
export const NUM_GRADES = 5;

function checkLabels(truth: readonly number[], pred: readonly number[], numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`numClasses must be an integer >= 2, got ${numClasses}`);
  if (truth.length !== pred.length) throw new Error(`truth and pred must have the same length (got ${truth.length} and ${pred.length})`);
  if (truth.length === 0) throw new Error('truth and pred are empty: no samples to score');
  for (const [name, labels] of [['truth', truth], ['pred', pred]] as const) {
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i];
      if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
        throw new Error(`${name}[${i}] = ${v} is not a class label in 0..${numClasses - 1}`);
      }
    }
  }
}

/** counts[t][p]: samples of true class t predicted as p (rows true, columns predicted, as sklearn). */
export function confusionMatrix(truth: readonly number[], pred: readonly number[], numClasses = NUM_GRADES): number[][] {
  checkLabels(truth, pred, numClasses);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]][pred[i]]++;
  return m;
}

export function accuracy(truth: readonly number[], pred: readonly number[], numClasses = NUM_GRADES): number {
  checkLabels(truth, pred, numClasses);
  let hits = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === pred[i]) hits++;
  return hits / truth.length;
}

/**
 * Cohen's kappa with quadratic weights w_ij = (i-j)^2 / (K-1)^2:
 * kappa = 1 - sum(w O) / sum(w E), O the confusion matrix, E = outer(row sums, column sums) / N
 * (the agreement expected by chance). Same value as sklearn's
 * cohen_kappa_score(truth, pred, weights='quadratic') whenever that is defined.
 *
 * Degenerate case: sum(w E) = 0 only when truth and pred both hold one and the same class
 * throughout; then O is zero off the diagonal too, kappa is 0/0 (sklearn returns NaN with a
 * warning) and we return 1, because the two ratings agree perfectly. When only one side is
 * constant, kappa is well defined and comes out 0 (no agreement beyond chance).
 */
export function quadraticWeightedKappa(truth: readonly number[], pred: readonly number[], numClasses = NUM_GRADES): number {
  const o = confusionMatrix(truth, pred, numClasses);
  const n = truth.length;
  const rows = o.map((r) => r.reduce((a, b) => a + b, 0));
  const cols = o[0].map((_, j) => o.reduce((a, r) => a + r[j], 0));
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < numClasses; i++) {
    for (let j = 0; j < numClasses; j++) {
      const w = ((i - j) * (i - j)) / ((numClasses - 1) * (numClasses - 1));
      observed += w * o[i][j];
      expected += (w * rows[i] * cols[j]) / n;
    }
  }
  if (expected === 0) return 1;
  return 1 - observed / expected;
}

/**
 * Recall of each class: correct predictions of class c over the samples whose true class
 * is c. NaN for a class with no true samples (its TPR is undefined, not 0).
 */
export function perClassTpr(truth: readonly number[], pred: readonly number[], numClasses = NUM_GRADES): number[] {
  const m = confusionMatrix(truth, pred, numClasses);
  return m.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? Number.NaN : row[c] / total;
  });
}

export interface GradingReport {
  n: number;
  accuracy: number;
  kappa: number;
  /** Per-class true positive rate; NaN where a class has no true samples. */
  tpr: number[];
  /** confusion[true][predicted]. */
  confusion: number[][];
}

/** Every grading metric of Tables III-V at once. */
export function gradingReport(truth: readonly number[], pred: readonly number[], numClasses = NUM_GRADES): GradingReport {
  return {
    n: truth.length,
    accuracy: accuracy(truth, pred, numClasses),
    kappa: quadraticWeightedKappa(truth, pred, numClasses),
    tpr: perClassTpr(truth, pred, numClasses),
    confusion: confusionMatrix(truth, pred, numClasses),
  };
}
