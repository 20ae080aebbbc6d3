import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectFov, fovMask, FovNotFound } from '../../src/data/fov.js';
import { readImage, readMask } from '../../src/data/image-io.js';
import { DRIVE_MISSING, driveDir, haveDrive, iou, paintSquare, syntheticFundus } from './helpers.js';

test('fov: detected circle matches the shipped DRIVE FOV masks (IoU > 0.95 on all 40)', { skip: haveDrive ? false : DRIVE_MISSING }, async () => {
  const ious: string[] = [];
  let min = 1;
  for (const set of ['training', 'test']) {
    for (const f of readdirSync(join(driveDir, set, 'images')).sort()) {
      const stem = f.replace(/\.tif$/, '');
      const img = await readImage(join(driveDir, set, 'images', f));
      const given = await readMask(join(driveDir, set, 'mask', `${stem}_mask.gif`));
      const v = iou(fovMask(img.width, img.height, detectFov(img)), given.data);
      ious.push(`${stem}=${v.toFixed(4)}`);
      min = Math.min(min, v);
    }
  }
  assert.equal(ious.length, 40);
  assert.ok(min > 0.95, `min IoU ${min}: ${ious.join(' ')}`);
});

function assertCircle(got: { cx: number; cy: number; r: number }, want: { cx: number; cy: number; r: number }, tol: number) {
  // Synthetic discs are drawn with pixel centres at x + 0.5; detection reports pixel-index coordinates.
  assert.ok(Math.abs(got.cx + 0.5 - want.cx) < tol, `cx ${got.cx} vs ${want.cx}`);
  assert.ok(Math.abs(got.cy + 0.5 - want.cy) < tol, `cy ${got.cy} vs ${want.cy}`);
  assert.ok(Math.abs(got.r - want.r) < tol, `r ${got.r} vs ${want.r}`);
}

test('fov: whole circle on a dark noisy border, off centre', () => {
  const spec = { width: 300, height: 240, cx: 160.5, cy: 118, r: 100, border: 12 };
  assertCircle(detectFov(syntheticFundus(spec)), spec, 1.5);
});

test('fov: circle cut off at top and bottom still gives the full radius', () => {
  // Diameter 300 in a 200-high photo: only the left and right arcs are boundary.
  const spec = { width: 340, height: 200, cx: 170, cy: 100, r: 150 };
  const c = detectFov(syntheticFundus(spec));
  assertCircle(c, spec, 2);
});

test('fov: uneven illumination (left side at 25% brightness)', () => {
  const spec = { width: 280, height: 280, cx: 140, cy: 140, r: 120, dimLeft: 0.25, border: 6 };
  assertCircle(detectFov(syntheticFundus(spec)), spec, 2);
});

test('fov: a bright caption in the border does not pull the circle', () => {
  const spec = { width: 320, height: 260, cx: 160, cy: 130, r: 110 };
  const img = syntheticFundus(spec);
  paintSquare(img, 20, 120, 8, [255, 255, 255]);
  paintSquare(img, 300, 30, 6, [230, 230, 230]);
  assertCircle(detectFov(img), spec, 2);
});

test('fov: large photo (detection works on a downsampled copy, reported at full scale)', () => {
  const spec = { width: 1500, height: 1000, cx: 760, cy: 500, r: 520 };
  assertCircle(detectFov(syntheticFundus(spec)), spec, 4);
});

test('fov: no field of view (flat grey, all black, noise, bright everywhere) is FovNotFound', () => {
  const w = 120;
  const h = 100;
  const flat = (v: number) => ({ data: new Uint8Array(w * h * 3).fill(v), width: w, height: h });
  let s = 7;
  const noise = { data: new Uint8Array(w * h * 3).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24)), width: w, height: h };
  for (const [name, img] of [
    ['grey', flat(128)],
    ['black', flat(0)],
    ['white', flat(250)],
    ['noise', noise],
  ] as const) {
    assert.throws(() => detectFov(img), (err: unknown) => err instanceof FovNotFound && /no field of view/.test((err as Error).message), name);
  }
});
