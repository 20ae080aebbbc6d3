// Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, progressive
// GAN's sliced_wasserstein.py; method.md section 9). Per pyramid level, 7x7x3 patches at
// random positions of every image form a set of descriptors; each set is standardised per
// colour channel by its own mean and std; the distance between the two sets is the mean over
// 4 repeats of 128 random unit directions of the 1-D Wasserstein-1 distance between the
// sorted projections, times 1e3.
//
// Images are [N, 3, H, W], either uint8 in 0..255 (as the original fed them) or floating in
// [-1, 1] (the generator's range, mapped to 0..255). Because each set's descriptors are
// standardised, any positive affine rescaling of the pixel values gives the same distance up
// to rounding.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { SeededStream } from './seeded.js';

export interface SwdOptions {
  /** Patch side (7). */
  nhoodSize?: number;
  /** Patches per image per level (128). */
  nhoodsPerImage?: number;
  /** Repeats of the direction draw (4). */
  dirRepeats?: number;
  /** Random unit directions per repeat (128). */
  dirsPerRepeat?: number;
  /** The pyramid stops at the last level at least this large (16). */
  minResolution?: number;
  /**
   * Seeds the random draws (default 0): patch positions of level i from a stream seeded
   * with seed * 1009 + 17 + i, drawn image by image (so batching does not change them, and
   * two sets of equal size get the same positions: common random numbers, which make a set
   * against itself exactly 0), directions from a stream seeded with seed * 1009.
   */
  seed?: number;
  /** Images per pyramid batch in `swd` (64). */
  batchSize?: number;
}

export interface SwdResult {
  /** Image side of each level, finest first (e.g. 256, 128, 64, 32, 16). */
  resolutions: number[];
  /** SWD x 1e3 per level. */
  perLevel: number[];
  /** Mean over levels. */
  average: number;
}

const DEFAULTS = { nhoodSize: 7, nhoodsPerImage: 128, dirRepeats: 4, dirsPerRepeat: 128, minResolution: 16, seed: 0, batchSize: 64 };

/** Level sizes of the pyramid for an image side: halve while at least minResolution. */
export function swdResolutions(size: number, minResolution = 16): number[] {
  const out: number[] = [];
  for (let r = size; r >= minResolution; r = Math.floor(r / 2)) out.push(r);
  return out;
}

// The 5-tap binomial filter [1, 4, 6, 4, 1] / 16, applied separably as one 5x5 kernel per
// channel (it matches cv2.pyrDown / pyrUp).
function binomialKernel(scale: number): Tensor {
  const k = [1, 4, 6, 4, 1];
  const w = new Float32Array(25);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) w[i * 5 + j] = (k[i] * k[j] * scale) / 256;
  return torch.tensor(w, [1, 1, 5, 5]).expand(3, 1, 5, 5).contiguous();
}

// Mirror boundary as scipy.ndimage's 'mirror' mode (d c b | a b c d | c b a), which is
// reflection padding.
function blur(x: Tensor, kernel: Tensor, stride: number): Tensor {
  return torch.F.conv2d(torch.F.pad(x, [2, 2, 2, 2], 'reflect'), kernel.to(x.device), null, { stride, groups: 3 });
}

function pyrDown(x: Tensor): Tensor {
  return blur(x, binomialKernel(1), 2);
}

/** Zero-insertion upsampling then the filter with gain 4 (keeps the mean). */
function pyrUp(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const zeros = torch.zerosLike(x);
  const cols = torch.stack([x, zeros], -1).reshape(n, c, h, 2 * w);
  const rows = torch.stack([cols, torch.zerosLike(cols)], 3).reshape(n, c, 2 * h, 2 * w);
  return blur(rows, binomialKernel(4), 1);
}

/**
 * Laplacian pyramid of float images [N, 3, H, W], finest level first: every level but the
 * last holds the band-pass detail (image minus the upsampled next level), the last the
 * low-pass residue.
 */
export function laplacianPyramid(images: Tensor, numLevels: number): Tensor[] {
  return torch.tidy(() => {
    const gaussian = [images];
    for (let i = 1; i < numLevels; i++) gaussian.push(pyrDown(gaussian[i - 1]));
    return gaussian.map((g, i) => (i + 1 < numLevels ? g.sub(pyrUp(gaussian[i + 1])) : g));
  });
}

/** uint8 0..255 as float32; floating [-1, 1] mapped to 0..255. */
export function toSwdPixels(images: Tensor): Tensor {
  const s = images.shape;
  if (s.length !== 4 || s[1] !== 3) throw new Error(`images must be [N, 3, H, W], got shape [${s.join(', ')}]`);
  if (images.dtype === 'uint8') return images.float();
  if (!torch.isFloating(images.dtype)) throw new Error(`images must be uint8 (0..255) or floating ([-1, 1]), got ${images.dtype}`);
  return torch.tidy(() => images.detach().float().add(1).mul(127.5));
}

