// The DR-GAN configuration: presets, overrides, and errors that name the bad field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG, PRESETS, conditionChannels, makeConfig } from '../../src/gan/config.js';

test('the paper preset is the default config with the method.md numbers', () => {
  const c = makeConfig('paper');
  assert.deepEqual(c, DEFAULT_CONFIG);
  assert.equal(c.resolution, 1280);
  assert.equal(c.generator.ngf, 64);
  assert.equal(c.discriminator.ndf, 64);
  assert.equal(c.train.batchSize, 16);
  assert.deepEqual(c.attention.reductions, [8, 16, 32]);
  assert.equal(c.attention.keyValuePool, 1, 'key/value pooling is off by default');
  assert.deepEqual([c.loss.lambdaFeatureMatching, c.loss.lambdaPerceptual, c.loss.lambdaClassification], [10, 10, 1]);
  assert.deepEqual([c.generator.norm, c.loss.adversarial, c.loss.featureMatching, c.attention.channel], ['batch', 'bce', 'l1', 'plain']);
});

test('CPU presets change only sizes and batch', () => {
  const a = makeConfig('cpu128'), b = makeConfig('cpu256');
  assert.deepEqual([a.resolution, a.generator.ngf, a.discriminator.ndf, a.train.batchSize], [128, 32, 32, 4]);
  assert.deepEqual([b.resolution, b.generator.ngf, b.discriminator.ndf, b.train.batchSize], [256, 32, 32, 4]);
  assert.equal(a.generator.residualBlocks, 7);
  assert.ok(Object.keys(PRESETS).includes('tiny'));
});

test('overrides merge at any depth and return a fresh object', () => {
  const c = makeConfig('cpu128', { generator: { norm: 'instance' }, loss: { adversarial: 'hinge' }, ablation: { noSCA: true } });
  assert.equal(c.generator.norm, 'instance');
  assert.equal(c.generator.ngf, 32, 'untouched sibling fields keep the preset value');
  assert.equal(c.loss.adversarial, 'hinge');
  assert.equal(c.ablation.noSCA, true);
  c.generator.ngf = 1;
  assert.equal(makeConfig('cpu128').generator.ngf, 32, 'presets are not mutated through a returned config');
});

test('bad values and unknown fields are errors naming the field', () => {
  assert.throws(() => makeConfig('paper', { generator: { norm: 'group' as never } }), /generator\.norm.*batch\|instance/);
  assert.throws(() => makeConfig('paper', { resolution: 100 }), /"resolution" must be a multiple of 32/);
  assert.throws(() => makeConfig('paper', { generator: { ngfx: 3 } as never }), /unknown field "generator\.ngfx"/);
  assert.throws(() => makeConfig('paper', { attention: { reductions: [8, 7, 32] } }), /attention\.reductions\[1\]/);
  assert.throws(() => makeConfig('nope' as never), /unknown preset "nope"/);
  assert.throws(() => makeConfig('paper', { loss: { lambdaPerceptual: -1 } }), /loss\.lambdaPerceptual/);
});

test('noLesionMasks keeps only vessel and optic disc as condition channels', () => {
  assert.deepEqual(conditionChannels(makeConfig('tiny')), ['vessel', 'optic_disc', 'MA', 'HE', 'EX', 'SE', 'LM', 'PM']);
  assert.deepEqual(conditionChannels(makeConfig('tiny', { ablation: { noLesionMasks: true } })), ['vessel', 'optic_disc']);
});
