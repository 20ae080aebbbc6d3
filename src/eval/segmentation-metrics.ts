// Pixel-level segmentation metrics (method.md section 9), all restricted to the field of view:
//   PR-AUC  the IDRiD lesion metric, as average precision: sum over distinct thresholds t
//           (descending) of (R(t) - R(t_prev)) * P(t), where "positive" means score >= t.
//           Tied scores form one threshold, so the value does not depend on the order of ties
//           (it equals scikit-learn's average_precision_score).
//   ROC AUC the Mann-Whitney statistic: P(score_pos > score_neg) + 0.5 P(equal).
//   accuracy, F1 at score >= 0.5.
// Undefined cases are NaN, not a made-up number: PR-AUC and F1 need at least one positive
// pixel (F1 also when nothing is predicted positive and nothing is positive), ROC AUC needs
// at least one positive and one negative.
//
// Two accumulators with the same interface: ExactScores keeps every score (sorting at the
// end, exact); ScoreHistogram keeps counts in `bins` equal bins of [0, 1] (streaming, memory
// independent of the set size; exact when the scores are quantised to the bins, e.g. 8-bit
// masks with bins = 256 ... and its 0.5 threshold is exact for an even bin count).

export interface SegmentationMetrics {
  prAuc: number;
  rocAuc: number;
  accuracy: number;
  f1: number;
  /** Pixels counted (inside the FOV), and how many of them are positive. */
  pixels: number;
  positives: number;
}

export interface ScoreAccumulator {
  /** Adds pixels: scores in [0, 1], labels > 0.5 positive, optional mask (> 0.5 counted). */
  add(scores: ArrayLike<number>, labels: ArrayLike<number>, mask?: ArrayLike<number>): void;
  metrics(): SegmentationMetrics;
}

/** Counts of positives and negatives sharing one score, visited from the highest score down. */
type Groups = (visit: (pos: number, neg: number) => void) => void;

/** PR-AUC and ROC AUC from tied groups in descending score order. */
function curveAreas(groups: Groups, P: number, N: number): { prAuc: number; rocAuc: number } {
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let pairs = 0;
  groups((pos, neg) => {
    // Each negative here is beaten by every earlier positive and ties with this group's.
    pairs += neg * (tp + pos / 2);
    tp += pos;
    fp += neg;
    if (pos > 0) ap += (pos / P) * (tp / (tp + fp));
  });
  return { prAuc: P > 0 ? ap : NaN, rocAuc: P > 0 && N > 0 ? pairs / (P * N) : NaN };
}

function thresholdMetrics(tp: number, fp: number, P: number, N: number): { accuracy: number; f1: number } {
  const fn = P - tp;
  const tn = N - fp;
  const denom = 2 * tp + fp + fn;
  return { accuracy: P + N > 0 ? (tp + tn) / (P + N) : NaN, f1: P > 0 && denom > 0 ? (2 * tp) / denom : NaN };
}

function checkLengths(scores: ArrayLike<number>, labels: ArrayLike<number>, mask?: ArrayLike<number>): void {
  if (labels.length !== scores.length) throw new Error(`segmentation metrics: ${scores.length} scores but ${labels.length} labels`);
  if (mask && mask.length !== scores.length) throw new Error(`segmentation metrics: ${scores.length} scores but a mask of ${mask.length} pixels`);
}

function checkScore(s: number): void {
  if (!(s >= 0 && s <= 1)) throw new RangeError(`segmentation metrics: score ${s} outside [0, 1] (pass probabilities, not logits)`);
}

export class ExactScores implements ScoreAccumulator {
  private pos: Float32Array[] = [];
  private neg: Float32Array[] = [];

  add(scores: ArrayLike<number>, labels: ArrayLike<number>, mask?: ArrayLike<number>): void {
    checkLengths(scores, labels, mask);
    const p: number[] = [];
    const n: number[] = [];
    for (let i = 0; i < scores.length; i++) {
      if (mask && !(mask[i] > 0.5)) continue;
      checkScore(scores[i]);
      (labels[i] > 0.5 ? p : n).push(scores[i]);
    }
    this.pos.push(Float32Array.from(p));
    this.neg.push(Float32Array.from(n));
  }

  metrics(): SegmentationMetrics {
    const join = (parts: Float32Array[]) => {
      const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
      let o = 0;
      for (const p of parts) { out.set(p, o); o += p.length; }
      return out.sort();
    };
    const pos = join(this.pos);
    const neg = join(this.neg);
    const P = pos.length;
    const N = neg.length;
    const groups: Groups = (visit) => {
      let i = P - 1;
      let j = N - 1;
      while (i >= 0 || j >= 0) {
        const s = Math.max(i >= 0 ? pos[i] : -Infinity, j >= 0 ? neg[j] : -Infinity);
        let pc = 0;
        let nc = 0;
        while (i >= 0 && pos[i] === s) { pc++; i--; }
        while (j >= 0 && neg[j] === s) { nc++; j--; }
        visit(pc, nc);
      }
    };
    let tp = 0;
    let fp = 0;
    for (const s of pos) if (s >= 0.5) tp++;
    for (const s of neg) if (s >= 0.5) fp++;
    return { ...curveAreas(groups, P, N), ...thresholdMetrics(tp, fp, P, N), pixels: P + N, positives: P };
  }
}

export class ScoreHistogram implements ScoreAccumulator {
  readonly pos: Float64Array;
  readonly neg: Float64Array;

  constructor(readonly bins = 4096) {
    if (!Number.isInteger(bins) || bins < 2 || bins % 2 !== 0) throw new RangeError(`ScoreHistogram: bins must be an even integer >= 2, got ${bins}`);
    this.pos = new Float64Array(bins);
    this.neg = new Float64Array(bins);
  }

  /** Bin of a score: bin b holds [b/bins, (b+1)/bins), the last bin also 1. */
  binOf(s: number): number {
    return Math.min(this.bins - 1, Math.floor(s * this.bins));
  }

  add(scores: ArrayLike<number>, labels: ArrayLike<number>, mask?: ArrayLike<number>): void {
    checkLengths(scores, labels, mask);
    for (let i = 0; i < scores.length; i++) {
      if (mask && !(mask[i] > 0.5)) continue;
      checkScore(scores[i]);
      (labels[i] > 0.5 ? this.pos : this.neg)[this.binOf(scores[i])]++;
    }
  }

  metrics(): SegmentationMetrics {
    let P = 0;
    let N = 0;
    let tp = 0;
    let fp = 0;
    for (let b = 0; b < this.bins; b++) {
      P += this.pos[b];
      N += this.neg[b];
      if (b >= this.bins / 2) { tp += this.pos[b]; fp += this.neg[b]; }
    }
    const groups: Groups = (visit) => {
      for (let b = this.bins - 1; b >= 0; b--) if (this.pos[b] || this.neg[b]) visit(this.pos[b], this.neg[b]);
    };
    return { ...curveAreas(groups, P, N), ...thresholdMetrics(tp, fp, P, N), pixels: P + N, positives: P };
  }
}

/** One-shot metrics of a score map against labels inside a mask. */
export function segmentationMetrics(scores: ArrayLike<number>, labels: ArrayLike<number>, mask?: ArrayLike<number>): SegmentationMetrics {
  const acc = new ExactScores();
  acc.add(scores, labels, mask);
  return acc.metrics();
}

export function makeAccumulator(bins?: number): ScoreAccumulator {
  return bins ? new ScoreHistogram(bins) : new ExactScores();
}
