import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { CamClassifier } from '../../src/models/cam-classifier.js';

test('logits per class; CAMs at the input size in [0, 1] with each map peaking at 1', () => {
  torch.manualSeed(0);
  const m = new CamClassifier({ numClasses: 2, depth: 18, baseWidth: 4 });
  m.eval();
  const x = torch.randn([3, 3, 64, 48]);
  const logits = torch.noGrad(() => m.forward(x));
  assert.deepEqual(logits.shape, [3, 2]);
  const cams = torch.noGrad(() => m.cam(x));
  assert.deepEqual(cams.shape, [3, 2, 64, 48]);
  const v = cams.dataSync() as Float32Array;
  assert.ok(v.every((s) => s >= 0 && s <= 1 + 1e-6));
  const peaks = torch.noGrad(() => cams.amax([2, 3])).dataSync() as Float32Array;
  for (const p of peaks) assert.ok(p === 0 || Math.abs(p - 1) < 1e-6, `peak ${p}`);
  for (const t of [x, logits, cams]) t.dispose();
  m.dispose();
});

test('the spatial mean of the raw CAM plus the bias is the logit (GAP and the head commute)', () => {
  torch.manualSeed(1);
  const m = new CamClassifier({ numClasses: 3, depth: 18, baseWidth: 4 });
  m.eval();
  const x = torch.randn([2, 3, 96, 96]);
  torch.noGrad(() => torch.tidy(() => {
    const logits = m.forward(x);
    const f = m.featureMaps(x);
    assert.deepEqual(f.shape, [2, m.backbone.featureDim, 3, 3]);
    const fromCam = m.rawCams(f).mean([2, 3]).add(m.backbone.fc.bias!);
    assert.ok(fromCam.allclose(logits, 1e-4, 1e-5));
  }));
  x.dispose();
  m.dispose();
});

test('the CAM is the class-weighted feature map, upsampled: a hot feature cell becomes the peak', () => {
  torch.manualSeed(2);
  const m = new CamClassifier({ numClasses: 2, depth: 18, baseWidth: 2 });
  m.eval();
  const D = m.backbone.featureDim;
  // Features with channel 0 hot at cell (3, 1) of a 4x4 grid and channel 1 hot at (0, 2);
  // class 0 reads channel 0, class 1 reads channel 1.
  const f = torch.zeros([1, D, 4, 4]);
  torch.noGrad(() => {
    f.narrow(1, 0, 1).narrow(2, 3, 1).narrow(3, 1, 1).fill_(5);
    f.narrow(1, 1, 1).narrow(2, 0, 1).narrow(3, 2, 1).fill_(3);
    m.backbone.fc.weight.zero_();
    m.backbone.fc.weight.narrow(0, 0, 1).narrow(1, 0, 1).fill_(1);
    m.backbone.fc.weight.narrow(0, 1, 1).narrow(1, 1, 1).fill_(2);
  });
  m.featureMaps = () => f.clone();
  const x = torch.zeros([1, 3, 128, 128]);
  const cams = torch.noGrad(() => m.cam(x));
  const a = cams.dataSync() as Float32Array;
  const peak = (k: number) => {
    let best = k * 128 * 128;
    for (let i = k * 128 * 128; i < (k + 1) * 128 * 128; i++) if (a[i] > a[best]) best = i;
    const j = best - k * 128 * 128;
    return [Math.floor(j / 128 / 32), Math.floor((j % 128) / 32)];
  };
  assert.deepEqual(peak(0), [3, 1]);
  assert.deepEqual(peak(1), [0, 2]);
  // Away from the hot cells the maps are 0 after the ReLU-and-normalise.
  assert.equal(a[0], 0);
  for (const t of [f, x, cams]) t.dispose();
  m.dispose();
});

test('bad input is refused by name', () => {
  const m = new CamClassifier({ numClasses: 1, depth: 18, baseWidth: 2 });
  const x = torch.zeros([1, 1, 32, 32]);
  assert.throws(() => m.forward(x), /expected images \[N, 3, H, W\]/);
  x.dispose();
  m.dispose();
});
