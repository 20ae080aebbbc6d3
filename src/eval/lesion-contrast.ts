// Lesion visibility: does an image show each condition channel where its mask puts it?
// For one image, the contrast of channel c is the mean local contrast on c's mask pixels minus
// the mean local contrast of the mask-free field of view; over a set, its mean per channel.
// Real photos give negative values for the dark structures (vessels, haemorrhages,
// microaneurysms) and positive ones for the bright (exudates, cotton-wool spots, optic disc);
// a generator that ignores its condition map gives about 0 everywhere. Pure arithmetic on
// byte arrays, no torch: reading the sets is lesion-contrast-set.ts.
//
// Local contrast = green - its 9 x 9 box mean (only the in-image pixels of the window count,
// as avg_pool2d(k=9, stride=1, padding=4, count_include_pad=False)):
//   - green, because fundus lesions and vessels stand out most there: red is saturated by
//     the choroid's glow and blue is dark and noisy;
//   - high-passed, because illumination falls off slowly towards the rim (vignetting) and
//     varies from photo to photo; subtracting the local mean leaves what differs from its
//     surroundings, so a lesion near the bright centre and one near the dark rim count alike;
//   - against the mask-free FOV rather than 0, because the high-pass mean of a region is not 0
//     by itself (the black outside the FOV, noise, texture): the difference to the pixels no
//     mask claims is what the masks add.
import { CONDITION_CHANNELS, type ConditionChannel } from '../data/manifest.js';

/** Half width of the box: a 9 x 9 window. */
export const HIGH_PASS_RADIUS = 4;
/** Mask and FOV pixels at or above this value are "in" (soft LM/PM maps: half coverage). */
export const MASK_ON = 128;
/** A channel needs this many mask pixels inside the FOV to be measured in an image. */
export const MIN_CHANNEL_PIXELS = 3;

export type ChannelMasks = Partial<Record<ConditionChannel, Uint8Array>>;

export interface LesionContrastInput {
  /** RGB, HWC, 8 bit (RasterImage.data). */
  rgb: Uint8Array;
  width: number;
  height: number;
  /** 0..255 planes of width x height; a channel left out is treated as absent. */
  masks: ChannelMasks;
  /** 0..255 plane of width x height; >= 128 inside the field of view. */
  fov: Uint8Array;
  /** Names the image in errors. */
  name?: string;
}

export interface ImageLesionContrast {
  /** Mean high-pass over the FOV pixels in no channel's mask. */
  background: number;
  backgroundPixels: number;
  /** Per channel measured (>= MIN_CHANNEL_PIXELS pixels in the FOV): mask mean minus background. */
  contrast: Partial<Record<ConditionChannel, number>>;
  /** Mask pixels inside the FOV, per channel measured. */
  pixels: Partial<Record<ConditionChannel, number>>;
}

/**
 * Mean of each pixel's (2r+1)^2 window, counting only pixels inside the image (so borders
 * are not darkened by zero padding), via a summed-area table: O(pixels) whatever r. Sums of
 * bytes are exact in float64 up to 2^53 / 255 pixels.
 */
