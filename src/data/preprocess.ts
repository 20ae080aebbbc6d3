// One photo (and its masks) to the prepared form: the square around the detected field of
// view, resized to `size`, black outside the FOV, optionally Graham-normalised. Every mask of
// the photo goes through exactly the same geometry, so lesions stay on their lesions.
import sharp from 'sharp';
import { DataError } from './errors.js';
import { detectFov, FovNotFound, type Circle } from './fov.js';
import { gaussianBlur } from './blur.js';
import { decodeRgb, openImage, readMask, type GreyImage, type RgbImage } from './image-io.js';

export interface PreprocessOptions {
  /** Side of the square output in pixels. */
  size: number;
  /** Graham's contrast normalisation (Kaggle 2015 winner): 4*img - 4*blur(img, size/30) + 128. */
  graham?: boolean;
  /**
   * How binary masks are resampled: 'nearest' (default; exact labels) or 'max' (a pixel is on
   * if any source pixel under it is: keeps microaneurysms of 1-3 px when shrinking 8x).
   */
  maskResample?: 'nearest' | 'max';
}

export interface MaskSource {
  key: string;
  path: string;
  /** Soft masks (activation maps, 0..255) are area-averaged instead of kept binary. */
  soft?: boolean;
}

export interface Preprocessed {
  size: number;
  /** HWC RGB. */
  image: Uint8Array;
  /** 255 inside the field of view. */
  fov: Uint8Array;
  masks: Map<string, Uint8Array>;
  /** The FOV circle in the upright source photo's pixel coordinates. */
  circle: Circle;
  sourceWidth: number;
  sourceHeight: number;
}

/**
 * Where the output square lies in the upright source photo: output pixel (i, j) has its
 * centre at source (x0 + (i + 0.5) * sx, y0 + (j + 0.5) * sy), in continuous coordinates
 * where source pixel p spans [p, p + 1).
 */
export interface CropGeometry {
  x0: number;
  y0: number;
  sx: number;
  sy: number;
  size: number;
}

export async function preprocessPhoto(imagePath: string, masks: MaskSource[], opts: PreprocessOptions, fovPath?: string): Promise<Preprocessed> {
  const { size } = opts;
  const src = await openImage(imagePath);
  const W = src.width;
  const H = src.height;

  // Decode once at a scale that leaves the FOV square at least `size` wide (the FOV is rarely
  // under 80% of the short side) and at least ~640 px for detection; sharp then shrinks
  // large JPEGs on load, which is most of the speed.
  let k = Math.min(1, Math.max(size / (0.8 * Math.min(W, H)), 640 / Math.max(W, H)));
  let dec = await decodeRgb(src, { resize: scaled(W, H, k) });
  let circle = locate(imagePath, dec);
  if (2 * circle.r < size && dec.width < W) {
    k = Math.min(1, (k * size) / (2 * circle.r) * 1.05);
    dec = await decodeRgb(src, { resize: scaled(W, H, k) });
    circle = locate(imagePath, dec);
  }
  const kx = dec.width / W;
  const ky = dec.height / H;
  // The circle in source coordinates (continuous: decoded pixel centre p+0.5 <-> (p+0.5)/k).
  const sc: Circle = { cx: (circle.cx + 0.5) / kx, cy: (circle.cy + 0.5) / ky, r: circle.r / Math.sqrt(kx * ky) };

  // Crop an integer square in decoded pixels (error under half a decoded pixel), pad black.
  const side = Math.max(1, Math.round(2 * circle.r));
  const dx0 = Math.round(circle.cx + 0.5 - side / 2);
  const dy0 = Math.round(circle.cy + 0.5 - side / 2);
  const square = cropPadded(dec, dx0, dy0, side);
  const image = await resizeRgb(square, side, size);
  const geom: CropGeometry = { x0: dx0 / kx, y0: dy0 / ky, sx: side / size / kx, sy: side / size / ky, size };

  let fov: Uint8Array;
  if (fovPath) {
    fov = resampleBinary(await readMaskChecked(fovPath, imagePath, W, H), geom, 'nearest');
  } else {
    fov = circleFov(sc, geom, W, H);
  }
  for (let i = 0; i < size * size; i++) {
    if (fov[i] === 0) image[i * 3] = image[i * 3 + 1] = image[i * 3 + 2] = 0;
  }
  if (opts.graham) grahamNormalise(image, fov, size);

  const out = new Map<string, Uint8Array>();
  for (const m of masks) {
    const mask = await readMaskChecked(m.path, imagePath, W, H);
    out.set(m.key, m.soft ? resampleMean(mask, geom) : resampleBinary(mask, geom, opts.maskResample ?? 'nearest'));
  }
  return { size, image, fov, masks: out, circle: sc, sourceWidth: W, sourceHeight: H };
}

function scaled(W: number, H: number, k: number): { width: number; height: number } {
  return { width: Math.max(1, Math.round(W * k)), height: Math.max(1, Math.round(H * k)) };
}

function locate(path: string, img: RgbImage): Circle {
  try {
    return detectFov(img);
  } catch (err) {
    if (err instanceof FovNotFound) throw new DataError(path, err.message);
    throw err;
  }
}

