import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataError } from '../../src/data/errors.js';
import { preprocessPhoto } from '../../src/data/preprocess.js';
import { centroid, greyMask, paintSquare, syntheticFundus, tempDir, writeImage } from './helpers.js';

test('preprocess: crops the square around the FOV; an image marker and its mask land on the same spot', async (t) => {
  const dir = tempDir(t);
  // Circle centre (210, 150), r 120: the square is x in [90, 330), y in [30, 270).
  const img = syntheticFundus({ width: 400, height: 300, cx: 210, cy: 150, r: 120 });
  paintSquare(img, 250, 100, 4, [0, 255, 0]);
  const mask = greyMask(400, 300);
  paintSquare(mask, 250, 100, 4, [255]);
  await writeImage(join(dir, 'a.png'), img);
  await writeImage(join(dir, 'a_MA.png'), mask, 1);
  const r = await preprocessPhoto(join(dir, 'a.png'), [{ key: 'MA', path: join(dir, 'a_MA.png') }], { size: 120 });
  assert.equal(r.image.length, 120 * 120 * 3);
  // Output scale 0.5: the marker centre (250.5, 100.5) maps to ((250.5-90)/2, (100.5-30)/2).
  const want = { x: (250.5 - 90) / 2 - 0.5, y: (100.5 - 30) / 2 - 0.5 };
  const green = centroid(120 * 120, 120, (i) => r.image[i * 3 + 1] > 150 && r.image[i * 3] < 120);
  const ma = centroid(120 * 120, 120, (i) => r.masks.get('MA')![i] === 255);
  assert.ok(Math.abs(green.x - want.x) < 1 && Math.abs(green.y - want.y) < 1, `image marker at ${green.x},${green.y}, want ${want.x},${want.y}`);
  assert.ok(Math.abs(ma.x - want.x) < 1 && Math.abs(ma.y - want.y) < 1, `mask marker at ${ma.x},${ma.y}`);
  assert.ok(r.masks.get('MA')!.every((v) => v === 0 || v === 255), 'binary mask stays binary');
  // FOV: a disc of radius ~60 in the output, centred; corners black in image and FOV.
  const fovArea = r.fov.filter((v) => v === 255).length;
  assert.ok(Math.abs(fovArea - Math.PI * 60 * 60) / (Math.PI * 3600) < 0.03, `fov area ${fovArea}`);
  assert.equal(r.fov[0], 0);
  assert.deepEqual([...r.image.slice(0, 3)], [0, 0, 0]);
  assert.ok(Math.abs(r.circle.cx - 210) < 1.5 && Math.abs(r.circle.r - 120) < 1.5);
});

test('preprocess: a circle cut at top and bottom is padded black, and the FOV excludes the cut', async (t) => {
  const dir = tempDir(t);
  await writeImage(join(dir, 'cut.jpeg'), syntheticFundus({ width: 340, height: 200, cx: 170, cy: 100, r: 150 }));
  const r = await preprocessPhoto(join(dir, 'cut.jpeg'), [], { size: 150 });
  // Square side 300 source px -> 150: the photo's 200 rows fill output rows 25..124.
  const row = (y: number) => r.fov.subarray(y * 150, (y + 1) * 150).some((v) => v > 0);
  assert.equal(row(10), false, 'padding above the photo is not FOV');
  assert.equal(row(140), false, 'padding below the photo is not FOV');
  assert.equal(row(30), true);
  assert.equal(row(120), true);
  assert.equal(r.fov[75 * 150 + 2], 255, 'full width at the middle row');
  const centre = (75 * 150 + 75) * 3;
  assert.ok(r.image[centre] > 100, 'retina kept');
  assert.deepEqual([...r.image.slice((5 * 150 + 75) * 3, (5 * 150 + 75) * 3 + 3)], [0, 0, 0]);
});

test('preprocess: Graham normalisation centres the retina on 128 and leaves the outside black', async (t) => {
  const dir = tempDir(t);
  await writeImage(join(dir, 'g.png'), syntheticFundus({ width: 260, height: 260, cx: 130, cy: 130, r: 110, dimLeft: 0.4 }));
  const r = await preprocessPhoto(join(dir, 'g.png'), [], { size: 96, graham: true });
  let sum = 0;
  let n = 0;
  for (let i = 0; i < 96 * 96; i++) {
    if (!r.fov[i]) {
      assert.equal(r.image[i * 3] + r.image[i * 3 + 1] + r.image[i * 3 + 2], 0);
      continue;
    }
    sum += r.image[i * 3 + 1];
    n++;
  }
  // The slow illumination gradient is removed: the mean sits near 128.
  assert.ok(Math.abs(sum / n - 128) < 12, `mean ${sum / n}`);
});

test('preprocess: a mask whose size does not match its photo is an error naming the mask and both sizes', async (t) => {
  const dir = tempDir(t);
  await writeImage(join(dir, 'p.png'), syntheticFundus({ width: 200, height: 200, cx: 100, cy: 100, r: 90 }));
  await writeImage(join(dir, 'p_HE.png'), greyMask(100, 100), 1);
  await assert.rejects(preprocessPhoto(join(dir, 'p.png'), [{ key: 'HE', path: join(dir, 'p_HE.png') }], { size: 64 }), (err: unknown) => {
    assert.ok(err instanceof DataError);
    assert.equal(err.file, join(dir, 'p_HE.png'));
    assert.match(err.message, /mask is 100x100 but its image .*p\.png is 200x200/);
    return true;
  });
});

test('preprocess: a photo without a field of view is an error naming the photo', async (t) => {
  const dir = tempDir(t);
  await writeImage(join(dir, 'flat.png'), { data: new Uint8Array(100 * 80 * 3).fill(90), width: 100, height: 80 });
  await assert.rejects(preprocessPhoto(join(dir, 'flat.png'), [], { size: 64 }), (err: unknown) => err instanceof DataError && err.file === join(dir, 'flat.png') && /no field of view/.test(err.reason));
});

test("preprocess: 'max' mask resampling keeps a 2-pixel lesion that 'nearest' can miss when shrinking", async (t) => {
  const dir = tempDir(t);
  await writeImage(join(dir, 'm.png'), syntheticFundus({ width: 400, height: 400, cx: 200, cy: 200, r: 180 }));
  const mask = greyMask(400, 400);
  mask.data[201 * 400 + 201] = mask.data[201 * 400 + 202] = 255; // 2 px, 10x shrink below
  await writeImage(join(dir, 'm_MA.png'), mask, 1);
  const src = [{ key: 'MA', path: join(dir, 'm_MA.png') }];
  const nearest = await preprocessPhoto(join(dir, 'm.png'), src, { size: 36 });
  const max = await preprocessPhoto(join(dir, 'm.png'), src, { size: 36, maskResample: 'max' });
  // Nearest samples every 10th source pixel (x0 + 5 + 10k) and steps over the lesion; max does not.
  assert.equal(nearest.masks.get('MA')!.filter((v) => v).length, 0);
  assert.ok(max.masks.get('MA')!.filter((v) => v).length >= 1);
});
