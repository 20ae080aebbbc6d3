// The demo's DR-GAN configuration: its CPU options reach the config (the presets themselves
// keep the paper's layers), and the step budget splits into whole stage epochs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfig } from '../../src/gan/config.js';
import { DEMO_PRESETS, demoGanConfig, stageEpochs } from '../../src/demo/settings.js';

test("the full demo turns the CPU options on in its config; the cpu128 preset it starts from keeps them off", () => {
  const s = DEMO_PRESETS.full;
  const cfg = demoGanConfig(s, 128, 82);
  assert.equal(cfg.resolution, s.phantom.size);
  assert.deepEqual([cfg.generator.halfScaleFusion, cfg.generator.upsampling, cfg.loss.adversarialTarget], [s.gan.halfScaleFusion, s.gan.upsampling, s.gan.adversarialTarget]);
  assert.deepEqual([cfg.generator.halfScaleFusion, cfg.generator.upsampling, cfg.loss.adversarialTarget], [true, 'resize', 'patch']);
  assert.equal(cfg.ablation.noPerceptual, s.gan.perceptual === 'off');
  assert.deepEqual([cfg.discriminator.classPooling, cfg.discriminator.classInput], ['preNorm', 'imageOnly']);
  const preset = makeConfig(s.gan.preset);
  assert.deepEqual([preset.generator.halfScaleFusion, preset.generator.upsampling, preset.loss.adversarialTarget], [false, 'transposed', 'image']);
  assert.deepEqual([preset.discriminator.classPooling, preset.discriminator.classInput], ['normalized', 'conditionAndImage']);
  assert.equal(cfg.train.stage1Epochs + cfg.train.stage2Epochs, Math.round(s.gan.steps / 82));
});

test('stageEpochs: about `steps` in whole epochs, the share for stage 2, each stage at least one epoch', () => {
  assert.deepEqual(stageEpochs(820, 82, 0.5), [5, 5]);
  assert.deepEqual(stageEpochs(820, 82, 0.2), [8, 2]);
  assert.deepEqual(stageEpochs(12, 10, 0.5), [1, 1]);
  assert.deepEqual(stageEpochs(1000, 82, 0), [11, 1]);
});
