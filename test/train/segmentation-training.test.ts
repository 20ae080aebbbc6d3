import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { DataLoader } from '../../src/data/loader.js';
import { readManifest, writeManifest } from '../../src/data/manifest.js';
import {
  cropPatches, loadSegmentationModel, parseTargets, predictWhole, requireAnnotated, segmentationLoss, targetsOfBatch, trainSegmentation, buildUNet,
} from '../../src/train/segmentation-training.js';
import { loadCheckpoint, disposeCheckpoint } from '../../src/train/checkpoint-file.js';
import { mulberry32 } from '../../src/data/rng.js';
import { tinyPhantomSet } from './seg-fixtures.js';

// One libtorch thread: on a busy machine more threads only contend (the assertions compare
// runs with each other, so they hold at any thread count).
torch.setNumThreads(1);

const tiny = { depth: 2, baseWidth: 4, norm: 'batch' as const, up: 'bilinear' as const };

test('a few Adam steps on a tiny phantom batch reduce the Dice + BCE loss', async (t) => {
  const dir = await tinyPhantomSet(t);
  const loader = new DataLoader({ dir, split: 'all', batchSize: 4, shuffle: false });
  const b = (await loader.epoch(0).next()).value!;
  const a = targetsOfBatch(b, ['vessel', 'optic_disc']);
  torch.manualSeed(0);
  const model = buildUNet({ model: tiny, targets: ['vessel', 'optic_disc'] });
  const opt = new torch.optim.Adam(model.parameters(), { lr: 1e-2 });
  const losses: number[] = [];
  for (let i = 0; i < 12; i++) {
    losses.push(torch.tidy(() => {
      const l = segmentationLoss(model.forward(torch.tensor(a.images, [4, 3, 64, 64])), torch.tensor(a.labels, [4, 2, 64, 64]),
        torch.tensor(a.fov, [4, 1, 64, 64]), torch.tensor(a.known, [4, 2]), { diceWeight: 1, bceWeight: 1 });
      opt.zeroGrad();
      l.backward();
      opt.step();
      return l.item();
    }));
  }
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  assert.ok(mean(losses.slice(-3)) < mean(losses.slice(0, 3)) * 0.9, `loss ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  model.dispose();
});

test('the loss ignores pixels outside the FOV and channels that are not annotated', () => {
  torch.manualSeed(1);
  torch.tidy(() => {
    const logits = torch.randn([2, 2, 8, 8]);
    const labels = torch.rand([2, 2, 8, 8]).gt(0.5).float();
    const fov = torch.zeros([2, 1, 8, 8]);
    fov.narrow(2, 2, 4).fill_(1);
    const known = torch.tensor([[1, 0], [1, 1]]);
    const o = { diceWeight: 1, bceWeight: 1 };
    const base = segmentationLoss(logits, labels, fov, known, o).item();
    // Change labels outside the FOV, and everywhere in the unannotated channel of sample 0.
    const labels2 = labels.clone();
    labels2.narrow(2, 0, 2).fill_(1);
    labels2.narrow(0, 0, 1).narrow(1, 1, 1).fill_(1);
    assert.equal(segmentationLoss(logits, labels2, fov, known, o).item(), base);
    // A change inside the FOV of an annotated channel does change it.
    const labels3 = labels.clone();
    labels3.narrow(2, 3, 1).fill_(1);
    assert.notEqual(segmentationLoss(logits, labels3, fov, known, o).item(), base);
  });
});

test('patches are seeded crops of the same place in photo, labels and FOV', async (t) => {
  const dir = await tinyPhantomSet(t);
  const b = (await new DataLoader({ dir, split: 'all', batchSize: 2, shuffle: false }).epoch(0).next()).value!;
  const a = targetsOfBatch(b, ['vessel']);
  const p1 = cropPatches(a, 16, 3, 0.5, mulberry32(5));
  const p2 = cropPatches(a, 16, 3, 0.5, mulberry32(5));
  assert.deepEqual(p1.images, p2.images);
  assert.equal(p1.n, 6);
  // Find the crop offset of patch 0 in image 0 by matching the photo, then check the label.
  let found = false;
  for (let y = 0; y <= 48 && !found; y++) {
    for (let x = 0; x <= 48 && !found; x++) {
      let same = true;
      for (let r = 0; r < 16 && same; r++) for (let c = 0; c < 16 && same; c++) same = a.images[(y + r) * 64 + x + c] === p1.images[r * 16 + c];
      if (!same) continue;
      found = true;
      for (let r = 0; r < 16; r++) for (let c = 0; c < 16; c++) {
        assert.equal(p1.labels[r * 16 + c], a.labels[(y + r) * 64 + x + c]);
        assert.equal(p1.fov[r * 16 + c], a.fov[(y + r) * 64 + x + c]);
      }
    }
  }
  assert.ok(found);
});

test('resume continues exactly: 2 epochs equal 1 epoch + resume to 2; reloaded best predicts identically', async (t) => {
  const dir = await tinyPhantomSet(t);
  const base = { data: dir, targets: parseTargets(['vessel', 'HE']), trainSplit: 'all' as const, valSplit: 'all' as const, patch: 32, patchesPerImage: 2, imagesPerStep: 6, valEvery: 2, model: tiny, seed: 3 };
  const full = await trainSegmentation({ ...base, out: join(dir, 'full'), epochs: 2 });
  await trainSegmentation({ ...base, out: join(dir, 'part'), epochs: 1 });
  await assert.rejects(trainSegmentation({ ...base, out: join(dir, 'part'), epochs: 2 }), /exists: pass resume/);
  const resumed = await trainSegmentation({ ...base, out: join(dir, 'part'), epochs: 2 }, { resume: true });
  assert.deepEqual(resumed.progress.history.map((h) => h.loss), full.progress.history.map((h) => h.loss));
  for (const [k, v] of full.model.stateDict()) assert.ok(v.equal(resumed.model.stateDict().get(k)!), `${k} differs after resume`);
  // Validation metrics were recorded per target.
  assert.ok(full.progress.history[1].val!.vessel.rocAuc >= 0);

  const x = torch.tensor(new Float32Array(2 * 3 * 64 * 64).map((_, i) => Math.sin(i * 0.37)), [2, 3, 64, 64]);
  full.model.eval();
  const before = predictWhole(full.model, x);
  const ckpt = loadCheckpoint(join(dir, 'full', 'latest.safetensors'));
  assert.equal(ckpt.kind, 'segmentation');
  disposeCheckpoint(ckpt);
  const { model, config } = loadSegmentationModel(join(dir, 'full', 'latest.safetensors'));
  assert.deepEqual(config.targets, ['vessel', 'HE']);
  assert.equal(config.size, 64);
  const after = predictWhole(model, x);
  assert.ok(before.equal(after));
  for (const m of [full.model, resumed.model, model]) m.dispose();
  for (const v of [x, before, after]) v.dispose();
});

test('bad targets and data sets without the channel give clear errors', async (t) => {
  assert.throws(() => parseTargets(['vessel', 'cotton']), /unknown target "cotton"/);
  assert.throws(() => parseTargets(['LM']), /target "LM" is not one this model predicts/);
  assert.throws(() => parseTargets(['MA', 'MA']), /given twice/);
  const dir = await tinyPhantomSet(t);
  const entries = readManifest(dir).map((e) => ({ ...e, known: e.known.filter((c) => c !== 'SE'), masks: { ...e.masks, SE: undefined } }));
  writeManifest(dir, entries);
  assert.throws(() => requireAnnotated(dir, 'all', ['vessel', 'SE']), /no sample in split "all" has an annotated "SE" mask/);
  await assert.rejects(trainSegmentation({ data: dir, targets: ['SE'], out: join(dir, 'o'), trainSplit: 'all', patch: 32, model: tiny }), /annotated "SE"/);
});
