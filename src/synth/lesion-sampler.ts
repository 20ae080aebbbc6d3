// Lesion layouts learned from a prepared data set, and sampled for a target grade on any
// vessel tree (the paper draws 10,000 lesion layouts per grade this way).
//
// fit(): for every graded sample with annotated lesion masks, each lesion channel is split
// into connected components. Per grade and lesion type the model keeps
//   - the per-image component counts (sampling draws one real image's count vector, so
//     correlations such as "PM with LM" survive),
//   - component positions in the retina frame of mask-geometry.ts (fovea origin, disc on +a,
//     one unit = disc-fovea distance),
//   - sizes (area in frame units^2 and pixels),
//   - how clustered a type is (share of components with a same-type neighbour close by, and
//     those neighbour distances),
//   - how close to vessels it sits (histogram of the centroid's distance to the nearest
//     vessel, against the same histogram over all FOV pixels),
// and a bank of real components (grey patches, with the frame unit of their source image).
//
//   - per image and type, how many components lie in each retinal quadrant (version 2):
//     ICDR's severe NPDR is ">= N haemorrhages in every quadrant", which counts and pooled
//     positions alone do not reproduce (a version-1 model drew grade-3 layouts that the
//     phantom's own rules graded 2 in 59 of 60 cases),
//
// sample(): count vector (with its per-quadrant split) -> per component a position in its
// quadrant (from the learned positions, next to an earlier one of its type when clustered,
// reweighted by vessel proximity) -> a bank patch of that type and grade, rescaled to the
// target frame, pasted with max, clipped to the FOV.
// Every draw comes from a stream keyed by the seed, so a seed gives the same masks.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { NUM_GRADES, readManifest, type ConditionChannel, type ManifestEntry } from '../data/manifest.js';
import { readMask } from '../data/image-io.js';
import { Rng } from '../phantom/random.js';
import {
  connectedComponents, distanceToMask, fromFrame, MASK_ON, quadrantOf, resizeNearest, retinaFrame, toFrame, type RetinaFrame,
} from './mask-geometry.js';

export const LESION_TYPES = ['MA', 'HE', 'EX', 'SE', 'LM', 'PM'] as const;
export type LesionType = (typeof LESION_TYPES)[number];
export type LesionCounts = Record<LesionType, number>;

export const LESION_MODEL_FORMAT = 'drgan-lesion-model';
const VERSION = 2;
/** Version 1 (no per-quadrant counts) still loads; its layouts ignore quadrants. */
const READABLE_VERSIONS = [1, 2];
/** Learned positions kept per grade and type (reservoir), and bank patches per grade and type. */
const MAX_POSITIONS = 4000;
const MAX_BANK = 64;
/** Vessel-distance histogram: bins of this width in frame units, the last one open. */
const VESSEL_BIN = 0.04;
const VESSEL_BINS = 12;
/** Two components of a type within this many frame units count as one cluster. */
const CLUSTER_RADIUS = 0.3;
/** Kernel width (frame units) added to a learned position. */
const POSITION_JITTER = 0.04;

export interface TypeStats {
  /** Images of this grade in which the type is annotated. */
  images: number;
  countMean: number;
  countSd: number;
  countMin: number;
  countMax: number;
  components: number;
  /** Component area in pixels of the source images. */
  areaPixelsMean: number;
  /** Component area in frame units^2 (size-independent). */
  areaFrameMean: number;
  areaFrameSd: number;
}

export interface BankEntry {
  type: LesionType;
  grade: number;
  width: number;
  height: number;
  /** Byte offset of the patch (width * height bytes, row-major grey) in the bank file. */
  offset: number;
  /** Frame unit (pixels per disc-fovea distance) of the image it came from. */
  unit: number;
}

