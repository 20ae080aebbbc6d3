// One phantom sample: plan it (grade, anatomy, vessels, lesions, camera; all resolution-free),
// then paint it at the requested size with its exact condition masks.
import { CONDITION_CHANNELS, type ConditionChannel } from '../data/manifest.js';
import { sampleAnatomy, type Anatomy, type EyeSide } from './anatomy.js';
import { EYEPACS_GRADE_FREQUENCIES, gradeFromLesions, sampleGrade, type LesionSummary } from './grading.js';
import { placeLesions, planSeverity, summarize, type Lesion } from './lesions.js';
import { fbm } from './noise.js';
import { CLEAN_PHOTO, clamp8, gaussianBlur, jpegArtefacts, samplePhoto, type PhotoSettings } from './photo.js';
import { Rng } from './random.js';
import { capsule, ellipse, Frame, paint } from './raster.js';
import { growVesselTree, type VesselSegment } from './vessels.js';

export const MIN_SIZE = 64;
export const MAX_SIZE = 1280;

export interface PhantomOptions {
  /** Weights of grades 0..4 (any scale); default EyePACS. Ignored when `grade` is set. */
  gradeFrequencies?: readonly number[];
  /** Force this grade (the same eye, with lesions drawn for it). */
  grade?: number;
  /** false: even light, no blur, noise or JPEG (clean ground truth for debugging). Default true. */
  photographic?: boolean;
}

export interface PhantomPlan {
  seed: number;
  index: number;
  grade: number;
  anatomy: Anatomy;
  vessels: VesselSegment[];
  lesions: Lesion[];
  summary: LesionSummary;
  photo: PhotoSettings;
}

export interface PhantomSample {
  size: number;
  /** 8-bit RGB, row-major, 3 bytes per pixel. */
  rgb: Uint8Array;
  /** 255 inside the field of view. */
  fov: Uint8Array;
  /** One 8-bit plane per condition channel; LM and PM soft, the others 0/255. */
  masks: Record<ConditionChannel, Uint8Array>;
  grade: number;
  eye: EyeSide;
  lesions: LesionSummary;
}

/** Everything about sample (seed, index) except its pixels: cheap, and the same at every size. */
export function planPhantom(seed: number, index: number, opts: PhantomOptions = {}): PhantomPlan {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`phantom seed must be a non-negative integer, got ${seed}`);
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`phantom index must be a non-negative integer, got ${index}`);
  const grade = opts.grade ?? sampleGrade(Rng.for(seed, index, 'grade'), opts.gradeFrequencies ?? EYEPACS_GRADE_FREQUENCIES);
  if (!(Number.isInteger(grade) && grade >= 0 && grade <= 4)) throw new RangeError(`phantom grade must be 0..4, got ${grade}`);
  const anatomy = sampleAnatomy(Rng.for(seed, index, 'anatomy'));
  const severity = planSeverity(Rng.for(seed, index, 'severity'), grade);
  const vessels = growVesselTree(Rng.for(seed, index, 'vessels'), anatomy, { beadedQuadrants: severity.beadedQuadrants });
  const lesions = placeLesions(Rng.for(seed, index, 'lesions'), anatomy, severity, vessels);
  const summary = summarize(anatomy, lesions, severity.beadedQuadrants);
  const ruled = gradeFromLesions(summary);
  if (ruled !== grade) throw new Error(`phantom ${seed}/${index}: drew lesions of grade ${ruled} for grade ${grade} (a bug in lesions.ts planSeverity)`);
  const photo = opts.photographic === false ? CLEAN_PHOTO : samplePhoto(Rng.for(seed, index, 'photo'));
  return { seed, index, grade, anatomy, vessels, lesions, summary, photo };
}

export function renderPhantom(seed: number, index: number, size: number, opts: PhantomOptions = {}): PhantomSample {
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) throw new RangeError(`phantom size must be an integer in ${MIN_SIZE}..${MAX_SIZE}, got ${size}`);
  return paintPlan(planPhantom(seed, index, opts), size);
}