function positionSeed(seed: number, level: number): number {
  return seed * 1009 + 17 + level;
}
function directionSeed(seed: number): number {
  return seed * 1009;
}

/**
 * Patches [P, 3, n, n] at uniformly drawn centres (a margin of n/2 from the borders, as
 * the original: centres in [n/2, size - n/2)), `perImage` from each image of a level; for
 * each image, the column indices are drawn first, then the row indices.
 */
function patchDescriptors(level: Tensor, nhoodSize: number, perImage: number, positions: SeededStream): Tensor {
  const [b, c, h, w] = level.shape;
  const half = Math.floor(nhoodSize / 2);
  const p = b * perImage;
  const [x, y] = positions.draw(() => torch.tidy(() => {
    const xs: Tensor[] = [];
    const ys: Tensor[] = [];
    for (let i = 0; i < b; i++) {
      xs.push(torch.randint(half, w - half, [perImage]));
      ys.push(torch.randint(half, h - half, [perImage]));
    }
    return [torch.cat(xs), torch.cat(ys)];
  }));
  return torch.tidy(() => {
    const dev = level.device;
    const offsets = torch.arange(-half, half + 1, 1, { device: dev });
    const img = torch.arange(0, p, 1, { device: dev }).div(perImage, 'floor').reshape(p, 1, 1, 1);
    const chan = torch.arange(0, c, 1, { device: dev }).reshape(1, c, 1, 1);
    const rows = y.to(dev).reshape(p, 1, 1, 1).add(offsets.reshape(1, 1, nhoodSize, 1));
    const cols = x.to(dev).reshape(p, 1, 1, 1).add(offsets.reshape(1, 1, 1, nhoodSize));
    const index = img.mul(c).add(chan).mul(h).add(rows).mul(w).add(cols);
    x.dispose();
    y.dispose();
    return level.reshape(-1).indexSelect(0, index.reshape(-1)).reshape(p, c, nhoodSize, nhoodSize);
  });
}

/**
 * The descriptors of one image set, gathered batch by batch; `finish()` standardises each
 * level's set per colour channel and flattens it to [P, 3 n^2].
 */
export class SwdDescriptorSet {
  private readonly o: typeof DEFAULTS;
  private positions: SeededStream[] = [];
  private levels: Tensor[][] = [];
  private size: [number, number] | null = null;
  resolutions: number[] = [];

  constructor(opts: SwdOptions = {}) {
    this.o = { ...DEFAULTS, ...opts };
    checkOptions(this.o);
  }

  add(images: Tensor): void {
    const pixels = toSwdPixels(images);
    const [, , h, w] = pixels.shape;
    if (!this.size) {
      this.resolutions = swdResolutions(Math.min(h, w), this.o.minResolution);
      if (this.resolutions.length === 0) throw new Error(`images of ${h}x${w} are smaller than minResolution ${this.o.minResolution}`);
      const factor = 2 ** (this.resolutions.length - 1);
      if (h % factor !== 0 || w % factor !== 0) {
        throw new Error(`image size ${h}x${w} must be divisible by ${factor} for a ${this.resolutions.length}-level pyramid`);
      }
      const coarsest = Math.min(h, w) / factor;
      if (coarsest < this.o.nhoodSize) throw new Error(`coarsest level ${coarsest} px is smaller than the ${this.o.nhoodSize} px patch`);
      this.size = [h, w];
      this.levels = this.resolutions.map(() => []);
      this.positions = this.resolutions.map((_, i) => new SeededStream(positionSeed(this.o.seed, i)));
    } else if (h !== this.size[0] || w !== this.size[1]) {
      throw new Error(`image batch is ${h}x${w}, earlier batches were ${this.size[0]}x${this.size[1]}`);
    }
    const pyramid = laplacianPyramid(pixels, this.resolutions.length);
    pyramid.forEach((level, i) => {
      this.levels[i].push(torch.keep(patchDescriptors(level, this.o.nhoodSize, this.o.nhoodsPerImage, this.positions[i])));
      // A one-level pyramid's only level is `pixels` itself (maybe the caller's images).
      if (level !== pixels) level.dispose();
    });
    if (pixels !== images) pixels.dispose();
  }

  /** Standardised descriptors per level, finest first; the gathered patches are released. */
  finish(): Tensor[] {
    if (!this.size) throw new Error('SwdDescriptorSet.finish: no images were added');
    const out = this.levels.map((parts) => torch.tidy(() => {
      const all = torch.cat(parts, 0);
      const wide = all.double();
      const mean = wide.mean([0, 2, 3], true);
      const std = wide.std([0, 2, 3], false, true);
      return all.sub(mean.float()).div(std.float()).reshape(all.shape[0], -1);
    }));
    this.dispose();
    return out;
  }

