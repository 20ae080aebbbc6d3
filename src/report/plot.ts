// Small raster charts for the experiment reports: line charts (loss curves) and grouped bar
// charts with error bars (kappa, per-grade TPR), drawn into an RGB buffer with a built-in
// 5x7 bitmap font and written as PNG through sharp. No fonts, no canvas library: a report
// must render identically on every machine, including ones without a display stack.
import sharp from 'sharp';

export type Rgb = [number, number, number];

export interface RasterImage {
  width: number;
  height: number;
  /** RGB, row-major, 3 bytes per pixel. */
  data: Uint8Array;
}

/** Colour-blind-safe series colours (Okabe-Ito), in order of use. */
export const SERIES_COLOURS: Rgb[] = [
  [0, 114, 178], [213, 94, 0], [0, 158, 115], [230, 159, 0], [204, 121, 167], [86, 180, 233], [120, 120, 120], [0, 0, 0],
];
export const BACKGROUND: Rgb = [255, 255, 255];
const INK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];

// 5x7 glyphs, 7 rows of 5 bits each (bit 4 = leftmost column). Lower case is drawn as upper case.
const FONT: Record<string, number[]> = {
  '0': [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e], '1': [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  '2': [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f], '3': [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  '4': [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02], '5': [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  '6': [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e], '7': [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  '8': [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e], '9': [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
  A: [0x0e, 0x11, 0x11, 0x11, 0x1f, 0x11, 0x11], B: [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
  C: [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e], D: [0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c],
  E: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f], F: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10],
  G: [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f], H: [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  I: [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e], J: [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
  K: [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], L: [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
  M: [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11], N: [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
  O: [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e], P: [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
  Q: [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d], R: [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
  S: [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e], T: [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
  U: [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e], V: [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
  W: [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a], X: [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11],
  Y: [0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04], Z: [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f],
  ' ': [0, 0, 0, 0, 0, 0, 0], '.': [0, 0, 0, 0, 0, 0x0c, 0x0c], ',': [0, 0, 0, 0, 0x0c, 0x04, 0x08],
  '-': [0, 0, 0, 0x1f, 0, 0, 0], '+': [0, 0x04, 0x04, 0x1f, 0x04, 0x04, 0], ':': [0, 0x0c, 0x0c, 0, 0x0c, 0x0c, 0],
  '/': [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0], '(': [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
  ')': [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08], '%': [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
  '=': [0, 0, 0x1f, 0, 0x1f, 0, 0], _: [0, 0, 0, 0, 0, 0, 0x1f], '&': [0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d],
  '[': [0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e], ']': [0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e],
  '<': [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02], '>': [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08],
  '*': [0, 0x04, 0x15, 0x0e, 0x15, 0x04, 0], '|': [0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
  '?': [0x0e, 0x11, 0x01, 0x02, 0x04, 0, 0x04], '!': [0x04, 0x04, 0x04, 0x04, 0x04, 0, 0x04],
  "'": [0x04, 0x04, 0x08, 0, 0, 0, 0], '#': [0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a],
};
const GLYPH_W = 5;
const GLYPH_H = 7;

/** A fixed-size RGB drawing surface. */
export class Canvas {
  readonly data: Uint8Array;

  constructor(readonly width: number, readonly height: number, background: Rgb = BACKGROUND) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16) throw new Error(`Canvas: width and height must be integers >= 16, got ${width} x ${height}`);
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(background, i * 3);
  }

  pixel(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data.set(c, (y * this.width + x) * 3);
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x)), y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w)), y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.data.set(c, (yy * this.width + xx) * 3);
  }

  /** A straight line of the given thickness (square pen), endpoints included. */
  line(xa: number, ya: number, xb: number, yb: number, c: Rgb, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(xb - xa), Math.abs(yb - ya))));
    const half = (thickness - 1) / 2;
    for (let i = 0; i <= steps; i++) {
      const x = xa + ((xb - xa) * i) / steps;
      const y = ya + ((yb - ya) * i) / steps;
      if (thickness <= 1) this.pixel(x, y, c);
      else this.fillRect(Math.round(x - half), Math.round(y - half), thickness, thickness, c);
    }
  }

  /** Text at (x, y) = top left, glyphs scaled by `scale`; `vertical` reads bottom to top. */
  text(x: number, y: number, s: string, c: Rgb = INK, scale = 1, vertical = false): void {
    let pen = 0;
    for (const ch of s) {
      const glyph = FONT[ch] ?? FONT[ch.toUpperCase()] ?? FONT['?'];
      for (let gy = 0; gy < GLYPH_H; gy++) {
        for (let gx = 0; gx < GLYPH_W; gx++) {
          if (!((glyph[gy] >> (GLYPH_W - 1 - gx)) & 1)) continue;
          // Vertical: rotate 90 degrees counter-clockwise about the start point.
          const [px, py] = vertical ? [x + gy * scale, y - (pen + gx + 1) * scale] : [x + (pen + gx) * scale, y + gy * scale];
          this.fillRect(px, py, scale, scale, c);
        }
      }
      pen += GLYPH_W + 1;
    }
  }

  toImage(): RasterImage {
    return { width: this.width, height: this.height, data: this.data };
  }
}

/** Pixel width of a string at a scale (the font is monospaced). */
export function textWidth(s: string, scale = 1): number {
  return [...s].length * (GLYPH_W + 1) * scale - scale;
}

/** About `count` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) throw new Error(`niceTicks: range must be finite, got [${lo}, ${hi}]`);
  if (hi <= lo) hi = lo + (lo === 0 ? 1 : Math.abs(lo) * 0.1);
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  // Integer multiples of the step, rounded, so ticks carry no float noise (0.6, not 0.6000000000000001).
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return ticks;
}

/** Short label of a tick value: no float noise, exponent form for very large or small values. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

export interface PlotArea {
  left: number;
  top: number;
  right: number;
  bottom: number;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** Data coordinates -> pixel coordinates within a chart's plot area. */
export function toPixel(a: PlotArea, x: number, y: number): [number, number] {
  const px = a.left + ((x - a.xMin) / (a.xMax - a.xMin || 1)) * (a.right - a.left);
  const py = a.bottom - ((y - a.yMin) / (a.yMax - a.yMin || 1)) * (a.bottom - a.top);
  return [px, py];
}

export interface Chart {
  image: RasterImage;
  area: PlotArea;
}

interface Frame {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
}

function drawFrame(cv: Canvas, f: Frame, a: PlotArea, yTicks: number[], xTicks: { value: number; label: string }[]): void {
  for (const t of yTicks) {
    const [, py] = toPixel(a, a.xMin, t);
    cv.line(a.left, py, a.right, py, GRID);
    const label = formatTick(t);
    cv.line(a.left - 4, py, a.left, py, INK);
    cv.text(a.left - 6 - textWidth(label), py - 3, label);
  }
  for (const t of xTicks) {
    const [px] = toPixel(a, t.value, a.yMin);
    cv.line(px, a.bottom, px, a.bottom + 4, INK);
    cv.text(px - textWidth(t.label) / 2, a.bottom + 7, t.label);
  }
  cv.line(a.left, a.top, a.left, a.bottom, INK);
  cv.line(a.left, a.bottom, a.right, a.bottom, INK);
  if (f.title) cv.text((cv.width - textWidth(f.title, 2)) / 2, 6, f.title, INK, 2);
  if (f.xLabel) cv.text((a.left + a.right - textWidth(f.xLabel)) / 2, a.bottom + 20, f.xLabel);
  if (f.yLabel) cv.text(4, (a.top + a.bottom + textWidth(f.yLabel)) / 2, f.yLabel, INK, 1, true);
}

function drawLegend(cv: Canvas, a: PlotArea, names: string[], colours: Rgb[]): void {
  if (names.length < 2 && !(names.length === 1 && names[0])) return;
  const w = Math.max(...names.map((n) => textWidth(n))) + 22;
  const x = a.right - w - 4;
  let y = a.top + 4;
  cv.fillRect(x - 3, y - 3, w + 6, names.length * 11 + 4, BACKGROUND);
  names.forEach((n, i) => {
    cv.fillRect(x, y + 1, 12, 5, colours[i]);
    cv.text(x + 16, y, n);
    y += 11;
  });
}

export interface LineSeries {
  name: string;
  x: readonly number[];
  y: readonly number[];
  colour?: Rgb;
}

export interface LineChartOptions extends Frame {
  series: LineSeries[];
}

/** Lines through each series' points (non-finite points break the line), with axes, ticks and legend. */
export function lineChart(o: LineChartOptions): Chart {
  const W = o.width ?? 640, H = o.height ?? 360;
  const cv = new Canvas(W, H);
  o.series.forEach((s, i) => { if (s.x.length !== s.y.length) throw new Error(`lineChart: series "${s.name}" (#${i}) has ${s.x.length} x values but ${s.y.length} y values`); });
  const xs = o.series.flatMap((s) => s.x.filter((_, i) => Number.isFinite(s.y[i]) && Number.isFinite(s.x[i])));
  const ys = o.series.flatMap((s) => s.y.filter((v, i) => Number.isFinite(v) && Number.isFinite(s.x[i])));
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const yTicks = niceTicks(y0, y1, 5);
  const xTicks = niceTicks(x0, x1, 6);
  const area: PlotArea = {
    left: 62, top: o.title ? 30 : 12, right: W - 14, bottom: H - (o.xLabel ? 34 : 22),
    xMin: Math.min(x0, xTicks[0]), xMax: Math.max(x1, xTicks[xTicks.length - 1]), yMin: Math.min(y0, yTicks[0]), yMax: Math.max(y1, yTicks[yTicks.length - 1]),
  };
  if (area.xMax === area.xMin) area.xMax = area.xMin + 1;
  if (area.yMax === area.yMin) area.yMax = area.yMin + 1;
  drawFrame(cv, o, area, yTicks, xTicks.map((v) => ({ value: v, label: formatTick(v) })));
  const colours = o.series.map((s, i) => s.colour ?? SERIES_COLOURS[i % SERIES_COLOURS.length]);
  o.series.forEach((s, si) => {
    let prev: [number, number] | null = null;
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i]) || !Number.isFinite(s.y[i])) { prev = null; continue; }
      const p = toPixel(area, s.x[i], s.y[i]);
      if (prev) cv.line(prev[0], prev[1], p[0], p[1], colours[si], 2);
      else cv.fillRect(p[0] - 1, p[1] - 1, 2, 2, colours[si]);
      prev = p;
    }
  });
  drawLegend(cv, area, o.series.map((s) => s.name), colours);
  return { image: cv.toImage(), area };
}

export interface BarSeries {
  name: string;
  /** One value per category; null = no bar. */
  values: readonly (number | null)[];
  /** Half-length of each error bar (e.g. a standard deviation); null or absent = none. */
  errors?: readonly (number | null)[];
  colour?: Rgb;
}

export interface BarChartOptions extends Frame {
  categories: string[];
  series: BarSeries[];
  /** Fixed value range (e.g. [0, 1] for rates); default from the data and 0. */
  yMin?: number;
  yMax?: number;
}

/** Grouped bars: one group per category, one bar per series, with error bars where given. */
export function barChart(o: BarChartOptions): Chart & { barCentre(series: number, category: number): number } {
  const W = o.width ?? 640, H = o.height ?? 360;
  const cv = new Canvas(W, H);
  const K = o.categories.length, S = o.series.length;
  if (K === 0 || S === 0) throw new Error('barChart: needs at least one category and one series');
  o.series.forEach((s) => {
    if (s.values.length !== K) throw new Error(`barChart: series "${s.name}" has ${s.values.length} values for ${K} categories`);
    if (s.errors && s.errors.length !== K) throw new Error(`barChart: series "${s.name}" has ${s.errors.length} errors for ${K} categories`);
  });
  const ends: number[] = [0];
  for (const s of o.series) s.values.forEach((v, k) => {
    if (v === null || !Number.isFinite(v)) return;
    const e = s.errors?.[k] ?? 0;
    ends.push(v + (Number.isFinite(e) ? e! : 0), v - (Number.isFinite(e) ? e! : 0));
  });
  const lo = o.yMin ?? Math.min(...ends), hi = o.yMax ?? Math.max(...ends);
  const yTicks = niceTicks(lo, hi, 5).filter((t) => (o.yMin === undefined || t >= o.yMin - 1e-12) && (o.yMax === undefined || t <= o.yMax + 1e-12));
  const area: PlotArea = {
    left: 62, top: o.title ? 30 : 12, right: W - 14, bottom: H - (o.xLabel ? 34 : 22),
    xMin: 0, xMax: K, yMin: o.yMin ?? Math.min(lo, yTicks[0]), yMax: o.yMax ?? Math.max(hi, yTicks[yTicks.length - 1]),
  };
  if (area.yMax === area.yMin) area.yMax = area.yMin + 1;
  drawFrame(cv, o, area, yTicks, o.categories.map((label, k) => ({ value: k + 0.5, label })));
  const colours = o.series.map((s, i) => s.colour ?? SERIES_COLOURS[i % SERIES_COLOURS.length]);
  const groupW = (area.right - area.left) / K;
  const barW = Math.max(1, (groupW * 0.8) / S);
  const barCentre = (s: number, k: number) => area.left + k * groupW + groupW * 0.1 + barW * (s + 0.5);
  const clampY = (v: number) => Math.min(area.yMax, Math.max(area.yMin, v));
  o.series.forEach((s, si) => s.values.forEach((v, k) => {
    if (v === null || !Number.isFinite(v)) return;
    const cx = barCentre(si, k);
    const [, py] = toPixel(area, 0, clampY(v));
    const [, base] = toPixel(area, 0, clampY(0));
    cv.fillRect(cx - barW / 2 + 1, Math.min(py, base), Math.max(1, barW - 2), Math.max(1, Math.abs(base - py)), colours[si]);
    const e = s.errors?.[k];
    if (e !== null && e !== undefined && Number.isFinite(e) && e > 0) {
      const [, yHi] = toPixel(area, 0, clampY(v + e));
      const [, yLo] = toPixel(area, 0, clampY(v - e));
      const cap = Math.max(2, barW / 4);
      cv.line(cx, yHi, cx, yLo, INK);
      cv.line(cx - cap, yHi, cx + cap, yHi, INK);
      cv.line(cx - cap, yLo, cx + cap, yLo, INK);
    }
  }));
  drawLegend(cv, area, o.series.map((s) => s.name), colours);
  return { image: cv.toImage(), area, barCentre };
}

/** PNG bytes of a raster image. */
export async function encodePng(img: RasterImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
}
