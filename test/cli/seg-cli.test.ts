import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readManifest } from '../../src/data/manifest.js';
import { tinyPhantomSet } from '../train/seg-fixtures.js';
import * as torch from '../../src/torch/index.js';
import { runDrgan } from '../helpers/run-drgan.js';

// One libtorch thread: on a busy machine more threads only contend (the assertions compare
// runs with each other, so they hold at any thread count).
torch.setNumThreads(1);

const run = runDrgan;

test('train seg -> eval seg --json -> train cam -> masks on a tiny phantom set', async (t) => {
  const dir = await tinyPhantomSet(t);
  const seg = join(dir, 'models', 'seg');
  const small = ['--train-split', 'all', '--val-split', 'all', '--epochs', '1', '--batch', '3'];
  let r = await run(['train', 'seg', '--data', dir, '--targets', 'vessel,EX', '--out', seg, '--patch', '32', '--depth', '2', '--width', '4', ...small]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /epoch 1\/1 .*val vessel PR-AUC/);
  r = await run(['eval', 'seg', '--model', join(seg, 'best.safetensors'), '--data', dir, '--json']);
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out);
  assert.deepEqual(Object.keys(report.metrics), ['vessel', 'EX']);
  assert.ok(report.metrics.vessel.rocAuc > 0 && report.metrics.vessel.rocAuc <= 1);
  r = await run(['eval', 'seg', '--model', join(seg, 'best.safetensors'), '--data', dir, '--bins', '256']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /PR-AUC\s+ROC AUC\s+accuracy\s+F1/);
  assert.match(r.out, /^vessel\s+\d\.\d{4}/m);

  r = await run(['train', 'cam', '--data', dir, '--targets', 'LM,PM', '--out', join(dir, 'models', 'cam'), '--size', '64', '--width', '2', ...small]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /accuracy \(validation\): LM \d\.\d{3}, PM \d\.\d{3}/);

  // Remove the annotations of PM and EX from every photo; masks must fill exactly those.
  const { writeManifest } = await import('../../src/data/manifest.js');
  writeManifest(dir, readManifest(dir).map((e) => ({ ...e, known: e.known.filter((c) => c !== 'PM' && c !== 'EX'), masks: { ...e.masks, PM: undefined, EX: undefined } })));
  r = await run(['masks', '--models', join(dir, 'models'), '--data', dir, '--quiet']);
  assert.equal(r.code, 0, r.err);
  const entries = readManifest(dir);
  for (const e of entries) {
    assert.deepEqual(e.predicted, ['EX', 'PM']);
    assert.ok(!e.known.includes('EX'));
    assert.ok(e.masks.EX && e.masks.PM);
  }
  assert.match(r.out, /written: EX \d+, PM \d+/);
  // --device is checked before any model is read: no CUDA here means a usage error naming it.
  if (!torch.cuda.isAvailable()) {
    r = await run(['masks', '--models', join(dir, 'models'), '--data', dir, '--quiet', '--device', 'cuda']);
    assert.equal(r.code, 2);
    assert.match(r.err, /drgan masks: --device cuda/);
  }
});

test('bad targets, splits and data sets without the channel are clear errors', async (t) => {
  const dir = await tinyPhantomSet(t);
  let r = await run(['train', 'seg', '--data', dir, '--targets', 'vessel,drusen', '--out', join(dir, 'o')]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--targets: unknown target "drusen"/);
  r = await run(['train', 'seg', '--data', dir, '--targets', 'vessel', '--out', join(dir, 'o'), '--train-split', 'training']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--train-split: unknown split "training"/);
  const { writeManifest } = await import('../../src/data/manifest.js');
  writeManifest(dir, readManifest(dir).map((e) => ({ ...e, known: [], masks: {} })));
  r = await run(['train', 'seg', '--data', dir, '--targets', 'HE', '--out', join(dir, 'o'), '--train-split', 'all', '--patch', '32']);
  assert.equal(r.code, 1);
  assert.match(r.err, /has an annotated "HE" mask/);
  r = await run(['eval', 'seg', '--model', join(dir, 'missing.safetensors'), '--data', dir]);
  assert.equal(r.code, 1);
  assert.match(r.err, /missing\.safetensors/);
});
