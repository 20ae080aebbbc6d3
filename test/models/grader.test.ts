// The Grader wrapper: config checks, ImageNet weights into everything but the classifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { Grader } from '../../src/models/grader.js';
import { ResNet } from '../../src/models/resnet.js';

test('loadPretrained takes a 1000-class torchvision .pth for the body and keeps the 5-class head', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pretrained-'));
  torch.manualSeed(1);
  const imagenet = new ResNet({ depth: 18, numClasses: 1000, baseWidth: 4 });
  const g = new Grader({ backbone: 'resnet18', inputSize: 32, widthDivisor: 16 });
  try {
    const path = join(dir, 'resnet18.pth');
    torch.io.savePth(path, imagenet.stateDict());
    const headBefore = g.net.stateDict().get('fc.weight')!.clone();
    g.loadPretrained(path);
    const sd = g.net.stateDict();
    for (const [k, t] of imagenet.stateDict()) {
      if (k.startsWith('fc.')) continue;
      assert.ok(sd.get(k)!.equal(t), `${k} not loaded`);
    }
    assert.ok(sd.get('fc.weight')!.equal(headBefore), 'the 5-class head must stay as initialised');
    assert.deepEqual(sd.get('fc.weight')!.shape, [5, 32]);
    const wrong = new Grader({ backbone: 'resnet18', inputSize: 32, widthDivisor: 8 });
    assert.throws(() => wrong.loadPretrained(path), /do not fit resnet18.*shape/s);
    wrong.dispose();
  } finally {
    imagenet.dispose();
    g.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('grader configs are checked at the boundary', () => {
  assert.throws(() => new Grader({ backbone: 'inception' as 'resnet18' }), /backbone must be one of .*inception_v3 \(got "inception"\)/);
  assert.throws(() => new Grader({ inputSize: 16 }), /inputSize must be >= 32/);
  assert.throws(() => new Grader({ widthDivisor: 3 }), /widthDivisor must divide 64/);
  const g = new Grader({ backbone: 'vgg16', inputSize: 32, widthDivisor: 32 });
  assert.equal(g.featureDim, 128);
  assert.throws(() => g.forward(torch.zeros([1, 1, 32, 32])), /expected images \[N, 3, H, W\] in \[-1, 1\]/);
  g.dispose();
});
