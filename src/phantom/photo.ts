// The camera: illumination, exposure and colour cast, focus blur, sensor noise and JPEG
// compression. These vary per sample like they do across the clinics of EyePACS.
import type { Rng } from './random.js';

export interface PhotoSettings {
  exposure: number;
  /** Per-channel gain (white balance). */
  cast: [number, number, number];
  gamma: number;
  /** Linear illumination gradient across the FOV: direction and strength. */
  gradientAngle: number;
  gradient: number;
  /** Radial fall-off towards the FOV edge. */
  vignette: number;
  /** Bright haze on one side of the FOV rim (a common flare of fundus cameras). */
  haze: number;
  hazeAngle: number;
  /** Gaussian focus blur, in FOV radii (so it looks alike at every size). */
  blur: number;
  /** Sensor noise standard deviation, in 8-bit levels. */
  noise: number;
  /** JPEG quality 1..100, or 0 for no compression. */
  jpegQuality: number;
}

/** Settings with no photographic degradation: even light, sharp, noiseless, lossless. */
export const CLEAN_PHOTO: PhotoSettings = {
  exposure: 1,
  cast: [1, 1, 1],
  gamma: 1,
  gradientAngle: 0,
  gradient: 0,
  vignette: 0.25,
  haze: 0,
  hazeAngle: 0,
  blur: 0,
  noise: 0,
  jpegQuality: 0,
};

export function samplePhoto(rng: Rng): PhotoSettings {
  return {
    exposure: rng.range(0.8, 1.2),
    cast: [rng.range(0.94, 1.06), rng.range(0.92, 1.08), rng.range(0.85, 1.15)],
    gamma: rng.range(0.85, 1.15),
    gradientAngle: rng.range(0, 2 * Math.PI),
    gradient: rng.range(0, 0.3),
    vignette: rng.range(0.2, 0.6),
    haze: rng.chance(0.35) ? rng.range(0.05, 0.3) : 0,
    hazeAngle: rng.range(0, 2 * Math.PI),
    blur: rng.chance(0.3) ? rng.range(0.002, 0.006) : rng.range(0, 0.0015),
    noise: rng.range(0.5, 3.5),
    jpegQuality: rng.chance(0.2) ? 0 : rng.int(60, 95),
  };
}

/** In-place separable Gaussian blur of one float plane (size x size), edges clamped. */
export function gaussianBlur(plane: Float32Array, size: number, sigmaPx: number): void {
  if (sigmaPx < 0.3) return;
  const rad = Math.ceil(sigmaPx * 3);
  const k = new Float32Array(2 * rad + 1);
  let sum = 0;
  for (let i = -rad; i <= rad; i++) sum += k[i + rad] = Math.exp(-(i * i) / (2 * sigmaPx * sigmaPx));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const tmp = new Float32Array(plane.length);
  for (let y = 0; y < size; y++) {
    const row = y * size;
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (let i = -rad; i <= rad; i++) {
        const xx = x + i < 0 ? 0 : x + i >= size ? size - 1 : x + i;
        acc += k[i + rad] * plane[row + xx];
      }
      tmp[row + x] = acc;
    }
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (let i = -rad; i <= rad; i++) {
        const yy = y + i < 0 ? 0 : y + i >= size ? size - 1 : y + i;
        acc += k[i + rad] * tmp[yy * size + x];
      }
      plane[y * size + x] = acc;
    }
  }
}

// JPEG, in-process: 4:2:0 chroma subsampling and quantised 8x8 DCT with the IJG tables, so the
// artefacts (ringing, blocking, chroma bleed) are those of a real encoder, with no codec in
// the loop whose version could change the bytes.
const LUMA_Q = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99];
const CHROMA_Q = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99];
const COS = (() => {
  const c = new Float64Array(64);
  for (let u = 0; u < 8; u++) for (let x = 0; x < 8; x++) c[u * 8 + x] = (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  return c;
})();

function scaledTable(base: number[], quality: number): Float64Array {
  const q = Math.max(1, Math.min(100, quality));
  const s = q < 50 ? 5000 / q : 200 - 2 * q;
  return Float64Array.from(base, (b) => Math.max(1, Math.min(255, Math.floor((b * s + 50) / 100))));
}

/** Quantises one plane (w x h, both multiples of 8) block by block, in place. */
function quantisePlane(p: Float64Array, w: number, h: number, table: Float64Array): void {
  const blk = new Float64Array(64);
  const tmp = new Float64Array(64);
  for (let by = 0; by < h; by += 8) {
    for (let bx = 0; bx < w; bx += 8) {
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) blk[y * 8 + x] = p[(by + y) * w + bx + x] - 128;
      // Forward DCT: rows then columns.
      for (let y = 0; y < 8; y++)
        for (let u = 0; u < 8; u++) {
          let acc = 0;
          for (let x = 0; x < 8; x++) acc += COS[u * 8 + x] * blk[y * 8 + x];
          tmp[y * 8 + u] = acc;
        }
      for (let u = 0; u < 8; u++)
        for (let v = 0; v < 8; v++) {
          let acc = 0;
          for (let y = 0; y < 8; y++) acc += COS[v * 8 + y] * tmp[y * 8 + u];
          blk[v * 8 + u] = Math.round(acc / table[v * 8 + u]) * table[v * 8 + u];
        }
      // Inverse DCT.
      for (let v = 0; v < 8; v++)
        for (let x = 0; x < 8; x++) {
          let acc = 0;
          for (let u = 0; u < 8; u++) acc += COS[u * 8 + x] * blk[v * 8 + u];
          tmp[v * 8 + x] = acc;
        }
      for (let x = 0; x < 8; x++)
        for (let y = 0; y < 8; y++) {
          let acc = 0;
          for (let v = 0; v < 8; v++) acc += COS[v * 8 + y] * tmp[v * 8 + x];
          p[(by + y) * w + bx + x] = acc + 128;
        }
    }
  }
}

/** Round-trips an 8-bit RGB image (HWC) through JPEG-style compression at the given quality. */
export function jpegArtefacts(rgb: Uint8Array, size: number, quality: number): Uint8Array {
  const W = Math.ceil(size / 16) * 16;
  const cw = W / 2;
  const Y = new Float64Array(W * W);
  const Cb = new Float64Array(cw * cw);
  const Cr = new Float64Array(cw * cw);
  for (let y = 0; y < W; y++) {
    const sy = Math.min(y, size - 1);
    for (let x = 0; x < W; x++) {
      const i = (sy * size + Math.min(x, size - 1)) * 3;
      const r = rgb[i];
      const g = rgb[i + 1];
      const b = rgb[i + 2];
      Y[y * W + x] = 0.299 * r + 0.587 * g + 0.114 * b;
      const c = (y >> 1) * cw + (x >> 1);
      Cb[c] += 0.25 * (128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
      Cr[c] += 0.25 * (128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
    }
  }
  quantisePlane(Y, W, W, scaledTable(LUMA_Q, quality));
  quantisePlane(Cb, cw, cw, scaledTable(CHROMA_Q, quality));
  quantisePlane(Cr, cw, cw, scaledTable(CHROMA_Q, quality));
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const yy = Y[y * W + x];
      const c = (y >> 1) * cw + (x >> 1);
      const cb = Cb[c] - 128;
      const cr = Cr[c] - 128;
      const i = (y * size + x) * 3;
      out[i] = clamp8(yy + 1.402 * cr);
      out[i + 1] = clamp8(yy - 0.344136 * cb - 0.714136 * cr);
      out[i + 2] = clamp8(yy + 1.772 * cb);
    }
  }
  return out;
}

export function clamp8(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}
