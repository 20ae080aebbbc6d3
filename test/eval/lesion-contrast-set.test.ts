import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writePng } from '../../src/data/image-io.js';
import { readManifest, writeManifest } from '../../src/data/manifest.js';
import { LesionContrastAccumulator, lesionContrast } from '../../src/eval/lesion-contrast.js';
import { measureLesionContrast } from '../../src/eval/lesion-contrast-set.js';
import { tempDir } from './image-set-fixtures.js';
import { LESION_SET_SIZE, writeLesionSet, type LesionSample } from './lesion-set-fixtures.js';

function expected(samples: LesionSample[]) {
  const acc = new LesionContrastAccumulator();
  for (const s of samples) acc.add(lesionContrast({ rgb: s.rgb, width: LESION_SET_SIZE, height: LESION_SET_SIZE, masks: s.masks, fov: s.fov }));
  return acc.summary();
}

test('a prepared set is measured on each sample\'s own known and predicted masks, by split and limit', async (t) => {
  const dir = join(tempDir(t, 'drgan-lesion-'), 'real');
  const samples = await writeLesionSet(dir);
  const all = await measureLesionContrast(dir);
  assert.deepEqual(all, { dir, split: 'all', size: null, ...expected(samples) });
  // Vessels in all three, HE only where it is a condition (sample 1, predicted), MA's 2 pixels never.
  assert.deepEqual(Object.fromEntries(Object.entries(all.channels).map(([ch, s]) => [ch, s.n])), { vessel: 3, optic_disc: 1, HE: 1, EX: 1 });
  assert.ok(all.channels.vessel!.mean < -20 && all.channels.HE!.mean < -20 && all.channels.EX!.mean > 20 && all.channels.optic_disc!.mean > 10);
  assert.deepEqual((await measureLesionContrast(dir, { split: 'val' })).channels, expected(samples.slice(2)).channels);
  const first = await measureLesionContrast(dir, { limit: 2 });
  assert.equal(first.images, 2);
  assert.deepEqual(first.channels, expected(samples.slice(0, 2)).channels);
  await assert.rejects(measureLesionContrast(dir, { split: 'test' }), /no samples in split "test"/);
});

test('halving every lesion halves every contrast (flat background): the ratio the command reports', async (t) => {
  const root = tempDir(t, 'drgan-lesion-');
  await writeLesionSet(join(root, 'a'));
  await writeLesionSet(join(root, 'b'), 0.5);
  const [a, b] = [await measureLesionContrast(join(root, 'a')), await measureLesionContrast(join(root, 'b'))];
  for (const [ch, s] of Object.entries(a.channels)) assert.ok(Math.abs(b.channels[ch as keyof typeof a.channels]!.mean / s.mean - 0.5) < 1e-12, ch);
});

test('--size resizes image and masks together; without it a mask of another size is an error naming it', async (t) => {
  const dir = join(tempDir(t, 'drgan-lesion-'), 'real');
  await writeLesionSet(dir);
  const at64 = await measureLesionContrast(dir, { size: 64 });
  assert.equal(at64.size, 64);
  // MA's 2 pixels become 8 at twice the size, enough to be measured.
  assert.deepEqual(Object.keys(at64.channels), ['vessel', 'optic_disc', 'MA', 'HE', 'EX']);
  assert.equal(at64.channels.MA!.n, 1);
  // Twice the size keeps each lesion's sign (lanczos rings a little, nearest keeps masks binary).
  assert.ok(at64.channels.vessel!.mean < -10 && at64.channels.MA!.mean < -10 && at64.channels.EX!.mean > 10);
  const small = new Uint8Array(16 * 16);
  small.fill(255, 16 * 8, 16 * 9); // one row
  await writePng(join(dir, 'masks/s1_vessel.png'), small, 16, 16, 1);
  await assert.rejects(measureLesionContrast(dir), (e: Error) => {
    assert.match(e.message, /masks\/s1_vessel\.png: mask is 16x16 but its image .*images\/s1\.png is 32x32/);
    return true;
  });
  assert.equal((await measureLesionContrast(dir, { size: 32 })).images, 3);
});

test('a missing image, a missing mask or a sample without masks stops the run with the file named', async (t) => {
  const root = tempDir(t, 'drgan-lesion-');
  const dir = join(root, 'real');
  await writeLesionSet(dir);
  rmSync(join(dir, 'images/s2.png'));
  await assert.rejects(measureLesionContrast(dir), /images\/s2\.png: file not found/);
  assert.equal((await measureLesionContrast(dir, { limit: 2 })).images, 2);

  const dir2 = join(root, 'real2');
  await writeLesionSet(dir2);
  rmSync(join(dir2, 'masks/s0_EX.png'));
  await assert.rejects(measureLesionContrast(dir2), /masks\/s0_EX\.png: file not found/);

  const dir3 = join(root, 'real3');
  await writeLesionSet(dir3);
  const entries = readManifest(dir3);
  entries[1] = { ...entries[1], known: [], predicted: [] };
  writeManifest(dir3, entries);
  await assert.rejects(measureLesionContrast(dir3), /real3\/manifest\.jsonl: sample "s1" has no condition masks/);
  rmSync(join(dir3, 'fov/s0.png'));
  await assert.rejects(measureLesionContrast(dir3), /fov\/s0\.png: file not found/);
});
