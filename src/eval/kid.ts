// Kernel Inception Distance (Bińkowski et al. 2018), as torch-fidelity and clean-fid compute
// it: the unbiased estimate of MMD^2 with the cubic polynomial kernel
// k(x, y) = (x.y / d + 1)^3, averaged over random subsets of both feature sets.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { SeededStream } from './seeded.js';

const trace = torch.aten('trace');

export interface KidOptions {
  /** Number of random subset pairs (torch-fidelity's default 100). */
  subsets?: number;
  /** Samples per subset (default 1000), clamped to the smaller set's size as clean-fid does. */
  subsetSize?: number;
  /** Kernel degree (3). */
  degree?: number;
  /** Kernel scale; default 1 / D. */
  gamma?: number;
  /** Kernel offset (1). */
  coef0?: number;
  /** Seed of the subset sampling (0). */
  seed?: number;
}

export interface KidResult {
  mean: number;
  /** Population standard deviation over subsets (numpy's std, as torch-fidelity reports). */
  std: number;
  /** One unbiased MMD^2 estimate per subset. */
  values: number[];
  /** The subset size actually used. */
  subsetSize: number;
}

/**
 * Unbiased MMD^2 between two equally sized samples x, y ([m, D], float64):
 * (sum_{i!=j} k(x_i,x_j) + sum_{i!=j} k(y_i,y_j)) / (m (m-1)) - 2 sum_{i,j} k(x_i,y_j) / m^2.
 * Its expectation is 0 when x and y come from the same distribution, so single values may be
 * negative.
 */
export function polynomialMmd2(x: Tensor, y: Tensor, degree = 3, gamma?: number, coef0 = 1): number {
  const [m, d] = x.shape;
  if (y.shape[0] !== m || y.shape[1] !== d) throw new Error(`MMD needs equal shapes, got [${x.shape.join(', ')}] and [${y.shape.join(', ')}]`);
  if (m < 2) throw new Error(`MMD needs at least 2 samples per set, got ${m}`);
  const g = gamma ?? 1 / d;
  return torch.tidy(() => {
    const kernel = (p: Tensor, q: Tensor): Tensor => p.mm(q.T).mul(g).add(coef0).pow(degree);
    const kxx = kernel(x, x);
    const kyy = kernel(y, y);
    const offDiagonal = kxx.sum().item() - (trace(kxx) as Tensor).item() + kyy.sum().item() - (trace(kyy) as Tensor).item();
    return offDiagonal / (m * (m - 1)) - (2 * kernel(x, y).sum().item()) / (m * m);
  });
}

function checkFeatures(f: Tensor, name: string): [number, number] {
  const s = f.shape;
  if (s.length !== 2) throw new Error(`${name} must be features [N, D], got shape [${s.join(', ')}]`);
  return [s[0], s[1]];
}

/** KID between two feature sets [N, D] and [M, D]: mean and std of MMD^2 over random subsets. */
export function kid(featsA: Tensor, featsB: Tensor, opts: KidOptions = {}): KidResult {
  const [na, da] = checkFeatures(featsA, 'featsA');
  const [nb, db] = checkFeatures(featsB, 'featsB');
  if (da !== db) throw new Error(`feature dimensions differ: featsA has ${da}, featsB has ${db}`);
  const subsets = opts.subsets ?? 100;
  if (!Number.isInteger(subsets) || subsets < 1) throw new Error(`subsets must be a positive integer, got ${subsets}`);
  const requested = opts.subsetSize ?? 1000;
  if (!Number.isInteger(requested) || requested < 2) throw new Error(`subsetSize must be an integer >= 2, got ${requested}`);
  const m = Math.min(requested, na, nb);
  if (m < 2) throw new Error(`KID needs at least 2 samples in each set (got ${na} and ${nb})`);
  const stream = new SeededStream(opts.seed ?? 0);
  const values: number[] = [];
  try {
    for (let s = 0; s < subsets; s++) {
      const [ia, ib] = stream.draw(() => torch.tidy(() => [torch.randperm(na).narrow(0, 0, m), torch.randperm(nb).narrow(0, 0, m)]));
      values.push(torch.tidy(() => {
        const x = featsA.detach().indexSelect(0, ia.to(featsA.device)).double();
        const y = featsB.detach().indexSelect(0, ib.to(featsB.device)).to({ dtype: 'float64', device: featsA.device });
        return polynomialMmd2(x, y, opts.degree ?? 3, opts.gamma, opts.coef0 ?? 1);
      }));
      ia.dispose();
      ib.dispose();
    }
  } finally {
    stream.dispose();
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) * (v - mean), 0) / values.length);
  return { mean, std, values, subsetSize: m };
}
