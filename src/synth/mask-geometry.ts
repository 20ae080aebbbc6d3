// Plain-array geometry on square 8-bit masks that lesion fitting, sampling and condition
// loading share: connected components, distance to the nearest set pixel, nearest resizing,
// and the retina frame (optic disc, fovea, FOV) a lesion position is measured in.

/** One 8-connected component of a mask: its pixels (row-major indices) and bounding box. */
export interface Component {
  pixels: number[];
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  cx: number;
  cy: number;
}

/** Pixels at or above this count as "in" a mask; soft LM/PM maps are coverage, so half coverage. */
export const MASK_ON = 128;

/** 8-connected components of `mask >= on` on a width x height grid (flood fill, no recursion). */
export function connectedComponents(mask: Uint8Array, width: number, height: number, on = MASK_ON): Component[] {
  const seen = new Uint8Array(mask.length);
  const out: Component[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (seen[start] || mask[start] < on) continue;
    const c: Component = { pixels: [], x0: width, y0: height, x1: -1, y1: -1, cx: 0, cy: 0 };
    seen[start] = 1;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      c.pixels.push(p);
      const x = p % width;
      const y = (p - x) / width;
      if (x < c.x0) c.x0 = x;
      if (x > c.x1) c.x1 = x;
      if (y < c.y0) c.y0 = y;
      if (y > c.y1) c.y1 = y;
      c.cx += x;
      c.cy += y;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (!seen[q] && mask[q] >= on) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    c.cx /= c.pixels.length;
    c.cy /= c.pixels.length;
    out.push(c);
  }
  return out;
}

/**
 * Distance in pixels from every pixel to the nearest pixel with `mask >= on` (3-4 chamfer,
 * two passes, divided by 3: within 8% of Euclidean). Infinity everywhere when the mask is empty.
 */
export function distanceToMask(mask: Uint8Array, width: number, height: number, on = MASK_ON): Float32Array {
  const big = 1e9;
  const d = new Float64Array(mask.length);
  for (let i = 0; i < mask.length; i++) d[i] = mask[i] >= on ? 0 : big;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      let v = d[i];
      if (x > 0) v = Math.min(v, d[i - 1] + 3);
      if (y > 0) {
        v = Math.min(v, d[i - width] + 3);
        if (x > 0) v = Math.min(v, d[i - width - 1] + 4);
        if (x < width - 1) v = Math.min(v, d[i - width + 1] + 4);
      }
      d[i] = v;
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      const i = y * width + x;
      let v = d[i];
      if (x < width - 1) v = Math.min(v, d[i + 1] + 3);
      if (y < height - 1) {
        v = Math.min(v, d[i + width] + 3);
        if (x < width - 1) v = Math.min(v, d[i + width + 1] + 4);
        if (x > 0) v = Math.min(v, d[i + width - 1] + 4);
      }
      d[i] = v;
    }
  }
  const out = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = d[i] >= big ? Infinity : d[i] / 3;
  return out;
}

// Kept here for the synthesis code's imports; it lives in the data layer, which evaluation shares.
export { resizeNearest } from '../data/mask-resize.js';

/**
 * Where a lesion position is measured from. Lesion positions are stored in frame units: the
 * origin is the fovea, +a points from the fovea to the optic disc (nasal), +b points down,
 * and one unit is the disc-fovea distance. So positions learned on one eye (left or right,
 * any image size or camera aim) land at the same anatomical place in another.
 */
export interface RetinaFrame {
  discX: number;
  discY: number;
  /** Optic disc diameter in pixels. */
  discDiameter: number;
  foveaX: number;
  foveaY: number;
  /** +1 when the disc lies to the image's right of the fovea. */
  nasal: 1 | -1;
  /** Pixels per frame unit (the disc-fovea distance). */
  unit: number;
  fovX: number;
  fovY: number;
  fovRadius: number;
  /** true when the disc mask was empty and the disc position was assumed. */
  discAssumed: boolean;
}

/**
 * The retinal quadrant of pixel (x, y) about the FOV centre, as ICDR's 4-2-1 rule counts
 * haemorrhages: 0 superior-temporal, 1 superior-nasal, 2 inferior-temporal, 3 inferior-nasal.
 */
export function quadrantOf(frame: RetinaFrame, x: number, y: number): number {
  return (y >= frame.fovY ? 2 : 0) + ((x - frame.fovX) * frame.nasal > 0 ? 1 : 0);
}

/** Disc-fovea distance in disc diameters (textbook value, as the phantom's anatomy). */
export const DISC_FOVEA_DD = 2.5;
/** Disc diameter in FOV radii for a 45-degree field, used only when no disc mask is known. */
const ASSUMED_DISC_FOV_RADII = 0.27;

/**
 * The frame of one eye from its optic disc and FOV masks. The fovea is estimated 2.5 disc
 * diameters temporal to the disc centre on the disc's horizontal (temporal = towards the FOV
 * centre's side). An empty disc mask falls back to a right eye aimed at the fovea.
 */
export function retinaFrame(opticDisc: Uint8Array | null, fov: Uint8Array | null, size: number): RetinaFrame {
  let fovX = (size - 1) / 2, fovY = (size - 1) / 2, fovRadius = size * 0.48;
  if (fov) {
    let n = 0, sx = 0, sy = 0;
    for (let i = 0; i < fov.length; i++) {
      if (fov[i] >= MASK_ON) {
        n++;
        sx += i % size;
        sy += Math.floor(i / size);
      }
    }
    if (n > 0) {
      fovX = sx / n;
      fovY = sy / n;
      fovRadius = Math.sqrt(n / Math.PI);
    }
  }
  let n = 0, sx = 0, sy = 0;
  if (opticDisc) {
    for (let i = 0; i < opticDisc.length; i++) {
      if (opticDisc[i] >= MASK_ON) {
        n++;
        sx += i % size;
        sy += Math.floor(i / size);
      }
    }
  }
  if (n === 0) {
    const dd = ASSUMED_DISC_FOV_RADII * fovRadius;
    const unit = DISC_FOVEA_DD * dd;
    return { discX: fovX + unit, discY: fovY, discDiameter: dd, foveaX: fovX, foveaY: fovY, nasal: 1, unit, fovX, fovY, fovRadius, discAssumed: true };
  }
  const discX = sx / n, discY = sy / n;
  const dd = Math.max(1, 2 * Math.sqrt(n / Math.PI));
  const nasal: 1 | -1 = discX >= fovX ? 1 : -1;
  const unit = DISC_FOVEA_DD * dd;
  return { discX, discY, discDiameter: dd, foveaX: discX - nasal * unit, foveaY: discY, nasal, unit, fovX, fovY, fovRadius, discAssumed: false };
}

/** Pixel position -> frame units [a, b]. */
export function toFrame(f: RetinaFrame, x: number, y: number): [number, number] {
  return [((x - f.foveaX) * f.nasal) / f.unit, (y - f.foveaY) / f.unit];
}

/** Frame units [a, b] -> pixel position. */
export function fromFrame(f: RetinaFrame, a: number, b: number): [number, number] {
  return [f.foveaX + a * f.unit * f.nasal, f.foveaY + b * f.unit];
}
