import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { blendWeight, predictAtScale, slidingWindow, windowStarts } from '../../src/masks/predict-masks.js';
import { UNet } from '../../src/models/unet.js';

test('window starts cover the axis, end flush, and run once when the image fits', () => {
  assert.deepEqual(windowStarts(40, 16, 8), [0, 8, 16, 24]);
  assert.deepEqual(windowStarts(41, 16, 8), [0, 8, 16, 24, 25]);
  assert.deepEqual(windowStarts(16, 16, 8), [0]);
  assert.deepEqual(windowStarts(10, 16, 8), [0]);
});

test('with a 1x1-conv net, blended windows reproduce whole-image inference', () => {
  torch.manualSeed(3);
  const conv = new torch.nn.Conv2d(3, 2, 1);
  const net = (x: torch.Tensor) => conv.forward(x);
  for (const [H, W, blend, overlap] of [[40, 40, 'gaussian', 0.5], [40, 27, 'uniform', 0.25], [37, 53, 'gaussian', 0.75]] as const) {
    const x = torch.randn([2, 3, H, W]);
    const whole = torch.noGrad(() => net(x));
    const tiled = slidingWindow(net, x, { patch: 16, overlap, blend });
    assert.deepEqual(tiled.shape, [2, 2, H, W]);
    const diff = tiled.sub(whole).abs().max().item();
    assert.ok(diff < 1e-6, `${H}x${W} ${blend}: max difference ${diff}`);
    for (const t of [x, whole, tiled]) t.dispose();
  }
  conv.dispose();
});

test('a net with spatial context differs at window seams, so the test above can fail', () => {
  torch.manualSeed(4);
  const conv = new torch.nn.Conv2d(3, 1, 5, { padding: 2 });
  const net = (x: torch.Tensor) => conv.forward(x);
  const x = torch.randn([1, 3, 40, 40]);
  const whole = torch.noGrad(() => net(x));
  const tiled = slidingWindow(net, x, { patch: 16, overlap: 0.5, blend: 'uniform' });
  assert.ok(tiled.sub(whole).abs().max().item() > 1e-3);
  for (const t of [x, whole, tiled]) t.dispose();
  conv.dispose();
});

test('the Gaussian blend weight peaks in the centre and never reaches zero', () => {
  const w = blendWeight(9, 'gaussian');
  const a = w.dataSync() as Float32Array;
  assert.equal(a[4 * 9 + 4], Math.max(...a));
  assert.ok(Math.min(...a) > 0);
  w.dispose();
});

test('predictAtScale gives probabilities at the input size for a U-Net trained at another size', () => {
  torch.manualSeed(5);
  const net = new UNet({ outChannels: 2, depth: 2, baseWidth: 2 });
  net.eval();
  const x = torch.randn([1, 3, 48, 48]);
  const p = predictAtScale((t) => net.forward(t), x, 32, 16);
  assert.deepEqual(p.shape, [1, 2, 48, 48]);
  const v = p.dataSync() as Float32Array;
  assert.ok(v.every((s) => s >= 0 && s <= 1));
  for (const t of [x, p]) t.dispose();
  net.dispose();
});

test('bad window options are refused', () => {
  const x = torch.zeros([1, 3, 8, 8]);
  assert.throws(() => slidingWindow((t) => t, x, { patch: 0 }), /patch must be a positive integer/);
  assert.throws(() => slidingWindow((t) => t, x, { patch: 4, overlap: 1 }), /overlap must be in \[0, 1\)/);
  x.dispose();
});
