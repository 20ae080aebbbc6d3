import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { SwdDescriptorSet, laplacianPyramid, swd, swdFromDescriptors, swdResolutions } from '../../src/eval/swd.js';
import { float32Tensor, metricsFixture, relErr, uint8Tensor } from './fixtures.js';

/** Images in [-1, 1] with structure at several scales: blurred blobs plus fine noise. */
function smoothImages(n: number, size: number, seed: number): torch.Tensor {
  torch.manualSeed(seed);
  const coarse = torch.F.interpolate(torch.rand([n, 3, size / 8, size / 8]), { size, mode: 'bilinear' });
  return coarse.mul(1.6).add(torch.rand([n, 3, size, size]).mul(0.4)).sub(1);
}

test('pyramid levels go down to 16 px: 3 for 64, 4 for 128, 5 for 256', () => {
  assert.deepEqual(swdResolutions(64), [64, 32, 16]);
  assert.deepEqual(swdResolutions(128), [128, 64, 32, 16]);
  assert.deepEqual(swdResolutions(256), [256, 128, 64, 32, 16]);
  const small = { nhoodsPerImage: 8, dirRepeats: 1, dirsPerRepeat: 8 };
  for (const size of [64, 128, 256]) {
    const img = smoothImages(1, size, size);
    const r = swd(img, img, small);
    assert.deepEqual(r.resolutions, swdResolutions(size));
    assert.equal(r.perLevel.length, swdResolutions(size).length);
  }
});

test('Laplacian pyramid equals the reference (mirror-padded binomial filter)', () => {
  const f = metricsFixture().swd;
  const [, c, h, w] = f.shape;
  const first = uint8Tensor(f.a, f.shape).narrow(0, 0, 1).float();
  const levels = laplacianPyramid(first, 2);
  const expected = [float32Tensor(f.pyramidOfFirst[0], [1, c, h, w]), float32Tensor(f.pyramidOfFirst[1], [1, c, h / 2, w / 2])];
  levels.forEach((l, i) => {
    assert.deepEqual(l.shape, expected[i].shape);
    assert.ok(l.sub(expected[i]).abs().max().item() < 1e-3, `level ${i}: ${l.sub(expected[i]).abs().max().item()}`);
  });
  assert.ok(levels[0].abs().mean().item() > 1, 'the band-pass level holds detail');
});

test('SWD per level equals the reference implementation', () => {
  const f = metricsFixture().swd;
  const r = swd(uint8Tensor(f.a, f.shape), uint8Tensor(f.b, f.shape), { seed: f.seed });
  assert.deepEqual(r.resolutions, [32, 16]);
  r.perLevel.forEach((v, i) => assert.ok(relErr(v, f.perLevel[i]) < 1e-6, `level ${i}: ${v} vs ${f.perLevel[i]}`));
  assert.ok(Math.abs(r.average - (r.perLevel[0] + r.perLevel[1]) / 2) < 1e-12);
});

test('a set against itself gives exactly 0; identical descriptors give exactly 0', () => {
  const img = smoothImages(3, 32, 1);
  const r = swd(img, img);
  assert.deepEqual(r.perLevel, [0, 0]);
  const set = new SwdDescriptorSet({ seed: 3 });
  set.add(img);
  const d = set.finish();
  assert.equal(d[0].shape[0], 3 * 128);
  assert.equal(d[0].shape[1], 7 * 7 * 3);
  assert.deepEqual(swdFromDescriptors(d, d, [32, 16]).perLevel, [0, 0]);
});

test('SWD grows monotonically with the noise added to one set', () => {
  const a = smoothImages(8, 32, 2);
  torch.manualSeed(99);
  const noise = torch.randn(a.shape);
  const values = [0, 0.05, 0.2, 0.8].map((sigma) => swd(a, a.add(noise.mul(sigma)), { seed: 1 }));
  for (let i = 1; i < values.length; i++) {
    assert.ok(values[i].average > values[i - 1].average, `average: ${values.map((v) => v.average.toFixed(2)).join(' ')}`);
    assert.ok(values[i].perLevel[0] > values[i - 1].perLevel[0], `finest: ${values.map((v) => v.perLevel[0].toFixed(2)).join(' ')}`);
  }
});

