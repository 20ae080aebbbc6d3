import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExactScores, ScoreHistogram, segmentationMetrics } from '../../src/eval/segmentation-metrics.js';
import { mulberry32 } from '../../src/data/rng.js';

/** Average precision by enumerating every distinct threshold (positive = score >= t). */
function bruteAp(scores: number[], labels: number[]): number {
  const P = labels.filter((l) => l > 0.5).length;
  const thresholds = [...new Set(scores)].sort((a, b) => b - a);
  let ap = 0;
  let prevRecall = 0;
  for (const t of thresholds) {
    let tp = 0;
    let fp = 0;
    scores.forEach((s, i) => { if (s >= t) { if (labels[i] > 0.5) tp++; else fp++; } });
    const recall = tp / P;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

/** Mann-Whitney: share of (positive, negative) pairs ordered correctly, ties half. */
function brutePairs(scores: number[], labels: number[]): number {
  let good = 0;
  let pairs = 0;
  scores.forEach((sp, i) => {
    if (!(labels[i] > 0.5)) return;
    scores.forEach((sn, j) => {
      if (labels[j] > 0.5) return;
      pairs++;
      good += sp > sn ? 1 : sp === sn ? 0.5 : 0;
    });
  });
  return good / pairs;
}

function randomCase(seed: number, n: number, levels: number) {
  const r = mulberry32(seed);
  const labels: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = r() < 0.3 ? 1 : 0;
    // Quantised scores make many ties; positives score higher on average.
    const s = Math.min(levels, Math.floor((r() * 0.7 + y * 0.3) * (levels + 1))) / levels;
    labels.push(y);
    scores.push(s);
  }
  return { scores, labels };
}

test('PR-AUC equals the brute-force sum over all thresholds, ties included', () => {
  for (const [seed, levels] of [[1, 4], [2, 10], [3, 1000], [4, 2]]) {
    const { scores, labels } = randomCase(seed, 300, levels);
    const m = segmentationMetrics(Float32Array.from(scores), labels);
    // Float32 storage of k/levels keeps distinct values distinct, so the thresholds agree.
    const f32 = Array.from(Float32Array.from(scores));
    assert.ok(Math.abs(m.prAuc - bruteAp(f32, labels)) < 1e-12, `levels ${levels}: ${m.prAuc} vs ${bruteAp(f32, labels)}`);
    assert.ok(Math.abs(m.rocAuc - brutePairs(f32, labels)) < 1e-12, `levels ${levels}: ROC ${m.rocAuc}`);
  }
});

test('PR-AUC does not depend on the order of tied scores', () => {
  const scores = [0.5, 0.5, 0.5, 0.9, 0.1];
  const a = segmentationMetrics(scores, [1, 0, 0, 1, 0]);
  const b = segmentationMetrics(scores, [0, 0, 1, 1, 0]);
  assert.equal(a.prAuc, b.prAuc);
  // Hand value: threshold 0.9 -> R 1/2, P 1; threshold 0.5 -> R 1, P 2/4.
  assert.ok(Math.abs(a.prAuc - (0.5 * 1 + 0.5 * 0.5)) < 1e-12);
});

test('perfect and inverted rankings give the extreme values', () => {
  const perfect = segmentationMetrics([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]);
  assert.equal(perfect.prAuc, 1);
  assert.equal(perfect.rocAuc, 1);
  assert.equal(perfect.accuracy, 1);
  assert.equal(perfect.f1, 1);
  const inverted = segmentationMetrics([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]);
  assert.equal(inverted.rocAuc, 0);
  assert.equal(inverted.accuracy, 0);
  assert.equal(inverted.f1, 0);
});

test('undefined cases are NaN: no positives (PR-AUC, ROC, F1), no negatives (ROC)', () => {
  const none = segmentationMetrics([0.1, 0.7, 0.3], [0, 0, 0]);
  assert.ok(Number.isNaN(none.prAuc));
  assert.ok(Number.isNaN(none.rocAuc));
  assert.ok(Number.isNaN(none.f1));
  assert.equal(none.accuracy, 2 / 3);
  assert.equal(none.positives, 0);
  const all = segmentationMetrics([0.1, 0.7], [1, 1]);
  assert.ok(Number.isNaN(all.rocAuc));
  assert.equal(all.prAuc, 1);
  const h = new ScoreHistogram(16);
  h.add([0.2, 0.4], [0, 0]);
  assert.ok(Number.isNaN(h.metrics().prAuc));
});

test('accuracy and F1 at 0.5 (score >= 0.5 is positive)', () => {
  // tp: 0.5, 0.9; fn: 0.4; fp: 0.6; tn: 0.1, 0.2
  const m = segmentationMetrics([0.5, 0.9, 0.4, 0.6, 0.1, 0.2], [1, 1, 1, 0, 0, 0]);
  assert.equal(m.accuracy, 4 / 6);
  assert.equal(m.f1, (2 * 2) / (2 * 2 + 1 + 1));
});

test('only pixels inside the mask count', () => {
  const m = segmentationMetrics([0.9, 0.1, 0.95, 0.05], [1, 0, 0, 1], [1, 1, 0, 0]);
  assert.equal(m.pixels, 2);
  assert.equal(m.rocAuc, 1);
  assert.equal(m.accuracy, 1);
});

test('the histogram equals the exact computation when scores sit on its bins, added in pieces', () => {
  const bins = 64;
  const { scores, labels } = randomCase(7, 500, bins);
  // Bin b holds [b/bins, (b+1)/bins): use bin starts (value 1 falls in the last bin with 63/64).
  const q = scores.map((s) => Math.min(bins - 1, Math.round(s * bins)) / bins);
  const exact = segmentationMetrics(q, labels);
  const h = new ScoreHistogram(bins);
  h.add(q.slice(0, 200), labels.slice(0, 200));
  h.add(q.slice(200), labels.slice(200));
  const e = new ExactScores();
  e.add(q.slice(0, 123), labels.slice(0, 123));
  e.add(q.slice(123), labels.slice(123));
  for (const m of [h.metrics(), e.metrics()]) {
    for (const k of ['prAuc', 'rocAuc', 'accuracy', 'f1', 'pixels', 'positives'] as const) {
      assert.ok(Math.abs(m[k] - exact[k]) < 1e-12, `${k}: ${m[k]} vs ${exact[k]}`);
    }
  }
});

test('the histogram approximates the exact values for continuous scores', () => {
  const r = mulberry32(9);
  const labels = Array.from({ length: 5000 }, () => (r() < 0.1 ? 1 : 0));
  const scores = labels.map((y) => Math.min(1, Math.max(0, r() * 0.8 + y * 0.25)));
  const exact = segmentationMetrics(scores, labels);
  const h = new ScoreHistogram(4096);
  h.add(scores, labels);
  const m = h.metrics();
  assert.ok(Math.abs(m.prAuc - exact.prAuc) < 2e-3);
  assert.ok(Math.abs(m.rocAuc - exact.rocAuc) < 1e-3);
  assert.equal(m.accuracy, exact.accuracy);
});

test('bad input is refused with a clear message', () => {
  assert.throws(() => segmentationMetrics([0.1, 0.2], [1]), /2 scores but 1 labels/);
  assert.throws(() => segmentationMetrics([0.1, 0.2], [1, 0], [1]), /mask of 1 pixels/);
  assert.throws(() => segmentationMetrics([1.5], [1]), /outside \[0, 1\].*logits/);
  assert.throws(() => new ScoreHistogram(7), /even integer/);
});