export interface LesionModelData {
  format: typeof LESION_MODEL_FORMAT;
  version: number;
  source: string;
  /** Graded images used per grade. */
  imagesPerGrade: number[];
  /** Images whose optic disc mask was missing or empty (frame assumed). */
  discAssumed: number;
  /** Per grade: one count vector per image (null where the type was not annotated). */
  counts: (number | null)[][][];
  /** Parallel to counts: per image and type, components per quadrant (quadrantOf); absent in version 1. */
  quadrants?: ([number, number, number, number] | null)[][][];
  /** Per grade, per type. */
  stats: Record<LesionType, TypeStats>[];
  /** Per grade, per type: [a, b] frame positions of component centroids. */
  positions: Record<LesionType, [number, number][]>[];
  /** Per type (all grades): share of components with a same-type neighbour within CLUSTER_RADIUS, and those distances. */
  clustering: Record<LesionType, { near: number; distances: number[] }>;
  /** Per type: histogram of centroid distance to the nearest vessel; `background` over all FOV pixels. */
  vesselDistance: Record<LesionType, number[]> & { background: number[] };
  bank: { file: string; bytes: number; sha256: string; entries: BankEntry[] };
}

export interface StructureMasks {
  /** Side of the square masks. */
  size: number;
  vessel: Uint8Array;
  optic_disc: Uint8Array;
  /** 255 inside the field of view; without it the FOV is assumed a centred disc of 0.96 the side. */
  fov?: Uint8Array | null;
}

export interface SampledLesions {
  /** All 8 condition channels at the structure's size (vessel and optic_disc copied). */
  masks: Record<ConditionChannel, Uint8Array>;
  /** Components placed per type (before any merging by overlap). */
  placed: LesionCounts;
  /** Connected components per type in the final masks. */
  counts: LesionCounts;
}

const zeroCounts = (): LesionCounts => ({ MA: 0, HE: 0, EX: 0, SE: 0, LM: 0, PM: 0 });
const perType = <T>(make: () => T): Record<LesionType, T> => Object.fromEntries(LESION_TYPES.map((t) => [t, make()])) as Record<LesionType, T>;

export function checkGrade(grade: unknown, what = 'grade'): number {
  if (!(typeof grade === 'number' && Number.isInteger(grade) && grade >= 0 && grade < NUM_GRADES)) {
    throw new RangeError(`${what} must be an integer in 0..${NUM_GRADES - 1}, got ${JSON.stringify(grade)}`);
  }
  return grade;
}

/** A FOV disc for structure masks that come without one. */
export function assumedFov(size: number): Uint8Array {
  const fov = new Uint8Array(size * size);
  const c = (size - 1) / 2, r = size * 0.48;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if ((x - c) ** 2 + (y - c) ** 2 <= r * r) fov[y * size + x] = 255;
  return fov;
}

/** Connected components per lesion type of a set of condition masks. */
export function countLesions(masks: Partial<Record<ConditionChannel, Uint8Array>>, size: number): LesionCounts {
  const out = zeroCounts();
  for (const t of LESION_TYPES) {
    const m = masks[t];
    if (m) out[t] = connectedComponents(m, size, size).length;
  }
  return out;
}

