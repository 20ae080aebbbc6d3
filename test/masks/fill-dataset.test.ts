import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { readManifest, writeManifest, type ConditionChannel } from '../../src/data/manifest.js';
import { readMask } from '../../src/data/image-io.js';
import { findCheckpoints, fillMissingChannels, loadMaskModel } from '../../src/masks/fill-dataset.js';
import { saveCheckpoint } from '../../src/train/checkpoint-file.js';
import { buildUNet, SEG_TRAIN_DEFAULTS } from '../../src/train/segmentation-training.js';
import { buildCamClassifier, CAM_TRAIN_DEFAULTS } from '../../src/train/cam-training.js';
import { tinyPhantomSet } from '../train/seg-fixtures.js';

/** Untrained but valid checkpoints: the command's bookkeeping does not depend on the weights. */
function writeModels(root: string): void {
  torch.manualSeed(0);
  const segConfig = { ...SEG_TRAIN_DEFAULTS, data: '', out: '', size: 64, targets: ['vessel', 'MA', 'HE'] as ConditionChannel[], model: { depth: 2, baseWidth: 2 } };
  const seg = buildUNet(segConfig);
  mkdirSync(join(root, 'seg'), { recursive: true });
  saveCheckpoint(join(root, 'seg', 'best.safetensors'), { kind: 'segmentation', config: segConfig, progress: {}, model: seg });
  const camConfig = { ...CAM_TRAIN_DEFAULTS, data: '', out: '', size: 64, targets: ['LM'] as ConditionChannel[], model: { depth: 18 as const, baseWidth: 2 } };
  const cam = buildCamClassifier(camConfig);
  mkdirSync(join(root, 'cam'), { recursive: true });
  saveCheckpoint(join(root, 'cam', 'best.safetensors'), { kind: 'cam', config: camConfig, progress: {}, model: cam });
  seg.dispose();
  cam.dispose();
}

test('fills only channels that are not annotated, records them as predicted, and keeps annotated files', async (t) => {
  const dir = await tinyPhantomSet(t);
  // Make it a photos-only set, except the first photo whose vessels stay annotated.
  const entries = readManifest(dir).map((e, i) => i === 0
    ? { ...e, known: ['vessel' as const], masks: { vessel: e.masks.vessel } }
    : { ...e, known: [], masks: {} });
  writeManifest(dir, entries);
  const annotated = readFileSync(join(dir, entries[0].masks.vessel!));
  const annotatedTime = statSync(join(dir, entries[0].masks.vessel!)).mtimeMs;
  const models = join(dir, 'models');
  writeModels(models);
  const found = findCheckpoints([models]);
  assert.equal(found.length, 2);
  const report = await fillMissingChannels({ data: dir, models: found.map((p) => loadMaskModel(p)) });
  const n = entries.length;
  assert.deepEqual(report.written, { vessel: n - 1, MA: n, HE: n, LM: n });
  assert.deepEqual(report.missing, { optic_disc: n, EX: n, SE: n, PM: n });

  const after = readManifest(dir);
  assert.deepEqual(after[0].known, ['vessel']);
  assert.deepEqual(after[0].predicted, ['MA', 'HE', 'LM']);
  assert.deepEqual(after[1].predicted, ['vessel', 'MA', 'HE', 'LM']);
  assert.deepEqual(readFileSync(join(dir, after[0].masks.vessel!)), annotated);
  assert.equal(statSync(join(dir, after[0].masks.vessel!)).mtimeMs, annotatedTime);
  // Written masks: binary for the U-Net, 0 outside the FOV.
  const ma = await readMask(join(dir, after[1].masks.MA!));
  const fov = await readMask(join(dir, after[1].fov));
  assert.equal(ma.width, 64);
  for (let i = 0; i < ma.data.length; i++) {
    assert.ok(ma.data[i] === 0 || ma.data[i] === 255);
    if (!fov.data[i]) assert.equal(ma.data[i], 0);
  }
  assert.match(String((after[1].meta?.maskModels as Record<string, string>).LM), /cam/);

  // A second run has nothing left to do; --redo predicts the predicted channels again.
  const again = await fillMissingChannels({ data: dir, models: found.map((p) => loadMaskModel(p)) });
  assert.deepEqual(again.written, {});
  const redo = await fillMissingChannels({ data: dir, models: found.map((p) => loadMaskModel(p)), redo: true });
  assert.equal(redo.written.vessel, n - 1);
});

test('a folder without checkpoints and a checkpoint of another kind are clear errors', async (t) => {
  const dir = await tinyPhantomSet(t);
  assert.throws(() => findCheckpoints([join(dir, 'images')]), /no model checkpoints/);
  assert.throws(() => findCheckpoints([join(dir, 'nope')]), /no such model file or folder/);
  const m = new torch.nn.Linear(2, 2);
  saveCheckpoint(join(dir, 'other.safetensors'), { kind: 'grader', config: {}, progress: {}, model: m });
  assert.throws(() => loadMaskModel(join(dir, 'other.safetensors')), /a "grader" checkpoint; expected one from drgan train seg or drgan train cam/);
  m.dispose();
});
