import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { writePng } from '../../src/data/image-io.js';
import { groupByGrade, openImageSet, readImageBatches } from '../../src/eval/image-sets.js';
import { pixels, pngFolder, preparedSet, tempDir } from './image-set-fixtures.js';

async function collect(items: Parameters<typeof readImageBatches>[0], o: Parameters<typeof readImageBatches>[1]) {
  const out: { shape: number[]; ids: string[]; first: number[] }[] = [];
  for await (const b of readImageBatches(items, o)) {
    out.push({ shape: b.images.shape, ids: b.items.map((i) => i.id), first: b.images.narrow(0, 0, 1).reshape(-1).toArray() as number[] });
    b.images.dispose();
  }
  return out;
}

test('a plain folder is read as its image files sorted by name, in uint8 [B, 3, H, W] batches with exact pixels', async (t) => {
  const dir = await pngFolder(join(tempDir(t), 'a'), 3, { size: 16 });
  await sharp(Buffer.from(pixels(16, 9, 0)), { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toFile(join(dir, 'z.JPG'));
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  const set = openImageSet(dir);
  assert.equal(set.kind, 'folder');
  assert.deepEqual(set.items.map((i) => i.id), ['img0', 'img1', 'img2', 'z']);
  assert.ok(set.items.every((i) => i.grade === null));
  const batches = await collect(set.items, { batchSize: 3 });
  assert.deepEqual(batches.map((b) => b.shape), [[3, 3, 16, 16], [1, 3, 16, 16]]);
  assert.deepEqual(batches.map((b) => b.ids), [['img0', 'img1', 'img2'], ['z']]);
  // CHW order: channel 0 plane first, then channel 1 ...
  const hwc = pixels(16, 1000, 40);
  const chw = [0, 1, 2].flatMap((c) => Array.from({ length: 256 }, (_, p) => hwc[p * 3 + c]));
  assert.deepEqual(batches[0].first, chw);
});

test('mixed image sizes are refused naming the file unless a size is given', async (t) => {
  const dir = await pngFolder(join(tempDir(t), 'a'), 2, { size: 16 });
  await writePng(join(dir, 'img9.png'), pixels(24, 3, 10, 20), 24, 20, 3);
  const set = openImageSet(dir);
  await assert.rejects(collect(set.items, { batchSize: 2, label: '--real' }), (e: Error) => /--real: .*img9\.png is 24x20 but .*img0\.png is 16x16; pass --size N/.test(e.message));
  const resized = await collect(set.items, { batchSize: 8, size: 20 });
  assert.deepEqual(resized[0].shape, [3, 3, 20, 20]);
});

test('a prepared data set is read from its manifest, by split, and grouped by grade', async (t) => {
  const dir = await preparedSet(join(tempDir(t), 'p'), [0, 2, 0, null, 4], { splits: ['train', 'test', 'test', 'test', 'val'] });
  const set = openImageSet(dir);
  assert.equal(set.kind, 'prepared');
  assert.deepEqual(set.items.map((i) => [i.id, i.grade]), [['s0', 0], ['s1', 2], ['s2', 0], ['s3', null], ['s4', 4]]);
  assert.equal(set.items[1].path, join(dir, 'images', 's1.png'));
  const groups = groupByGrade(set);
  assert.deepEqual([...groups].map(([g, items]) => [g, items.map((i) => i.id)]), [[0, ['s0', 's2']], [2, ['s1']], [4, ['s4']]]);
  const test_ = openImageSet(dir, { split: 'test' });
  assert.deepEqual(test_.items.map((i) => i.id), ['s1', 's2', 's3']);
  assert.deepEqual(openImageSet(dir, { split: 'train' }).items.map((i) => i.id), ['s0']);
  const batches = await collect(test_.items, { batchSize: 2 });
  assert.deepEqual(batches.map((b) => b.shape[0]), [2, 1]);
});

test('folders without grades, empty folders and missing paths are clear errors', async (t) => {
  const root = tempDir(t);
  const folder = await pngFolder(join(root, 'a'), 2);
  assert.throws(() => groupByGrade(openImageSet(folder)), /per-grade metrics need a prepared data set with grades/);
  const ungraded = await preparedSet(join(root, 'u'), [null, null]);
  assert.throws(() => groupByGrade(openImageSet(ungraded)), /no sample has a grade/);
  await pngFolder(join(root, 'empty'), 0);
  assert.throws(() => openImageSet(join(root, 'empty')), /no images found/);
  assert.throws(() => openImageSet(join(root, 'nope')), /nope: no such image folder/);
  assert.throws(() => openImageSet(join(folder, 'img0.png')), /got a file/);
  assert.throws(() => openImageSet(folder, { split: 'test' }), /split "test" needs a prepared data set/);
});
