// Augmentation applied identically to a photo and all its masks: one set of drawn parameters,
// one geometric mapping, bilinear for the photo and soft maps, nearest for binary masks (so
// labels stay 0/1), colour jitter on the photo only. Seeded by the caller's random source.

export interface AugmentOptions {
  /** Probability of a horizontal / vertical flip. */
  hflip?: number;
  vflip?: number;
  /** Maximum rotation in degrees (uniform in [-rotate, rotate]). */
  rotate?: number;
  /** Scale range, e.g. [0.9, 1.1]. */
  scale?: [number, number];
  /** Relative brightness change, e.g. 0.1 -> factor in [0.9, 1.1]. */
  brightness?: number;
  /** Relative contrast change around the FOV mean. */
  contrast?: number;
  /** Gamma in [1 - gamma, 1 + gamma]. */
  gamma?: number;
  /** Maximum hue rotation in degrees. */
  hue?: number;
}

/** A fundus has no canonical left/right or up/down at this level, so flips and any angle are fair. */
export const DEFAULT_AUGMENT: Required<AugmentOptions> = {
  hflip: 0.5,
  vflip: 0.5,
  rotate: 180,
  scale: [0.95, 1.05],
  brightness: 0.1,
  contrast: 0.1,
  gamma: 0.1,
  hue: 5,
};

export interface AugmentParams {
  hflip: boolean;
  vflip: boolean;
  /** Radians. */
  angle: number;
  scale: number;
  brightness: number;
  contrast: number;
  gamma: number;
  /** Radians. */
  hue: number;
}

export const IDENTITY: AugmentParams = { hflip: false, vflip: false, angle: 0, scale: 1, brightness: 1, contrast: 1, gamma: 1, hue: 0 };

export function drawParams(o: AugmentOptions, rand: () => number): AugmentParams {
  const sym = (m: number | undefined) => (m ? (rand() * 2 - 1) * m : 0);
  // Always draw every value so the stream position does not depend on which options are on.
  const hf = rand();
  const vf = rand();
  const angle = (sym(o.rotate) * Math.PI) / 180;
  const u = rand();
  const scale = o.scale ? o.scale[0] + u * (o.scale[1] - o.scale[0]) : 1;
  return {
    hflip: hf < (o.hflip ?? 0),
    vflip: vf < (o.vflip ?? 0),
    angle,
    scale,
    brightness: 1 + sym(o.brightness),
    contrast: 1 + sym(o.contrast),
    gamma: 1 + sym(o.gamma),
    hue: (sym(o.hue) * Math.PI) / 180,
  };
}

export function isGeometricIdentity(p: AugmentParams): boolean {
  return !p.hflip && !p.vflip && p.angle === 0 && p.scale === 1;
}

/**
 * Warps a square HWC plane set (size x size x channels) by the drawn flips, rotation and scale
 * about the centre. Pixels mapped from outside the square become 0 (black / background).
 */