export function boxMean(values: Uint8Array | Float64Array, width: number, height: number, radius = HIGH_PASS_RADIUS): Float64Array {
  if (values.length !== width * height) throw new Error(`boxMean: ${values.length} values for a ${width}x${height} plane`);
  const W = width + 1;
  const sat = new Float64Array(W * (height + 1)); // sat[(y+1)*W + (x+1)] = sum of values[0..y][0..x]
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += values[y * width + x];
      sat[(y + 1) * W + x + 1] = sat[y * W + x + 1] + row;
    }
  }
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - radius), y1 = Math.min(height, y + radius + 1);
    for (let x = 0; x < width; x++) {
      const x0 = Math.max(0, x - radius), x1 = Math.min(width, x + radius + 1);
      const sum = sat[y1 * W + x1] - sat[y0 * W + x1] - sat[y1 * W + x0] + sat[y0 * W + x0];
      out[y * width + x] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/** Green channel minus its box mean, in 0..255 units. */
export function greenHighPass(rgb: Uint8Array, width: number, height: number, radius = HIGH_PASS_RADIUS): Float64Array {
  const n = width * height;
  const green = new Uint8Array(n);
  for (let i = 0; i < n; i++) green[i] = rgb[3 * i + 1];
  const mean = boxMean(green, width, height, radius);
  for (let i = 0; i < n; i++) mean[i] = green[i] - mean[i];
  return mean;
}

function checkInput(o: LesionContrastInput): void {
  const name = o.name ? `${o.name}: ` : '';
  if (!Number.isInteger(o.width) || !Number.isInteger(o.height) || o.width < 1 || o.height < 1) {
    throw new Error(`${name}lesion contrast: image size must be positive integers, got ${o.width}x${o.height}`);
  }
  const n = o.width * o.height;
  if (o.rgb.length !== 3 * n) throw new Error(`${name}lesion contrast: rgb has ${o.rgb.length} bytes, expected ${3 * n} for a ${o.width}x${o.height} RGB image`);
  if (o.fov.length !== n) throw new Error(`${name}lesion contrast: fov has ${o.fov.length} values, expected ${n} for a ${o.width}x${o.height} image`);
  for (const [ch, m] of Object.entries(o.masks)) {
    if (!(CONDITION_CHANNELS as readonly string[]).includes(ch)) throw new Error(`${name}lesion contrast: unknown channel "${ch}" in masks (channels: ${CONDITION_CHANNELS.join(', ')})`);
    if (m && m.length !== n) throw new Error(`${name}lesion contrast: the ${ch} mask has ${m.length} values, expected ${n} for a ${o.width}x${o.height} image`);
  }
}

/**
 * One image's contrast per channel. Channels without a mask, or with fewer than
 * MIN_CHANNEL_PIXELS mask pixels in the FOV, are left out of `contrast` (too few pixels to
 * mean anything). Throws when no FOV pixel is free of every mask, since then there is no
 * background to compare with.
 */
export function lesionContrast(o: LesionContrastInput): ImageLesionContrast {
  checkInput(o);
  const n = o.width * o.height;
  const hp = greenHighPass(o.rgb, o.width, o.height);
  const present = CONDITION_CHANNELS.filter((ch) => o.masks[ch]);
  const inFov = (i: number) => o.fov[i] >= MASK_ON;
  let bgSum = 0, bgN = 0;
  for (let i = 0; i < n; i++) {
    if (!inFov(i)) continue;
    let masked = false;
    for (const ch of present) if (o.masks[ch]![i] >= MASK_ON) { masked = true; break; }
    if (!masked) { bgSum += hp[i]; bgN++; }
  }
  if (bgN === 0) throw new Error(`${o.name ? `${o.name}: ` : ''}lesion contrast: no pixel of the field of view is free of every mask, so there is no background (an empty FOV, or masks covering it all)`);
  const background = bgSum / bgN;
  const contrast: ImageLesionContrast['contrast'] = {};
  const pixels: ImageLesionContrast['pixels'] = {};
  for (const ch of present) {
    const m = o.masks[ch]!;
    let s = 0, k = 0;
    for (let i = 0; i < n; i++) if (m[i] >= MASK_ON && inFov(i)) { s += hp[i]; k++; }
    if (k < MIN_CHANNEL_PIXELS) continue;
    contrast[ch] = s / k - background;
    pixels[ch] = k;
  }
  return { background, backgroundPixels: bgN, contrast, pixels };
}

export interface ChannelContrastSummary {
  /** Mean over the images that have the channel. */
  mean: number;
  /** Sample standard deviation over those images (0 for one image). */
  std: number;
  /** Standard error of the mean, std / sqrt(n). */
  se: number;
  /** Images that had the channel. */
  n: number;
}

export interface LesionContrastSummary {
  /** Images measured. */
  images: number;
  /** Channels present in at least one image, in CONDITION_CHANNELS order. */
  channels: Partial<Record<ConditionChannel, ChannelContrastSummary>>;
}

/** Per-channel running mean and variance over a set's images (Welford: one pass, stable). */
export class LesionContrastAccumulator {
  private images = 0;
  private readonly stats = new Map<ConditionChannel, { n: number; mean: number; m2: number }>();

  add(r: ImageLesionContrast): void {
    this.images++;
    for (const ch of CONDITION_CHANNELS) {
      const v = r.contrast[ch];
      if (v === undefined) continue;
      if (!Number.isFinite(v)) throw new Error(`lesion contrast: ${ch} contrast is ${v}`);
      const s = this.stats.get(ch) ?? { n: 0, mean: 0, m2: 0 };
      s.n++;
      const d = v - s.mean;
      s.mean += d / s.n;
      s.m2 += d * (v - s.mean);
      this.stats.set(ch, s);
    }
  }

  summary(): LesionContrastSummary {
    const channels: LesionContrastSummary['channels'] = {};
    for (const ch of CONDITION_CHANNELS) {
      const s = this.stats.get(ch);
      if (!s) continue;
      const std = s.n > 1 ? Math.sqrt(s.m2 / (s.n - 1)) : 0;
      channels[ch] = { mean: s.mean, std, se: std / Math.sqrt(s.n), n: s.n };
    }
    return { images: this.images, channels };
  }
}

/**
 * fake mean / real mean per channel measured in both sets: the share of the real contrast the
 * synthetic images reach (1 = as visible as in the photos, 0 = not drawn, < 0 = drawn with the
 * wrong sign). Null where the real mean is 0, so no division by zero reads as a number.
 */
export function contrastRatios(real: LesionContrastSummary, fake: LesionContrastSummary): Partial<Record<ConditionChannel, number | null>> {
  const out: Partial<Record<ConditionChannel, number | null>> = {};
  for (const ch of CONDITION_CHANNELS) {
    const r = real.channels[ch], f = fake.channels[ch];
    if (!r || !f) continue;
    out[ch] = r.mean === 0 ? null : f.mean / r.mean;
  }
  return out;
}
