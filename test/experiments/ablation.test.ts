// The ablation on the tiny preset: each variant trains for exactly the step budget with its
// switch on, synthesises the asked number per grade, gets an SWD (and no FID without an
// extractor), and results.json / tables.md are written in Table II's layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../../src/data/manifest.js';
import { budgetEpochs, parseVariants, runAblation, variantConfig } from '../../src/experiments/ablation.js';
import { makeConfig } from '../../src/gan/config.js';
import { ganPhantomSet, poolExtractor, tempDir, writeGradingSpace } from '../train/gan-fixtures.js';

test('variants are parsed, switched and budgeted', () => {
  assert.deepEqual(parseVariants('full, noAGM'), ['full', 'noAGM']);
  assert.throws(() => parseVariants('full,noFoo'), /unknown variant "noFoo"/);
  assert.throws(() => parseVariants('noAGM,noAGM'), /twice/);
  assert.equal(variantConfig('tiny', 'noSCA').ablation.noSCA, true);
  assert.deepEqual(variantConfig('tiny', 'full').ablation, makeConfig('tiny').ablation);
  // Paper split 10 + 10 epochs: a 25-step budget at 3 steps per epoch is 9 epochs, 4 + 5 (rounded share).
  const e = budgetEpochs(makeConfig('tiny'), 25, 3);
  assert.equal(e.stage1Epochs + e.stage2Epochs, 9);
  assert.ok(e.stage1Epochs >= 4 && e.stage1Epochs <= 5);
  assert.deepEqual(budgetEpochs(makeConfig('tiny'), 2, 6), { stage1Epochs: 1, stage2Epochs: 0 });
});

test('two tiny variants train for the same budget, synthesise per grade and get SWD in a Table II', async (t) => {
  const data = await ganPhantomSet(t);
  const out = tempDir(t);
  const space = join(out, 'space.safetensors');
  writeGradingSpace(space, 16);
  const t0 = Date.now();
  const r = await runAblation({
    data, out, variants: ['full', 'noAGM'], preset: 'tiny', budgetSteps: 2, perGrade: 2, seed: 1,
    gradingSpace: space, perceptualExtractor: poolExtractor, extractor: null, augment: null,
  });
  console.log(`ablation smoke (2 variants x 2 steps, tiny): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(r.variants.length, 2);
  for (const v of r.variants) {
    assert.equal(v.steps, 2);
    const synth = readManifest(v.synthDir);
    assert.deepEqual([0, 1, 2, 3, 4].map((g) => synth.filter((e) => e.grade === g).length), [2, 2, 2, 2, 2]);
    assert.ok(Number.isFinite(v.fidelity.swdAverage) && v.fidelity.swdAverage >= 0);
    assert.equal(v.fidelity.fidAverage, null);
  }
  assert.equal(r.variants[1].config.ablation.noAGM, true);
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(json.experiment, 'ablation');
  const tables = readFileSync(join(out, 'tables.md'), 'utf8');
  assert.match(tables, /DR-GAN w SCA/);
  assert.match(tables, /w\/o AGM/);
  assert.match(tables, /Avg\. FID \(not computed: no extractor\)/);
});
