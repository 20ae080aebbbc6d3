import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, confusionMatrix, gradingReport, perClassTpr, quadraticWeightedKappa } from '../../src/eval/grading-metrics.js';
import { metricsFixture } from './fixtures.js';

// A worked example, K = 5, N = 6:
//   truth = [0, 1, 2, 3, 4, 4], pred = [0, 1, 2, 4, 4, 2]
//   O: (0,0) (1,1) (2,2) (3,4) (4,4) (4,2), one each.
//   row sums (truth) r = [1, 1, 1, 1, 2], column sums (pred) c = [1, 1, 2, 0, 2].
//   w_ij = (i - j)^2 / 16.
//   sum w O = w(3,4) + w(4,2) = 1/16 + 4/16 = 5/16.
//   sum w E = sum_ij r_i c_j (i - j)^2 / (16 * 6); with f(i) = sum_j c_j (i - j)^2:
//     f(0) = 0 + 1 + 2*4 + 0 + 2*16 = 41     f(1) = 1 + 0 + 2*1 + 0 + 2*9 = 21
//     f(2) = 4 + 1 + 0 + 0 + 2*4 = 13        f(3) = 9 + 4 + 2*1 + 0 + 2*1 = 17
//     f(4) = 16 + 9 + 2*4 + 0 + 0 = 33
//     sum_i r_i f(i) = 41 + 21 + 13 + 17 + 2*33 = 158, so sum w E = 158 / 96.
//   kappa = 1 - (5/16) / (158/96) = 1 - 480/2528 = 1 - 30/158 = 64/79.
//   accuracy = 4/6; TPR = [1, 1, 1, 0, 1/2].
const truth = [0, 1, 2, 3, 4, 4];
const pred = [0, 1, 2, 4, 4, 2];

test('quadratic weighted kappa matches the worked example (64/79)', () => {
  assert.ok(Math.abs(quadraticWeightedKappa(truth, pred) - 64 / 79) < 1e-14);
});

test('confusion matrix has true classes as rows and predictions as columns', () => {
  assert.deepEqual(confusionMatrix(truth, pred), [
    [1, 0, 0, 0, 0],
    [0, 1, 0, 0, 0],
    [0, 0, 1, 0, 0],
    [0, 0, 0, 0, 1],
    [0, 0, 1, 0, 1],
  ]);
});

test('accuracy and per-class TPR match the worked example', () => {
  assert.equal(accuracy(truth, pred), 4 / 6);
  assert.deepEqual(perClassTpr(truth, pred), [1, 1, 1, 0, 0.5]);
});

test('kappa is 1 for perfect agreement and negative for systematic disagreement', () => {
  assert.equal(quadraticWeightedKappa([0, 1, 2, 3, 4], [0, 1, 2, 3, 4]), 1);
  // Reversed grades: sum w O = (16+4+0+4+16)/16 = 40/16; every class once so E = 1/5 each,
  // sum w E = (1/5) * sum_ij (i-j)^2/16 = (1/5) * 100/16; kappa = 1 - 40/20 = -1.
  assert.ok(Math.abs(quadraticWeightedKappa([0, 1, 2, 3, 4], [4, 3, 2, 1, 0]) - -1) < 1e-14);
});

test('kappa of identical one-class ratings is defined as 1; one constant side gives 0', () => {
  // Chance disagreement is 0 here (sklearn: NaN); the ratings agree perfectly.
  assert.equal(quadraticWeightedKappa([2, 2, 2], [2, 2, 2]), 1);
  // truth constant: O equals E exactly (row 2 of both is [1, 0, 1, 0, 1]), so kappa = 0.
  assert.equal(quadraticWeightedKappa([2, 2, 2], [0, 2, 4]), 0);
});

test('TPR of a class without true samples is NaN, not 0', () => {
  const tpr = perClassTpr([0, 0, 1], [0, 1, 1]);
  assert.deepEqual(tpr.slice(0, 2), [0.5, 1]);
  assert.ok(tpr.slice(2).every(Number.isNaN));
});

test('metrics match the reference (sklearn cohen_kappa_score algorithm) on random graders', () => {
  for (const c of metricsFixture().grading) {
    const r = gradingReport(c.truth, c.pred);
    assert.ok(Math.abs(r.kappa - c.kappa) < 1e-12, `kappa ${r.kappa} vs ${c.kappa}`);
    assert.ok(Math.abs(r.accuracy - c.accuracy) < 1e-15);
    assert.deepEqual(r.confusion, c.confusion);
    r.tpr.forEach((v, i) => (c.tpr[i] === null ? assert.ok(Number.isNaN(v)) : assert.ok(Math.abs(v - c.tpr[i]!) < 1e-15)));
    assert.equal(r.n, c.truth.length);
  }
});

test('bad labels are refused with the position at fault', () => {
  assert.throws(() => accuracy([0, 1], [0]), /same length/);
  assert.throws(() => accuracy([], []), /empty/);
  assert.throws(() => quadraticWeightedKappa([0, 5], [0, 1]), /truth\[1\] = 5/);
  assert.throws(() => confusionMatrix([0, 1], [0, 1.5]), /pred\[1\] = 1.5/);
  assert.throws(() => confusionMatrix([0, 1], [0, -1], 3), /0\.\.2/);
});
