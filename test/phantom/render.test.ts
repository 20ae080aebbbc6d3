import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONDITION_CHANNELS } from '../../src/data/manifest.js';
import { renderPhantom } from '../../src/phantom/render.js';

const LESIONS = ['MA', 'HE', 'EX', 'SE', 'LM', 'PM'] as const;

test('a sample is fixed by (seed, index): same bytes again, different for another seed or index', () => {
  const a = renderPhantom(3, 5, 64);
  const b = renderPhantom(3, 5, 64);
  assert.deepEqual(a.rgb, b.rgb);
  for (const c of CONDITION_CHANNELS) assert.deepEqual(a.masks[c], b.masks[c]);
  assert.notDeepEqual(renderPhantom(4, 5, 64).rgb, a.rgb);
  assert.notDeepEqual(renderPhantom(3, 6, 64).rgb, a.rgb);
});

test('sizes outside 64..1280 and bad seeds are refused', () => {
  assert.throws(() => renderPhantom(1, 0, 63), /64\.\.1280/);
  assert.throws(() => renderPhantom(1, 0, 1281), /64\.\.1280/);
  assert.throws(() => renderPhantom(1, 0, 100.5), /64\.\.1280/);
  assert.throws(() => renderPhantom(-1, 0, 64), /seed/);
  assert.throws(() => renderPhantom(1, 0, 64, { grade: 5 }), /grade/);
});

test('masks lie inside the FOV, are binary except LM/PM, and are non-empty exactly where lesions were drawn', () => {
  for (let grade = 0; grade <= 4; grade++) {
    for (let i = 0; i < 4; i++) {
      const s = renderPhantom(21, i, 64, { grade });
      const N = 64 * 64;
      assert.equal(s.rgb.length, N * 3);
      assert.ok(s.fov.every((v) => v === 0 || v === 255));
      for (const c of CONDITION_CHANNELS) {
        const m = s.masks[c];
        assert.equal(m.length, N);
        for (let k = 0; k < N; k++) if (m[k] > 0) assert.equal(s.fov[k], 255, `${c} outside FOV at ${k}`);
        if (c !== 'LM' && c !== 'PM') assert.ok(m.every((v) => v === 0 || v === 255), `${c} not binary`);
      }
      assert.ok(s.masks.vessel.some((v) => v > 0) && s.masks.optic_disc.some((v) => v > 0));
      for (const c of LESIONS) {
        const drawn = s.lesions[c] > 0;
        const painted = s.masks[c].some((v) => v > 0);
        assert.equal(painted, drawn, `grade ${grade} index ${i}: ${c} count ${s.lesions[c]} but mask ${painted ? 'non-empty' : 'empty'}`);
      }
      // Beyond the FOV's antialiased rim (2 px clear of it) the photograph is black, save noise.
      const farOutside = (x: number, y: number) => {
        for (let dy = -2; dy <= 2; dy++)
          for (let dx = -2; dx <= 2; dx++) {
            const xx = x + dx;
            const yy = y + dy;
            if (xx >= 0 && yy >= 0 && xx < 64 && yy < 64 && s.fov[yy * 64 + xx]) return false;
          }
        return true;
      };
      let dark = 0;
      let far = 0;
      for (let k = 0; k < N; k++) {
        if (!farOutside(k % 64, Math.floor(k / 64))) continue;
        far++;
        if (s.rgb[k * 3] + s.rgb[k * 3 + 1] + s.rgb[k * 3 + 2] < 45) dark++;
      }
      assert.ok(far > 200 && dark / far > 0.97, `${dark}/${far} pixels outside the FOV are dark`);
    }
  }
});

test('the optic disc is on the right of the image for a right eye and on the left for a left eye', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const s = renderPhantom(8, i, 64);
    let sx = 0;
    let n = 0;
    s.masks.optic_disc.forEach((v, k) => {
      if (v) {
        sx += k % 64;
        n++;
      }
    });
    const cx = sx / n + 0.5;
    seen.add(s.eye);
    if (s.eye === 'right') assert.ok(cx > 32 + 8, `right eye, disc at x=${cx}`);
    else assert.ok(cx < 32 - 8, `left eye, disc at x=${cx}`);
  }
  assert.deepEqual([...seen].sort(), ['left', 'right']);
});

test('a small and a large render of one seed look alike', () => {
  const small = renderPhantom(2, 1, 64, { photographic: false });
  const big = renderPhantom(2, 1, 128, { photographic: false });
  const other = renderPhantom(2, 2, 64, { photographic: false });
  // Average 2x2 blocks of the 128 px render down to 64 px and compare.
  let same = 0;
  let diff = 0;
  for (let y = 0; y < 64; y++)
    for (let x = 0; x < 64; x++)
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number) => big.rgb[(yy * 128 + xx) * 3 + c];
        const down = (at(2 * y, 2 * x) + at(2 * y + 1, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x + 1)) / 4;
        const k = (y * 64 + x) * 3 + c;
        same += Math.abs(down - small.rgb[k]);
        diff += Math.abs(other.rgb[k] - small.rgb[k]);
      }
  same /= 64 * 64 * 3;
  diff /= 64 * 64 * 3;
  assert.ok(same < 6, `64 vs downsampled 128 differ by ${same.toFixed(2)} levels on average`);
  assert.ok(same * 2.5 < diff, `same seed ${same.toFixed(2)} vs other seed ${diff.toFixed(2)}`);
});

test('lesions change the picture where their masks are', () => {
  // Grade 0 and grade 3 of the same eye share anatomy; pixels differ mostly under haemorrhages.
  const a = renderPhantom(31, 0, 128, { grade: 0, photographic: false });
  const b = renderPhantom(31, 0, 128, { grade: 3, photographic: false });
  let inside = 0;
  let nIn = 0;
  for (let k = 0; k < 128 * 128; k++) {
    if (b.masks.HE[k]) {
      inside += a.rgb[k * 3 + 1] - b.rgb[k * 3 + 1];
      nIn++;
    }
  }
  assert.ok(nIn > 0);
  assert.ok(inside / nIn > 8, `haemorrhages should darken the green channel, mean change ${(inside / nIn).toFixed(1)}`);
});