export interface FitOptions {
  /** Also learn from channels a model predicted (drgan masks); default only annotated ones. */
  includePredicted?: boolean;
  /** Seeds the reservoir choice of positions and bank patches. Default 0. */
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export class LesionModel {
  private constructor(readonly data: LesionModelData, private readonly bankBytes: Uint8Array) {}

  /** Learns the model from a prepared data set's graded samples and their lesion masks. */
  static async fit(datasetDir: string, o: FitOptions = {}): Promise<LesionModel> {
    const all = readManifest(datasetDir);
    const usable = (e: ManifestEntry) => LESION_TYPES.filter((t) => e.masks[t] && (e.known.includes(t) || (o.includePredicted && e.predicted.includes(t))));
    const entries = all.filter((e) => e.grade !== null && usable(e).length > 0);
    if (entries.length === 0) {
      throw new Error(`${datasetDir}: no graded sample with lesion masks (MA, HE, EX, SE, LM, PM) to learn from (${all.length} samples in the manifest)`);
    }
    const rng = Rng.for(o.seed ?? 0, 'lesion-fit');
    const counts: (number | null)[][][] = Array.from({ length: NUM_GRADES }, () => []);
    const quadrants: ([number, number, number, number] | null)[][][] = Array.from({ length: NUM_GRADES }, () => []);
    const positions = Array.from({ length: NUM_GRADES }, () => perType<[number, number][]>(() => []));
    const seenPositions = Array.from({ length: NUM_GRADES }, () => perType(() => 0));
    const areasFrame = Array.from({ length: NUM_GRADES }, () => perType<number[]>(() => []));
    const areasPixels = Array.from({ length: NUM_GRADES }, () => perType<number[]>(() => []));
    const cluster = perType(() => ({ n: 0, near: 0, distances: [] as number[] }));
    const vessel = perType(() => new Array<number>(VESSEL_BINS).fill(0));
    const background = new Array<number>(VESSEL_BINS).fill(0);
    const bank = Array.from({ length: NUM_GRADES }, () => perType<{ seen: number; items: { e: BankEntry; bytes: Uint8Array }[] }>(() => ({ seen: 0, items: [] })));
    let discAssumed = 0;

    for (let k = 0; k < entries.length; k++) {
      const e = entries[k];
      const g = e.grade!;
      const size = e.size;
      const read = async (rel: string, what: string) => {
        const m = await readMask(join(datasetDir, rel));
        if (m.width !== size || m.height !== size) throw new Error(`${join(datasetDir, rel)}: ${what} mask is ${m.width}x${m.height}, but sample "${e.id}" has size ${size}`);
        return m.data;
      };
      const fov = e.fov && existsSync(join(datasetDir, e.fov)) ? await read(e.fov, 'FOV') : null;
      const disc = e.masks.optic_disc && (e.known.includes('optic_disc') || e.predicted.includes('optic_disc')) ? await read(e.masks.optic_disc, 'optic_disc') : null;
      const frame = retinaFrame(disc, fov, size);
      if (frame.discAssumed) discAssumed++;
      const vesselMask = e.masks.vessel && (e.known.includes('vessel') || e.predicted.includes('vessel')) ? await read(e.masks.vessel, 'vessel') : null;
      const vdist = vesselMask ? distanceToMask(vesselMask, size, size) : null;
      if (vdist) {
        const inside = fov ?? assumedFov(size);
        for (let i = 0; i < inside.length; i++) if (inside[i] >= MASK_ON) background[vesselBin(vdist[i] / frame.unit)]++;
      }
      const types = usable(e);
      const row: (number | null)[] = LESION_TYPES.map(() => null);
      const quadRow: ([number, number, number, number] | null)[] = LESION_TYPES.map(() => null);
      for (const t of types) {
        const mask = await read(e.masks[t]!, t);
        const comps = connectedComponents(mask, size, size);
        row[LESION_TYPES.indexOf(t)] = comps.length;
        const perQuadrant: [number, number, number, number] = [0, 0, 0, 0];
        for (const c of comps) perQuadrant[quadrantOf(frame, c.cx, c.cy)]++;
        quadRow[LESION_TYPES.indexOf(t)] = perQuadrant;
        const framed = comps.map((c) => toFrame(frame, c.cx, c.cy));
        comps.forEach((c, i) => {
          areasFrame[g][t].push(c.pixels.length / frame.unit ** 2);
          areasPixels[g][t].push(c.pixels.length);
          // Reservoir sampling keeps a uniform subset of positions and patches whatever the set size.
          const seen = ++seenPositions[g][t];
          if (positions[g][t].length < MAX_POSITIONS) positions[g][t].push(framed[i]);
          else {
            const j = Math.floor(rng.float() * seen);
            if (j < MAX_POSITIONS) positions[g][t][j] = framed[i];
          }
          if (vdist) vessel[t][vesselBin(vdist[Math.round(c.cy) * size + Math.round(c.cx)] / frame.unit)]++;
          let nearest = Infinity;
          framed.forEach((p, j) => { if (j !== i) nearest = Math.min(nearest, Math.hypot(p[0] - framed[i][0], p[1] - framed[i][1])); });
          cluster[t].n++;
          if (nearest < CLUSTER_RADIUS) {
            cluster[t].near++;
            if (cluster[t].distances.length < 2000) cluster[t].distances.push(round4(nearest));
          }
          const b = bank[g][t];
          b.seen++;
          const slot = b.items.length < MAX_BANK ? b.items.length : Math.floor(rng.float() * b.seen);
          if (slot < MAX_BANK) {
            b.items[slot] = { e: { type: t, grade: g, width: c.x1 - c.x0 + 1, height: c.y1 - c.y0 + 1, offset: 0, unit: frame.unit }, bytes: cutPatch(mask, size, c) };
          }
        });
      }
      counts[g].push(row);
      quadrants[g].push(quadRow);
      o.onProgress?.(k + 1, entries.length);
    }

    const entriesOut: BankEntry[] = [];
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (let g = 0; g < NUM_GRADES; g++) {
      for (const t of LESION_TYPES) {
        for (const it of bank[g][t].items) {
          entriesOut.push({ ...it.e, offset, unit: round4(it.e.unit) });
          chunks.push(it.bytes);
          offset += it.bytes.length;
        }
      }
    }
    const bankBytes = new Uint8Array(offset);
    let at = 0;
    for (const c of chunks) { bankBytes.set(c, at); at += c.length; }

    const stats = counts.map(() => perType<TypeStats>(() => null as unknown as TypeStats));
    for (let g = 0; g < NUM_GRADES; g++) {
      for (const t of LESION_TYPES) {
        const ti = LESION_TYPES.indexOf(t);
        const cs = counts[g].map((r) => r[ti]).filter((v): v is number => v !== null);
        const af = areasFrame[g][t];
        const [cm, csd] = meanSd(cs);
        const [am, asd] = meanSd(af);
        stats[g][t] = {
          images: cs.length, countMean: round4(cm), countSd: round4(csd),
          countMin: cs.length ? Math.min(...cs) : 0, countMax: cs.length ? Math.max(...cs) : 0,
          components: af.length, areaPixelsMean: round4(meanSd(areasPixels[g][t])[0]), areaFrameMean: round6(am), areaFrameSd: round6(asd),
        };
      }
    }
    const data: LesionModelData = {
      format: LESION_MODEL_FORMAT,
      version: VERSION,
      source: datasetDir,
      imagesPerGrade: counts.map((c) => c.length),
      discAssumed,
      counts,
      quadrants,
      stats,
      positions: positions.map((p) => perTypeMap(p, (list) => list.map(([a, b]) => [round4(a), round4(b)] as [number, number]))),
      clustering: perTypeMap(cluster, (c) => ({ near: c.n ? round4(c.near / c.n) : 0, distances: c.distances })),
      vesselDistance: { ...vessel, background },
      bank: { file: '', bytes: bankBytes.length, sha256: sha256(bankBytes), entries: entriesOut },
    };
    return new LesionModel(data, bankBytes);
  }

  /** Writes FILE (JSON) and the patch bank next to it as FILE-without-.json + ".bank.bin". */
  save(path: string): void {
    const bankPath = bankPathFor(path);
    const data: LesionModelData = { ...this.data, bank: { ...this.data.bank, file: basename(bankPath) } };
    atomicWrite(bankPath, this.bankBytes);
    atomicWrite(path, JSON.stringify(data) + '\n');
  }

  static load(path: string): LesionModel {
    if (!existsSync(path)) throw new Error(`${path}: lesion model not found (make one with drgan fit-lesions)`);
    let data: LesionModelData;
    try {
      data = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`${path}: not a lesion model (invalid JSON: ${(err as Error).message})`);
    }
    if (data?.format !== LESION_MODEL_FORMAT) throw new Error(`${path}: not a lesion model (format is ${JSON.stringify(data?.format)}, expected "${LESION_MODEL_FORMAT}")`);
    if (!READABLE_VERSIONS.includes(data.version)) throw new Error(`${path}: lesion model version ${data.version}, this build reads ${READABLE_VERSIONS.join(' and ')}`);
    if (data.quadrants && (data.quadrants.length !== data.counts.length || data.quadrants.some((q, g) => q.length !== data.counts[g].length))) {
      throw new Error(`${path}: per-quadrant counts do not match the count vectors (one per image and grade); refit the model`);
    }
    const bankPath = join(dirname(path), data.bank.file);
    if (!existsSync(bankPath)) throw new Error(`${path}: its patch bank ${bankPath} is missing`);
    const bytes = new Uint8Array(readFileSync(bankPath));
    if (bytes.length !== data.bank.bytes || sha256(bytes) !== data.bank.sha256) throw new Error(`${bankPath}: patch bank does not match ${path} (size or SHA-256 differs); refit or copy both files together`);
    return new LesionModel(data, bytes);
  }

