import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drawParams, warp, IDENTITY, DEFAULT_AUGMENT } from '../../src/data/augment.js';
import { writePng } from '../../src/data/image-io.js';
import { DataLoader, type Batch } from '../../src/data/loader.js';
import { maskPath, writeManifest, type ManifestEntry, type Split } from '../../src/data/manifest.js';
import { mulberry32 } from '../../src/data/rng.js';
import { epochOrder } from '../../src/data/sampler.js';
import { centroid, tempDir } from './helpers.js';

const S = 32;

/**
 * A prepared set: sample i has a bright square marker in the image at a position that
 * depends on i, and the same square in its MA mask; vessel known only for even i.
 */
async function makeSet(dir: string, grades: (number | null)[], splits?: Split[]): Promise<void> {
  for (const d of ['images', 'fov', 'masks']) mkdirSync(join(dir, d), { recursive: true });
  const entries: ManifestEntry[] = [];
  for (let i = 0; i < grades.length; i++) {
    const id = `s${i}`;
    const img = new Uint8Array(S * S * 3);
    const fov = new Uint8Array(S * S);
    const ma = new Uint8Array(S * S);
    const vessel = new Uint8Array(S * S);
    const mx = 8 + (i % 4) * 3;
    const my = 6 + (i % 3) * 4;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const p = y * S + x;
        if ((x + 0.5 - S / 2) ** 2 + (y + 0.5 - S / 2) ** 2 > (S / 2) ** 2) continue;
        fov[p] = 255;
        img.set([120, 60, 30], p * 3);
        if (Math.abs(x - mx) <= 1 && Math.abs(y - my) <= 1) {
          img.set([255, 255, 255], p * 3);
          ma[p] = 255;
        }
        if (x === 20) vessel[p] = 255;
      }
    }
    await writePng(join(dir, `images/${id}.png`), img, S, S, 3);
    await writePng(join(dir, `fov/${id}.png`), fov, S, S, 1);
    await writePng(join(dir, maskPath(id, 'MA')), ma, S, S, 1);
    const masks: ManifestEntry['masks'] = { MA: maskPath(id, 'MA') };
    if (i % 2 === 0) {
      await writePng(join(dir, maskPath(id, 'vessel')), vessel, S, S, 1);
      masks.vessel = maskPath(id, 'vessel');
    }
    entries.push({ id, image: `images/${id}.png`, fov: `fov/${id}.png`, masks, grade: grades[i], known: Object.keys(masks) as ManifestEntry['known'], predicted: [], split: splits?.[i] ?? 'train', source: id, size: S });
  }
  writeManifest(dir, entries);
}

async function collect(l: DataLoader, epoch = 0, startBatch?: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of l.epoch(epoch, { startBatch })) out.push(b);
  return out;
}

