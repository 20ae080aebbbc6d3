import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeBmp } from '../../src/data/bmp.js';
import { DataError } from '../../src/data/errors.js';
import { readImage, readMask } from '../../src/data/image-io.js';
import { encodeBmp24, tempDir, writeImage } from './helpers.js';

// 5x3 with distinct pixels, so any flip, transpose or channel swap shows.
function pattern(w = 5, h = 3) {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    data[i * 3] = (i * 17) % 256;
    data[i * 3 + 1] = (i * 41 + 7) % 256;
    data[i * 3 + 2] = 255 - i * 9;
  }
  return { data, width: w, height: h };
}

test('image-io: PNG, TIFF, BMP and JPEG read back as RGB HWC', async (t) => {
  const dir = tempDir(t);
  const img = pattern();
  for (const ext of ['png', 'tif', 'bmp']) {
    const p = join(dir, `a.${ext}`);
    await writeImage(p, img);
    const r = await readImage(p);
    assert.equal(r.width, 5, ext);
    assert.equal(r.height, 3, ext);
    assert.deepEqual([...r.data], [...img.data], ext);
  }
  const flat = { data: new Uint8Array(16 * 16 * 3).fill(0), width: 16, height: 16 };
  for (let i = 0; i < 256; i++) flat.data.set([200, 100, 50], i * 3);
  await writeImage(join(dir, 'a.jpeg'), flat);
  const j = await readImage(join(dir, 'a.jpeg'));
  assert.ok(Math.abs(j.data[0] - 200) <= 3 && Math.abs(j.data[1] - 100) <= 3 && Math.abs(j.data[2] - 50) <= 3);
});

test('image-io: GIF (palettised) and grey PNG become 3 equal or palette channels', async (t) => {
  const dir = tempDir(t);
  const grey = { data: new Uint8Array([0, 255, 128, 7]), width: 2, height: 2 };
  await writeImage(join(dir, 'g.png'), grey, 1);
  const r = await readImage(join(dir, 'g.png'));
  assert.deepEqual([...r.data], [0, 0, 0, 255, 255, 255, 128, 128, 128, 7, 7, 7]);
  const bw = { data: new Uint8Array(8 * 8 * 3), width: 8, height: 8 };
  for (let i = 0; i < 32; i++) bw.data.set([255, 255, 255], i * 3);
  await writeImage(join(dir, 'm.gif'), bw);
  const m = await readMask(join(dir, 'm.gif'));
  assert.equal(m.data.filter((v) => v === 255).length, 32);
  assert.equal(m.data.filter((v) => v === 0).length, 32);
});

test('image-io: 16-bit PNG is read as 8 bit', async (t) => {
  const dir = tempDir(t);
  const img = pattern();
  const p = join(dir, 'deep.png');
  await sharp(img.data, { raw: { width: 5, height: 3, channels: 3 } }).toColourspace('rgb16').png().toFile(p);
  assert.equal((await sharp(p).metadata()).depth, 'ushort');
  const r = await readImage(p);
  assert.deepEqual([...r.data], [...img.data]);
});

test('image-io: EXIF orientation 6 (rotate 90 clockwise) is applied', async (t) => {
  const dir = tempDir(t);
  const img = { data: new Uint8Array(4 * 2 * 3), width: 4, height: 2 };
  img.data.set([255, 255, 255], 0); // top-left marker
  const p = join(dir, 'o.png');
  await sharp(img.data, { raw: { width: 4, height: 2, channels: 3 } }).withMetadata({ orientation: 6 }).png().toFile(p);
  const r = await readImage(p);
  assert.equal(r.width, 2);
  assert.equal(r.height, 4);
  // Turned 90 degrees clockwise, the top-left pixel lands top-right.
  assert.equal(r.data[(0 * 2 + 1) * 3], 255);
  assert.equal(r.data[0], 0);
});

test('bmp: 24-bit bottom-up, 32-bit top-down and 8-bit palettised decode', () => {
  const img = pattern();
  assert.deepEqual([...decodeBmp(encodeBmp24(img)).data], [...img.data]);

  const w = 3;
  const h = 2;
  const b32 = Buffer.alloc(54 + w * h * 4);
  b32.write('BM', 0, 'latin1');
  b32.writeUInt32LE(54, 10);
  b32.writeUInt32LE(40, 14);
  b32.writeInt32LE(w, 18);
  b32.writeInt32LE(-h, 22); // top-down
  b32.writeUInt16LE(32, 28);
  for (let i = 0; i < w * h; i++) b32.set([i, 10 * i, 20 * i, 0], 54 + i * 4); // B G R X
  assert.deepEqual([...decodeBmp(b32).data].slice(0, 6), [0, 0, 0, 20, 10, 1]);

  const stride = 4;
  const b8 = Buffer.alloc(54 + 256 * 4 + stride * 2);
  b8.write('BM', 0, 'latin1');
  b8.writeUInt32LE(54 + 1024, 10);
  b8.writeUInt32LE(40, 14);
  b8.writeInt32LE(3, 18);
  b8.writeInt32LE(2, 22);
  b8.writeUInt16LE(8, 28);
  b8.set([30, 20, 10, 0], 54 + 5 * 4); // palette 5 = RGB(10,20,30)
  b8[54 + 1024 + stride + 1] = 5; // top row (stored second), middle pixel
  const d8 = decodeBmp(b8);
  assert.deepEqual([...d8.data.slice(3, 6)], [10, 20, 30]);
  assert.deepEqual([...d8.data.slice(9, 12)], [0, 0, 0]);
});

test('image-io: corrupt, truncated, empty and missing files are DataErrors naming the file', async (t) => {
  const dir = tempDir(t);
  const big = { data: new Uint8Array(64 * 64 * 3).map((_, i) => (i * 31) % 256), width: 64, height: 64 };
  await writeImage(join(dir, 'ok.jpeg'), big);
  const full = readFileSync(join(dir, 'ok.jpeg'));
  writeFileSync(join(dir, 'trunc.jpeg'), full.subarray(0, Math.floor(full.length / 2)));
  writeFileSync(join(dir, 'junk.png'), Buffer.from('this is not an image at all'));
  writeFileSync(join(dir, 'empty.tif'), Buffer.alloc(0));
  writeFileSync(join(dir, 'trunc.bmp'), encodeBmp24(big).subarray(0, 200));
  for (const name of ['trunc.jpeg', 'junk.png', 'empty.tif', 'trunc.bmp', 'missing.png']) {
    const p = join(dir, name);
    await assert.rejects(readImage(p), (err: unknown) => {
      assert.ok(err instanceof DataError, name);
      assert.equal(err.file, p);
      assert.ok(err.message.startsWith(p + ': '), err.message);
      assert.match(err.reason, /corrupt|truncated|not a readable|empty|not found/);
      return true;
    });
  }
});

test('image-io: readMask keeps a pure-red mask (IDRiD TIF style) as on', async (t) => {
  const dir = tempDir(t);
  const m = { data: new Uint8Array([255, 0, 0, 0, 0, 0]), width: 2, height: 1 };
  await writeImage(join(dir, 'red.tif'), m);
  assert.deepEqual([...(await readMask(join(dir, 'red.tif'))).data], [255, 0]);
});
