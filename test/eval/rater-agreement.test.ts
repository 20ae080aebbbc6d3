// Fleiss' kappa on Wikipedia's worked example (published kappa 0.210; exact value from
// scripts/reference/reading_stats.py) and on a two-category example worked by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { categoryCounts, fleissKappa } from '../../src/eval/rater-agreement.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('fleissKappa reproduces the worked example (10 subjects, 14 raters, 5 categories): kappa 0.210', () => {
  const table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]];
  const f = fleissKappa(table);
  assert.equal(f.items, 10);
  assert.equal(f.raters, 14);
  close(f.observed, 0.378021978021978, 1e-14, 'P-bar');
  close(f.chance, 0.21275510204081632, 1e-14, 'P-bar_e');
  close(f.kappa, 0.20993070442195524, 1e-14, 'kappa');
  assert.equal(f.kappa.toFixed(3), '0.210');
});

test('fleissKappa by hand: 3 readers, 4 images, real/fake', () => {
  // Items agree 3-0, 0-3, 2-1, 1-2: P_i = 1, 1, 1/3, 1/3 -> P-bar 2/3; shares 1/2, 1/2 -> chance 1/2;
  // kappa = (2/3 - 1/2) / (1 - 1/2) = 1/3.
  const counts = categoryCounts([[0, 1, 0, 1], [0, 1, 0, 0], [0, 1, 1, 1]], 2);
  assert.deepEqual(counts, [[3, 0], [0, 3], [2, 1], [1, 2]]);
  const f = fleissKappa(counts);
  close(f.observed, 2 / 3, 1e-15, 'P-bar');
  close(f.chance, 0.5, 1e-15, 'chance');
  close(f.kappa, 1 / 3, 1e-15, 'kappa');
  // Perfect agreement on both categories: kappa 1; every rating alike: the 0/0 case, also 1.
  assert.equal(fleissKappa([[2, 0], [0, 2]]).kappa, 1);
  assert.equal(fleissKappa([[2, 0], [2, 0]]).kappa, 1);
  // Systematic disagreement of two raters: below zero.
  assert.ok(fleissKappa([[1, 1], [1, 1], [1, 1]]).kappa < 0);
});

test('fleissKappa and categoryCounts reject ragged or impossible input, naming the item', () => {
  assert.throws(() => fleissKappa([]), /no items/);
  assert.throws(() => fleissKappa([[2, 1], [1, 1]]), /item 1 has 2 ratings, item 0 has 3/);
  assert.throws(() => fleissKappa([[1, 0], [0, 1]]), /at least 2 raters/);
  assert.throws(() => fleissKappa([[2, 0], [1]]), /item 1 has 1 categories/);
  assert.throws(() => fleissKappa([[2, -1, 1]]), /item 0: counts must be integers >= 0/);
  assert.throws(() => categoryCounts([[0, 1], [0]], 2), /rater 1 rated 1 items, rater 0 rated 2/);
  assert.throws(() => categoryCounts([[0, 2]], 2), /rater 0, item 1: category 2 is not in 0\.\.1/);
});