test('loader: shapes, ranges, zero conditions and known flags for unknown channels, grades', async (t) => {
  const dir = tempDir(t);
  await makeSet(dir, [0, 1, null, 3, 4]);
  const l = new DataLoader({ dir, split: 'train', batchSize: 2, shuffle: false });
  const bs = await collect(l);
  assert.equal(bs.length, 3);
  assert.deepEqual(bs[0].shapes.images, [2, 3, S, S]);
  assert.deepEqual(bs[0].shapes.conditions, [2, 8, S, S]);
  assert.deepEqual(bs[2].shapes.images, [1, 3, S, S], 'last batch partial');
  assert.deepEqual([...bs[1].grades], [-1, 3]);
  const b = bs[0];
  assert.ok(b.images.every((v) => v >= -1 && v <= 1));
  assert.equal(Math.min(...b.images), -1, 'black outside the FOV is -1');
  // s0 has vessel (channel 0) and MA (2); s1 only MA.
  assert.deepEqual([...b.known.subarray(0, 8)], [1, 0, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual([...b.known.subarray(8, 16)], [0, 0, 1, 0, 0, 0, 0, 0]);
  const px = S * S;
  const s1vessel = b.conditions.subarray((8 + 0) * px, (8 + 1) * px);
  assert.ok(s1vessel.every((v) => v === 0));
  assert.ok(b.conditions.subarray(0, px).some((v) => v === 1), 's0 vessel present');
  assert.equal(b.fov[16 * S + 16], 1);
  assert.equal(b.fov[0], 0);
});

test('loader: same seed gives identical batches whatever the prefetch depth; another seed or epoch differs', async (t) => {
  const dir = tempDir(t);
  await makeSet(dir, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  const opts = { dir, split: 'train' as const, batchSize: 3, seed: 7, augment: DEFAULT_AUGMENT };
  const a = await collect(new DataLoader({ ...opts, prefetch: 1 }));
  const b = await collect(new DataLoader({ ...opts, prefetch: 4 }));
  assert.deepEqual(a.map((x) => x.ids), b.map((x) => x.ids));
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(a[i].images, b[i].images);
    assert.deepEqual(a[i].conditions, b[i].conditions);
  }
  const c = await collect(new DataLoader({ ...opts, seed: 8 }));
  assert.notDeepEqual(a.map((x) => x.ids), c.map((x) => x.ids));
  const e1 = await collect(new DataLoader(opts), 1);
  assert.notDeepEqual(a.map((x) => x.ids), e1.map((x) => x.ids));
  assert.deepEqual(a.flatMap((x) => x.ids).sort(), e1.flatMap((x) => x.ids).sort(), 'each epoch is a permutation');
});

test('loader: split selection follows the manifest', async (t) => {
  const dir = tempDir(t);
  await makeSet(dir, [0, 1, 2, 3], ['train', 'val', 'test', 'train']);
  const ids = async (split: Split | 'all') => (await collect(new DataLoader({ dir, split, batchSize: 10, shuffle: false })))[0].ids;
  assert.deepEqual(await ids('train'), ['s0', 's3']);
  assert.deepEqual(await ids('val'), ['s1']);
  assert.deepEqual(await ids('all'), ['s0', 's1', 's2', 's3']);
});

test('loader: startBatch k yields exactly batches k.. of the whole epoch, without decoding the skipped ones', async (t) => {
  const dir = tempDir(t);
  await makeSet(dir, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0]);
  const opts = { dir, split: 'train' as const, batchSize: 3, seed: 5, augment: DEFAULT_AUGMENT };
  const whole = await collect(new DataLoader(opts), 2);
  assert.equal(whole.length, 4);
  const k = 2;
  // With the skipped batches' photos gone, decoding them would fail: they must not be read.
  for (const id of whole.slice(0, k).flatMap((b) => b.ids)) rmSync(join(dir, `images/${id}.png`));
  for (const prefetch of [1, 3]) {
    const rest = await collect(new DataLoader({ ...opts, prefetch }), 2, k);
    assert.deepEqual(rest.map((b) => b.ids), whole.slice(k).map((b) => b.ids));
    rest.forEach((b, i) => {
      assert.deepEqual(b.images, whole[k + i].images, `batch ${k + i} images (augmented by position)`);
      assert.deepEqual(b.conditions, whole[k + i].conditions);
    });
  }
  const l = new DataLoader(opts);
  assert.deepEqual(await collect(l, 2, 4), [], 'startBatch = length: nothing left');
  await assert.rejects(collect(l, 2, 5), /startBatch must be an integer in 0\.\.4 \(batches per epoch\), got 5/);
  await assert.rejects(collect(l, 2, -1), /startBatch must be an integer/);
});

test('loader: a filter keeps only the entries it accepts, in manifest order, without touching the manifest', async (t) => {
  const dir = tempDir(t);
  await makeSet(dir, [0, 1, null, 3, 4, null, 2], ['train', 'train', 'train', 'val', 'train', 'train', 'train']);
  const l = new DataLoader({ dir, split: 'train', batchSize: 2, shuffle: false, filter: (e) => e.grade !== null && e.known.includes('vessel') });
  assert.deepEqual(l.entries.map((e) => e.id), ['s0', 's4', 's6']);
  assert.equal(l.length, 2);
  assert.deepEqual((await collect(l)).map((b) => b.ids), [['s0', 's4'], ['s6']]);
  const shuffled = await collect(new DataLoader({ dir, split: 'train', batchSize: 2, seed: 1, filter: (e) => e.grade !== null }));
  assert.deepEqual(shuffled.flatMap((b) => b.ids).sort(), ['s0', 's1', 's4', 's6']);
  assert.equal(new DataLoader({ dir, split: 'train', batchSize: 2 }).entries.length, 6, 'another loader still sees every entry');
  const none = new DataLoader({ dir, split: 'train', batchSize: 2, filter: () => false });
  assert.deepEqual([none.length, (await collect(none)).length], [0, 0]);
});

test('sampler: class-balanced order draws rare grades about as often as common ones; plain order is a permutation', () => {
  const grades = [...Array(16).fill(0), 3, 4, 4, 2];
  const counts = new Map<number, number>();
  for (let e = 0; e < 200; e++) for (const i of epochOrder(grades, e, { seed: 3, shuffle: true, balanced: true })) counts.set(grades[i], (counts.get(grades[i]) ?? 0) + 1);
  for (const g of [0, 2, 3, 4]) {
    const f = counts.get(g)! / (200 * grades.length);
    assert.ok(Math.abs(f - 0.25) < 0.03, `grade ${g} drawn ${f}`);
  }
  const plain = epochOrder(grades, 0, { seed: 3, shuffle: true, balanced: false });
  assert.deepEqual([...plain].sort((x, y) => x - y), grades.map((_, i) => i));
});

test('loader: balanced mode brings the rare grades into an epoch', async (t) => {
  const dir = tempDir(t);
  await makeSet(dir, [...Array(10).fill(0), 4]);
  const l = new DataLoader({ dir, split: 'train', batchSize: 11, balanced: true, seed: 5 });
  const [b] = await collect(l);
  assert.ok([...b.grades].filter((g) => g === 4).length >= 3, `grades ${[...b.grades]}`);
});

test('augment: colour jitter changes the photo inside the FOV only, never the conditions', async (t) => {
  const dir = tempDir(t);
  await makeSet(dir, [0, 1, 2, 3]);
  const base = { dir, split: 'train' as const, batchSize: 4, seed: 2 };
  const [plain] = await collect(new DataLoader(base));
  const [jit] = await collect(new DataLoader({ ...base, augment: { brightness: 0.3, contrast: 0.3, gamma: 0.3, hue: 20 } }));
  assert.deepEqual(jit.ids, plain.ids);
  assert.deepEqual(jit.conditions, plain.conditions);
  assert.deepEqual(jit.fov, plain.fov);
  let changed = 0;
  for (let i = 0; i < plain.images.length; i++) {
    const inFov = plain.fov[Math.floor(i / (3 * S * S)) * S * S + (i % (S * S))] === 1;
    if (!inFov) assert.equal(jit.images[i], -1);
    else if (Math.abs(jit.images[i] - plain.images[i]) > 0.02) changed++;
  }
  assert.ok(changed > 1000, `changed ${changed}`);
});

test('augment: image marker and its mask stay aligned under random flips, rotations and scales', async (t) => {
  const dir = tempDir(t);
  await makeSet(dir, [0, 1, 2, 3, 4, 0, 1, 2]);
  const l = new DataLoader({ dir, split: 'train', batchSize: 4, seed: 11, augment: { ...DEFAULT_AUGMENT, brightness: 0, contrast: 0, gamma: 0, hue: 0 } });
  const px = S * S;
  let moved = 0;
  for (let e = 0; e < 3; e++) {
    for (const b of await collect(l, e)) {
      for (let k = 0; k < b.batchSize; k++) {
        const img = b.images.subarray(k * 3 * px, (k + 1) * 3 * px);
        const ma = b.conditions.subarray((k * 8 + 2) * px, (k * 8 + 3) * px);
        assert.ok(ma.every((v) => v === 0 || v === 1), 'binary mask stays binary (nearest)');
        const white = centroid(px, S, (i) => img[2 * px + i] > 0.5); // blue channel: only the marker is bright
        const mask = centroid(px, S, (i) => ma[i] === 1);
        assert.ok(mask.count > 0 && white.count > 0);
        assert.ok(Math.hypot(white.x - mask.x, white.y - mask.y) < 1, `marker ${white.x},${white.y} vs mask ${mask.x},${mask.y}`);
        const i = Number(b.ids[k].slice(1));
        if (Math.hypot(mask.x - (8 + (i % 4) * 3), mask.y - (6 + (i % 3) * 4)) > 2) moved++;
      }
    }
  }
  assert.ok(moved > 5, 'augmentation actually moved markers');
});

test('augment: flips and rotation move a pixel where expected; parameters are a function of the seed', () => {
  const src = new Uint8Array(S * S);
  src[5 * S + 3] = 255;
  const flipped = warp(src, S, 1, { ...IDENTITY, hflip: true }, 'nearest');
  assert.equal(flipped[5 * S + (S - 1 - 3)], 255);
  assert.equal(flipped.filter((v) => v).length, 1);
  const rot = warp(src, S, 1, { ...IDENTITY, angle: Math.PI / 2 }, 'nearest');
  assert.equal(rot.filter((v) => v).length, 1);
  assert.equal(rot[3 * S + (S - 1 - 5)], 255, '90 degrees clockwise in image coordinates');
  const p = drawParams(DEFAULT_AUGMENT, mulberry32(1));
  const q = drawParams(DEFAULT_AUGMENT, mulberry32(1));
  assert.deepEqual(p, q);
});

test('loader: masks false gives the same photos, FOV, grades and augmentation with no condition maps', async (t) => {
  const dir = tempDir(t);
  await makeSet(dir, [0, 1, 2, 3, 4, 0]);
  const opts = { dir, split: 'train' as const, batchSize: 4, seed: 3, augment: DEFAULT_AUGMENT };
  const full = await collect(new DataLoader(opts));
  const bare = await collect(new DataLoader({ ...opts, masks: false }));
  assert.equal(bare.length, full.length);
  for (let i = 0; i < full.length; i++) {
    assert.deepEqual(bare[i].ids, full[i].ids);
    assert.deepEqual(bare[i].images, full[i].images);
    assert.deepEqual(bare[i].fov, full[i].fov);
    assert.deepEqual(bare[i].grades, full[i].grades);
    assert.ok(full[i].conditions.some((v) => v > 0), 'the full loader reads the masks');
    assert.ok(bare[i].conditions.every((v) => v === 0));
    assert.ok(bare[i].known.every((v) => v === 0), 'no channel is marked known');
  }
});