// Colours are linear-ish RGB in [0, 1]; lesion colours are what the lesion looks like under
// the same light as the background, before the camera's illumination is applied.
const VEIN_TINT: RGB = [0.56, 0.3, 0.34];
const ARTERY_TINT: RGB = [0.8, 0.56, 0.58];
const MA_TINT: RGB = [0.5, 0.2, 0.3];
const HE_TINT: RGB = [0.52, 0.2, 0.32];
const FLAME_TINT: RGB = [0.6, 0.26, 0.36];
const EX_COLOUR: RGB = [1.08, 0.92, 0.42];
const SE_COLOUR: RGB = [0.97, 0.87, 0.74];
const LM_PALE: RGB = [0.95, 0.78, 0.52];
const LM_PIGMENT: RGB = [0.28, 0.17, 0.12];
const NV_TINT: RGB = [0.66, 0.36, 0.42];
const FIBROUS: RGB = [0.96, 0.92, 0.84];
type RGB = [number, number, number];

function paintPlan(plan: PhantomPlan, size: number): PhantomSample {
  const { anatomy: a, photo } = plan;
  const f = new Frame(size, a.fovFraction);
  const N = size * size;
  const img: [Float32Array, Float32Array, Float32Array] = [f.layer(), f.layer(), f.layer()];
  paintBackground(img, f, a);

  const masks = {} as Record<ConditionChannel, Float32Array>;
  for (const c of CONDITION_CHANNELS) masks[c] = f.layer();
  const byKind = (k: Lesion['kind']) => plan.lesions.filter((l) => l.kind === k);
  // Masks: every lesion keeps at least its centre pixel (minPx) so that a 64 px mask never
  // loses a lesion the summary counts; the image draws the same shape at its true size.
  const MASK_MIN = { value: 1, minPx: 0.75 };
  const IMG_MIN = { minPx: 0.6, conserve: true };

  // Deep lesions first (under the vessels): laser scars, exudates, dot/blot haemorrhages, MAs.
  const lmPale = f.layer();
  const lmPig = f.layer();
  for (const l of byKind('LM')) {
    const lobe = l.lobes[0];
    const seed = Math.floor(l.u * 7919 + l.v * 104729) | 0;
    const ext = Math.max(lobe.rx, lobe.ry) * 1.3;
    paint(lmPale, f, l.u - ext, l.v - ext, l.u + ext, l.v + ext, (u, v) => {
      const d = Math.hypot((u - l.u) / lobe.rx, (v - l.v) / lobe.ry);
      const wobble = 0.15 * (fbm(u, v, 60, 2, seed ^ 0x2f) - 0.5);
      return smooth(1.05, 0.75, d + wobble) * (0.6 - 0.4 * l.tone);
    });
    paint(lmPig, f, l.u - ext, l.v - ext, l.u + ext, l.v + ext, (u, v) => {
      const d = Math.hypot((u - l.u) / lobe.rx, (v - l.v) / lobe.ry);
      const wobble = 0.25 * (fbm(u, v, 60, 2, seed ^ 0x2f) - 0.5);
      const ring = Math.exp(-(((d + wobble - 0.8) / 0.22) ** 2));
      const clump = d < 0.8 ? smooth(0.42, 0.6, fbm(u, v, 70, 2, seed)) : 0;
      return Math.min(0.8, l.tone * Math.max(0.55 * ring, clump));
    });
    for (const lb of l.lobes) ellipse(masks.LM, f, lb.u, lb.v, lb.rx, lb.ry, lb.angle, { value: 1, soft: 0.35, minPx: 0.75 });
  }
  overlay(img, lmPale, LM_PALE);
  tint(img, lmPig, LM_PIGMENT);

  const ex = f.layer();
  for (const l of byKind('EX')) {
    for (const lb of l.lobes) {
      ellipse(ex, f, lb.u, lb.v, lb.rx, lb.ry, lb.angle, { ...IMG_MIN, value: l.tone, soft: 0.2 });
      ellipse(masks.EX, f, lb.u, lb.v, lb.rx, lb.ry, lb.angle, MASK_MIN);
    }
  }
  overlay(img, ex, EX_COLOUR);

  const heDeep = f.layer();
  const heFlame = f.layer();
  for (const l of byKind('HE')) {
    const flame = l.shape === 'flame';
    for (const lb of l.lobes) {
      ellipse(flame ? heFlame : heDeep, f, lb.u, lb.v, lb.rx, lb.ry, lb.angle, { ...IMG_MIN, value: flame ? l.tone * 0.8 : l.tone, soft: flame ? 0.8 : 0.35 });
      ellipse(masks.HE, f, lb.u, lb.v, lb.rx, lb.ry, lb.angle, MASK_MIN);
    }
  }
  tint(img, heDeep, HE_TINT);

  const ma = f.layer();
  for (const l of byKind('MA')) {
    const lb = l.lobes[0];
    ellipse(ma, f, lb.u, lb.v, lb.rx, lb.ry, 0, { ...IMG_MIN, value: l.tone, soft: 0.2 });
    ellipse(masks.MA, f, lb.u, lb.v, lb.rx, lb.ry, 0, MASK_MIN);
  }
  tint(img, ma, MA_TINT);

  paintDisc(img, masks.optic_disc, f, a);
  paintVessels(img, masks.vessel, f, plan.vessels);

  // Superficial lesions over the vessels: flame haemorrhages and cotton-wool spots lie in the
  // nerve fibre layer; new vessels and fibrous tissue grow on the retinal surface.
  tint(img, heFlame, FLAME_TINT);
  const se = f.layer();
  for (const l of byKind('SE')) {
    for (const lb of l.lobes) {
      ellipse(se, f, lb.u, lb.v, lb.rx, lb.ry, lb.angle, { value: l.tone, soft: 0.9, minPx: 0.6 });
      ellipse(masks.SE, f, lb.u, lb.v, lb.rx, lb.ry, lb.angle, MASK_MIN);
    }
  }
  overlay(img, se, SE_COLOUR);

  const nv = f.layer();
  const fib = f.layer();
  for (const l of byKind('PM')) {
    const lb = l.lobes[0];
    const ext = Math.max(lb.rx, lb.ry) * 1.2;
    const seed = Math.floor(l.u * 7919 + l.v * 104729) | 0;
    const c = Math.cos(lb.angle);
    const s = Math.sin(lb.angle);
    const shape = (u: number, v: number) => {
      const x = (u - l.u) * c + (v - l.v) * s;
      const y = -(u - l.u) * s + (v - l.v) * c;
      const d = Math.hypot(x / lb.rx, y / lb.ry);
      return smooth(1, 0.3, d) * (0.5 + fbm(u, v, 25, 3, seed));
    };
    paint(fib, f, l.u - ext, l.v - ext, l.u + ext, l.v + ext, (u, v) => l.tone * Math.min(1, shape(u, v)));
    paint(masks.PM, f, l.u - ext, l.v - ext, l.u + ext, l.v + ext, (u, v) => Math.min(1, shape(u, v)));
    for (const t of l.tangles ?? []) {
      for (let k = 1; k < t.points.length; k++) {
        const [u0, v0] = t.points[k - 1];
        const [u1, v1] = t.points[k];
        capsule(nv, f, u0, v0, t.r, u1, v1, t.r, { value: 0.9, minPx: 0.5, conserve: true });
        capsule(masks.PM, f, u0, v0, t.r, u1, v1, t.r, { value: 1, minPx: 0.75 });
      }
    }
  }
  overlay(img, fib, FIBROUS);
  tint(img, nv, NV_TINT);

  const fovA = f.layer();
  ellipse(fovA, f, 0, 0, 1, 1, 0);
  paintCamera(img, f, fovA, photo);
  const rgb = toBytes(img, size, photo, Rng.for(plan.seed, plan.index, 'noise', size));

  const fov = new Uint8Array(N);
  for (let i = 0; i < N; i++) fov[i] = fovA[i] >= 0.5 ? 255 : 0;
  const out = {} as Record<ConditionChannel, Uint8Array>;
  for (const c of CONDITION_CHANNELS) {
    const soft = c === 'LM' || c === 'PM';
    const m = masks[c];
    const b = new Uint8Array(N);
    for (let i = 0; i < N; i++) {
      if (fov[i] === 0) continue;
      b[i] = soft ? clamp8(m[i] * 255) : m[i] >= 0.5 ? 255 : 0;
    }
    out[c] = b;
  }
  return { size, rgb, fov, masks: out, grade: plan.grade, eye: a.eye, lesions: plan.summary };
}

