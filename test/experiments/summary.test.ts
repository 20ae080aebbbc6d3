// Across-seed aggregation checked with hand numbers, the fake-subset selection, and the
// layout of the paper's tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeTargets, perGradeList, pickFake } from '../../src/experiments/augment.js';
import { formatTableII, formatTableIII, formatTableIV, formatTableV, jsonSafe, meanStd, summarizeReports } from '../../src/experiments/summary.js';
import { gradingReport, type GradingReport } from '../../src/eval/grading-metrics.js';
import type { ManifestEntry } from '../../src/data/manifest.js';

test('meanStd: mean and sample std (n - 1) of hand numbers; NaN left out; one value has std 0', () => {
  const m = meanStd([1, 2, 3, 4]);
  assert.equal(m.mean, 2.5);
  assert.ok(Math.abs(m.std - Math.sqrt(5 / 3)) < 1e-12, `std ${m.std}`);
  assert.equal(m.n, 4);
  const withNaN = meanStd([0.5, Number.NaN, 0.7]);
  assert.ok(Math.abs(withNaN.mean - 0.6) < 1e-12);
  assert.ok(Math.abs(withNaN.std - Math.sqrt(0.02)) < 1e-12);
  assert.equal(withNaN.n, 2);
  assert.deepEqual(meanStd([0.25]), { mean: 0.25, std: 0, n: 1 });
  assert.ok(Number.isNaN(meanStd([Number.NaN]).mean));
});

test('summarizeReports aggregates accuracy, kappa and per-class TPR over seeds', () => {
  const a: GradingReport = { n: 4, accuracy: 0.5, kappa: 0.2, tpr: [1, 0, Number.NaN], confusion: [] };
  const b: GradingReport = { n: 4, accuracy: 0.7, kappa: 0.6, tpr: [0.5, 0.5, Number.NaN], confusion: [] };
  const s = summarizeReports([a, b]);
  assert.equal(s.runs, 2);
  assert.ok(Math.abs(s.accuracy.mean - 0.6) < 1e-12 && Math.abs(s.accuracy.std - Math.sqrt(0.02)) < 1e-12);
  assert.ok(Math.abs(s.kappa.mean - 0.4) < 1e-12 && Math.abs(s.kappa.std - Math.sqrt(0.08)) < 1e-12);
  assert.equal(s.tpr[0].mean, 0.75);
  assert.ok(Math.abs(s.tpr[0].std - Math.sqrt(0.125)) < 1e-12);
  assert.equal(s.tpr[1].mean, 0.25);
  assert.ok(Number.isNaN(s.tpr[2].mean));
  assert.throws(() => summarizeReports([]), /no reports/);
  assert.throws(() => summarizeReports([a, { ...b, tpr: [1] }]), /classes/);
  // NaN becomes null in JSON.
  assert.deepEqual(jsonSafe({ t: [1, Number.NaN] }), { t: [1, null] });
});

test('tables follow the paper: Table III/IV columns per setting in %, Table V one row per grade, Table II labelled FID', () => {
  const r1 = gradingReport([0, 1, 2, 3, 4, 0], [0, 1, 2, 3, 3, 0]);
  const r2 = gradingReport([0, 1, 2, 3, 4, 0], [0, 1, 1, 3, 4, 0]);
  const s = summarizeReports([r1, r2]);
  const t3 = formatTableIII([{ label: 'resnet18', realFake: s, realReal: s, mixedReal: null }]).split('\n');
  assert.equal(t3.length, 3);
  assert.match(t3[0], /Backbone.*Tr-Real\/Te-Fake Acc\..*Tr-Real\/Te-Fake Kappa.*Tr-Real\/Te-Real Acc\..*Tr-Real&Fake\/Te-Real Kappa/);
  const cells = t3[2].split('|').map((c) => c.trim()).filter(Boolean);
  assert.equal(cells.length, 7);
  assert.equal(cells[0], 'resnet18');
  assert.equal(cells[1], `${(100 * s.accuracy.mean).toFixed(2)} ± ${(100 * s.accuracy.std).toFixed(2)}`);
  assert.equal(cells[5], '-');
  const t5 = formatTableV({ label: 'x', realFake: s, realReal: s, mixedReal: s }).split('\n');
  assert.equal(t5.length, 2 + 5);
  assert.match(t5[2 + 4], /^\| 4 /);
  assert.ok(t5[2 + 2].includes(`${s.tpr[2].mean.toFixed(4)} ± ${s.tpr[2].std.toFixed(4)}`));
  const t4 = formatTableIV([{ label: 'DR-GAN w SCA', realFake: s, realReal: null, mixedReal: s }], s).split('\n');
  assert.equal(t4.length, 4);
  assert.match(t4[2], /Baseline/);
  const t2 = formatTableII([{ label: 'w/o AGM', fid: 12.345, swd: null }], 'FID[grader:resnet18@abc]');
  assert.match(t2, /Avg\. FID\[grader:resnet18@abc\]/);
  assert.match(t2, /w\/o AGM\s+\| 12\.35\s+\| -/);
});

test('fake selection: counts per grade from --fake-per-grade or --mix, capped, seeded and repeatable', () => {
  assert.deepEqual(perGradeList([3], 'x', true), [3, 3, 3, 3, 3]);
  assert.throws(() => perGradeList([1, 2], 'fake-per-grade', true), /one value or 5/);
  assert.throws(() => perGradeList([1.5], 'fake-per-grade', true), /non-negative integer/);
  assert.deepEqual(fakeTargets({ mix: [0.5] }, [10, 4, 3, 0, 1], [9, 9, 9, 9, 9]), [5, 2, 2, 0, 1]);
  assert.deepEqual(fakeTargets({}, [1, 1, 1, 1, 1], [7, 0, 2, 1, 1]), [7, 0, 2, 1, 1]);
  assert.throws(() => fakeTargets({ mix: [1], fakePerGrade: [1] }, [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]), /not both/);
  const entries = Array.from({ length: 20 }, (_, i) => ({ id: `f${i}`, grade: i % 5 }) as ManifestEntry);
  const a = pickFake(entries, [2, 0, 4, 9, 1], 7);
  assert.deepEqual([0, 1, 2, 3, 4].map((g) => a.filter((e) => e.grade === g).length), [2, 0, 4, 4, 1]);
  assert.deepEqual(pickFake(entries, [2, 0, 4, 9, 1], 7).map((e) => e.id), a.map((e) => e.id));
  const other = [1, 2, 3, 4, 5].map((s) => pickFake(entries, [2, 2, 2, 2, 2], s).map((e) => e.id).join());
  assert.ok(new Set(other).size > 1, 'different seeds should pick different subsets');
});
