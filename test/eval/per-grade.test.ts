// Per-grade FID: which grades count (>= 2 images in both sets), the others named with the
// reason, FID on each grade and the mean over those grades; the library surface re-exports it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import * as metrics from '../../src/eval/index.js';
import { featureStats, frechetDistance, type FeatureStats } from '../../src/eval/frechet.js';
import { fidPerGrade, pairGrades } from '../../src/eval/per-grade.js';

function statsOf(counts: Record<number, number>, shift: number, seed: number): { byGrade: Map<number, FeatureStats>; counts: Map<number, number> } {
  torch.manualSeed(seed);
  const byGrade = new Map<number, FeatureStats>();
  for (const [g, n] of Object.entries(counts)) {
    if (n >= 2) byGrade.set(Number(g), torch.tidy(() => featureStats(torch.randn([n, 3], { dtype: 'float64' }).add(shift * Number(g)))));
  }
  return { byGrade, counts: new Map(Object.entries(counts).map(([g, n]) => [Number(g), n])) };
}

test('pairGrades keeps grades with enough images in both sets and says why the others are out', () => {
  const r = pairGrades(new Map([[0, 5], [1, 3], [2, 1], [4, 4]]), new Map([[0, 4], [1, 2], [3, 6]]), 2);
  assert.deepEqual(r.used, [0, 1]);
  assert.deepEqual(r.skipped, {
    2: 'needs at least 2 images per set, real has 1, fake has 0',
    3: 'needs at least 2 images per set, real has 0, fake has 6',
    4: 'needs at least 2 images per set, real has 4, fake has 0',
  });
  assert.deepEqual(pairGrades(new Map([[2, 1]]), new Map([[2, 1]]), 1).used, [2]);
});

test('fidPerGrade: Frechet distance per usable grade and their mean; no usable grade is an error', () => {
  const real = statsOf({ 0: 6, 1: 5, 2: 1, 4: 4 }, 0.5, 1);
  const fake = statsOf({ 0: 5, 1: 7, 3: 6 }, 1.5, 2);
  const r = fidPerGrade(real, fake);
  assert.deepEqual(Object.keys(r.perGrade), ['0', '1']);
  for (const g of [0, 1]) assert.equal(r.perGrade[g], frechetDistance(real.byGrade.get(g)!, fake.byGrade.get(g)!));
  assert.ok(r.perGrade[1] > 0);
  assert.equal(r.average, (r.perGrade[0] + r.perGrade[1]) / 2);
  assert.deepEqual(Object.keys(r.skipped).sort(), ['2', '3', '4']);
  assert.throws(() => fidPerGrade(statsOf({ 2: 3 }, 0, 3), statsOf({ 3: 3 }, 0, 4), 'A and B'),
    /no grade has at least 2 images in A and B \(\{"2":"needs at least 2 images per set, real has 3, fake has 0"/);
  assert.throws(() => fidPerGrade({ byGrade: new Map(), counts: new Map([[0, 3]]) }, fake), /real set counts 3 images of grade 0 but has no statistics/);
});

test('eval/index.ts re-exports the extractors, image sets, segmentation metrics and per-grade FID', () => {
  for (const name of ['openFeatureExtractor', 'metricLabel', 'openImageSet', 'groupByGrade', 'readImageBatches', 'segmentationMetrics', 'ExactScores', 'ScoreHistogram', 'fidPerGrade', 'pairGrades']) {
    assert.equal(typeof (metrics as Record<string, unknown>)[name], 'function', name);
  }
});
