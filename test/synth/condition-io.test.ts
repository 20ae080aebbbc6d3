import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest } from '../../src/data/manifest.js';
import { readMask, writePng } from '../../src/data/image-io.js';
import {
  channelOfFileName, conditionSourceKind, conditionTensor, decodePainting, loadDatasetCondition, loadFolderCondition, loadPaintedCondition, PAINT_KEY, presentChannels,
} from '../../src/synth/condition-io.js';
import { phantomSet } from './fixtures.js';

let data = '';
let tmp = '';
before(async () => {
  data = await phantomSet(3, 64, 5);
  tmp = mkdtempSync(join(tmpdir(), 'cond-io-'));
});
after(() => {
  rmSync(data, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

test('a prepared sample loads by id with all its channels and FOV, resized with nearest', async () => {
  const e = readManifest(data)[1];
  const c = await loadDatasetCondition(data, e.id);
  assert.equal(c.size, 64);
  assert.deepEqual(presentChannels(c), e.known);
  assert.deepEqual(c.channels.vessel, (await readMask(join(data, e.masks.vessel!))).data);
  const small = await loadDatasetCondition(data, e.id, 32);
  assert.equal(small.size, 32);
  assert.equal(small.channels.vessel!.length, 32 * 32);
  // Nearest: pixel (y, x) of the 32 px map is pixel (2y+1, 2x+1) of the 64 px one.
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) assert.equal(small.channels.vessel![y * 32 + x], c.channels.vessel![(2 * y + 1) * 64 + 2 * x + 1]);
  assert.ok(small.channels.vessel!.every((v) => v === 0 || v === 255), 'binary stays binary');
  const t = conditionTensor(small);
  assert.deepEqual(t.shape, [1, 8, 32, 32]);
  assert.equal(t.max().item(), 1);
  await assert.rejects(loadDatasetCondition(data, 'nope'), /no sample with id "nope"/);
});

test('a folder of channel PNGs loads; unknown channel files and size mismatches are clear errors', async () => {
  const e = readManifest(data)[0];
  const dir = join(tmp, 'folder');
  mkdirSync(dir);
  copyFileSync(join(data, e.masks.vessel!), join(dir, 'vessel.png'));
  copyFileSync(join(data, e.masks.optic_disc!), join(dir, 'eye1_optic_disc.png'));
  copyFileSync(join(data, e.masks.MA!), join(dir, 'MA.png'));
  copyFileSync(join(data, e.fov), join(dir, 'fov.png'));
  writeFileSync(join(dir, 'notes.txt'), 'ignored: not an image');
  const c = await loadFolderCondition(dir, 32);
  assert.deepEqual(presentChannels(c), ['vessel', 'optic_disc', 'MA']);
  assert.equal(c.size, 32);
  assert.ok(c.fov && c.fov.some((v) => v === 255));
  assert.equal(conditionSourceKind(dir), 'folder');
  assert.equal(conditionSourceKind(data), 'dataset');
  assert.equal(conditionSourceKind(join(dir, 'MA.png')), 'painted');

  await writePng(join(dir, 'HE.png'), new Uint8Array(48 * 48), 48, 48, 1);
  await assert.rejects(loadFolderCondition(dir), /mask size mismatch: (48x48, but \S*MA\.png is 64x64|64x64, but \S*HE\.png is 48x48)/);
  rmSync(join(dir, 'HE.png'));
  await writePng(join(dir, 'drusen.png'), new Uint8Array(64 * 64), 64, 64, 1);
  await assert.rejects(loadFolderCondition(dir), /drusen\.png: unknown channel file/);
  assert.equal(channelOfFileName('IDRiD_01_EX.tif'), 'EX');
  assert.equal(channelOfFileName('x_optic_disc.png'), 'optic_disc');
  assert.equal(channelOfFileName('drusen.png'), null);
});

test('the paint key decodes each colour to its channel, with tolerance for anti-aliasing', () => {
  const chans = Object.keys(PAINT_KEY) as (keyof typeof PAINT_KEY)[];
  const w = chans.length + 2, h = 1;
  const rgb = new Uint8Array(w * 3);
  chans.forEach((ch, i) => PAINT_KEY[ch].forEach((v, k) => { rgb[3 * i + k] = Math.max(0, Math.min(255, v + (i % 2 ? -20 : 20))); }));
  // last two pixels: black background and a dark near-black
  rgb.set([10, 10, 10], 3 * (w - 1));
  const d = decodePainting(rgb, w, h);
  chans.forEach((ch, i) => {
    for (let j = 0; j < w; j++) assert.equal(d.channels[ch][j], j === i ? 255 : 0, `${ch} at pixel ${j}`);
  });
  assert.deepEqual(d.painted, chans);
  const photo = new Uint8Array(30).map((_, i) => 90 + i);
  assert.throws(() => decodePainting(photo, 10, 1, 'photo.png'), /photo\.png: 100\.0% of the non-black pixels match no colour of the paint key/);
});

test('a painted PNG gives lesion channels and takes vessel/disc/FOV from a structure source', async () => {
  const e = readManifest(data)[2];
  const size = 64;
  const rgb = new Uint8Array(size * size * 3);
  const dot = (x: number, y: number, c: readonly number[]) => rgb.set(c, 3 * (y * size + x));
  // Odd coordinates: the 64 -> 32 nearest resize samples pixel 2k+1.
  dot(31, 31, PAINT_KEY.MA);
  for (let x = 10; x < 14; x++) dot(x, 41, PAINT_KEY.EX);
  dot(51, 21, PAINT_KEY.HE);
  const file = join(tmp, 'painted.png');
  await writePng(file, rgb, size, size, 3);
  const structure = await loadDatasetCondition(data, e.id);
  const c = await loadPaintedCondition(file, { structure, size: 32 });
  assert.equal(c.size, 32);
  assert.deepEqual(presentChannels(c), ['vessel', 'optic_disc', 'MA', 'HE', 'EX', 'SE', 'LM', 'PM']);
  assert.equal(c.channels.MA![15 * 32 + 15], 255);
  assert.equal(c.channels.MA!.filter((v) => v).length, 1);
  assert.equal(c.channels.EX!.filter((v) => v).length, 2);
  assert.equal(c.channels.SE!.filter((v) => v).length, 0);
  assert.ok(c.fov);
  const alone = await loadPaintedCondition(file);
  assert.equal(alone.size, 64);
  assert.equal(alone.channels.vessel, undefined, 'no vessel painted, none given');
});
