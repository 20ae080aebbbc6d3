// Finding the circular field of view (FOV) of a fundus photo. Photos differ in border
// darkness, exposure and framing: some show the whole circle, some cut its top and bottom
// (IDRiD, many EyePACS cameras), some are lit unevenly. So:
//   1. threshold a smoothed brightness a little above the level of the image corners
//      (corners lie outside the circle even when its top and bottom are cut off);
//   2. take boundary points where scan lines first enter the bright region, dropping
//      crossings at the image edge (there the circle is cut, not ending);
//   3. fit a circle to those points robustly (RANSAC, then least squares on the inliers),
//      so the radius is right from the left and right arcs alone, and stray bright text or
//      a notch in the border does not pull the fit.
import type { RgbImage } from './bmp.js';
import { boxBlur } from './blur.js';
import { mulberry32 } from './rng.js';

export interface Circle {
  cx: number;
  cy: number;
  r: number;
}

export interface FovResult extends Circle {
  /** Boundary points that agree with the circle, and all boundary points found. */
  inliers: number;
  points: number;
}

export class FovNotFound extends Error {}

// Detection runs at about this size: a 1-pixel error here is ~0.3% of the radius.
const WORK_SIDE = 640;

export function detectFov(img: RgbImage): FovResult {
  const f = Math.max(1, Math.floor(Math.max(img.width, img.height) / WORK_SIDE));
  const { v, w, h } = brightness(img, f);
  const r = Math.max(1, Math.round(Math.min(w, h) / 200));
  boxBlur(v, w, h, r);
  boxBlur(v, w, h, r);

  const corner = Math.max(3, Math.round(Math.min(w, h) * 0.04));
  const cornerLevels = [
    [0, 0],
    [w - corner, 0],
    [0, h - corner],
    [w - corner, h - corner],
  ].map(([x0, y0]) => patchStats(v, w, x0, y0, corner, corner));
  // The second darkest corner: tolerates one corner with a caption or a cut-in circle.
  cornerLevels.sort((a, b) => a.median - b.median);
  const bg = cornerLevels[1].median;
  const noise = cornerLevels[1].mad * 1.4826;
  const centre = patchStats(v, w, Math.round(w * 0.3), Math.round(h * 0.3), Math.round(w * 0.4), Math.round(h * 0.4));
  const fg = centre.median;
  if (fg - bg < 12) {
    throw new FovNotFound(`no field of view found: the centre (level ${fg.toFixed(0)}) is not brighter than the corners (level ${bg.toFixed(0)})`);
  }
  // Low enough that the dim side of an unevenly lit FOV stays above it, high enough to clear
  // JPEG noise in the black border.
  const t = bg + Math.max(0.12 * (fg - bg), 4 * noise, 6);

  const pts = boundaryPoints(v, w, h, t, bg, Math.max(2, Math.round(Math.min(w, h) / 150)));
  if (pts.length < 24) throw new FovNotFound(`no field of view found: only ${pts.length} boundary points between the dark border and the retina`);
  const fit = robustCircle(pts, Math.min(w, h));
  if (!fit) throw new FovNotFound('no field of view found: the bright region has no circular boundary');

  const { circle, inliers } = fit;
  const minSide = Math.min(w, h);
  if (circle.r < 0.15 * minSide || circle.r > 1.5 * Math.max(w, h)) {
    throw new FovNotFound(`no field of view found: fitted circle radius ${(circle.r * f).toFixed(0)} px is implausible for a ${img.width}x${img.height} photo`);
  }
  if (circle.cx < 0 || circle.cx > w || circle.cy < 0 || circle.cy > h) {
    throw new FovNotFound('no field of view found: fitted circle centre lies outside the photo');
  }
  if (inliers < 0.5 * pts.length) {
    throw new FovNotFound(`no field of view found: only ${inliers} of ${pts.length} boundary points lie on one circle`);
  }
  const agree = regionAgreement(v, w, h, t, circle);
  if (agree < 0.85) {
    throw new FovNotFound(`no field of view found: the best circle matches the bright region on only ${(agree * 100).toFixed(0)}% of pixels`);
  }
  // Work pixel (i) covers source pixels [i*f, (i+1)*f): its centre is at i*f + (f-1)/2.
  return { cx: circle.cx * f + (f - 1) / 2, cy: circle.cy * f + (f - 1) / 2, r: circle.r * f, inliers, points: pts.length };
}