  /** Grades the model has images of. */
  get grades(): number[] {
    return this.data.imagesPerGrade.flatMap((n, g) => (n > 0 ? [g] : []));
  }

  /**
   * Lesion masks for `grade` on the given vessel tree and optic disc: all 8 channels, the
   * lesion ones drawn here. Deterministic in (model, structure, grade, seed).
   */
  sample(structure: StructureMasks, grade: number, seed: number): SampledLesions {
    checkGrade(grade);
    const { size } = structure;
    if (!Number.isInteger(size) || size < 8) throw new RangeError(`structure size must be an integer >= 8, got ${size}`);
    for (const k of ['vessel', 'optic_disc', 'fov'] as const) {
      const m = structure[k];
      if (m && m.length !== size * size) throw new Error(`structure mask "${k}" has ${m.length} pixels, expected ${size}x${size} = ${size * size}`);
    }
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    if (this.data.imagesPerGrade[grade] === 0) {
      throw new Error(`the lesion model has no images of grade ${grade} (images per grade: ${this.data.imagesPerGrade.join(', ')}); fit it on a set that has some`);
    }
    const rng = Rng.for(seed, grade, 'lesion-sample');
    const fov = structure.fov ?? assumedFov(size);
    const frame = retinaFrame(structure.optic_disc, fov, size);
    const vdist = distanceToMask(structure.vessel, size, size);
    const { counts: want, quadrants: split } = this.drawCounts(rng, grade);
    const masks: Record<ConditionChannel, Uint8Array> = {
      vessel: structure.vessel.slice(), optic_disc: structure.optic_disc.slice(),
      MA: new Uint8Array(size * size), HE: new Uint8Array(size * size), EX: new Uint8Array(size * size),
      SE: new Uint8Array(size * size), LM: new Uint8Array(size * size), PM: new Uint8Array(size * size),
    };
    const placed = zeroCounts();
    for (const t of LESION_TYPES) {
      const done: [number, number][] = [];
      const doneQuadrant: number[] = [];
      // The drawn image's split over quadrants when it fits the count, else no constraint (-1).
      const plan: number[] = split[t] ? split[t]!.flatMap((n, q) => new Array<number>(n).fill(q)) : new Array<number>(want[t]).fill(-1);
      // Real counts are of separate components: a new lesion keeps clear of its type's earlier
      // ones by about its own radius (the type's mean area here), so pasting does not merge them.
      const meanArea = (this.data.stats[grade][t].images ? this.data.stats[grade][t].areaFrameMean : 0) * frame.unit ** 2;
      const clearance = Math.ceil(Math.sqrt(meanArea / Math.PI)) + 1;
      for (const quadrant of plan) {
        const at = this.drawPosition(rng, grade, t, done, doneQuadrant, quadrant, frame, fov, vdist, size, masks[t], clearance);
        if (!at) continue;
        done.push(at);
        const [x, y] = fromFrame(frame, at[0], at[1]);
        doneQuadrant.push(quadrantOf(frame, x, y));
        this.paste(rng, grade, t, masks[t], size, x, y, frame.unit);
        placed[t]++;
      }
      // Lesions exist only inside the field of view.
      const m = masks[t];
      for (let i = 0; i < m.length; i++) if (fov[i] < MASK_ON) m[i] = 0;
    }
    return { masks, placed, counts: countLesions(masks, size) };
  }

