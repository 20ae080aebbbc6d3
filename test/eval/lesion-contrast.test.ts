import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LesionContrastAccumulator, boxMean, contrastRatios, greenHighPass, lesionContrast, type ChannelMasks } from '../../src/eval/lesion-contrast.js';
import type { ConditionChannel } from '../../src/data/manifest.js';
import { mulberry32 } from '../../src/data/rng.js';

interface FixtureImage {
  height: number; width: number; rgb: string; fov: string; masks: Record<string, string>;
  high_pass: string; background: number; contrast: Record<string, number>;
}
interface Fixture { images: FixtureImage[]; summary: Record<string, { mean: number; std: number; n: number }> }

/** Written by scripts/reference/lesion_contrast.py (torch avg_pool2d, count_include_pad=False, float64). */
const fixture = (): Fixture => JSON.parse(readFileSync(fileURLToPath(new URL('../../../test/fixtures/eval/lesion_contrast.json', import.meta.url)), 'utf8')) as Fixture;
const u8 = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
const f64 = (b64: string) => { const b = Buffer.from(b64, 'base64'); return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)); };

/** The 9 x 9 (or any radius) box mean by its definition: a loop over each window's in-image pixels. */
function directBoxMean(v: ArrayLike<number>, w: number, h: number, r: number): Float64Array {
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let s = 0, k = 0;
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) {
      const yy = y + dy, xx = x + dx;
      if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
      s += v[yy * w + xx];
      k++;
    }
    out[y * w + x] = s / k;
  }
  return out;
}

/** A flat RGB image (every pixel `rgb`) with `paint` setting the green value of chosen pixels. */
function flatImage(w: number, h: number, green: number, paint: [number, number, number][] = []): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) out.set([green + 30, green, green / 2], 3 * i);
  for (const [x, y, g] of paint) out[3 * (y * w + x) + 1] = g;
  return out;
}

function plane(w: number, h: number, on: [number, number][], value = 255): Uint8Array {
  const m = new Uint8Array(w * h);
  for (const [x, y] of on) m[y * w + x] = value;
  return m;
}

test('box mean over in-image pixels equals the direct window loop, at every radius and at the borders', () => {
  const rand = mulberry32(7);
  const w = 17, h = 13;
  const v = new Uint8Array(w * h).map(() => Math.floor(rand() * 256));
  for (const r of [0, 1, 4, 9, 20]) {
    const fast = boxMean(v, w, h, r);
    const slow = directBoxMean(v, w, h, r);
    let worst = 0;
    for (let i = 0; i < w * h; i++) worst = Math.max(worst, Math.abs(fast[i] - slow[i]));
    assert.ok(worst < 1e-9, `radius ${r}: max difference ${worst}`);
  }
  // Radius 0 is the identity; a window wider than the image is the global mean everywhere.
  assert.deepEqual([...boxMean(v, w, h, 0)], [...v]);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  assert.ok(boxMean(v, w, h, 40).every((x) => Math.abs(x - mean) < 1e-9));
  assert.throws(() => boxMean(v, w + 1, h), /221 values for a 18x13 plane/);
});

test('high pass and contrasts equal PyTorch avg_pool2d(count_include_pad=False) in float64, per image and per set', () => {
  const f = fixture();
  const acc = new LesionContrastAccumulator();
  for (const [k, im] of f.images.entries()) {
    const rgb = u8(im.rgb);
    const hp = greenHighPass(rgb, im.width, im.height);
    const ref = f64(im.high_pass);
    assert.equal(hp.length, ref.length);
    let worst = 0;
    for (let i = 0; i < hp.length; i++) worst = Math.max(worst, Math.abs(hp[i] - ref[i]));
    assert.ok(worst < 1e-9, `image ${k}: high pass differs by ${worst}`);
    const masks: ChannelMasks = {};
    for (const [ch, b] of Object.entries(im.masks)) masks[ch as ConditionChannel] = u8(b);
    const r = lesionContrast({ rgb, width: im.width, height: im.height, masks, fov: u8(im.fov) });
    assert.ok(Math.abs(r.background - im.background) < 1e-9, `image ${k} background ${r.background} vs ${im.background}`);
    assert.deepEqual(Object.keys(r.contrast).sort(), Object.keys(im.contrast).sort(), `image ${k}: channels measured`);
    for (const [ch, v] of Object.entries(im.contrast)) assert.ok(Math.abs(r.contrast[ch as ConditionChannel]! - v) < 1e-9, `image ${k} ${ch}: ${r.contrast[ch as ConditionChannel]} vs ${v}`);
    acc.add(r);
  }
  // Image 1 has an MA mask of 2 pixels: present in its masks, too small to be measured.
  assert.ok(f.images[1].masks.MA && !('MA' in f.images[1].contrast));
  const s = acc.summary();
  assert.equal(s.images, f.images.length);
  assert.deepEqual(Object.keys(s.channels), Object.keys(f.summary));
  for (const [ch, ref] of Object.entries(f.summary)) {
    const got = s.channels[ch as ConditionChannel]!;
    assert.equal(got.n, ref.n, ch);
    assert.ok(Math.abs(got.mean - ref.mean) < 1e-9, `${ch} mean ${got.mean} vs ${ref.mean}`);
    assert.ok(Math.abs(got.std - ref.std) < 1e-9, `${ch} std ${got.std} vs ${ref.std}`);
    assert.ok(Math.abs(got.se - ref.std / Math.sqrt(ref.n)) < 1e-9, `${ch} se`);
  }
});

