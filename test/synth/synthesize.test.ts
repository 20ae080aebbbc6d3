import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { GradingSpaceAccumulator } from '../../src/latent/grading-space.js';
import { renderPhantom } from '../../src/phantom/render.js';
import { conditionTensor, resizeCondition, type ConditionMasks } from '../../src/synth/condition-io.js';
import { gradeLogits, loadSynthesisModel, synthesize } from '../../src/synth/synthesize.js';
import { tinyCheckpoint } from './fixtures.js';

let dir = '';
before(() => { dir = mkdtempSync(join(tmpdir(), 'synthesize-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

function condition(grade: number, size = 64): ConditionMasks {
  const s = renderPhantom(4, 0, 64, { grade, photographic: false });
  return resizeCondition({ size: 64, channels: { ...s.masks }, fov: s.fov, source: 'phantom' }, size);
}

test('a checkpoint loads into a generator with the same weights, and its model id is the file hash', async () => {
  const { path, generator } = tinyCheckpoint(dir);
  const m = await loadSynthesisModel(path);
  assert.match(m.modelId, /^[0-9a-f]{64}$/);
  assert.equal(m.generator.stage, 1);
  const want = generator.stateDict(), got = m.generator.stateDict();
  for (const [k, v] of want) assert.equal(got.get(k)!.sub(v).abs().max().item(), 0, k);
  await assert.rejects(loadSynthesisModel(join(dir, 'missing.safetensors')), /checkpoint not found/);
});

test('synthesize: uint8 HWC image of the output size, black outside the FOV, deterministic by seed', async () => {
  const { path } = tinyCheckpoint(dir, 5);
  const { generator } = await loadSynthesisModel(path);
  const c = condition(3);
  const a = synthesize({ generator, grade: 3, condition: c, gradingSpace: null, seed: 7 });
  const b = synthesize({ generator, grade: 3, condition: c, gradingSpace: null, seed: 7 });
  const other = synthesize({ generator, grade: 3, condition: c, gradingSpace: null, seed: 8 });
  assert.equal(a.image.width, generator.outputSize);
  assert.equal(a.image.data.length, generator.outputSize ** 2 * 3);
  assert.ok(a.image.data instanceof Uint8Array);
  assert.deepEqual(a.image.data, b.image.data);
  assert.notDeepEqual(a.image.data, other.image.data, 'the seed moves the AGM noise');
  assert.equal(a.grade, 3);
  assert.equal(a.gradeSource, 'given');
  assert.equal(a.image.data[0], 0, 'corner outside the FOV is black');
  assert.ok(a.image.data.some((v) => v > 0));
  assert.equal(a.gradeProbabilities.length, 5);
  assert.ok(Math.abs(a.gradeProbabilities.reduce((s, p) => s + p, 0) - 1) < 1e-5);
});

test('without a grade, the grade head predicts it: the argmax of forward()\'s grade logits', async () => {
  const { path } = tinyCheckpoint(dir, 6);
  const { generator } = await loadSynthesisModel(path);
  for (const g of [0, 4]) {
    const c = condition(g, 32);
    const r = synthesize({ generator, condition: c, gradingSpace: null, seed: 1 });
    assert.equal(r.gradeSource, 'predicted');
    const logits = torch.noGrad(() => generator.forward(conditionTensor(c), torch.zeros([1, generator.cfg.generator.gradingVectorDim]), 0).gradeLogits);
    const arr = logits.toArray();
    assert.equal(r.grade, arr.indexOf(Math.max(...arr)));
    const direct = gradeLogits(generator, conditionTensor(c)).toArray();
    direct.forEach((v, i) => assert.ok(Math.abs(v - arr[i]) < 1e-5));
  }
});

test('a grading space supplies z: another grade changes the image; bad inputs are named', async () => {
  const { path } = tinyCheckpoint(dir, 8);
  const { generator } = await loadSynthesisModel(path);
  const D = generator.cfg.generator.gradingVectorDim;
  const acc = new GradingSpaceAccumulator(D, 5);
  torch.manualSeed(0);
  acc.add(torch.randn([10, D]).add(torch.arange(0, 10).remainder(5).reshape([10, 1]).mul(3)), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  const space = acc.finish();
  const c = condition(2, 32);
  const a = synthesize({ generator, grade: 1, condition: c, gradingSpace: space, seed: 3 });
  const b = synthesize({ generator, grade: 4, condition: c, gradingSpace: space, seed: 3 });
  assert.notDeepEqual(a.image.data, b.image.data);
  assert.throws(() => synthesize({ generator, grade: 5, condition: c, gradingSpace: space, seed: 3 }), /grade must be an integer in 0\.\.4, got 5/);
  assert.throws(() => synthesize({ generator, grade: 1.5, condition: c, gradingSpace: space, seed: 3 }), /grade must be/);
  const wrong = new GradingSpaceAccumulator(D + 1, 5);
  wrong.add(torch.randn([5, D + 1]), [0, 1, 2, 3, 4]);
  assert.throws(() => synthesize({ generator, grade: 1, condition: c, gradingSpace: wrong.finish(), seed: 3 }), /grading space has 17 dimensions, the generator's gradingVectorDim is 16/);
});