/** Max of R,G,B (fundus red dominates inside the FOV), box-downsampled by an integer factor. */
function brightness(img: RgbImage, f: number): { v: Float32Array; w: number; h: number } {
  const w = Math.floor(img.width / f);
  const h = Math.floor(img.height / f);
  const v = new Float32Array(w * h);
  const d = img.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let yy = y * f; yy < y * f + f; yy++) {
        let o = (yy * img.width + x * f) * 3;
        for (let xx = 0; xx < f; xx++, o += 3) s += Math.max(d[o], d[o + 1], d[o + 2]);
      }
      v[y * w + x] = s / (f * f);
    }
  }
  return { v, w, h };
}

function patchStats(v: Float32Array, w: number, x0: number, y0: number, pw: number, ph: number): { median: number; mad: number } {
  const step = pw * ph > 20000 ? 3 : 1;
  const vals = new Float32Array(Math.ceil(pw / step) * Math.ceil(ph / step));
  let n = 0;
  for (let y = y0; y < y0 + ph; y += step) for (let x = x0; x < x0 + pw; x += step) vals[n++] = v[y * w + x];
  const sorted = vals.subarray(0, n).sort();
  const median = sorted[n >> 1];
  for (let i = 0; i < n; i++) sorted[i] = Math.abs(sorted[i] - median);
  return { median, mad: sorted.sort()[n >> 1] };
}

/**
 * Where each row (from left and right) and each column (from top and bottom) first enters a
 * run of `run` pixels above t, refined to sub-pixel half height. A crossing at the image edge
 * means the circle is cut there, so it is no boundary point.
 */
function boundaryPoints(v: Float32Array, w: number, h: number, t: number, bg: number, run: number): [number, number][] {
  const reach = Math.max(3, Math.round(Math.min(w, h) * 0.015));
  const pts: [number, number][] = [];
  const scan = (n: number, at: (i: number) => number, emit: (pos: number) => void) => {
    let above = 0;
    for (let i = 0; i < n; i++) {
      if (at(i) > t) {
        if (++above >= run) {
          const first = i - run + 1;
          if (first <= 1) return; // inside from the edge on: cut, not a boundary
          // Place the edge at half height between the border and the rim just inside it
          // (where a blurred step edge really is), not at the low detection threshold.
          let plateau = t;
          for (let k = first; k < Math.min(n, first + reach); k++) plateau = Math.max(plateau, at(k));
          const half = Math.max(t, (bg + plateau) / 2);
          let k = first;
          while (k < n - 1 && at(k) < half) k++;
          const a = at(k - 1);
          const b = at(k);
          emit(k - 1 + (half - a) / (b - a || 1));
          return;
        }
      } else above = 0;
    }
  };
  for (let y = 0; y < h; y++) {
    scan(w, (i) => v[y * w + i], (x) => pts.push([x, y]));
    scan(w, (i) => v[y * w + (w - 1 - i)], (x) => pts.push([w - 1 - x, y]));
  }
  for (let x = 0; x < w; x++) {
    scan(h, (i) => v[i * w + x], (y) => pts.push([x, y]));
    scan(h, (i) => v[(h - 1 - i) * w + x], (y) => pts.push([x, h - 1 - y]));
  }
  return pts;
}

function circleFrom3(a: [number, number], b: [number, number], c: [number, number]): Circle | null {
  const d = 2 * (a[0] * (b[1] - c[1]) + b[0] * (c[1] - a[1]) + c[0] * (a[1] - b[1]));
  if (Math.abs(d) < 1e-9) return null;
  const a2 = a[0] * a[0] + a[1] * a[1];
  const b2 = b[0] * b[0] + b[1] * b[1];
  const c2 = c[0] * c[0] + c[1] * c[1];
  const cx = (a2 * (b[1] - c[1]) + b2 * (c[1] - a[1]) + c2 * (a[1] - b[1])) / d;
  const cy = (a2 * (c[0] - b[0]) + b2 * (a[0] - c[0]) + c2 * (b[0] - a[0])) / d;
  return { cx, cy, r: Math.hypot(a[0] - cx, a[1] - cy) };
}

