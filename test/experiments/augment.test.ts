// The augmentation experiment end to end on tiny phantom sets (a second phantom set stands in
// for the synthetic one): results.json holds the documented keys with sane values, the
// summary is the mean/std of the per-seed reports, tables and plots are written, and the
// Tr-Real graders are reused when asked to run again with the same settings.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { generatePhantomSet } from '../../src/phantom/dataset.js';
import { readManifest } from '../../src/data/manifest.js';
import { runAugmentExperiment, type AugmentOptions } from '../../src/experiments/augment.js';
import { meanStd } from '../../src/experiments/summary.js';

let root = '';
let real = '';
let fake = '';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'exp-augment-'));
  real = join(root, 'real');
  fake = join(root, 'fake');
  await generatePhantomSet({ out: real, n: 48, size: 64, seed: 11, gradeFrequencies: [4, 1, 2, 1, 1], photographic: false });
  await generatePhantomSet({ out: fake, n: 20, size: 64, seed: 12, gradeFrequencies: [1, 1, 1, 1, 1], photographic: false });
});
after(() => rmSync(root, { recursive: true, force: true }));

function options(out: string, o: Partial<AugmentOptions> = {}): AugmentOptions {
  return {
    real, fake, out, seeds: [0, 1], fakePerGrade: [2],
    grader: { backbone: 'resnet18', inputSize: 32, widthDivisor: 16 },
    training: { epochs: 1, batchSize: 8, lr: 3e-3, augment: false },
    ...o,
  };
}

test('augment runs end to end and writes results.json with the documented keys and sane values', async () => {
  const out = join(root, 'run');
  const t0 = Date.now();
  const r = await runAugmentExperiment(options(out));
  const seconds = (Date.now() - t0) / 1000;
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  for (const k of ['experiment', 'created', 'label', 'real', 'fake', 'grader', 'training', 'selection', 'seeds', 'runs', 'summary', 'gain', 'warnings', 'seconds']) assert.ok(k in json, `results.json lacks "${k}"`);
  assert.equal(json.experiment, 'augment');
  assert.deepEqual(json.seeds, [0, 1]);
  assert.equal(json.runs.length, 2);
  const testCount = readManifest(real).filter((e) => e.split === 'test').length;
  for (const run of r.runs) {
    for (const rep of [run.realReal, run.mixedReal, run.realFake]) {
      assert.ok(rep.kappa >= -1 && rep.kappa <= 1, `kappa ${rep.kappa}`);
      assert.ok(rep.accuracy >= 0 && rep.accuracy <= 1);
      assert.equal(rep.tpr.length, 5);
      for (const t of rep.tpr) assert.ok(Number.isNaN(t) || (t >= 0 && t <= 1));
    }
    assert.equal(run.realReal.n, testCount);
    assert.equal(run.realFake.n, 20, 'Te-Fake grades every fake image');
    // Two per grade were asked for; a grade with fewer fake images gives what it has.
    const available = json.fake.counts as number[];
    assert.deepEqual(run.fakeUsed, available.map((a: number) => Math.min(2, a)));
    // The mixed view holds the real entries plus exactly the chosen fake ones.
    const mixed = readManifest(join(out, 'views', `mixed-seed${run.seed}`));
    assert.equal(mixed.filter((e) => e.id.startsWith('fake:')).length, run.fakeUsed.reduce((a, b) => a + b, 0));
    assert.ok(mixed.filter((e) => e.id.startsWith('fake:')).every((e) => e.split === 'train'));
  }
  // The summary is the mean and sample std of the per-seed numbers.
  const k = meanStd(r.runs.map((x) => x.mixedReal.kappa));
  assert.equal(r.summary.mixedReal.kappa.mean, k.mean);
  assert.equal(r.summary.mixedReal.kappa.std, k.std);
  assert.ok(Math.abs(r.gain.kappa - (r.summary.mixedReal.kappa.mean - r.summary.realReal.kappa.mean)) < 1e-12);
  // TPR of a grade absent from the test split is null in JSON, otherwise a number in [0, 1].
  for (const t of json.summary.realReal.tpr) assert.ok(t.mean === null || (t.mean >= 0 && t.mean <= 1));
  const tables = readFileSync(join(out, 'tables.md'), 'utf8');
  assert.match(tables, /Table III layout/);
  assert.match(tables, /Table V layout/);
  for (const p of ['accuracy-kappa.png', 'tpr-per-grade.png']) {
    const meta = await sharp(join(out, 'plots', p)).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 640);
    assert.equal(meta.height, 360);
  }
  console.log(`augment smoke (2 seeds x 2 graders, 1 epoch, 32 px): ${seconds.toFixed(1)} s`);
});

test('a second run with the same settings reuses the Tr-Real graders (shared baseline)', async () => {
  const base = join(root, 'shared-baseline');
  const a = await runAugmentExperiment(options(join(root, 'a'), { seeds: [3], baselineDir: base, plots: false }));
  const b = await runAugmentExperiment(options(join(root, 'b'), { seeds: [3], baselineDir: base, plots: false, fakePerGrade: [1] }));
  assert.ok(a.runs[0].seconds.real > 0);
  assert.equal(b.runs[0].seconds.real, 0, 'the baseline grader should be reused');
  assert.deepEqual(b.runs[0].realReal, a.runs[0].realReal);
  assert.ok(!existsSync(join(root, 'b', 'runs', 'seed3', 'tr-real')));
});

test('--test scores Te-Real on a separate set (all of it, or one split) with the same graders', async () => {
  const base = join(root, 'shared-baseline');
  const all = await runAugmentExperiment(options(join(root, 'sep-all'), { seeds: [3], baselineDir: base, plots: false, test: fake }));
  assert.equal(all.runs[0].realReal.n, 20, 'every graded image of the separate set is scored');
  assert.equal(all.runs[0].mixedReal.n, 20);
  assert.equal(all.test.split, 'all');
  assert.deepEqual(all.test.counts, readManifest(fake).reduce((c, e) => (c[e.grade!]++, c), [0, 0, 0, 0, 0]));
  const val = await runAugmentExperiment(options(join(root, 'sep-val'), { seeds: [3], baselineDir: base, plots: false, test: real, testSplit: 'val' }));
  assert.equal(val.runs[0].realReal.n, readManifest(real).filter((e) => e.split === 'val').length);
  assert.match(readFileSync(join(root, 'sep-all', 'tables.md'), 'utf8'), /Te-Real: .*fake/);
  await assert.rejects(runAugmentExperiment(options(join(root, 'bad-test'), { seeds: [3], baselineDir: base, test: join(root, 'nope') })), /manifest\.jsonl/);
});

test('bad input is refused with the field named', async () => {
  await assert.rejects(runAugmentExperiment(options(join(root, 'bad'), { fakePerGrade: [1, 2] })), /fake-per-grade: give one value or 5/);
  await assert.rejects(runAugmentExperiment(options(join(root, 'bad'), { seeds: [] })), /at least one seed/);
  await assert.rejects(runAugmentExperiment(options(join(root, 'bad'), { fake: join(root, 'nope') })), /manifest\.jsonl/);
});