  /**
   * One real image's count vector for the grade (a type it did not annotate: another image's
   * count), adjusted to the grade's minimums (adjustCounts); with each count, that image's
   * split over quadrants, or null where there is none or an adjustment changed the count.
   */
  private drawCounts(rng: Rng, grade: number): { counts: LesionCounts; quadrants: Record<LesionType, [number, number, number, number] | null> } {
    const rows = this.data.counts[grade];
    const quadRows = this.data.quadrants?.[grade];
    const pick = rng.int(0, rows.length - 1);
    const row = rows[pick];
    const c = zeroCounts();
    const q = perType<[number, number, number, number] | null>(() => null);
    LESION_TYPES.forEach((t, i) => {
      let from = pick;
      if (row[i] === null) {
        const known = rows.flatMap((r, k) => (r[i] !== null ? [k] : []));
        from = known.length ? known[rng.int(0, known.length - 1)] : -1;
      }
      c[t] = from >= 0 ? rows[from][i]! : 0;
      q[t] = from >= 0 ? quadRows?.[from]?.[i] ?? null : null;
    });
    const counts = this.adjustCounts(rng, grade, c);
    for (const t of LESION_TYPES) {
      const split = q[t];
      if (split && split.reduce((a, b) => a + b, 0) !== counts[t]) q[t] = null;
    }
    return { counts, quadrants: q };
  }

