// Our own rasteriser: shapes are given in normalised retina coordinates (FOV centre at 0,
// FOV radius 1, v pointing down) and drawn antialiased into float alpha layers. Layers combine
// by max, so overlapping pieces of one structure (vessel segments, blob lobes) never
// darken twice where they meet.

/** Maps normalised retina coordinates to pixels for one render size. */
export class Frame {
  /** Pixels per FOV radius. */
  readonly R: number;
  readonly centre: number;
  constructor(
    readonly size: number,
    /** FOV diameter as a fraction of the image side. */
    readonly fovFraction: number,
  ) {
    this.R = (size / 2) * fovFraction;
    this.centre = size / 2;
  }
  px(u: number): number {
    return this.centre + u * this.R;
  }
  /** Normalised coordinate of pixel centre i. */
  norm(i: number): number {
    return (i + 0.5 - this.centre) / this.R;
  }
  layer(): Float32Array {
    return new Float32Array(this.size * this.size);
  }
}

export interface ShapeStyle {
  /** Peak value written (max-combined). */
  value?: number;
  /** Width of the edge ramp as a fraction of the shape's radius (0: a one-pixel antialiased edge). */
  soft?: number;
  /**
   * Smallest radius in pixels actually drawn. A smaller shape is drawn at this radius with its
   * value scaled by the area ratio (`conserve`, for images: a sub-pixel dot fades rather than
   * vanishing or swelling) or at full value (for masks: every drawn lesion keeps a pixel).
   */
  minPx?: number;
  conserve?: boolean;
}

function resolve(rPx: number, style: ShapeStyle): { r: number; value: number; ramp: number } {
  let value = style.value ?? 1;
  let r = rPx;
  const minPx = style.minPx ?? 0;
  if (r < minPx) {
    if (style.conserve) value *= (r * r) / (minPx * minPx);
    r = minPx;
  }
  const ramp = Math.max(1, (style.soft ?? 0) * r);
  return { r, value, ramp };
}

function edge(inside: number, ramp: number): number {
  // inside: signed distance in pixels, positive inside the shape.
  const t = inside / ramp + 0.5;
  if (t <= 0) return 0;
  if (t >= 1) return 1;
  return ramp > 1 ? t * t * (3 - 2 * t) : t;
}

/** Filled ellipse (rx, ry in FOV radii, rotated by angle) max-combined into layer. */
export function ellipse(layer: Float32Array, f: Frame, u: number, v: number, rx: number, ry: number, angle: number, style: ShapeStyle = {}): void {
  const scale = Math.min(rx, ry) * f.R;
  const res = resolve(scale, style);
  const grow = res.r / Math.max(scale, 1e-9);
  const ax = rx * f.R * grow;
  const ay = ry * f.R * grow;
  const cx = f.px(u);
  const cy = f.px(v);
  const ext = Math.max(ax, ay) + res.ramp;
  const x0 = Math.max(0, Math.floor(cx - ext));
  const x1 = Math.min(f.size - 1, Math.ceil(cx + ext));
  const y0 = Math.max(0, Math.floor(cy - ext));
  const y1 = Math.min(f.size - 1, Math.ceil(cy + ext));
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      const lx = dx * c + dy * s;
      const ly = -dx * s + dy * c;
      const q = Math.sqrt((lx * lx) / (ax * ax) + (ly * ly) / (ay * ay));
      const dist = Math.sqrt(lx * lx + ly * ly);
      // Signed distance along the ray from the centre: exact for circles, close for ellipses.
      const inside = q < 1e-9 ? ext : dist * (1 / q - 1);
      const a = edge(inside, res.ramp) * res.value;
      const i = y * f.size + x;
      if (a > layer[i]) layer[i] = a;
    }
  }
}

export function disc(layer: Float32Array, f: Frame, u: number, v: number, r: number, style: ShapeStyle = {}): void {
  ellipse(layer, f, u, v, r, r, 0, style);
}

/** A segment with round caps whose radius goes linearly from r0 to r1 (a tapering vessel piece). */
export function capsule(layer: Float32Array, f: Frame, u0: number, v0: number, r0: number, u1: number, v1: number, r1: number, style: ShapeStyle = {}): void {
  const a0 = resolve(r0 * f.R, style);
  const a1 = resolve(r1 * f.R, style);
  const x0p = f.px(u0);
  const y0p = f.px(v0);
  const x1p = f.px(u1);
  const y1p = f.px(v1);
  const ext = Math.max(a0.r, a1.r) + Math.max(a0.ramp, a1.ramp);
  const bx0 = Math.max(0, Math.floor(Math.min(x0p, x1p) - ext));
  const bx1 = Math.min(f.size - 1, Math.ceil(Math.max(x0p, x1p) + ext));
  const by0 = Math.max(0, Math.floor(Math.min(y0p, y1p) - ext));
  const by1 = Math.min(f.size - 1, Math.ceil(Math.max(y0p, y1p) + ext));
  const ex = x1p - x0p;
  const ey = y1p - y0p;
  const len2 = ex * ex + ey * ey;
  for (let y = by0; y <= by1; y++) {
    const py = y + 0.5 - y0p;
    for (let x = bx0; x <= bx1; x++) {
      const px = x + 0.5 - x0p;
      let t = len2 > 0 ? (px * ex + py * ey) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const dx = px - t * ex;
      const dy = py - t * ey;
      const d = Math.sqrt(dx * dx + dy * dy);
      const r = a0.r + (a1.r - a0.r) * t;
      const ramp = a0.ramp + (a1.ramp - a0.ramp) * t;
      const val = a0.value + (a1.value - a0.value) * t;
      const a = edge(r - d, ramp) * val;
      const i = y * f.size + x;
      if (a > layer[i]) layer[i] = a;
    }
  }
}

/** Evaluates fn over the pixels of a box (normalised coordinates) and max-combines the result. */
export function paint(layer: Float32Array, f: Frame, u0: number, v0: number, u1: number, v1: number, fn: (u: number, v: number) => number): void {
  const x0 = Math.max(0, Math.floor(f.px(u0)));
  const x1 = Math.min(f.size - 1, Math.ceil(f.px(u1)));
  const y0 = Math.max(0, Math.floor(f.px(v0)));
  const y1 = Math.min(f.size - 1, Math.ceil(f.px(v1)));
  for (let y = y0; y <= y1; y++) {
    const v = f.norm(y);
    for (let x = x0; x <= x1; x++) {
      const a = fn(f.norm(x), v);
      const i = y * f.size + x;
      if (a > layer[i]) layer[i] = a;
    }
  }
}
