// Condition masks from a real fundus photo: prepared as drgan prepare does, channels predicted
// by segmentation / CAM models as drgan masks does, and `drgan synth --masks photo:FILE`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { readManifest, type ConditionChannel } from '../../src/data/manifest.js';
import { readMask, writePng } from '../../src/data/image-io.js';
import { prepareDataset } from '../../src/data/prepare.js';
import { fillMissingChannels, findCheckpoints, loadMaskModel } from '../../src/masks/fill-dataset.js';
import { renderPhantom } from '../../src/phantom/render.js';
import { saveCheckpoint } from '../../src/train/checkpoint-file.js';
import { buildUNet, SEG_TRAIN_DEFAULTS } from '../../src/train/segmentation-training.js';
import { buildCamClassifier, CAM_TRAIN_DEFAULTS } from '../../src/train/cam-training.js';
import { readSidecar } from '../../src/synth/batch.js';
import { loadEntryCondition } from '../../src/synth/condition-io.js';
import { loadPhotoCondition } from '../../src/synth/photo-condition.js';
import { tinyCheckpoint } from './fixtures.js';
import { runDrgan } from '../helpers/run-drgan.js';

let dir = '';
let photo = '';
let models = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'photo-condition-'));
  const s = renderPhantom(5, 1, 128, { grade: 3 });
  photo = join(dir, 'eye 01.png');
  await writePng(photo, s.rgb, 128, 128, 3);
  // Untrained but valid models: which channels get filled does not depend on the weights.
  torch.manualSeed(0);
  models = join(dir, 'models');
  // The U-Net says it was trained at 96 px: the photo is prepared and segmented there, then shrunk.
  const segConfig = { ...SEG_TRAIN_DEFAULTS, data: '', out: '', size: 96, targets: ['vessel', 'MA', 'HE'] as ConditionChannel[], model: { depth: 2, baseWidth: 2 } };
  mkdirSync(join(models, 'seg'), { recursive: true });
  saveCheckpoint(join(models, 'seg', 'best.safetensors'), { kind: 'segmentation', config: segConfig, progress: {}, model: buildUNet(segConfig) });
  const camConfig = { ...CAM_TRAIN_DEFAULTS, data: '', out: '', size: 64, targets: ['LM'] as ConditionChannel[], model: { depth: 18 as const, baseWidth: 2 } };
  mkdirSync(join(models, 'cam'), { recursive: true });
  saveCheckpoint(join(models, 'cam', 'best.safetensors'), { kind: 'cam', config: camConfig, progress: {}, model: buildCamClassifier(camConfig) });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const leftovers = () => readdirSync(tmpdir()).filter((n) => n.startsWith('drgan-photo-')).length;

test('a photo\'s masks: the ones drgan prepare + drgan masks make at the models\' training size, brought to the generator\'s; the temporary set is removed', async () => {
  const before = leftovers();
  const p = await loadPhotoCondition(photo, { models: [models], size: 64 });
  assert.equal(leftovers(), before);
  assert.equal(p.condition.size, 64);
  assert.deepEqual([...p.predicted].sort(), ['HE', 'LM', 'MA', 'vessel']);
  assert.deepEqual(p.missing, ['optic_disc', 'EX', 'SE', 'PM']);
  assert.match(p.condition.source, /^photo:.*eye 01\.png \(masks from cam \+ segmentation: /);
  assert.ok(p.condition.fov && p.condition.fov.some((v) => v > 0) && p.condition.fov.some((v) => v === 0), 'a field of view with a border');

  // The same two steps by hand, on a prepared set of the photo.
  const input = join(dir, 'by-hand-in'), prepared = join(dir, 'by-hand');
  mkdirSync(input);
  writeFileSync(join(input, 'labels.csv'), `image,id\n../eye 01.png,photo\n`);
  await prepareDataset({ format: 'folder', input, output: prepared, size: 96, onError: 'fail' });
  await fillMissingChannels({ data: prepared, models: findCheckpoints([models]).map((m) => loadMaskModel(m)) });
  const [entry] = readManifest(prepared);
  assert.equal((await readMask(join(prepared, entry.masks.vessel!))).width, 96);
  const want = await loadEntryCondition(prepared, entry, 64);
  for (const ch of ['vessel', 'MA', 'HE', 'LM'] as const) assert.deepEqual(p.condition.channels[ch], want.channels[ch], ch);
  assert.deepEqual(p.condition.fov, want.fov);
});

test('bad photos and missing models are named', async () => {
  await assert.rejects(loadPhotoCondition(join(dir, 'nope.jpg'), { models: [models], size: 64 }), /nope\.jpg: photo not found/);
  await assert.rejects(loadPhotoCondition(photo, { models: [], size: 64 }), /needs segmentation \/ CAM models/);
  await assert.rejects(loadPhotoCondition(photo, { models: [join(dir, 'no-models')], size: 64 }), /no-models: no such model file or folder/);
  const text = join(dir, 'notes.png');
  writeFileSync(text, 'not an image');
  const before = leftovers();
  await assert.rejects(loadPhotoCondition(text, { models: [models], size: 64 }), /notes\.png: could not be prepared as a fundus photo/);
  assert.equal(leftovers(), before, 'the temporary set is removed after a failure too');
});

test('drgan synth --masks photo:FILE --seg-models DIR makes images from a photo; the flags go together', async () => {
  const ckpt = tinyCheckpoint(dir, 2).path;
  const out = join(dir, 'synth');
  let r = await runDrgan(['synth', '--model', ckpt, '--out', out, '--masks', `photo:${photo}`, '--seg-models', models, '--grade', '3', '--n', '2', '--quiet']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /photo: masks predicted for vessel, MA, HE, LM; no model gives optic_disc, EX, SE, PM \(left empty\)/);
  const entries = readManifest(out);
  assert.equal(entries.length, 2);
  for (const e of entries) {
    assert.equal(e.grade, 3);
    assert.match(readSidecar(join(out, 'images', `${e.id}.json`)).conditionSource, /^photo:/);
  }
  r = await runDrgan(['synth', '--model', ckpt, '--out', join(dir, 'x'), '--masks', `photo:${photo}`]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--masks photo:FILE needs --seg-models/);
  r = await runDrgan(['synth', '--model', ckpt, '--out', join(dir, 'x'), '--masks', photo, '--seg-models', models]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--seg-models is only used with --masks photo:FILE/);
});
