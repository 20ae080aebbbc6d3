// Mini-batches from a prepared data set (manifest.ts) as typed arrays with their shapes, for
// the training code to wrap as tensors:
//   images      [B, 3, S, S]  float32 in [-1, 1]
//   conditions  [B, 8, S, S]  float32 in [0, 1], channel order CONDITION_CHANNELS, zeros where unknown
//   known       [B, 8]        1 where the sample has a mask for the channel (annotated or predicted)
//   predicted   [B, 8]        1 where that mask came from a model, not from annotation
//   fov         [B, 1, S, S]  1 inside the field of view
//   grades      [B]           int32, -1 where ungraded
// Batches are decoded ahead of use (sharp decodes in libuv threads), at most `prefetch` at a
// time, and are a pure function of (seed, epoch, position) whatever the prefetch timing.
// With `cacheBytes`, decoded samples (before augmentation) are kept for later epochs
// (decode-cache.ts) and augmentation starts from the kept arrays, so it must never write to them.
import { join } from 'node:path';
import sharp from 'sharp';
import { DecodeCache, type CacheStats } from './decode-cache.js';
import { colourJitter, drawParams, IDENTITY, warp, type AugmentOptions, type AugmentParams } from './augment.js';
import { CONDITION_CHANNELS, readManifest, type ConditionChannel, type ManifestEntry, type Split } from './manifest.js';
import { mixSeed, mulberry32 } from './rng.js';
import { epochOrder } from './sampler.js';

export interface LoaderOptions {
  dir: string;
  /** Which manifest split(s) to read; 'all' for every sample. */
  split: Split | Split[] | 'all';
  batchSize: number;
  /** Side of the batch images; defaults to the prepared size. Resized on load when different. */
  size?: number;
  seed?: number;
  /** Default: true. */
  shuffle?: boolean;
  /** Class-balanced sampling by grade (see sampler.ts). */
  balanced?: boolean;
  /** false or absent: no augmentation. */
  augment?: AugmentOptions | false;
  /** Batches decoded ahead of the consumer (default 2). */
  prefetch?: number;
  /** Drop a last incomplete batch (default: false). */
  dropLast?: boolean;
  /**
   * false: decode photo and FOV only; the condition maps stay zero and no channel is marked
   * known. For image-only consumers (graders): 2 files per sample instead of up to 10.
   */
  masks?: boolean;
  /**
   * Keeps only the split's entries it accepts (e.g. photos annotating a target); the order,
   * batches and augmentation are then those of the kept entries. May leave none (no batches).
   */
  filter?: (entry: ManifestEntry) => boolean;
  /**
   * Bytes of decoded samples (uint8, at the batch size, before augmentation) kept in memory for
   * later epochs; samples past the budget are decoded every time. Default 0: nothing kept.
   */
  cacheBytes?: number;
}

export interface EpochOptions {
  /**
   * First batch to yield (default 0): batches before it are neither decoded nor yielded, and
   * the rest are exactly those of the whole epoch (resuming a run mid-epoch).
   */
  startBatch?: number;
}

export interface Batch {
  ids: string[];
  batchSize: number;
  size: number;
  images: Float32Array;
  conditions: Float32Array;
  known: Float32Array;
  predicted: Float32Array;
  fov: Float32Array;
  grades: Int32Array;
  shapes: { images: number[]; conditions: number[]; known: number[]; fov: number[]; grades: number[] };
}

/** One sample decoded at the batch size, before augmentation (HWC / planes of uint8). */
export interface DecodedSample {
  image: Uint8Array;
  fov: Uint8Array;
  masks: Map<ConditionChannel, Uint8Array>;
}

const C = CONDITION_CHANNELS.length;
const SOFT: ReadonlySet<ConditionChannel> = new Set(['LM', 'PM']);

export class DataLoader {
  /** The samples of an epoch (split, then filter), in manifest order; epochs read order and length from it. */
  readonly entries: ManifestEntry[];
  readonly size: number;
  private readonly o: Required<Omit<LoaderOptions, 'size' | 'augment' | 'filter' | 'cacheBytes'>> & { augment: AugmentOptions | false };
  /** Keyed by index into `entries`. */
  private readonly cache: DecodeCache<number, DecodedSample> | null;

