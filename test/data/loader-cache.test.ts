// The loader's decoded-sample cache (cacheBytes) changes no batch: with and without it, over
// epochs, with augmentation and masks, whether all, some or none of the samples fit.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_AUGMENT, type AugmentOptions } from '../../src/data/augment.js';
import { writePng } from '../../src/data/image-io.js';
import { DataLoader, type Batch, type LoaderOptions } from '../../src/data/loader.js';
import { maskPath, writeManifest, type ConditionChannel, type ManifestEntry } from '../../src/data/manifest.js';
import { mulberry32 } from '../../src/data/rng.js';
import { epochOrder } from '../../src/data/sampler.js';
import { syntheticFundus, tempDir } from './helpers.js';

const S = 32;
const N = 7;

/**
 * Textured photos (so augmentation shows), a FOV disc, noisy masks: MA on every sample, vessel
 * on even ones, EX on every third, so decoded sizes differ (4 + masks planes of S*S bytes).
 */
async function makeSet(dir: string): Promise<number[]> {
  for (const d of ['images', 'fov', 'masks']) mkdirSync(join(dir, d), { recursive: true });
  const entries: ManifestEntry[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < N; i++) {
    const id = `s${i}`;
    const photo = syntheticFundus({ width: S, height: S, cx: S / 2, cy: S / 2, r: S / 2 - 1, seed: i + 1 });
    await writePng(join(dir, `images/${id}.png`), photo.data, S, S, 3);
    const fov = new Uint8Array(S * S).map((_, p) => ((p % S) + 0.5 - S / 2) ** 2 + (Math.floor(p / S) + 0.5 - S / 2) ** 2 < (S / 2 - 1) ** 2 ? 255 : 0);
    await writePng(join(dir, `fov/${id}.png`), fov, S, S, 1);
    const chans: ConditionChannel[] = ['MA', ...(i % 2 === 0 ? ['vessel' as const] : []), ...(i % 3 === 0 ? ['EX' as const] : [])];
    const masks: ManifestEntry['masks'] = {};
    const rand = mulberry32(100 + i);
    for (const ch of chans) {
      await writePng(join(dir, maskPath(id, ch)), new Uint8Array(S * S).map(() => (rand() < 0.2 ? 255 : 0)), S, S, 1);
      masks[ch] = maskPath(id, ch);
    }
    sizes.push(S * S * (4 + chans.length));
    entries.push({ id, image: `images/${id}.png`, fov: `fov/${id}.png`, masks, grade: i % 5, known: chans, predicted: i === 1 ? ['MA'] : [], split: 'train', source: id, size: S });
  }
  writeManifest(dir, entries);
  return sizes;
}

async function collect(l: DataLoader, epoch: number, startBatch?: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of l.epoch(epoch, { startBatch })) out.push(b);
  return out;
}

function assertSameBatches(a: Batch[], b: Batch[], what: string): void {
  assert.equal(a.length, b.length, `${what}: batch count`);
  a.forEach((x, k) => {
    const y = b[k];
    assert.deepEqual(y.ids, x.ids, `${what}: batch ${k} ids`);
    for (const f of ['images', 'conditions', 'known', 'predicted', 'fov', 'grades'] as const) {
      assert.ok(Buffer.from(x[f].buffer, x[f].byteOffset, x[f].byteLength).equals(Buffer.from(y[f].buffer, y[f].byteOffset, y[f].byteLength)), `${what}: batch ${k} ${f} differs`);
    }
  });
}

const COLOUR_ONLY: AugmentOptions = { brightness: 0.2, contrast: 0.2, gamma: 0.2, hue: 10 };

test('loader cache: batches are byte-identical with and without it over two epochs; the second epoch is all hits', async (t) => {
  const dir = tempDir(t);
  const sizes = await makeSet(dir);
  const total = sizes.reduce((a, b) => a + b, 0);
  // Colour-only augmentation keeps the geometry, so warp hands the cached arrays straight to
  // colour jitter: the case where writing to them would be easiest. 24 px resizes on load.
  for (const [name, augment, size] of [['geometric + colour', DEFAULT_AUGMENT, S], ['colour only', COLOUR_ONLY, S], ['none, resized', false, 24]] as const) {
    const base: LoaderOptions = { dir, split: 'train', batchSize: 3, seed: 5, augment, size, prefetch: 2 };
    const plain = new DataLoader(base);
    const cached = new DataLoader({ ...base, cacheBytes: 1 << 20 });
    assert.equal(plain.cacheStats(), null);
    for (const epoch of [0, 1]) assertSameBatches(await collect(plain, epoch), await collect(cached, epoch), `${name}, epoch ${epoch}`);
    const planes = size === S ? total : (total / (S * S)) * size * size;
    assert.deepEqual(cached.cacheStats(), { samples: N, bytes: planes, budget: 1 << 20, hits: N, misses: N }, name);
    // A third epoch again from the cache, still equal to a fresh uncached loader's.
    assertSameBatches(await collect(new DataLoader(base), 2), await collect(cached, 2), `${name}, epoch 2`);
    assert.equal(cached.cacheStats()!.misses, N);
  }
  const l = new DataLoader({ dir, split: 'train', batchSize: 3, cacheBytes: 1 << 20 });
  assert.equal(l.cacheSummary(), `loader cache: ${N} of ${N} samples, ${(total / 2 ** 20).toFixed(1)} MB`);
  assert.equal(new DataLoader({ dir, split: 'train', batchSize: 3 }).cacheSummary(), null);
  assert.throws(() => new DataLoader({ dir, split: 'train', batchSize: 3, cacheBytes: -5 }), /cacheBytes must be a finite number >= 0, got -5/);
});