  dispose(): void {
    for (const parts of this.levels) for (const t of parts) t.dispose();
    this.levels = [];
    for (const p of this.positions) p.dispose();
    this.positions = [];
  }
}

function checkOptions(o: typeof DEFAULTS): void {
  for (const key of ['nhoodSize', 'nhoodsPerImage', 'dirRepeats', 'dirsPerRepeat', 'minResolution', 'batchSize'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) throw new Error(`SWD option ${key} must be a positive integer, got ${o[key]}`);
  }
  if (o.nhoodSize % 2 !== 1) throw new Error(`SWD option nhoodSize must be odd, got ${o.nhoodSize}`);
}

/**
 * Sliced Wasserstein distance between two equally sized descriptor sets [P, D]: for each
 * repeat, project both on random unit directions, sort each projection, and average the
 * absolute differences of the sorted values (the 1-D Wasserstein-1 distance); mean over repeats.
 */
export function slicedWasserstein(a: Tensor, b: Tensor, dirRepeats: number, dirsPerRepeat: number, directions: SeededStream): number {
  const sa = a.shape;
  const sb = b.shape;
  if (sa.length !== 2 || sa[0] !== sb[0] || sa[1] !== sb[1]) {
    throw new Error(`sliced Wasserstein needs descriptor sets of equal shape, got [${sa.join(', ')}] and [${sb.join(', ')}] (use equally many images per set)`);
  }
  let total = 0;
  for (let r = 0; r < dirRepeats; r++) {
    const dirs = directions.draw(() => torch.randn([sa[1], dirsPerRepeat]));
    total += torch.tidy(() => {
      const unit = dirs.to(a.device).div(dirs.to(a.device).norm(2, 0, true));
      const [pa] = a.mm(unit).sort(0);
      const [pb] = b.to(a.device).mm(unit).sort(0);
      return pa.sub(pb).abs().mean().item();
    });
    dirs.dispose();
  }
  return total / dirRepeats;
}

/** SWD x 1e3 per level and averaged, from two `SwdDescriptorSet.finish()` results. */
export function swdFromDescriptors(a: Tensor[], b: Tensor[], resolutions: number[], opts: SwdOptions = {}): SwdResult {
  const o = { ...DEFAULTS, ...opts };
  checkOptions(o);
  if (a.length !== b.length || a.length !== resolutions.length) {
    throw new Error(`descriptor sets have ${a.length} and ${b.length} levels, resolutions list ${resolutions.length}`);
  }
  const directions = new SeededStream(directionSeed(o.seed));
  try {
    const perLevel = a.map((da, i) => slicedWasserstein(da, b[i], o.dirRepeats, o.dirsPerRepeat, directions) * 1e3);
    return { resolutions: [...resolutions], perLevel, average: perLevel.reduce((x, y) => x + y, 0) / perLevel.length };
  } finally {
    directions.dispose();
  }
}

function describe(images: Tensor, o: SwdOptions): { descriptors: Tensor[]; resolutions: number[] } {
  const set = new SwdDescriptorSet(o);
  const n = images.shape[0];
  const step = o.batchSize ?? DEFAULTS.batchSize;
  for (let i = 0; i < n; i += step) {
    const batch = images.narrow(0, i, Math.min(step, n - i));
    set.add(batch);
    batch.dispose();
  }
  const resolutions = set.resolutions;
  return { descriptors: set.finish(), resolutions };
}

/** SWD between two image sets [N, 3, H, W] of equal size N (uint8 0..255 or float [-1, 1]). */
export function swd(imagesA: Tensor, imagesB: Tensor, opts: SwdOptions = {}): SwdResult {
  const sa = imagesA.shape;
  const sb = imagesB.shape;
  if (sa.length !== 4 || sb.length !== 4 || sa[1] !== 3 || sb[1] !== 3) {
    throw new Error(`images must be [N, 3, H, W], got [${sa.join(', ')}] and [${sb.join(', ')}]`);
  }
  if (sa[0] !== sb[0]) throw new Error(`SWD compares equally many images: imagesA has ${sa[0]}, imagesB has ${sb[0]}`);
  if (sa[2] !== sb[2] || sa[3] !== sb[3]) throw new Error(`image sizes differ: ${sa[2]}x${sa[3]} and ${sb[2]}x${sb[3]}`);
  const a = describe(imagesA, opts);
  const b = describe(imagesB, opts);
  try {
    return swdFromDescriptors(a.descriptors, b.descriptors, a.resolutions, opts);
  } finally {
    torch.dispose([a.descriptors, b.descriptors]);
  }
}
