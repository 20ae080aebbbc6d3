import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DataLoader } from '../../src/data/loader.js';
import { CONDITION_CHANNELS, readManifest, writeManifest } from '../../src/data/manifest.js';
import { imageLabels, loadCamModel, trainCam } from '../../src/train/cam-training.js';
import * as torch from '../../src/torch/index.js';
import { tinyPhantomSet } from '../train/seg-fixtures.js';

// One libtorch thread: on a busy machine more threads only contend (the assertions compare
// runs with each other, so they hold at any thread count).
torch.setNumThreads(1);

test('image labels: 1 where the annotated mask has any positive pixel; unannotated pairs are left out', async (t) => {
  const dir = await tinyPhantomSet(t);
  // Mark PM of the first photo as predicted: it must not count as a label.
  const entries = readManifest(dir);
  entries[0].predicted = ['PM'];
  writeManifest(dir, entries);
  const b = (await new DataLoader({ dir, split: 'all', batchSize: 6, shuffle: false }).epoch(0).next()).value!;
  const { labels, known } = imageLabels(b, ['MA', 'PM']);
  const px = 64 * 64;
  for (let i = 0; i < 6; i++) {
    const c = CONDITION_CHANNELS.indexOf('MA');
    const any = b.conditions.subarray((i * 8 + c) * px, (i * 8 + c + 1) * px).some((v: number) => v > 0);
    assert.equal(labels[i * 2], any ? 1 : 0);
    assert.equal(known[i * 2], 1);
  }
  assert.equal(known[1], 0);
  assert.equal(known[3], 1);
  // The phantom set mixes grades, so both labels occur for MA.
  const ma = [0, 1, 2, 3, 4, 5].map((i) => labels[i * 2]);
  assert.ok(ma.includes(0) && ma.includes(1), `MA labels ${ma}`);
});

test('trainCam reports accuracy per target and its best checkpoint reloads', async (t) => {
  const dir = await tinyPhantomSet(t);
  const lines: string[] = [];
  const r = await trainCam({ data: dir, targets: ['LM', 'PM'], out: join(dir, 'cam'), trainSplit: 'all', valSplit: 'all', size: 64, epochs: 1, batchSize: 6, model: { depth: 18, baseWidth: 2 } }, { log: (l) => lines.push(l) });
  const acc = r.progress.history[0].accuracy!;
  for (const k of ['LM', 'PM']) assert.ok(acc[k] >= 0 && acc[k] <= 1, `${k} accuracy ${acc[k]}`);
  assert.match(lines[0], /val accuracy LM \d\.\d{3}, PM \d\.\d{3}/);
  const { model, config } = loadCamModel(r.bestPath);
  assert.deepEqual(config.targets, ['LM', 'PM']);
  assert.equal(model.config.numClasses, 2);
  model.dispose();
  r.model.dispose();
  await assert.rejects(trainCam({ data: dir, targets: ['LM', 'bogus' as never], out: join(dir, 'cam2') }), /unknown target "bogus"/);
});

test('trainCam resumes exactly: 2 epochs equal 1 epoch + resume to 2, weights and best epoch included', async (t) => {
  const dir = await tinyPhantomSet(t);
  const base = { data: dir, targets: ['LM' as const, 'MA' as const], trainSplit: 'all' as const, valSplit: 'all' as const, size: 32, batchSize: 3, model: { depth: 18 as const, baseWidth: 2 }, seed: 2 };
  const full = await trainCam({ ...base, out: join(dir, 'full'), epochs: 2 });
  await trainCam({ ...base, out: join(dir, 'part'), epochs: 1 });
  await assert.rejects(trainCam({ ...base, out: join(dir, 'part'), epochs: 2 }), /exists: pass resume/);
  const lines: string[] = [];
  const resumed = await trainCam({ ...base, out: join(dir, 'part'), epochs: 2 }, { resume: true, log: (l) => lines.push(l) });
  assert.match(lines[0], /^resumed from .*latest\.safetensors after epoch 1$/);
  assert.deepEqual(resumed.progress.history.map((h) => [h.loss, h.accuracy, h.score]), full.progress.history.map((h) => [h.loss, h.accuracy, h.score]));
  assert.equal(resumed.progress.bestEpoch, full.progress.bestEpoch);
  for (const [k, v] of full.model.stateDict()) assert.ok(v.equal(resumed.model.stateDict().get(k)!), `${k} differs after resume`);
  full.model.dispose();
  resumed.model.dispose();
});
