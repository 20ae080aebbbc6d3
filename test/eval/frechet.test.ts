import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { FeatureStatsAccumulator, featureStats, frechetDistance, perGradeAverage, psdSqrt, type FeatureStats } from '../../src/eval/frechet.js';
import { float64Tensor, metricsFixture, relErr, type FrechetSide } from './fixtures.js';

function gaussianStats(mu: number[], sigma: torch.Tensor, n = 1000): FeatureStats {
  return { mu: torch.tensor(mu, { dtype: 'float64' }), sigma, n };
}
function randomOrthogonal(d: number, seed: number): torch.Tensor {
  torch.manualSeed(seed);
  const [q] = torch.aten('linalg_qr')(torch.randn([d, d], { dtype: 'float64' }), 'reduced') as torch.Tensor[];
  return q;
}

test('streamed statistics equal numpy mean and cov (features offset by 1000)', () => {
  const f = metricsFixture().stats;
  const x = torch.tensor(f.features, { dtype: 'float64' });
  const whole = featureStats(x);
  const streamed = featureStats([x.narrow(0, 0, 7), x.narrow(0, 7, 1), x.narrow(0, 8, 32)]);
  const mu = torch.tensor(f.mu, { dtype: 'float64' });
  const sigma = torch.tensor(f.sigma, { dtype: 'float64' });
  for (const s of [whole, streamed]) {
    assert.equal(s.n, 40);
    assert.equal(s.mu.dtype, 'float64');
    assert.ok(s.mu.sub(mu).abs().max().item() < 1e-12 * 1000);
    // Covariance entries are O(1); a textbook sum(x x^T) - n mu mu^T would lose ~6 digits here.
    assert.ok(s.sigma.sub(sigma).abs().max().item() < 1e-11, `sigma error ${s.sigma.sub(sigma).abs().max().item()}`);
  }
});

test('float32 feature batches are accumulated in float64', () => {
  torch.manualSeed(3);
  const x = torch.randn([64, 5]).add(300);
  const acc = new FeatureStatsAccumulator('test-extractor');
  for (const b of x.split(10)) acc.add(b);
  const s = acc.stats();
  acc.dispose();
  const ref = featureStats(x.double());
  assert.equal(s.extractor, 'test-extractor');
  assert.equal(s.sigma.dtype, 'float64');
  assert.ok(s.sigma.sub(ref.sigma).abs().max().item() < 1e-12);
});

test('FID of a set against itself is ~0', () => {
  torch.manualSeed(11);
  const x = torch.randn([300, 16]).mul(torch.linspace(0.1, 3, 16)).add(0.5);
  const s = featureStats(x.split(64));
  const traceScale = (torch.aten('trace')(s.sigma) as torch.Tensor).item();
  const d = frechetDistance(s, s);
  assert.ok(d >= 0 && d < 1e-6 * traceScale, `self FID ${d}`);
  assert.ok(d < 1e-12, `self FID ${d}`);
});

test('diagonal Gaussians give |dmu|^2 + sum (sqrt a - sqrt b)^2, and a common rotation changes nothing', () => {
  const a = [4, 1, 0.25, 9, 0.01];
  const b = [1, 1, 1, 2, 0.04];
  const mu1 = [0, 1, 2, 3, 4];
  const mu2 = [1, 1, 0, 3, 3.5];
  let expected = 0;
  for (let i = 0; i < 5; i++) expected += (mu1[i] - mu2[i]) ** 2 + (Math.sqrt(a[i]) - Math.sqrt(b[i])) ** 2;
  // = (1 + 0 + 4 + 0 + 0.25) + (1 + 0 + 0.25 + (3 - sqrt 2)^2 + 0.01)
  const da = torch.tensor(a, { dtype: 'float64' });
  const db = torch.tensor(b, { dtype: 'float64' });
  const s1 = gaussianStats(mu1, torch.aten('diag_embed')(da, 0, -2, -1) as torch.Tensor);
  const s2 = gaussianStats(mu2, torch.aten('diag_embed')(db, 0, -2, -1) as torch.Tensor);
  assert.ok(relErr(frechetDistance(s1, s2), expected) < 1e-13);

  const q = randomOrthogonal(5, 2);
  const rot = (s: FeatureStats): FeatureStats => ({ mu: q.mm(s.mu.unsqueeze(1)).squeeze(1), sigma: q.mm(s.sigma).mm(q.T), n: s.n });
  assert.ok(relErr(frechetDistance(rot(s1), rot(s2)), expected) < 1e-12);
});