test('isolated dark dots on a flat image: contrast is (d - b)(80/81 + 240 / (81 (N - 3))) exactly', () => {
  // Each dot is 8 px or more from the border and 9 px or more from the other dots, so the 9 x 9
  // windows of the dot and of its 80 neighbours lie inside the image and hold no other dot: the
  // dot's high pass is (d - b) 80/81, each neighbour's -(d - b)/81, every other pixel's 0.
  const w = 40, h = 30, b = 120, d = 60;
  const dots: [number, number][] = [[10, 10], [20, 15], [31, 21]];
  const rgb = flatImage(w, h, b, dots.map(([x, y]) => [x, y, d]));
  const fov = plane(w, h, [], 0).fill(255);
  const r = lesionContrast({ rgb, width: w, height: h, masks: { MA: plane(w, h, dots) }, fov });
  const n = w * h;
  assert.ok(Math.abs(r.background - (-240 * (d - b)) / (81 * (n - 3))) < 1e-12);
  assert.ok(Math.abs(r.contrast.MA! - (d - b) * (80 / 81 + 240 / (81 * (n - 3)))) < 1e-12, `${r.contrast.MA}`);
  assert.equal(r.pixels.MA, 3);
  assert.equal(r.backgroundPixels, n - 3);
  // Bright dots give the same magnitude with the other sign.
  const bright = lesionContrast({ rgb: flatImage(w, h, b, dots.map(([x, y]) => [x, y, b + 60])), width: w, height: h, masks: { EX: plane(w, h, dots) }, fov });
  assert.ok(Math.abs(bright.contrast.EX! + r.contrast.MA!) < 1e-12);
});

test('a channel with no mask, or fewer than 3 mask pixels inside the FOV, is not reported', () => {
  const w = 40, h = 30;
  const dots: [number, number][] = [[6, 6], [20, 15], [32, 22]];
  const rgb = flatImage(w, h, 120, dots.map(([x, y]) => [x, y, 60]));
  // The FOV leaves out the first dot: 2 MA pixels remain inside it.
  const fov = plane(w, h, [], 0).fill(255);
  for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) fov[y * w + x] = 0;
  const masks: ChannelMasks = { MA: plane(w, h, dots), HE: plane(w, h, [[20, 15], [21, 15]]), EX: plane(w, h, []) };
  // LM is soft: 127 is "out", so its 3 pixels at 127 do not count.
  masks.LM = plane(w, h, [[1, 25], [2, 25], [3, 25]], 127);
  const r = lesionContrast({ rgb, width: w, height: h, masks, fov });
  assert.deepEqual(r.contrast, {});
  // With the whole frame as FOV the 3 dots are measured, the others still not.
  const all = lesionContrast({ rgb, width: w, height: h, masks, fov: plane(w, h, [], 0).fill(255) });
  assert.deepEqual(Object.keys(all.contrast), ['MA']);
  const acc = new LesionContrastAccumulator();
  acc.add(r);
  acc.add(all);
  const s = acc.summary();
  assert.equal(s.images, 2);
  assert.deepEqual(Object.keys(s.channels), ['MA']);
  assert.equal(s.channels.MA!.n, 1);
  assert.equal(s.channels.MA!.std, 0);
});

test('a mask or FOV of the wrong size is refused, naming the field and both shapes', () => {
  const w = 12, h = 10;
  const rgb = flatImage(w, h, 100);
  const fov = plane(w, h, [], 0).fill(255);
  assert.throws(() => lesionContrast({ rgb: rgb.subarray(3), width: w, height: h, masks: {}, fov, name: 'a.png' }), /^Error: a\.png: lesion contrast: rgb has 357 bytes, expected 360 for a 12x10 RGB image$/);
  assert.throws(() => lesionContrast({ rgb, width: w, height: h, masks: {}, fov: new Uint8Array(100) }), /fov has 100 values, expected 120 for a 12x10 image/);
  assert.throws(() => lesionContrast({ rgb, width: w, height: h, masks: { HE: new Uint8Array(11 * 10) }, fov }), /the HE mask has 110 values, expected 120 for a 12x10 image/);
  assert.throws(() => lesionContrast({ rgb, width: w, height: h, masks: { XX: new Uint8Array(120) } as ChannelMasks, fov }), /unknown channel "XX"/);
  assert.throws(() => lesionContrast({ rgb, width: 0, height: h, masks: {}, fov }), /image size must be positive integers, got 0x10/);
});

test('no mask-free FOV pixel means no background: an error, not NaN', () => {
  const w = 12, h = 10;
  const rgb = flatImage(w, h, 100);
  const full = plane(w, h, [], 0).fill(255);
  assert.throws(() => lesionContrast({ rgb, width: w, height: h, masks: {}, fov: new Uint8Array(w * h), name: 'x.png' }), /x\.png: .*no pixel of the field of view is free of every mask/);
  assert.throws(() => lesionContrast({ rgb, width: w, height: h, masks: { vessel: full }, fov: full }), /no background/);
});

test('ratios: fake mean over real mean for channels in both sets; null where the real mean is 0', () => {
  const sum = (c: Partial<Record<ConditionChannel, number>>) => ({ background: 0, backgroundPixels: 1, contrast: c, pixels: {} });
  const real = new LesionContrastAccumulator();
  real.add(sum({ vessel: -10, EX: 0, HE: -4 }));
  real.add(sum({ vessel: -14, EX: 0 }));
  const fake = new LesionContrastAccumulator();
  fake.add(sum({ vessel: -3, EX: 2, SE: 5 }));
  fake.add(sum({ vessel: -5 }));
  const rs = real.summary();
  assert.deepEqual(rs.channels.vessel, { mean: -12, std: Math.sqrt(8), se: 2, n: 2 });
  assert.deepEqual(contrastRatios(rs, fake.summary()), { vessel: 4 / 12, EX: null });
  assert.throws(() => fake.add(sum({ MA: NaN })), /MA contrast is NaN/);
});
