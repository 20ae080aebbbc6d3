// The ablation on the tiny preset: each variant trains for exactly the step budget with its
// switch on, synthesises the asked number per grade through src/synth's batch writer from the
// SAME conditions and seeds as every other variant, gets an SWD (and no FID without an
// extractor), and results.json / tables.md are written in Table II's layout. A second run
// reuses finished variants untouched; --grader and --lesions reach training and synthesis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { readManifest } from '../../src/data/manifest.js';
import { budgetEpochs, parseVariants, runAblation, variantConfig } from '../../src/experiments/ablation.js';
import { makeConfig } from '../../src/gan/config.js';
import type { Sidecar } from '../../src/synth/batch.js';
import { LesionModel } from '../../src/synth/lesion-sampler.js';
import { ganPhantomSet, poolExtractor, saveTinyGrader, tempDir, writeGradingSpace } from '../train/gan-fixtures.js';
import { runDrgan } from '../helpers/run-drgan.js';

torch.setNumThreads(1);

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const sidecar = (synthDir: string, id: string) => JSON.parse(readFileSync(join(synthDir, 'images', `${id}.json`), 'utf8')) as Sidecar;

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

test('two tiny variants: same budget, the same real conditions of the target grade, SWD in a Table II; a rerun reuses them', async (t) => {
  const data = await ganPhantomSet(t);
  const out = tempDir(t);
  const space = join(out, 'space.safetensors');
  writeGradingSpace(space, 16);
  const manifestBefore = readFileSync(join(data, 'manifest.jsonl'), 'utf8');
  const options = {
    data, out, variants: ['full', 'noAGM'] as const, preset: 'tiny' as const, budgetSteps: 2, perGrade: 2, seed: 1,
    gradingSpace: space, perceptualExtractor: poolExtractor, extractor: null, augment: null,
  };
  const t0 = Date.now();
  const r = await runAblation({ ...options, variants: [...options.variants] });
  console.log(`ablation smoke (2 variants x 2 steps, tiny): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(r.variants.length, 2);
  const trainGrades = new Map(readManifest(data).filter((e) => e.split === 'train').map((e) => [`dataset:${data}#${e.id}`, e.grade]));
  for (const v of r.variants) {
    assert.equal(v.steps, 2);
    assert.equal(v.perceptual?.kind, 'given');
    const synth = readManifest(v.synthDir);
    assert.deepEqual([0, 1, 2, 3, 4].map((g) => synth.filter((e) => e.grade === g).length), [2, 2, 2, 2, 2]);
    for (const e of synth) {
      // The batch writer's sidecar: a real training image's condition, of the target grade where one exists.
      const side = sidecar(v.synthDir, e.id);
      assert.equal(side.gradeSource, 'given');
      assert.ok(trainGrades.has(side.conditionSource), `${e.id}: condition ${side.conditionSource} is no training image`);
      if ([...trainGrades.values()].includes(e.grade)) assert.equal(trainGrades.get(side.conditionSource), e.grade, `${e.id}: condition of another grade`);
    }
    assert.ok(Number.isFinite(v.fidelity.swdAverage) && v.fidelity.swdAverage >= 0);
    assert.equal(v.fidelity.fidAverage, null);
  }
  // Same ids, conditions, seeds and written masks for both variants; different models, different images.
  const [a, b] = r.variants.map((v) => readManifest(v.synthDir));
  assert.deepEqual(a.map((e) => e.id), b.map((e) => e.id));
  let differ = 0;
  for (const e of a) {
    const sa = sidecar(r.variants[0].synthDir, e.id), sb = sidecar(r.variants[1].synthDir, e.id);
    assert.deepEqual([sa.conditionSource, sa.seed, sa.channels], [sb.conditionSource, sb.seed, sb.channels]);
    assert.notEqual(sa.modelId, sb.modelId);
    for (const ch of sa.channels) assert.equal(sha(join(r.variants[0].synthDir, e.masks[ch]!)), sha(join(r.variants[1].synthDir, e.masks[ch]!)));
    if (sha(join(r.variants[0].synthDir, e.image)) !== sha(join(r.variants[1].synthDir, e.image))) differ++;
  }
  assert.ok(differ > 0, 'the two variants made identical images');
  assert.equal(readFileSync(join(data, 'manifest.jsonl'), 'utf8'), manifestBefore, 'the real data set was changed');
  assert.equal(r.variants[1].config.ablation.noAGM, true);
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(json.experiment, 'ablation');
  assert.match(json.conditions, /^condition maps of real training images of the target grade/);
  const tables = readFileSync(join(out, 'tables.md'), 'utf8');
  assert.match(tables, /DR-GAN w SCA/);
  assert.match(tables, /w\/o AGM/);
  assert.match(tables, /Avg\. FID \(not computed: no extractor\)/);
  assert.match(tables, /Conditions of every variant: condition maps of real training images/);
  assert.doesNotMatch(tables, /in place of VGG-19/);

  // Run again: the finished variants are neither trained further nor re-synthesised.
  const checkpoint = join(out, 'full', 'gan', 'latest.safetensors');
  const before = [checkpoint, join(r.variants[0].synthDir, a[0].image)].map(sha);
  const lines: string[] = [];
  const again = await runAblation({ ...options, variants: ['full'], log: (l) => lines.push(l) });
  assert.match(lines.join('\n'), /\[full\] already trained for 2 steps by an earlier run/);
  assert.doesNotMatch(lines.join('\n'), /\[full\] training/);
  assert.deepEqual([checkpoint, join(r.variants[0].synthDir, a[0].image)].map(sha), before);
  assert.equal(again.variants[0].trainSeconds, null);
  assert.equal(again.variants[0].fidelity.swdAverage, r.variants[0].fidelity.swdAverage);
});

test('experiment ablation --grader --lesions: the grader backbone is the perceptual network (loudly), lesions are sampled per grade', async (t) => {
  const data = await ganPhantomSet(t);
  const out = tempDir(t);
  const graderPath = saveTinyGrader(join(out, 'grader.safetensors'));
  const lesionPath = join(out, 'lesions.json');
  const lesionModel = await LesionModel.fit(data);
  lesionModel.save(lesionPath);

  const run = join(out, 'ablation');
  const r = await runDrgan(['experiment', 'ablation', '--data', data, '--out', run, '--variants', 'noSCA', '--preset', 'tiny',
    '--budget-steps', '1', '--per-grade', '2', '--grader', graderPath, '--lesions', lesionPath, '--no-augment-experiment']);
  assert.equal(r.code, 0, r.err);
  // The trainer's warning reaches the user whole, banner included.
  assert.match(r.err, /!{78}\n\s*WARNING: no VGG-19 weights: the perceptual loss uses "trained grader's resnet18 backbone/);
  const results = JSON.parse(readFileSync(join(run, 'results.json'), 'utf8'));
  const v = results.variants[0];
  assert.deepEqual([v.perceptual.kind, v.perceptual.file], ['grader', graderPath]);
  assert.match(results.conditions, /^lesion layouts sampled for the target grade/);
  assert.match(readFileSync(join(run, 'tables.md'), 'utf8'), /Perceptual loss of noSCA: trained grader's resnet18 backbone .* in place of VGG-19/);
  const synth = readManifest(v.synthDir);
  assert.deepEqual(synth.map((e) => e.grade), lesionModel.grades.flatMap((g) => [g, g]));
  for (const e of synth) assert.match(sidecar(v.synthDir, e.id).conditionSource, new RegExp(`^dataset:.*#.* \\+ lesions\\(grade ${e.grade}, seed \\d+\\)$`));
});

test('a variant that keeps the perceptual loss with no network for it fails before anything trains', async (t) => {
  const data = await ganPhantomSet(t);
  const out = tempDir(t);
  const base = { data, out, preset: 'tiny' as const, budgetSteps: 1, perGrade: 1, extractor: null, augment: null };
  await assert.rejects(runAblation({ ...base, variants: ['noPerceptual', 'full'] }), /ablation: full keeps the perceptual loss and no network is given for it: pass VGG-19 weights \(--vgg FILE\), or a trained grader .*\(--grader FILE\)/);
  assert.ok(!existsSync(join(out, 'noPerceptual')), 'a variant trained before the error');
  await assert.rejects(runAblation({ ...base, variants: ['full'], grader: join(out, 'none.safetensors') }), /none\.safetensors: grader for the perceptual loss not found \(--grader\)/);
});
