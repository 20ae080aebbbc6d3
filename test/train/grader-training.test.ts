// Grader training on a tiny phantom set: the loss falls, a saved grader predicts exactly as
// before, and a run resumed from its checkpoint ends with the same weights, bit for bit, as
// an uninterrupted one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { generatePhantomSet } from '../../src/phantom/dataset.js';
import { Grader, inferDataset } from '../../src/models/grader.js';
import { DEFAULT_TRAINING, inverseFrequencyWeights, trainGrader, type GraderTrainingOptions } from '../../src/train/grader-training.js';

let root = '';
let data = '';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'grader-train-'));
  data = join(root, 'data');
  await generatePhantomSet({ out: data, n: 28, size: 64, seed: 3, gradeFrequencies: [1, 1, 1, 1, 1] });
});
after(() => rmSync(root, { recursive: true, force: true }));

function options(out: string, o: Partial<GraderTrainingOptions> = {}): GraderTrainingOptions {
  return {
    ...DEFAULT_TRAINING, data, out,
    grader: { backbone: 'resnet18', inputSize: 32, widthDivisor: 16 },
    epochs: 3, batchSize: 8, lr: 3e-3, augment: true, ...o,
  };
}

test('a few epochs on a tiny phantom set reduce the training loss and write best, latest and log', async () => {
  const out = join(root, 'fit');
  const r = await trainGrader(options(out, { epochs: 5, augment: false, schedule: 'none' }));
  assert.equal(r.epochsDone, 5);
  const losses = r.history.map((h) => h.trainLoss);
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  assert.ok(losses[4] < losses[0] * 0.8, `loss should fall: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(log.length, 5);
  assert.ok(r.best !== null && r.best.kappa >= -1 && r.best.kappa <= 1);
  // best.safetensors is the grader of the best val epoch: re-scoring it gives that kappa.
  const best = Grader.load(r.bestPath);
  try {
    assert.equal(best.config.backbone, 'resnet18');
    assert.equal(best.config.inputSize, 32);
  } finally {
    best.dispose();
  }
});

test('focal loss with class weights and SGD + step schedule train too', async () => {
  const r = await trainGrader(options(join(root, 'focal'), { epochs: 2, loss: 'focal', classWeights: true, optimizer: 'sgd', schedule: 'step', stepSize: 1, gamma: 0.5, lr: 0.05 }));
  assert.equal(r.history.length, 2);
  assert.ok(r.history.every((h) => Number.isFinite(h.trainLoss)));
  assert.equal(r.history[1].lr, 0.025); // one StepLR decay by 0.5
  assert.deepEqual(inverseFrequencyWeights([0, 0, 1, null, 2, 2, 2, 2], 4), [7 / 8, 7 / 4, 7 / 16, 0]);
});

test('a saved grader reloads and predicts identically', async () => {
  torch.manualSeed(5);
  const g = new Grader({ backbone: 'resnet18', inputSize: 32, widthDivisor: 16 });
  const path = join(root, 'saved.safetensors');
  // Running statistics away from their initial values, so that eval mode depends on them.
  torch.noGrad(() => { for (let i = 0; i < 3; i++) g.forward(torch.randn([4, 3, 32, 32]).mul(2)); });
  g.eval().save(path);
  const h = Grader.load(path);
  try {
    const x = torch.randn([3, 3, 48, 48]); // another size: both resize to 32
    const a = torch.noGrad(() => g.forward(x));
    const b = torch.noGrad(() => h.forward(x));
    assert.ok(a.equal(b), 'logits differ after save/load');
    assert.ok(torch.noGrad(() => g.features(x).equal(h.features(x))));
    const ra = await inferDataset(g, { dir: data, split: 'all', batchSize: 8, features: true });
    const rb = await inferDataset(h, { dir: data, split: 'all', batchSize: 8, features: true });
    assert.deepEqual(ra.pred, rb.pred);
    assert.deepEqual(ra.features, rb.features);
    assert.equal(ra.ids.length, 28);
  } finally {
    g.dispose();
    h.dispose();
  }
  assert.throws(() => Grader.load(join(root, 'nope.safetensors')), /no such grader file/);
  const plain = join(root, 'plain.safetensors');
  torch.io.saveSafetensors(plain, { a: torch.zeros([1]) });
  assert.throws(() => Grader.load(plain), /not a grader file/);
});

test('resuming after 1 of 3 epochs ends with the same weights, bit for bit, as an uninterrupted run', async () => {
  const straight = join(root, 'straight');
  const split = join(root, 'split');
  const common = { epochs: 3, balanced: true, augment: true };
  // The straight run decodes every epoch, the split one keeps decoded photos (default cache): same batches.
  await trainGrader(options(straight, { ...common, cacheMegabytes: 0 }));
  const first = await trainGrader(options(split, { ...common, stopAfter: 1 }));
  assert.equal(first.epochsDone, 1);
  // Different global RNG state in between, as a new process would have.
  torch.manualSeed(999);
  torch.randn([10]);
  const second = await trainGrader(options(split, { ...common, resume: true }));
  assert.equal(second.epochsDone, 3);
  assert.equal(second.history.length, 3);
  const a = torch.io.loadSafetensors(join(straight, 'latest.safetensors'));
  const b = torch.io.loadSafetensors(join(split, 'latest.safetensors'));
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, t] of a) assert.ok(t.equal(b.get(k)!), `${k} differs after resume`);
  const metaA = torch.io.readSafetensorsHeader(join(straight, 'latest.safetensors')).metadata['drgan.training'];
  const metaB = torch.io.readSafetensorsHeader(join(split, 'latest.safetensors')).metadata['drgan.training'];
  const strip = (m: string) => JSON.parse(m).history.map((h: { seconds: number }) => ({ ...h, seconds: 0 }));
  assert.deepEqual(strip(metaB), strip(metaA));
  // A resume with another backbone is refused, naming the field.
  await assert.rejects(trainGrader(options(split, { ...common, epochs: 4, resume: true, grader: { backbone: 'resnet18', inputSize: 32, widthDivisor: 8 } })), /cannot resume with a different grader/);
});