async function readMaskChecked(path: string, imagePath: string, W: number, H: number): Promise<GreyImage> {
  const m = await readMask(path);
  if (m.width !== W || m.height !== H) {
    throw new DataError(path, `mask is ${m.width}x${m.height} but its image ${imagePath} is ${W}x${H}`);
  }
  return m;
}

function cropPadded(img: RgbImage, x0: number, y0: number, side: number): Uint8Array {
  const out = new Uint8Array(side * side * 3);
  const xa = Math.max(0, x0);
  const xb = Math.min(img.width, x0 + side);
  if (xb <= xa) return out;
  for (let y = Math.max(0, y0); y < Math.min(img.height, y0 + side); y++) {
    const s = (y * img.width + xa) * 3;
    out.set(img.data.subarray(s, s + (xb - xa) * 3), ((y - y0) * side + (xa - x0)) * 3);
  }
  return out;
}

async function resizeRgb(square: Uint8Array, side: number, size: number): Promise<Uint8Array> {
  if (side === size) return square;
  const buf = await sharp(square, { raw: { width: side, height: side, channels: 3 } })
    .resize(size, size, { kernel: 'lanczos3', fit: 'fill' })
    .raw()
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** Inside the circle and inside the photo (a cut-off top or bottom is not field of view). */
function circleFov(c: Circle, g: CropGeometry, W: number, H: number): Uint8Array {
  const { size } = g;
  const m = new Uint8Array(size * size);
  for (let j = 0; j < size; j++) {
    const y = g.y0 + (j + 0.5) * g.sy;
    if (y < 0 || y > H) continue;
    for (let i = 0; i < size; i++) {
      const x = g.x0 + (i + 0.5) * g.sx;
      if (x < 0 || x > W) continue;
      if ((x - c.cx) ** 2 + (y - c.cy) ** 2 <= c.r * c.r) m[j * size + i] = 255;
    }
  }
  return m;
}

/**
 * Binary mask through the crop: 'nearest' takes the source pixel under the output centre,
 * 'max' any pixel under the output footprint. Sources storing 0/1 instead of 0/255 count too.
 */
export function resampleBinary(mask: GreyImage, g: CropGeometry, mode: 'nearest' | 'max'): Uint8Array {
  const { size } = g;
  let max = 0;
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i] > max) max = mask.data[i];
  const on = max <= 1 ? 1 : 128;
  const out = new Uint8Array(size * size);
  const { width: W, height: H, data } = mask;
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      let hit = false;
      if (mode === 'nearest' || (g.sx <= 1 && g.sy <= 1)) {
        const x = Math.floor(g.x0 + (i + 0.5) * g.sx);
        const y = Math.floor(g.y0 + (j + 0.5) * g.sy);
        hit = x >= 0 && x < W && y >= 0 && y < H && data[y * W + x] >= on;
      } else {
        const xa = Math.max(0, Math.floor(g.x0 + i * g.sx));
        const xb = Math.min(W, Math.ceil(g.x0 + (i + 1) * g.sx));
        const ya = Math.max(0, Math.floor(g.y0 + j * g.sy));
        const yb = Math.min(H, Math.ceil(g.y0 + (j + 1) * g.sy));
        for (let y = ya; y < yb && !hit; y++) for (let x = xa; x < xb; x++) if (data[y * W + x] >= on) { hit = true; break; }
      }
      if (hit) out[j * size + i] = 255;
    }
  }
  return out;
}

/** Soft mask through the crop: mean over each output pixel's footprint. */
export function resampleMean(mask: GreyImage, g: CropGeometry): Uint8Array {
  const { size } = g;
  const out = new Uint8Array(size * size);
  const { width: W, height: H, data } = mask;
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const xa = Math.max(0, Math.floor(g.x0 + i * g.sx));
      const xb = Math.min(W, Math.max(xa + 1, Math.ceil(g.x0 + (i + 1) * g.sx)));
      const ya = Math.max(0, Math.floor(g.y0 + j * g.sy));
      const yb = Math.min(H, Math.max(ya + 1, Math.ceil(g.y0 + (j + 1) * g.sy)));
      let s = 0;
      let n = 0;
      for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++, n++) s += data[y * W + x];
      out[j * size + i] = n ? Math.round(s / n) : 0;
    }
  }
  return out;
}

/**
 * Graham: 4*img - 4*blur(img) + 128, blur sigma = size/30, outside FOV black. The blur is
 * normalised by the blurred FOV (blur(img*fov)/blur(fov)) so the black border does not leak in
 * and leave a bright ring along the rim.
 */
export function grahamNormalise(image: Uint8Array, fov: Uint8Array, size: number): void {
  const n = size * size;
  const sigma = size / 30;
  const weight = new Float32Array(n);
  for (let i = 0; i < n; i++) weight[i] = fov[i] ? 1 : 0;
  gaussianBlur(weight, size, size, sigma);
  const plane = new Float32Array(n);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) plane[i] = fov[i] ? image[i * 3 + c] : 0;
    gaussianBlur(plane, size, size, sigma);
    for (let i = 0; i < n; i++) {
      if (!fov[i]) {
        image[i * 3 + c] = 0;
        continue;
      }
      const local = weight[i] > 1e-6 ? plane[i] / weight[i] : image[i * 3 + c];
      const v = 4 * image[i * 3 + c] - 4 * local + 128;
      image[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  }
}