export function warp(src: Uint8Array, size: number, channels: number, p: AugmentParams, interp: 'bilinear' | 'nearest'): Uint8Array {
  if (isGeometricIdentity(p)) return src;
  const out = new Uint8Array(src.length);
  const c = size / 2;
  const cos = Math.cos(p.angle) / p.scale;
  const sin = Math.sin(p.angle) / p.scale;
  for (let y = 0; y < size; y++) {
    const oy = y + 0.5 - c;
    for (let x = 0; x < size; x++) {
      const ox = x + 0.5 - c;
      // Inverse map: undo scale and rotation, then the flip (flip was applied first).
      let rx = cos * ox + sin * oy;
      let ry = -sin * ox + cos * oy;
      if (p.hflip) rx = -rx;
      if (p.vflip) ry = -ry;
      const sx = rx + c - 0.5;
      const sy = ry + c - 0.5;
      const d = (y * size + x) * channels;
      if (interp === 'nearest') {
        const ix = Math.round(sx);
        const iy = Math.round(sy);
        if (ix < 0 || iy < 0 || ix >= size || iy >= size) continue;
        const s = (iy * size + ix) * channels;
        for (let k = 0; k < channels; k++) out[d + k] = src[s + k];
        continue;
      }
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < -1 || y0 < -1 || x0 >= size || y0 >= size) continue;
      const fx = sx - x0;
      const fy = sy - y0;
      // Taps outside the square weigh 0 (black), so edges fade as they would in the photo.
      const inX0 = x0 >= 0;
      const inX1 = x0 + 1 < size;
      const inY0 = y0 >= 0;
      const inY1 = y0 + 1 < size;
      const w00 = inX0 && inY0 ? (1 - fx) * (1 - fy) : 0;
      const w10 = inX1 && inY0 ? fx * (1 - fy) : 0;
      const w01 = inX0 && inY1 ? (1 - fx) * fy : 0;
      const w11 = inX1 && inY1 ? fx * fy : 0;
      const s00 = (y0 * size + x0) * channels;
      const s10 = s00 + channels;
      const s01 = s00 + size * channels;
      const s11 = s01 + channels;
      for (let k = 0; k < channels; k++) {
        const v = (w00 ? w00 * src[s00 + k] : 0) + (w10 ? w10 * src[s10 + k] : 0) + (w01 ? w01 * src[s01 + k] : 0) + (w11 ? w11 * src[s11 + k] : 0);
        out[d + k] = (v + 0.5) | 0;
      }
    }
  }
  return out;
}

/**
 * Brightness, contrast (about the FOV mean), gamma and hue (rotation of chroma in YIQ) on an
 * HWC RGB photo, inside the FOV only; outside stays black.
 */
export function colourJitter(rgb: Uint8Array, fov: Uint8Array, p: AugmentParams): void {
  if (p.brightness === 1 && p.contrast === 1 && p.gamma === 1 && p.hue === 0) return;
  const n = fov.length;
  let mean = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (!fov[i]) continue;
    mean += 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2];
    count++;
  }
  mean = count ? (mean / count / 255) * p.brightness : 0;
  // Brightness, contrast and gamma act per value: one lookup table instead of a pow per
  // channel. Values after hue rotation may leave [0, 1] a little; the table spans [-0.5, 1.5].
  const LUT_N = 4096;
  const lut = new Uint8Array(LUT_N);
  for (let i = 0; i < LUT_N; i++) {
    let v = ((i / (LUT_N - 1)) * 2 - 0.5) * p.brightness;
    v = (v - mean) * p.contrast + mean;
    v = v <= 0 ? 0 : Math.pow(v, p.gamma);
    lut[i] = v >= 1 ? 255 : Math.round(v * 255);
  }
  const index = (v: number) => {
    const i = Math.round(((v + 0.5) / 2) * (LUT_N - 1));
    return lut[i < 0 ? 0 : i >= LUT_N ? LUT_N - 1 : i];
  };
  const ch = Math.cos(p.hue);
  const sh = Math.sin(p.hue);
  for (let i = 0; i < n; i++) {
    const o = i * 3;
    if (!fov[i]) {
      rgb[o] = rgb[o + 1] = rgb[o + 2] = 0;
      continue;
    }
    let r = rgb[o] / 255;
    let g = rgb[o + 1] / 255;
    let b = rgb[o + 2] / 255;
    if (p.hue !== 0) {
      const Y = 0.299 * r + 0.587 * g + 0.114 * b;
      const I0 = 0.596 * r - 0.274 * g - 0.322 * b;
      const Q0 = 0.211 * r - 0.523 * g + 0.312 * b;
      const I = ch * I0 - sh * Q0;
      const Q = sh * I0 + ch * Q0;
      r = Y + 0.956 * I + 0.621 * Q;
      g = Y - 0.272 * I - 0.647 * Q;
      b = Y - 1.106 * I + 1.703 * Q;
    }
    rgb[o] = index(r);
    rgb[o + 1] = index(g);
    rgb[o + 2] = index(b);
  }
}
