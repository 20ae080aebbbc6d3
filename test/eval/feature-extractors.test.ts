import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Grader } from '../../src/models/grader.js';
import { MissingInceptionWeightsError, metricLabel, openFeatureExtractor, STANDARD_INCEPTION_NAME } from '../../src/eval/feature-extractors.js';
import * as torch from '../../src/torch/index.js';
import { tempDir, tinyGrader } from './image-set-fixtures.js';

test('without Inception weights the standard FID is refused, saying where the file comes from and naming the labelled alternative', async () => {
  for (const spec of [undefined, 'inception-fid']) {
    await assert.rejects(openFeatureExtractor(spec, { env: {} }), (e: Error) => {
      assert.ok(e instanceof MissingInceptionWeightsError);
      for (const needle of ['pt_inception-2015-12-05-6726825d.pth', 'https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/', '--inception-weights', 'DRGAN_INCEPTION_WEIGHTS', '--extractor grader:CKPT', 'FID[grader:', 'not comparable']) {
        assert.ok(e.message.includes(needle), `message lacks "${needle}":\n${e.message}`);
      }
      return true;
    });
  }
  // The environment variable is read when no flag is given, and a wrong path is named.
  await assert.rejects(openFeatureExtractor(undefined, { env: { DRGAN_INCEPTION_WEIGHTS: '/nonexistent/w.pth' } }), /\/nonexistent\/w\.pth \(from DRGAN_INCEPTION_WEIGHTS\): no such file/);
  await assert.rejects(openFeatureExtractor('vgg', { env: {} }), /unknown feature extractor "vgg" \(known: inception-fid, grader:CKPT\)/);
  await assert.rejects(openFeatureExtractor('grader:', {}), /needs the path of a grader file/);
  await assert.rejects(openFeatureExtractor('grader:/nonexistent/g.safetensors', {}), /no such grader file/);
});

test('grader:CKPT gives the grader\'s pooled features under a name with its backbone and file hash, never the standard name', async (t) => {
  const dir = tempDir(t);
  const a = join(dir, 'a.safetensors');
  const b = join(dir, 'b.safetensors');
  tinyGrader(a, 3);
  tinyGrader(b, 4);
  const ex = await openFeatureExtractor(`grader:${a}`);
  const other = await openFeatureExtractor(`grader:${b}`);
  const grader = Grader.load(a);
  try {
    assert.match(ex.name, /^grader:resnet18@[0-9a-f]{12}$/);
    assert.notEqual(ex.name, other.name, 'two grader files must not share a label');
    assert.equal(ex.standard, false);
    assert.notEqual(ex.name, STANDARD_INCEPTION_NAME);
    assert.equal(ex.dim, 32);
    assert.match(ex.notes[0], /not the standard Inception FID/);
    assert.equal(metricLabel('FID', ex.name), `FID[${ex.name}]`);
    torch.manualSeed(0);
    const u8 = torch.randint(0, 256, [3, 3, 40, 40]).to('uint8');
    const f = ex.features(u8);
    assert.deepEqual(f.shape, [3, 32]);
    assert.equal(f.dtype, 'float32');
    const direct = torch.noGrad(() => grader.features(u8.float().div(127.5).sub(1)));
    assert.ok(f.sub(direct).abs().max().item() < 1e-6);
    assert.throws(() => ex.features(torch.zeros([2, 1, 8, 8])), /expected images \[N, 3, H, W\]/);
    torch.dispose([u8, f, direct]);
  } finally {
    ex.dispose();
    other.dispose();
    grader.dispose();
  }
});
