// Wilson intervals against Newcombe (1998, Table I, method 3) and exact two-sided binomial
// p-values against rational-arithmetic values (scripts/reference/reading_stats.py) and hand sums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binomialPmf, binomialTestTwoSided, proportionSummary, wilsonInterval } from '../../src/eval/binomial.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('wilsonInterval matches the published Wilson intervals of Newcombe (1998) to 4 decimals', () => {
  // Newcombe, Statistics in Medicine 17:857-872, Table I, method 3 (score, no continuity correction).
  const published: [number, number, number, number][] = [[81, 263, 0.2553, 0.3662], [15, 148, 0.0624, 0.1605], [0, 20, 0, 0.1611], [1, 29, 0.0061, 0.1718]];
  for (const [k, n, lo, hi] of published) {
    const ci = wilsonInterval(k, n);
    close(ci.low, lo, 5e-5, `${k}/${n} low`);
    close(ci.high, hi, 5e-5, `${k}/${n} high`);
  }
  // Full precision against the formula evaluated in Python.
  const ci = wilsonInterval(66, 100);
  close(ci.low, 0.5627772885472462, 1e-14, '66/100 low');
  close(ci.high, 0.7453847920265184, 1e-14, '66/100 high');
  // Bounds are exact at the edges and the interval is symmetric under k -> n - k.
  assert.equal(wilsonInterval(0, 7).low, 0);
  assert.equal(wilsonInterval(7, 7).high, 1);
  const a = wilsonInterval(3, 11), b = wilsonInterval(8, 11);
  close(a.low, 1 - b.high, 1e-15, 'symmetry');
});

test('binomialTestTwoSided equals hand sums and exact rational values, also far in the tail and for p0 != 0.5', () => {
  // By hand: P(X >= 7 | 10, 1/2) = (120 + 45 + 10 + 1) / 1024; two-sided doubles it.
  // (Probabilities are summed from log space: equal to ~1e-15, not bit for bit.)
  close(binomialTestTwoSided(7, 10), (2 * 176) / 1024, 1e-13, '7 of 10');
  close(binomialTestTwoSided(3, 10), (2 * 176) / 1024, 1e-13, '3 of 10');
  assert.equal(binomialTestTwoSided(5, 10), 1);
  close(binomialTestTwoSided(0, 20), 2 / 2 ** 20, 1e-20, '0 of 20');
  const exact: [number, number, number, number][] = [
    [66, 100, 0.5, 0.0017899303914868526], // Table I's 66% if 100 images had been read
    [330, 500, 0.5, 7.407668679092984e-13],
    [460, 500, 0.5, 1.5011372371204094e-91],
    [99, 1000, 0.5, 1.485563619287301e-162],
    [2, 10, 0.3, 0.733172068],
    [8, 12, 0.25, 0.002781510353088379],
  ];
  for (const [k, n, p0, want] of exact) {
    const got = binomialTestTwoSided(k, n, p0);
    assert.ok(Math.abs(got - want) <= 1e-10 * want, `${k}/${n} vs ${p0}: ${got} vs ${want}`);
  }
  assert.equal(binomialTestTwoSided(3, 10, 0.3), 1); // the mode: every outcome is as likely or less
});

test('binomialPmf sums to 1 and handles p = 0 and 1', () => {
  const pmf = binomialPmf(40, 0.37);
  close(pmf.reduce((a, b) => a + b, 0), 1, 1e-12, 'sum');
  assert.deepEqual([...binomialPmf(3, 0)], [1, 0, 0, 0]);
  assert.deepEqual([...binomialPmf(3, 1)], [0, 0, 0, 1]);
});

test('bad counts and probabilities are rejected with the value at fault', () => {
  assert.throws(() => wilsonInterval(5, 0), /n must be an integer >= 1, got 0/);
  assert.throws(() => wilsonInterval(6, 5), /k must be an integer in 0\.\.n \(n = 5\), got 6/);
  assert.throws(() => wilsonInterval(1.5, 5), /k must be an integer/);
  assert.throws(() => binomialTestTwoSided(1, 5, 1), /p0 must be in \(0, 1\), got 1/);
  assert.throws(() => binomialPmf(4, -0.1), /p must be in \[0, 1\]/);
});

test('proportionSummary bundles rate, Wilson interval and p-value', () => {
  const s = proportionSummary(7, 10);
  assert.equal(s.rate, 0.7);
  assert.deepEqual(s.ci95, wilsonInterval(7, 10));
  assert.equal(s.pValue, binomialTestTwoSided(7, 10));
  close(s.pValue, 0.34375, 1e-13, 'p');
});