test('psdSqrt squares back to the matrix and clamps rounding-negative eigenvalues', () => {
  torch.manualSeed(5);
  const x = torch.randn([3, 8], { dtype: 'float64' });
  const s = x.T.mm(x); // rank 3 in 8 dims: five eigenvalues are zero up to rounding
  const r = psdSqrt(s);
  assert.ok(r.mm(r).sub(s).abs().max().item() < 1e-12);
  assert.ok(r.isfinite().all().item() === 1);
});

function fixtureSide(side: FrechetSide, d: number): FeatureStats {
  if (side.samples !== undefined) return featureStats(float64Tensor(side.samples, [side.n!, d]));
  return { mu: float64Tensor(side.mu!, [d]), sigma: float64Tensor(side.sigma!, [d, d]), n: 100 };
}

test('Fréchet distance matches 60-digit mpmath on well- and ill-conditioned covariances', () => {
  for (const c of metricsFixture().frechet) {
    const got = frechetDistance(fixtureSide(c.a, c.dim), fixtureSide(c.b, c.dim));
    assert.ok(Number.isFinite(got) && got >= 0, `${c.name}: ${got}`);
    const err = Math.abs(got - c.expected);
    const naiveErr = Math.abs(c.naiveProductEig! - c.expected);
    if (c.name.includes('itself')) {
      assert.ok(err < 1e-12, `${c.name}: got ${got}, expected ${c.expected}`);
      // The naive route (eigenvalues of the non-symmetric S1 S2) goes negative here.
      assert.ok(c.naiveProductEig !== null && c.naiveProductEig < -1e-8);
    } else if (c.name.startsWith('well')) {
      assert.ok(err < 1e-13 * c.expected, `${c.name}: got ${got}, expected ${c.expected}`);
      assert.ok(relErr(c.expectedGeneralSqrtm!, c.expected) < 1e-14);
    } else {
      // Rank-deficient sample covariances: exact to ~1e-14 relative, where the naive route
      // loses ~1e-8 (a sqrt of rounding noise per null direction).
      assert.ok(err < 1e-12 * c.expected, `${c.name}: got ${got}, expected ${c.expected} (error ${err})`);
      assert.ok(naiveErr > 1e-9 * c.expected, `${c.name}: naive route unexpectedly accurate (${naiveErr})`);
    }
  }
});

test('per-grade FID is computed per grade and averaged', () => {
  torch.manualSeed(21);
  const real: FeatureStats[] = [];
  const fake: FeatureStats[] = [];
  for (let g = 0; g < 5; g++) {
    real.push(featureStats(torch.randn([50, 4], { dtype: 'float64' })));
    fake.push(featureStats(torch.randn([50, 4], { dtype: 'float64' }).add(g * 0.5)));
  }
  const r = perGradeAverage(real, fake);
  assert.equal(r.perGrade.length, 5);
  r.perGrade.forEach((v, g) => assert.equal(v, frechetDistance(real[g], fake[g])));
  assert.ok(Math.abs(r.average - r.perGrade.reduce((a, b) => a + b) / 5) < 1e-15);
  // Larger shifts give larger distances: grade 4 is shifted by 2 in every dimension.
  assert.ok(r.perGrade[4] > r.perGrade[0] + 10);
  assert.throws(() => perGradeAverage(real, fake.slice(1)), /one real and one fake/);
  assert.throws(() => perGradeAverage([{ ...real[0], extractor: 'a' }], [{ ...fake[0], extractor: 'b' }]), /grade 0.*"a".*"b"/);
});

test('bad statistics are refused with the field at fault', () => {
  const s = featureStats(torch.randn([10, 3], { dtype: 'float64' }));
  const t = featureStats(torch.randn([10, 4], { dtype: 'float64' }));
  assert.throws(() => frechetDistance(s, t), /dimensions differ: a has 3, b has 4/);
  assert.throws(() => frechetDistance({ ...s, sigma: torch.zeros([3, 2], { dtype: 'float64' }) }, s), /a\.sigma must be \[3, 3\]/);
  assert.throws(() => featureStats(torch.randn([1, 3])), /at least 2/);
  assert.throws(() => featureStats([torch.randn([4, 3]), torch.randn([4, 5])]), /dimension 5, earlier batches had 3/);
  assert.throws(() => featureStats(torch.randn([4, 3, 2])), /\[B, D\]/);
  assert.throws(() => frechetDistance({ ...s, mu: torch.full([3], Number.NaN, { dtype: 'float64' }) }, s), /not finite/);
});