/** RANSAC on point triples (seeded: the same photo always gives the same circle), then refine. */
function robustCircle(pts: [number, number][], scale: number): { circle: Circle; inliers: number } | null {
  const rand = mulberry32(12345);
  const tol = Math.max(1.5, scale * 0.006);
  let best: Circle | null = null;
  let bestCount = 0;
  for (let it = 0; it < 300; it++) {
    const c = circleFrom3(
      pts[Math.floor(rand() * pts.length)],
      pts[Math.floor(rand() * pts.length)],
      pts[Math.floor(rand() * pts.length)],
    );
    if (!c || c.r < scale * 0.1 || c.r > scale * 4) continue;
    let count = 0;
    for (const p of pts) {
      const dx = p[0] - c.cx;
      const dy = p[1] - c.cy;
      if (Math.abs(Math.sqrt(dx * dx + dy * dy) - c.r) < tol) count++;
    }
    if (count > bestCount) {
      bestCount = count;
      best = c;
    }
  }
  if (!best) return null;
  let circle = best;
  let inl: [number, number][] = [];
  for (let round = 0; round < 3; round++) {
    inl = pts.filter((p) => Math.abs(Math.hypot(p[0] - circle.cx, p[1] - circle.cy) - circle.r) < tol * 2);
    if (inl.length < 3) return null;
    circle = geometricFit(inl, circle);
  }
  return { circle, inliers: inl.length };
}

/** Gauss-Newton on sum (|p - c| - r)^2: unbiased on partial arcs, unlike the algebraic fit. */
function geometricFit(pts: [number, number][], c0: Circle): Circle {
  let { cx, cy, r } = c0;
  for (let it = 0; it < 10; it++) {
    const A = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    const g = [0, 0, 0];
    for (const [x, y] of pts) {
      const d = Math.sqrt((x - cx) ** 2 + (y - cy) ** 2) || 1e-9;
      const J = [-(x - cx) / d, -(y - cy) / d, -1];
      const res = d - r;
      for (let i = 0; i < 3; i++) {
        g[i] += J[i] * res;
        for (let j = 0; j < 3; j++) A[i * 3 + j] += J[i] * J[j];
      }
    }
    const step = solve3(A, g);
    if (!step) break;
    cx -= step[0];
    cy -= step[1];
    r -= step[2];
    if (Math.abs(step[0]) + Math.abs(step[1]) + Math.abs(step[2]) < 1e-4) break;
  }
  return { cx, cy, r };
}

function solve3(A: number[], b: number[]): number[] | null {
  const m = [0, 1, 2].map((i) => [A[i * 3], A[i * 3 + 1], A[i * 3 + 2], b[i]]);
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(m[r][col]) > Math.abs(m[piv][col])) piv = r;
    if (Math.abs(m[piv][col]) < 1e-12) return null;
    [m[col], m[piv]] = [m[piv], m[col]];
    for (let r = 0; r < 3; r++) {
      if (r === col) continue;
      const k = m[r][col] / m[col][col];
      for (let c = col; c < 4; c++) m[r][c] -= k * m[col][c];
    }
  }
  return [m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]];
}

/** Fraction of pixels (away from the circle's rim) on the side of t the circle predicts. */
function regionAgreement(v: Float32Array, w: number, h: number, t: number, c: Circle): number {
  let agree = 0;
  let total = 0;
  const margin = Math.max(2, c.r * 0.03);
  for (let y = 0; y < h; y += 2) {
    for (let x = 0; x < w; x += 2) {
      const d = Math.sqrt((x - c.cx) ** 2 + (y - c.cy) ** 2) - c.r;
      if (Math.abs(d) < margin) continue;
      total++;
      if ((d < 0) === v[y * w + x] > t) agree++;
    }
  }
  return total ? agree / total : 0;
}

/** The FOV as a mask: inside the circle and inside the photo. */
export function fovMask(width: number, height: number, c: Circle): Uint8Array {
  const m = new Uint8Array(width * height);
  const r2 = c.r * c.r;
  for (let y = 0; y < height; y++) {
    const dy = y - c.cy;
    for (let x = 0; x < width; x++) {
      const dx = x - c.cx;
      if (dx * dx + dy * dy <= r2) m[y * width + x] = 255;
    }
  }
  return m;
}