  /** The ICDR minimums: grade 0 nothing, grade 1 MAs only (at least one), grades 2-3 some HE/EX/SE and no PDR sign, grade 4 PM or LM. */
  private adjustCounts(rng: Rng, grade: number, c: LesionCounts): LesionCounts {
    if (grade === 0) return zeroCounts();
    if (grade === 1) return { ...zeroCounts(), MA: Math.max(1, c.MA) };
    if (grade === 2 || grade === 3) {
      c.LM = 0;
      c.PM = 0;
      if (c.HE + c.EX + c.SE === 0) c.HE = 1;
    }
    if (grade === 4 && c.PM + c.LM === 0) {
      if (this.hasSource('LM', grade) && (!this.hasSource('PM', grade) || rng.chance(0.5))) c.LM = 1;
      else c.PM = 1;
    }
    return c;
  }

  private hasSource(t: LesionType, grade: number): boolean {
    return this.data.positions[grade][t].length > 0 || this.data.bank.entries.some((e) => e.type === t && e.grade === grade);
  }

  /** A frame position inside the FOV for the next component of type t, or null after many misses. */
  /** A position (frame units) for a lesion of type t; in `quadrant` (quadrantOf) unless it is -1. */
  private drawPosition(
    rng: Rng, grade: number, t: LesionType, done: [number, number][], doneQuadrant: number[], quadrant: number,
    frame: RetinaFrame, fov: Uint8Array, vdist: Float32Array, size: number, occupied: Uint8Array, clearance: number,
  ): [number, number] | null {
    // Clusters grow from an earlier lesion of the same quadrant.
    const bases = quadrant < 0 ? done : done.filter((_, i) => doneQuadrant[i] === quadrant);
    const own = this.data.positions[grade][t];
    const pool = own.length ? own : this.data.positions.flatMap((p) => p[t]);
    const cl = this.data.clustering[t];
    const hist = this.data.vesselDistance[t];
    const bg = this.data.vesselDistance.background;
    const hTotal = hist.reduce((a, b) => a + b, 0), bgTotal = bg.reduce((a, b) => a + b, 0);
    for (let attempt = 0; attempt < 30; attempt++) {
      // Several candidates, one chosen by how much likelier its vessel distance is for this type
      // than for a random FOV pixel (importance weights; equal when nothing was learned).
      const candidates: [number, number][] = [];
      const weights: number[] = [];
      for (let k = 0; k < 6; k++) {
        let p: [number, number];
        if (bases.length && cl.distances.length && rng.chance(cl.near)) {
          const base = bases[rng.int(0, bases.length - 1)];
          const d = cl.distances[rng.int(0, cl.distances.length - 1)] * rng.range(0.8, 1.2);
          const ang = rng.range(0, 2 * Math.PI);
          p = [base[0] + d * Math.cos(ang), base[1] + d * Math.sin(ang)];
        } else if (pool.length) {
          const base = pool[rng.int(0, pool.length - 1)];
          p = [base[0] + rng.normal(0, POSITION_JITTER), base[1] + rng.normal(0, POSITION_JITTER)];
        } else {
          // Nothing learned for this type: anywhere in the FOV.
          const r = Math.sqrt(rng.float()) * frame.fovRadius, ang = rng.range(0, 2 * Math.PI);
          p = toFrame(frame, frame.fovX + r * Math.cos(ang), frame.fovY + r * Math.sin(ang));
        }
        const [x, y] = fromFrame(frame, p[0], p[1]);
        const xi = Math.round(x), yi = Math.round(y);
        if (xi < 0 || yi < 0 || xi >= size || yi >= size || fov[yi * size + xi] < MASK_ON) continue;
        if (quadrant >= 0 && quadrantOf(frame, x, y) !== quadrant) continue;
        if (nearMarked(occupied, size, xi, yi, clearance)) continue;
        let w = 1;
        if (hTotal > 0 && bgTotal > 0 && Number.isFinite(vdist[yi * size + xi])) {
          const bin = vesselBin(vdist[yi * size + xi] / frame.unit);
          w = (hist[bin] + 0.5) / hTotal / ((bg[bin] + 0.5) / bgTotal);
        }
        candidates.push(p);
        weights.push(w);
      }
      if (candidates.length) return candidates[rng.weighted(weights)];
    }
    return null;
  }

