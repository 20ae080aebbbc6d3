import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { kid, polynomialMmd2 } from '../../src/eval/kid.js';
import { metricsFixture, relErr } from './fixtures.js';

/** The estimator written out as a double loop over plain numbers. */
function bruteForceMmd2(x: number[][], y: number[][]): number {
  const d = x[0].length;
  const m = x.length;
  const k = (p: number[], q: number[]): number => {
    let dot = 0;
    for (let i = 0; i < d; i++) dot += p[i] * q[i];
    return (dot / d + 1) ** 3;
  };
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      if (i !== j) {
        xx += k(x[i], x[j]);
        yy += k(y[i], y[j]);
      }
      xy += k(x[i], y[j]);
    }
  }
  return (xx + yy) / (m * (m - 1)) - (2 * xy) / (m * m);
}

function rows(t: torch.Tensor): number[][] {
  const [n, d] = t.shape;
  const flat = t.toArray();
  return Array.from({ length: n }, (_, i) => flat.slice(i * d, (i + 1) * d));
}

test('MMD^2 equals a brute-force double loop and the torch-fidelity formula', () => {
  const f = metricsFixture().kid;
  const a = torch.tensor(f.a, { dtype: 'float64' });
  const b = torch.tensor(f.b, { dtype: 'float64' });
  const brute = bruteForceMmd2(f.a, f.b);
  assert.ok(relErr(polynomialMmd2(a, b), brute) < 1e-12);
  assert.ok(relErr(brute, f.mmd2) < 1e-12, `brute ${brute} vs reference ${f.mmd2}`);
  // A subset as large as the sets takes every sample: one value, the full-set estimate.
  const r = kid(a, b, { subsets: 3, subsetSize: 100 });
  assert.equal(r.subsetSize, 12);
  for (const v of r.values) assert.ok(relErr(v, f.mmd2) < 1e-12);
  assert.ok(r.std < 1e-12 * Math.abs(r.mean));
});

test('each subset value is the brute-force MMD^2 of some subset pair (float32 features)', () => {
  torch.manualSeed(4);
  const a = torch.randn([9, 3]);
  const b = torch.randn([7, 3]).add(0.3);
  const r = kid(a, b, { subsets: 4, subsetSize: 5, seed: 9 });
  assert.equal(r.values.length, 4);
  assert.equal(r.subsetSize, 5);
  // Reproduce the draw: two randperms per subset from a generator seeded with 9.
  const saved = torch.getRngState();
  torch.manualSeed(9);
  const ra = rows(a.double());
  const rb = rows(b.double());
  for (const v of r.values) {
    const ia = torch.randperm(9).toArray().slice(0, 5);
    const ib = torch.randperm(7).toArray().slice(0, 5);
    assert.ok(relErr(v, bruteForceMmd2(ia.map((i) => ra[i]), ib.map((i) => rb[i]))) < 1e-10);
  }
  torch.setRngState(saved);
});

test('KID of two samples of one distribution is 0 in expectation (unbiased), and may be negative', () => {
  const estimates: number[] = [];
  for (let trial = 0; trial < 60; trial++) {
    torch.manualSeed(1000 + trial);
    const a = torch.randn([24, 4], { dtype: 'float64' });
    const b = torch.randn([24, 4], { dtype: 'float64' });
    estimates.push(kid(a, b, { subsets: 2, subsetSize: 20, seed: trial }).mean);
  }
  const mean = estimates.reduce((x, y) => x + y) / estimates.length;
  const sd = Math.sqrt(estimates.reduce((s, v) => s + (v - mean) ** 2, 0) / (estimates.length - 1));
  const stderr = sd / Math.sqrt(estimates.length);
  assert.ok(Math.abs(mean) < 4 * stderr, `mean ${mean} is ${Math.abs(mean) / stderr} standard errors from 0`);
  assert.ok(estimates.some((v) => v < 0), 'an unbiased estimate of 0 must sometimes be negative');
});

test('a shifted distribution gives a clearly positive KID', () => {
  torch.manualSeed(77);
  const a = torch.randn([200, 4], { dtype: 'float64' });
  const b = torch.randn([200, 4], { dtype: 'float64' }).add(0.5);
  const same = kid(a, torch.randn([200, 4], { dtype: 'float64' }), { subsets: 20, subsetSize: 100 });
  const shifted = kid(a, b, { subsets: 20, subsetSize: 100 });
  assert.ok(shifted.mean > 0.05, `shifted KID ${shifted.mean}`);
  assert.ok(shifted.mean > 10 * Math.abs(same.mean) && shifted.mean > same.mean + 5 * shifted.std);
});

test('a seed fixes the subsets, and KID leaves the global generator alone', () => {
  torch.manualSeed(1);
  const a = torch.randn([30, 3]);
  const b = torch.randn([30, 3]);
  assert.deepEqual(kid(a, b, { subsets: 3, subsetSize: 10, seed: 5 }).values, kid(a, b, { subsets: 3, subsetSize: 10, seed: 5 }).values);
  assert.notDeepEqual(kid(a, b, { subsets: 3, subsetSize: 10, seed: 5 }).values, kid(a, b, { subsets: 3, subsetSize: 10, seed: 6 }).values);
  torch.manualSeed(123);
  const expected = torch.rand([4]).toArray();
  torch.manualSeed(123);
  kid(a, b, { subsets: 2, subsetSize: 10 });
  assert.deepEqual(torch.rand([4]).toArray(), expected);
});

test('bad inputs are refused with the argument at fault', () => {
  const a = torch.randn([10, 3]);
  assert.throws(() => kid(a, torch.randn([10, 4])), /featsA has 3, featsB has 4/);
  assert.throws(() => kid(torch.randn([10]), a), /featsA must be features \[N, D\]/);
  assert.throws(() => kid(a, a, { subsets: 0 }), /subsets/);
  assert.throws(() => kid(a, a, { subsetSize: 1 }), /subsetSize/);
  assert.throws(() => kid(a, torch.randn([1, 3])), /at least 2 samples/);
});