  constructor(opts: LoaderOptions) {
    const all = readManifest(opts.dir);
    const splits = opts.split === 'all' ? null : new Set(Array.isArray(opts.split) ? opts.split : [opts.split]);
    const inSplit = splits ? all.filter((e) => splits.has(e.split)) : all;
    if (inSplit.length === 0) throw new Error(`${opts.dir}: no samples in split ${JSON.stringify(opts.split)}`);
    if (!(opts.batchSize >= 1)) throw new Error(`batchSize must be >= 1, got ${opts.batchSize}`);
    this.entries = opts.filter ? inSplit.filter(opts.filter) : inSplit;
    this.size = opts.size ?? inSplit[0].size;
    this.o = {
      dir: opts.dir,
      split: opts.split,
      batchSize: opts.batchSize,
      seed: opts.seed ?? 0,
      shuffle: opts.shuffle ?? true,
      balanced: opts.balanced ?? false,
      augment: opts.augment ?? false,
      prefetch: Math.max(1, opts.prefetch ?? 2),
      dropLast: opts.dropLast ?? false,
      masks: opts.masks ?? true,
    };
    const budget = opts.cacheBytes ?? 0;
    if (!(budget >= 0) || !Number.isFinite(budget)) throw new Error(`cacheBytes must be a finite number >= 0, got ${budget}`);
    this.cache = budget > 0 ? new DecodeCache(budget, decodedBytes) : null;
  }

  /** Samples and bytes kept, hits and misses (decodes); null without a cache. */
  cacheStats(): CacheStats | null {
    return this.cache?.stats() ?? null;
  }