function smooth(e0: number, e1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

/** img *= 1 - alpha * (1 - tint): a translucent absorber (blood, pigment). */
function tint(img: Float32Array[], alpha: Float32Array, t: RGB): void {
  for (let ch = 0; ch < 3; ch++) {
    const p = img[ch];
    const k = 1 - t[ch];
    for (let i = 0; i < p.length; i++) if (alpha[i] > 0) p[i] *= 1 - alpha[i] * k;
  }
}

/** img = mix(img, colour, alpha): a scattering deposit (exudate, scar, fibrous tissue). */
function overlay(img: Float32Array[], alpha: Float32Array, colour: RGB): void {
  for (let ch = 0; ch < 3; ch++) {
    const p = img[ch];
    for (let i = 0; i < p.length; i++) if (alpha[i] > 0) p[i] += alpha[i] * (colour[ch] - p[i]);
  }
}

function paintBackground(img: Float32Array[], f: Frame, a: Anatomy): void {
  const bg = a.background;
  const [r0, g0, b0] = bg.rgb;
  const fov = a.fovea;
  for (let y = 0; y < f.size; y++) {
    const v = f.norm(y);
    for (let x = 0; x < f.size; x++) {
      const u = f.norm(x);
      const i = y * f.size + x;
      if (u * u + v * v > 1.05) continue;
      const broad = fbm(u, v, 2.5, 3, bg.seed) - 0.5;
      const mottle = fbm(u, v, 22, 3, bg.seed ^ 0x5bd1e995) - 0.5;
      // Tigroid fundus: the choroidal vessels show as orange ribbons between darker pigment.
      const ridge = 1 - Math.abs(2 * fbm(u, v, 5, 3, bg.seed ^ 0x1b873593) - 1);
      const tig = bg.tigroid * (ridge ** 6 - 0.25);
      const k = 1 + 0.14 * broad + 2 * bg.mottle * mottle;
      const d2 = ((u - fov.u) ** 2 + (v - fov.v) ** 2) / (fov.r * fov.r);
      const mac = Math.exp(-d2);
      // The macula is darker, most in green and blue (xanthophyll absorbs blue).
      const reflex = fov.reflex * Math.exp(-d2 * 250) * 0.35;
      img[0][i] = r0 * k * (1 + tig) * (1 - 0.45 * fov.depth * mac) + reflex;
      img[1][i] = g0 * k * (1 + 0.7 * tig) * (1 - 0.8 * fov.depth * mac) + reflex;
      img[2][i] = b0 * k * (1 - 0.85 * fov.depth * mac) + reflex * 0.8;
    }
  }
}

function paintDisc(img: Float32Array[], mask: Float32Array, f: Frame, a: Anatomy): void {
  const d = a.disc;
  const cupU = d.u - a.nasal * d.cupShift * d.rx;
  const pal = d.pallor;
  const ext = Math.max(d.rx, d.ry) * 1.6;
  const alpha = f.layer();
  const colour: [Float32Array, Float32Array, Float32Array] = [f.layer(), f.layer(), f.layer()];
  const seed = (a.background.seed * 31) | 0;
  const x0 = Math.max(0, Math.floor(f.px(d.u - ext)));
  const x1 = Math.min(f.size - 1, Math.ceil(f.px(d.u + ext)));
  const y0 = Math.max(0, Math.floor(f.px(d.v - ext)));
  const y1 = Math.min(f.size - 1, Math.ceil(f.px(d.v + ext)));
  const edgePx = Math.max(1, d.rx * f.R * 0.12);
  for (let y = y0; y <= y1; y++) {
    const v = f.norm(y);
    for (let x = x0; x <= x1; x++) {
      const u = f.norm(x);
      const i = y * f.size + x;
      const q = Math.hypot((u - d.u) / d.rx, (v - d.v) / d.ry);
      // Signed distance to the rim in pixels (radial approximation).
      const inside = (1 - q) * d.rx * f.R;
      const aRim = Math.min(1, Math.max(0, inside / edgePx + 0.5));
      if (inside >= -0.5 * d.rx * f.R * 0.4) {
        mask[i] = Math.max(mask[i], Math.min(1, Math.max(0, inside + 0.5)));
      }
      // A faint peripapillary halo just outside the rim.
      const halo = q > 1 && q < 1.5 ? 0.18 * Math.exp(-(((q - 1.1) / 0.2) ** 2)) : 0;
      const al = Math.max(aRim * 0.92, halo);
      if (al <= 0) continue;
      // The temporal rim is paler than the nasal one; the cup is whitest.
      const temporal = Math.max(0, (-(u - d.u) * a.nasal) / d.rx);
      const cq = Math.hypot((u - cupU) / (d.rx * d.cup), (v - d.v) / (d.ry * d.cup));
      const cup = 0.85 * smooth(1.25, 0.6, cq);
      const tex = 0.06 * (fbm(u, v, 40, 2, seed) - 0.5);
      const rimG = 0.62 + 0.16 * pal + 0.08 * temporal;
      colour[0][i] = 1.02 + tex;
      colour[1][i] = rimG + (0.9 - rimG) * cup + tex;
      colour[2][i] = 0.38 + 0.14 * pal + 0.06 * temporal + (0.66 - 0.38) * cup + tex;
      alpha[i] = al;
    }
  }
  for (let ch = 0; ch < 3; ch++) {
    const p = img[ch];
    const c = colour[ch];
    for (let i = 0; i < p.length; i++) if (alpha[i] > 0) p[i] += alpha[i] * (c[i] - p[i]);
  }
}

function paintVessels(img: Float32Array[], mask: Float32Array, f: Frame, segs: VesselSegment[]): void {
  const vein = f.layer();
  const artery = f.layer();
  const reflex = f.layer();
  // Thin vessels show less contrast than wide ones (less blood along the light path).
  const contrast = (r: number) => Math.min(1, 0.3 + r * 55);
  for (const s of segs) {
    const layer = s.kind === 'vein' ? vein : artery;
    capsule(layer, f, s.u0, s.v0, s.r0, s.u1, s.v1, s.r1, { value: contrast(s.r0), minPx: 0.5, conserve: true });
    capsule(mask, f, s.u0, s.v0, s.r0, s.u1, s.v1, s.r1);
    // The central light reflex of wide arteries (and, fainter, veins).
    if (s.r0 > 0.008) capsule(reflex, f, s.u0, s.v0, s.r0 * 0.16, s.u1, s.v1, s.r1 * 0.16, { value: s.kind === 'artery' ? 0.3 : 0.1, soft: 1, minPx: 0.4, conserve: true });
  }
  tint(img, vein, VEIN_TINT);
  tint(img, artery, ARTERY_TINT);
  overlay(img, reflex, [0.9, 0.5, 0.35]);
}

function paintCamera(img: Float32Array[], f: Frame, fovA: Float32Array, p: PhotoSettings): void {
  const gc = Math.cos(p.gradientAngle);
  const gs = Math.sin(p.gradientAngle);
  const hc = Math.cos(p.hazeAngle);
  const hs = Math.sin(p.hazeAngle);
  for (let y = 0; y < f.size; y++) {
    const v = f.norm(y);
    for (let x = 0; x < f.size; x++) {
      const u = f.norm(x);
      const i = y * f.size + x;
      const a = fovA[i];
      if (a <= 0) {
        img[0][i] = img[1][i] = img[2][i] = 0;
        continue;
      }
      const r2 = u * u + v * v;
      const light = p.exposure * (1 + p.gradient * (u * gc + v * gs)) * (1 - p.vignette * r2 * r2);
      const rim = r2 > 0.5 ? smooth(0.5, 1, r2) : 0;
      const haze = p.haze * rim * Math.max(0, (u * hc + v * hs) / Math.sqrt(r2 + 1e-9));
      img[0][i] = (img[0][i] * light * p.cast[0] + haze * 0.9) * a;
      img[1][i] = (img[1][i] * light * p.cast[1] + haze * 0.75) * a;
      img[2][i] = (img[2][i] * light * p.cast[2] + haze * 0.45) * a;
    }
  }
  // Defocus blurs the retina, not the camera's field stop: the FOV edge stays sharp and dark.
  const sigma = p.blur * f.R;
  for (const plane of img) {
    gaussianBlur(plane, f.size, sigma);
    if (sigma >= 0.3) for (let i = 0; i < plane.length; i++) plane[i] *= fovA[i];
  }
}

/** A fixed table of standard normals: sensor noise needs to look Gaussian, not be exact. */
const NORMALS = (() => {
  const rng = new Rng(0x6e6f6973);
  return Float32Array.from({ length: 8192 }, () => rng.normal());
})();

function toBytes(img: Float32Array[], size: number, p: PhotoSettings, rng: Rng): Uint8Array {
  const N = size * size;
  const out = new Uint8Array(N * 3);
  // Gamma through a lookup table: pow per pixel is the slowest step otherwise.
  const LUT = 4096;
  const curve = Float32Array.from({ length: LUT + 1 }, (_, k) => 255 * (k / LUT) ** (1 / p.gamma));
  for (let i = 0; i < N; i++) {
    for (let ch = 0; ch < 3; ch++) {
      const x = img[ch][i];
      const k = x <= 0 ? 0 : x >= 1 ? LUT : Math.round(x * LUT);
      const n = p.noise > 0 ? p.noise * NORMALS[rng.uint32() & 8191] : 0;
      out[i * 3 + ch] = clamp8(curve[k] + n);
    }
  }
  return p.jpegQuality > 0 ? jpegArtefacts(out, size, p.jpegQuality) : out;
}