test('standardisation per set removes colour offsets and pixel scaling, as in the original', () => {
  const a = smoothImages(4, 32, 5);
  const offset = torch.tensor([0.3, -0.2, 0.1]).reshape(1, 3, 1, 1);
  const shifted = swd(a, a.add(offset));
  assert.ok(shifted.average < 1e-2, `offset SWD ${shifted.average}`);
  const b = smoothImages(4, 32, 6);
  const asFloat = swd(a, b);
  const toUint8 = (x: torch.Tensor): torch.Tensor => x.add(1).mul(127.5).to('uint8');
  // Quantising to uint8 moves pixels by up to one level, hence a looser tolerance.
  const asUint8 = swd(toUint8(a.clamp(-1, 1)), toUint8(b.clamp(-1, 1)));
  assert.ok(relErr(asUint8.average, asFloat.average) < 0.01, `${asUint8.average} vs ${asFloat.average}`);
  assert.ok(asFloat.average > 10);
});

test('a seed fixes the result, and SWD leaves the global generator alone', () => {
  const a = smoothImages(2, 32, 7);
  const b = smoothImages(2, 32, 8);
  assert.deepEqual(swd(a, b, { seed: 4 }), swd(a, b, { seed: 4 }));
  assert.notDeepEqual(swd(a, b, { seed: 4 }).perLevel, swd(a, b, { seed: 5 }).perLevel);
  // Batching does not change the patches: positions come from one stream per set.
  assert.deepEqual(swd(a, b, { seed: 4, batchSize: 1 }), swd(a, b, { seed: 4 }));
  torch.manualSeed(31);
  const expected = torch.rand([3]).toArray();
  torch.manualSeed(31);
  swd(a, b);
  assert.deepEqual(torch.rand([3]).toArray(), expected);
});

test('bad image sets are refused with the reason', () => {
  const a = smoothImages(2, 32, 9);
  assert.throws(() => swd(a, a.narrow(0, 0, 1)), /equally many images: imagesA has 2, imagesB has 1/);
  assert.throws(() => swd(a.narrow(1, 0, 1), a.narrow(1, 0, 1)), /\[N, 3, H, W\]/);
  assert.throws(() => swd(torch.zeros([1, 3, 33, 33]), torch.zeros([1, 3, 33, 33])), /divisible by 2/);
  assert.throws(() => swd(torch.zeros([1, 3, 8, 8]), torch.zeros([1, 3, 8, 8])), /smaller than minResolution/);
  assert.throws(() => swd(a.to('int32'), a.to('int32')), /uint8.*floating/);
  assert.throws(() => swd(a, a, { nhoodSize: 6 }), /odd/);
});

test('16 px images: a one-level pyramid works over several batches and leaves the inputs alive', () => {
  const a = smoothImages(4, 16, 7);
  const b = smoothImages(4, 16, 8);
  const a8 = a.add(1).mul(127.5).round().clamp(0, 255).to({ dtype: 'uint8' });
  const r = swd(a, b, { seed: 2 });
  assert.deepEqual(r.resolutions, [16]);
  assert.ok(Number.isFinite(r.perLevel[0]) && r.perLevel[0] > 0, `SWD ${r.perLevel[0]}`);
  assert.deepEqual(swd(a, a).perLevel, [0]);
  // Two batches into one set, float and uint8 inputs: none of them may be disposed by add().
  const set = new SwdDescriptorSet({ seed: 2 });
  set.add(a.narrow(0, 0, 2));
  set.add(a8.narrow(0, 2, 2));
  const d = set.finish();
  assert.deepEqual(d.map((t) => t.shape), [[4 * 128, 7 * 7 * 3]]);
  assert.equal(a.isDisposed || a8.isDisposed, false);
  assert.ok(Number.isFinite(a.sum().item()) && Number.isFinite(a8.float().sum().item()));
  torch.dispose([d, a, b, a8]);
});