test('loader cache: a budget below the set keeps only some samples, within it, and batches stay identical', async (t) => {
  const dir = tempDir(t);
  const sizes = await makeSet(dir);
  const total = sizes.reduce((a, b) => a + b, 0);
  const budget = Math.floor(total / 2);
  const base: LoaderOptions = { dir, split: 'train', batchSize: 2, seed: 9, augment: DEFAULT_AUGMENT };
  const plain = new DataLoader(base);
  const cached = new DataLoader({ ...base, cacheBytes: budget });
  for (const epoch of [0, 1]) assertSameBatches(await collect(plain, epoch), await collect(cached, epoch), `epoch ${epoch}`);
  const s = cached.cacheStats()!;
  assert.ok(s.samples > 0 && s.samples < N, `kept ${s.samples} of ${N}`);
  assert.ok(s.bytes <= budget && s.bytes > budget - Math.max(...sizes), `kept ${s.bytes} bytes of a ${budget}-byte budget`);
  assert.equal(s.hits, s.samples, 'the second epoch hits exactly the kept samples');
  assert.equal(s.misses, 2 * N - s.samples, 'and decodes the others again');
  assert.match(cached.cacheSummary()!, new RegExp(`^loader cache: about \\d of ${N} samples, .* the rest are decoded every epoch\\)$`));
});

test('loader cache: a deleted file is still served once cached; a never-cached sample names the missing file', async (t) => {
  const dir = tempDir(t);
  await makeSet(dir);
  // Batch size 1, in order: batch k is sample k. Starting at batch 2 decodes (and keeps) s2.. only.
  const base: LoaderOptions = { dir, split: 'train', batchSize: 1, shuffle: false, augment: DEFAULT_AUGMENT, seed: 1 };
  const reference = await collect(new DataLoader(base), 1);
  const l = new DataLoader({ ...base, cacheBytes: 1 << 20 });
  await collect(l, 0, 2);
  assert.equal(l.cacheStats()!.samples, N - 2);
  rmSync(join(dir, 'images/s2.png'));
  rmSync(join(dir, maskPath('s2', 'MA')));
  rmSync(join(dir, 'images/s0.png'));
  rmSync(join(dir, 'images/s1.png')); // batch 1 is prefetched alongside: it must not be kept either
  assertSameBatches(reference.slice(2), await collect(l, 1, 2), 'from the cache');
  await assert.rejects(collect(l, 1), (e: Error) => e.message.includes(join(dir, 'images/s0.png')));
  const s = l.cacheStats()!;
  assert.equal(s.samples, N - 2, 'the failed decode is not kept');
});

test('loader cache: a sample wanted by several batches in flight at once is decoded once', async (t) => {
  const dir = tempDir(t);
  await makeSet(dir);
  // Balanced sampling draws with replacement, so an epoch repeats samples, here all in flight together.
  const base: LoaderOptions = { dir, split: 'train', batchSize: 2, seed: 3, balanced: true, prefetch: 8 };
  const l = new DataLoader({ ...base, cacheBytes: 1 << 20 });
  const order = epochOrder(l.entries.map((e) => e.grade), 0, { seed: 3, shuffle: true, balanced: true });
  const distinct = new Set(order).size;
  assert.ok(distinct < N, 'the drawn epoch repeats a sample');
  assertSameBatches(await collect(new DataLoader(base), 0), await collect(l, 0), 'balanced');
  assert.deepEqual(l.cacheStats(), { samples: distinct, bytes: l.cacheStats()!.bytes, budget: 1 << 20, hits: N - distinct, misses: distinct });
  // Two epochs read concurrently from one loader: every sample decoded once in all.
  const m = new DataLoader({ dir, split: 'train', batchSize: 3, seed: 3, cacheBytes: 1 << 20 });
  const [a, b] = await Promise.all([collect(m, 0), collect(m, 0)]);
  assertSameBatches(a, b, 'concurrent');
  assert.deepEqual(m.cacheStats(), { samples: N, bytes: m.cacheStats()!.bytes, budget: 1 << 20, hits: N, misses: N });
});
