// Feature statistics and the Fréchet distance between two Gaussians (FID, method.md
// section 9): d^2 = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), everything in float64.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';

/** Mean and covariance (divisor n - 1, as numpy.cov) of n feature vectors, float64. */
export interface FeatureStats {
  mu: Tensor;
  sigma: Tensor;
  n: number;
  /** Which network produced the features (e.g. "inception-v3-pt_inception-2015-12-05"). */
  extractor?: string;
}

const linalgEigh = torch.aten('linalg_eigh');
const linalgEigvalsh = torch.aten('linalg_eigvalsh');
const trace = torch.aten('trace');

/**
 * Accumulates mean and covariance over feature batches without holding the features: each
 * batch contributes its own mean and centred sum of outer products, merged in float64 by
 * Chan et al.'s pairwise rule. Centring per batch avoids the cancellation of the textbook
 * sum(x x^T) - n mu mu^T when features have a large mean relative to their spread.
 */
export class FeatureStatsAccumulator {
  private mean: Tensor | null = null;
  private m2: Tensor | null = null;
  private count = 0;
  private dim = -1;

  constructor(readonly extractor?: string) {}

  get n(): number { return this.count; }

  /** Adds a [B, D] batch (any floating dtype, any device). */
  add(batch: Tensor): void {
    const shape = batch.shape;
    if (shape.length !== 2) throw new Error(`feature batch must be [B, D], got shape [${shape.join(', ')}]`);
    const [b, d] = shape;
    if (this.dim < 0) this.dim = d;
    else if (d !== this.dim) throw new Error(`feature batch has dimension ${d}, earlier batches had ${this.dim}`);
    if (b === 0) return;
    const [mean, m2] = torch.tidy(() => {
      const x = batch.detach().double();
      const batchMean = x.mean(0);
      const centred = x.sub(batchMean);
      const batchM2 = centred.T.mm(centred);
      if (!this.mean || !this.m2) return [batchMean, batchM2];
      const total = this.count + b;
      const delta = batchMean.sub(this.mean);
      const merged = this.m2.add(batchM2).add(delta.unsqueeze(1).mul(delta.unsqueeze(0)).mul((this.count * b) / total));
      return [this.mean.add(delta.mul(b / total)), merged];
    });
    this.mean?.dispose();
    this.m2?.dispose();
    this.mean = torch.keep(mean);
    this.m2 = torch.keep(m2);
    this.count += b;
  }

  /** The statistics so far (new tensors; the accumulator can keep going). */
  stats(): FeatureStats {
    if (!this.mean || !this.m2 || this.count < 2) {
      throw new Error(`feature statistics need at least 2 feature vectors, got ${this.count}`);
    }
    const stats: FeatureStats = { mu: this.mean.clone(), sigma: this.m2.div(this.count - 1), n: this.count };
    if (this.extractor !== undefined) stats.extractor = this.extractor;
    return stats;
  }

  dispose(): void {
    this.mean?.dispose();
    this.m2?.dispose();
    this.mean = this.m2 = null;
  }
}

/** Mean and covariance of features given as one [N, D] tensor or an iterable of [B, D] batches. */
export function featureStats(featureBatches: Tensor | Iterable<Tensor>, extractor?: string): FeatureStats {
  const acc = new FeatureStatsAccumulator(extractor);
  try {
    if (featureBatches instanceof torch.Tensor) acc.add(featureBatches);
    else for (const batch of featureBatches) acc.add(batch);
    return acc.stats();
  } finally {
    acc.dispose();
  }
}

function checkStats(s: FeatureStats, name: string): number {
  const mu = s.mu.shape;
  const sigma = s.sigma.shape;
  if (mu.length !== 1) throw new Error(`${name}.mu must be a vector [D], got shape [${mu.join(', ')}]`);
  if (sigma.length !== 2 || sigma[0] !== mu[0] || sigma[1] !== mu[0]) {
    throw new Error(`${name}.sigma must be [${mu[0]}, ${mu[0]}] to match ${name}.mu, got [${sigma.join(', ')}]`);
  }
  return mu[0];
}

const FLOAT64_EPS = 2.220446049250313e-16;