  /** Pastes a bank patch of type t (same grade when the bank has one), rescaled to this frame, flipped/rotated at random. */
  private paste(rng: Rng, grade: number, t: LesionType, into: Uint8Array, size: number, x: number, y: number, unit: number): void {
    const entries = this.data.bank.entries;
    let choices = entries.filter((e) => e.type === t && e.grade === grade);
    if (!choices.length) choices = entries.filter((e) => e.type === t);
    if (!choices.length) {
      // No real component of this type to copy: one pixel, so the lesion is at least marked.
      into[Math.round(y) * size + Math.round(x)] = 255;
      return;
    }
    const e = choices[rng.int(0, choices.length - 1)];
    let w = e.width, h = e.height;
    let patch = this.bankBytes.subarray(e.offset, e.offset + w * h);
    const scale = unit / e.unit;
    const tw = Math.max(1, Math.round(w * scale)), th = Math.max(1, Math.round(h * scale));
    patch = resizeNearest(patch, w, h, tw, th);
    w = tw;
    h = th;
    const flipX = rng.chance(0.5), flipY = rng.chance(0.5), transpose = rng.chance(0.5);
    const [pw, ph] = transpose ? [h, w] : [w, h];
    const x0 = Math.round(x - (pw - 1) / 2), y0 = Math.round(y - (ph - 1) / 2);
    for (let j = 0; j < ph; j++) {
      for (let i = 0; i < pw; i++) {
        let si = transpose ? j : i, sj = transpose ? i : j;
        if (flipX) si = w - 1 - si;
        if (flipY) sj = h - 1 - sj;
        const v = patch[sj * w + si];
        const xx = x0 + i, yy = y0 + j;
        if (v === 0 || xx < 0 || yy < 0 || xx >= size || yy >= size) continue;
        const k = yy * size + xx;
        if (v > into[k]) into[k] = v;
      }
    }
    // Soft patches can lose their centre when shrunk; keep the lesion marked where it was placed.
    const c = Math.round(y) * size + Math.round(x);
    if (into[c] < MASK_ON) into[c] = 255;
  }
}

/** The grey values of a component inside its bounding box (other components' pixels zeroed). */
function cutPatch(mask: Uint8Array, size: number, c: { pixels: number[]; x0: number; y0: number; x1: number; y1: number }): Uint8Array {
  const w = c.x1 - c.x0 + 1;
  const out = new Uint8Array(w * (c.y1 - c.y0 + 1));
  for (const p of c.pixels) {
    const x = p % size, y = (p - x) / size;
    out[(y - c.y0) * w + (x - c.x0)] = mask[p];
  }
  return out;
}

function vesselBin(d: number): number {
  if (!Number.isFinite(d)) return VESSEL_BINS - 1;
  return Math.min(VESSEL_BINS - 1, Math.floor(d / VESSEL_BIN));
}

function meanSd(xs: number[]): [number, number] {
  if (!xs.length) return [0, 0];
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1) : 0;
  return [m, Math.sqrt(v)];
}

function perTypeMap<A, B>(r: Record<LesionType, A>, f: (a: A) => B): Record<LesionType, B> {
  return Object.fromEntries(LESION_TYPES.map((t) => [t, f(r[t])])) as Record<LesionType, B>;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export function bankPathFor(path: string): string {
  return (path.endsWith('.json') ? path.slice(0, -5) : path) + '.bank.bin';
}

/** Whether any pixel of the mask within `radius` of (x, y) is marked. */
function nearMarked(mask: Uint8Array, size: number, x: number, y: number, radius: number): boolean {
  const r2 = radius * radius;
  for (let yy = Math.max(0, y - radius); yy <= Math.min(size - 1, y + radius); yy++) {
    for (let xx = Math.max(0, x - radius); xx <= Math.min(size - 1, x + radius); xx++) {
      if ((xx - x) ** 2 + (yy - y) ** 2 <= r2 && mask[yy * size + xx] >= MASK_ON) return true;
    }
  }
  return false;
}

function atomicWrite(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