  /**
   * For a log line before training: how much of the epoch's samples the cache budget holds.
   * Decoded sizes follow from the manifest (S*S bytes per plane: 3 photo, 1 FOV, 1 per mask),
   * so this needs no decoding; the count is exact when all fit, else about (first come is kept).
   */
  cacheSummary(): string | null {
    if (!this.cache) return null;
    const px = this.size * this.size;
    const sizes = this.entries.map((e) => px * (4 + (this.o.masks ? CONDITION_CHANNELS.filter((ch) => e.masks[ch]).length : 0)));
    const total = sizes.reduce((a, b) => a + b, 0);
    let bytes = 0;
    let n = 0;
    for (const s of sizes) if (bytes + s <= this.cache.budget) { bytes += s; n++; }
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    return n === sizes.length
      ? `loader cache: ${n} of ${n} samples, ${mb(total)} MB`
      : `loader cache: about ${n} of ${sizes.length} samples, ${mb(bytes)} MB (budget ${mb(this.cache.budget)} MB of the ${mb(total)} MB all would take; the rest are decoded every epoch)`;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.entries.length / this.o.batchSize;
    return this.o.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  async *epoch(epoch = 0, eo: EpochOptions = {}): AsyncGenerator<Batch> {
    const first = eo.startBatch ?? 0;
    if (!Number.isInteger(first) || first < 0 || first > this.length) {
      throw new Error(`startBatch must be an integer in 0..${this.length} (batches per epoch), got ${first}`);
    }
    const order = epochOrder(
      this.entries.map((e) => e.grade),
      epoch,
      { seed: this.o.seed, shuffle: this.o.shuffle, balanced: this.o.balanced },
    );
    const nb = this.length;
    const bs = this.o.batchSize;
    const queue: Promise<Batch>[] = [];
    let next = first;
    const start = () => {
      const b = next++;
      const p = this.makeBatch(order.slice(b * bs, (b + 1) * bs), epoch, b * bs);
      p.catch(() => {}); // observed when awaited; avoids an unhandled rejection while queued
      queue.push(p);
    };
    while (next < nb && queue.length < this.o.prefetch) start();
    while (queue.length) {
      const p = queue.shift()!;
      if (next < nb) start();
      yield await p;
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch> {
    return this.epoch(0);
  }

  private async makeBatch(indices: number[], epoch: number, position: number): Promise<Batch> {
    const S = this.size;
    const B = indices.length;
    const px = S * S;
    const batch: Batch = {
      ids: indices.map((i) => this.entries[i].id),
      batchSize: B,
      size: S,
      images: new Float32Array(B * 3 * px),
      conditions: new Float32Array(B * C * px),
      known: new Float32Array(B * C),
      predicted: new Float32Array(B * C),
      fov: new Float32Array(B * px),
      grades: new Int32Array(B),
      shapes: { images: [B, 3, S, S], conditions: [B, C, S, S], known: [B, C], fov: [B, 1, S, S], grades: [B] },
    };
    const decoded = await Promise.all(indices.map((i) => this.decode(i)));
    decoded.forEach((d, b) => {
      const e = this.entries[indices[b]];
      // Parameters depend on the sample's position in the epoch, not on decode timing.
      const p = this.o.augment ? drawParams(this.o.augment, mulberry32(mixSeed(this.o.seed, epoch, position + b, 0xa06))) : IDENTITY;
      const s = augmentSample(d, S, p);
      const img = batch.images.subarray(b * 3 * px, (b + 1) * 3 * px);
      for (let i = 0; i < px; i++) {
        img[i] = s.image[i * 3] / 127.5 - 1;
        img[px + i] = s.image[i * 3 + 1] / 127.5 - 1;
        img[2 * px + i] = s.image[i * 3 + 2] / 127.5 - 1;
        batch.fov[b * px + i] = s.fov[i] ? 1 : 0;
      }
      CONDITION_CHANNELS.forEach((ch, c) => {
        const m = s.masks.get(ch);
        if (!m) return;
        batch.known[b * C + c] = 1;
        if (e.predicted.includes(ch)) batch.predicted[b * C + c] = 1;
        const dst = batch.conditions.subarray((b * C + c) * px, (b * C + c + 1) * px);
        for (let i = 0; i < px; i++) dst[i] = m[i] / 255;
      });
      batch.grades[b] = e.grade ?? -1;
    });
    return batch;
  }

  private decode(i: number): Promise<DecodedSample> {
    const load = () => decodeSample(this.o.dir, this.entries[i], this.size, this.o.masks);
    return this.cache ? this.cache.get(i, load) : load();
  }
}

function decodedBytes(d: DecodedSample): number {
  let n = d.image.byteLength + d.fov.byteLength;
  for (const m of d.masks.values()) n += m.byteLength;
  return n;
}

/** Reads one prepared sample at side S (resizing if it was prepared at another size). */
export async function decodeSample(dir: string, e: ManifestEntry, S: number, withMasks = true): Promise<DecodedSample> {
  const read = async (rel: string, channels: 1 | 3, kernel: 'lanczos3' | 'nearest' | 'linear') => {
    let p = sharp(join(dir, rel));
    if (e.size !== S) p = p.resize(S, S, { kernel, fit: 'fill' });
    p = channels === 3 ? p.removeAlpha().toColourspace('srgb') : p.extractChannel(0);
    const { data, info } = await p.raw().toBuffer({ resolveWithObject: true });
    if (info.width !== S || info.height !== S || info.channels !== channels) {
      throw new Error(`${join(dir, rel)}: expected ${S}x${S}x${channels}, got ${info.width}x${info.height}x${info.channels}`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  };
  const chans = withMasks ? CONDITION_CHANNELS.filter((ch) => e.masks[ch]) : [];
  const [image, fov, ...masks] = await Promise.all([
    read(e.image, 3, 'lanczos3'),
    read(e.fov, 1, 'nearest'),
    ...chans.map((ch) => read(e.masks[ch]!, 1, SOFT.has(ch) ? 'linear' : 'nearest')),
  ]);
  return { image, fov, masks: new Map(chans.map((ch, i) => [ch, masks[i]])) };
}

/**
 * The same geometry for photo, FOV and masks; colour only on the photo. Never writes to `d`
 * (it may be a cached sample): warp returns its input unchanged for an identity geometry, so
 * the photo is copied before colour jitter, and FOV and masks are only read afterwards.
 */
export function augmentSample(d: DecodedSample, S: number, p: AugmentParams): DecodedSample {
  const fov = warp(d.fov, S, 1, p, 'nearest');
  const image = warp(d.image, S, 3, p, 'bilinear');
  const masks = new Map<ConditionChannel, Uint8Array>();
  for (const [ch, m] of d.masks) masks.set(ch, warp(m, S, 1, p, SOFT.has(ch) ? 'bilinear' : 'nearest'));
  const out = image === d.image ? new Uint8Array(image) : image;
  colourJitter(out, fov, p);
  return { image: out, fov, masks };
}