/**
 * Eigenvalues at or below D * eps * max|eigenvalue| become exactly 0. A symmetric eigensolver
 * knows each eigenvalue only to about eps * |S|, so a zero eigenvalue (a covariance of fewer
 * samples than dimensions) comes out as noise of that size; its square root, ~1e-8 |S|^(1/2),
 * would then be added once per null direction. The threshold is the usual numerical-rank
 * cutoff (numpy.linalg.matrix_rank's).
 */
function zeroNoiseEigenvalues(values: Tensor): Tensor {
  const tol = values.abs().max().mul(values.shape[0] * FLOAT64_EPS);
  return torch.where(values.gt(tol), values, torch.zerosLike(values));
}

/**
 * The square root of a symmetric positive semi-definite matrix through its eigen-
 * decomposition; eigenvalues within rounding noise of zero (or below it) count as zero.
 */
export function psdSqrt(s: Tensor): Tensor {
  return torch.tidy(() => {
    const sym = s.add(s.T).mul(0.5);
    const [values, vectors] = linalgEigh(sym, 'L') as [Tensor, Tensor];
    return vectors.mul(zeroNoiseEigenvalues(values).sqrt().unsqueeze(0)).mm(vectors.T);
  });
}

/**
 * Squared Fréchet distance between N(mu1, S1) and N(mu2, S2).
 *
 * tr((S1 S2)^(1/2)) is the sum of square roots of the eigenvalues of S1 S2, which are
 * those of M = S1^(1/2) S2 S1^(1/2): similar matrices, but M is symmetric positive semi-
 * definite, so a symmetric eigensolver gives real eigenvalues, and those within rounding
 * noise of zero are set to zero (see zeroNoiseEigenvalues). On covariances of fewer samples
 * than dimensions this is exact to ~1e-14 relative where the general square root of the
 * non-symmetric S1 S2 (scipy's sqrtm in pytorch-fid, or its eigenvalues) is off by ~1e-8
 * relative and can go negative or complex (docs/metrics.md has the numbers).
 * The result is clamped at 0: a true squared distance, negative only by rounding.
 */
export function frechetDistance(a: FeatureStats, b: FeatureStats): number {
  const d1 = checkStats(a, 'a');
  const d2 = checkStats(b, 'b');
  if (d1 !== d2) throw new Error(`feature dimensions differ: a has ${d1}, b has ${d2}`);
  const value = torch.tidy(() => {
    const device = a.mu.device;
    const mu1 = a.mu.double();
    const mu2 = b.mu.to({ dtype: 'float64', device });
    const s1 = a.sigma.double();
    const s2 = b.sigma.to({ dtype: 'float64', device });
    const dmu = mu1.sub(mu2);
    const meanTerm = dmu.mul(dmu).sum().item();
    const root1 = psdSqrt(s1);
    const m = root1.mm(s2).mm(root1);
    const eig = linalgEigvalsh(m.add(m.T).mul(0.5), 'L') as Tensor;
    const traceSqrt = zeroNoiseEigenvalues(eig).sqrt().sum().item();
    const traceTerm = (trace(s1) as Tensor).item() + (trace(s2) as Tensor).item() - 2 * traceSqrt;
    return meanTerm + traceTerm;
  });
  if (!Number.isFinite(value)) throw new Error(`Fréchet distance is not finite (${value}): the statistics hold NaN or Inf`);
  return Math.max(0, value);
}

export interface PerGradeFid {
  /** FID of each grade's fake set against that grade's real set. */
  perGrade: number[];
  /** Their mean: the number the paper reports. */
  average: number;
}

/** FID per DR grade and averaged over the grades, as the paper reports it (Sec. IV). */
export function perGradeAverage(statsReal: readonly FeatureStats[], statsFake: readonly FeatureStats[]): PerGradeFid {
  if (statsReal.length !== statsFake.length) {
    throw new Error(`per-grade FID needs one real and one fake statistic per grade (got ${statsReal.length} real, ${statsFake.length} fake)`);
  }
  if (statsReal.length === 0) throw new Error('per-grade FID needs at least one grade');
  for (let g = 0; g < statsReal.length; g++) {
    const er = statsReal[g].extractor;
    const ef = statsFake[g].extractor;
    if (er !== undefined && ef !== undefined && er !== ef) {
      throw new Error(`grade ${g}: real features come from "${er}" but fake features from "${ef}"`);
    }
  }
  const perGrade = statsReal.map((r, g) => frechetDistance(r, statsFake[g]));
  return { perGrade, average: perGrade.reduce((x, y) => x + y, 0) / perGrade.length };
}
