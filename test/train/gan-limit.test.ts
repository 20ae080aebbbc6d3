// trainGan's `limit`: training on the first N samples of the train split (the demo trains its
// GAN on a subset of a phantom set whose whole train split teaches the grader).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { readManifest } from '../../src/data/manifest.js';
import { trainGan } from '../../src/train/gan-trainer.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { ganPhantomSet, tempDir, tinyConfig } from './gan-fixtures.js';

torch.setNumThreads(1);

test('limit N: epochs are the first N training samples, the checkpoint keeps N, and a resume with another N is refused', async (t) => {
  const data = await ganPhantomSet(t);
  const train = readManifest(data).filter((e) => e.split === 'train');
  assert.ok(train.length >= 8, `the fixture has ${train.length} training samples`);
  const out = tempDir(t);
  const lines: string[] = [];
  // tiny: batch 2, 2 + 1 epochs; 4 samples give 2 steps per epoch, where the whole split gives more.
  const cfg = tinyConfig({ ablation: { noPerceptual: true } });
  const r = await trainGan({ data, out, config: cfg, limit: 4, progress: false, log: (l) => lines.push(l), checkpointEvery: 0, sampleEvery: 0 });
  assert.equal(r.step, 2 * 3);
  assert.ok(lines.some((l) => l.includes('training on the first 4 sample(s) of the train split')), lines.join('\n'));
  const ck = loadCheckpoint(r.latest);
  assert.equal(ck.state.limit, 4);
  ck.dispose();
  await assert.rejects(trainGan({ data, out, resume: true, limit: 6, progress: false, log: () => {} }), /limit \(first N training samples\) given differs/);
  await assert.rejects(trainGan({ data, out: tempDir(t), config: cfg, limit: 0, progress: false, log: () => {} }), /limit must be a positive integer/);
  // Without the option no limit is recorded (the whole split trains).
  const all = await trainGan({ data, out: tempDir(t), config: cfg, progress: false, log: () => {}, checkpointEvery: 0, sampleEvery: 0, maxSteps: 1 });
  const ckAll = loadCheckpoint(all.latest);
  assert.equal(ckAll.state.limit, null);
  ckAll.dispose();
});
