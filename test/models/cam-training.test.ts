import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DataLoader } from '../../src/data/loader.js';
import { CONDITION_CHANNELS, readManifest, writeManifest } from '../../src/data/manifest.js';
import { imageLabels, loadCamModel, trainCam } from '../../src/train/cam-training.js';
import { tinyPhantomSet } from '../train/seg-fixtures.js';

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
