// Many synthetic images streamed to disk as a PREPARED DATA SET (data/manifest.ts), so every
// evaluation command reads a synthetic set exactly as a real one:
//   OUT/images/<id>.png        the synthetic photo
//   OUT/images/<id>.json       sidecar: grade, grade source, seed, lesion counts, model id
//   OUT/masks/<id>_<ch>.png    the condition the image was made from (channels it had)
//   OUT/fov/<id>.png           field of view
//   OUT/manifest.jsonl, OUT/dataset.json
// Resumable: a job whose image and sidecar exist is skipped (its entry is rebuilt from the
// sidecar); files are written temp-then-rename with the image last, so a killed run never
// leaves an image without its masks. A folder holding images of another model is refused.
// Jobs go through the generator in fixed groups of `batchSize` in job order (a group with any
// image missing is run whole), so a resumed run batches every image as an uninterrupted one
// and writes the same pixels: batched kernels round differently from one-image ones.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { CONDITION_CHANNELS, maskPath, NUM_GRADES, readManifest, splitForId, writeDatasetInfo, writeManifest, type ConditionChannel, type ManifestEntry } from '../data/manifest.js';
import { mixSeed } from '../data/rng.js';
import type { GradingSpace } from '../latent/grading-space.js';
import { renderPhantom } from '../phantom/render.js';
import { formatDuration } from '../train/progress.js';
import {
  conditionSourceKind, loadEntryCondition, loadFolderCondition, loadPaintedCondition, presentChannels, resizeCondition, type ConditionMasks,
} from './condition-io.js';
import { assumedFov, checkGrade, countLesions, type LesionCounts, type LesionModel } from './lesion-sampler.js';
import { synthesizeBatch, type GradeSource, type SynthesisModel } from './synthesize.js';

export interface SynthJob {
  id: string;
  /** Target grade; undefined: the generator's grade head predicts it from the masks. */
  grade?: number;
  seed: number;
  /** The condition for this image (at any size; brought to the model's) and where it came from. */
  condition(): Promise<ConditionMasks>;
}

export interface Sidecar {
  id: string;
  grade: number;
  gradeSource: GradeSource;
  seed: number;
  lesions: LesionCounts;
  modelId: string;
  conditionSource: string;
  channels: ConditionChannel[];
  gradeProbabilities: number[];
  size: number;
  /** Images per generator pass when it was made (the pixels depend on it in the last bit); absent: 1. */
  batch?: number;
}

type ProgressStream = { write(s: string): boolean; isTTY?: boolean };

export interface BatchOptions {
  model: SynthesisModel;
  gradingSpace: GradingSpace | null;
  out: string;
  jobs: SynthJob[];
  /** Side of the written images and masks; default the generator's output size. */
  size?: number;
  /** Images per generator pass; default defaultSynthesisBatch(R). 1 gives exactly synthesize()'s images. */
  batchSize?: number;
  /** Progress on stderr (default), off, or to a stream. */
  progress?: boolean | ProgressStream;
  signal?: AbortSignal;
}

export interface BatchResult {
  written: number;
  skipped: number;
  entries: ManifestEntry[];
  stopped: boolean;
}

/**
 * Images per generator pass by default: 8 up to R = 256, then as many as hold the pixels of 8
 * images at 256 (2 at 512, 1 at 1280), since activation memory grows with them (one image at
 * 1280 peaks near 3 GiB on the CPU: docs/benchmarks.md). bench/gan-synthesis-batch.ts on 2
 * cores: the demo's model (R = 128, ngf 16) made images 3.07x as fast at batch 8 with 2 threads
 * and 1.33x with 1; at R = 256, ngf 32 the arithmetic dominates (1.11x and 0.91x).
 */
export function defaultSynthesisBatch(resolution: number): number {
  return Math.max(1, Math.min(8, Math.floor(8 * (256 / resolution) ** 2)));
}

export async function generateSyntheticSet(o: BatchOptions): Promise<BatchResult> {
  const outSize = o.size ?? o.model.generator.outputSize;
  if (!Number.isInteger(outSize) || outSize < 8) throw new RangeError(`output size must be an integer >= 8, got ${outSize}`);
  const batchSize = o.batchSize ?? defaultSynthesisBatch(o.model.config.resolution);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const ids = new Set<string>();
  for (const j of o.jobs) {
    if (!/^[A-Za-z0-9_.-]+$/.test(j.id)) throw new Error(`synthetic sample id "${j.id}" must be letters, digits, _ . or -`);
    if (ids.has(j.id)) throw new Error(`synthetic sample id "${j.id}" appears twice`);
    ids.add(j.id);
    if (j.grade !== undefined) checkGrade(j.grade, `grade of ${j.id}`);
  }
  for (const sub of ['images', 'fov', 'masks']) mkdirSync(join(o.out, sub), { recursive: true });
  const stream: ProgressStream | null = o.progress === false ? null : o.progress === true || o.progress === undefined ? process.stderr : o.progress;
  const bar = new Progress(o.jobs.length, stream);
  // Entries of earlier runs that this run does not plan again are kept (a set can grow by grades).
  const previous = existsSync(join(o.out, 'manifest.jsonl')) ? readManifest(o.out).filter((e) => !ids.has(e.id)) : [];
  const entries: ManifestEntry[] = [];
  let written = 0, skipped = 0, stopped = false;
  for (let start = 0; start < o.jobs.length; start += batchSize) {
    if (o.signal?.aborted) {
      stopped = true;
      break;
    }
    const group = o.jobs.slice(start, start + batchSize);
    const done = group.map((job) => finishedSidecar(o, job, outSize));
    if (done.every((d) => d !== null)) {
      for (const side of done) {
        entries.push(entryFor(side!));
        skipped++;
        bar.tick(false);
      }
      continue;
    }
    const conditions: ConditionMasks[] = [];
    for (const job of group) conditions.push(await job.condition());
    const results = synthesizeBatch({
      generator: o.model.generator, gradingSpace: o.gradingSpace, items: group.map((job, i) => ({ grade: job.grade, condition: conditions[i], seed: job.seed })),
    });
    for (let i = 0; i < group.length; i++) {
      const job = group[i];
      if (done[i]) {
        entries.push(entryFor(done[i]!));
        skipped++;
        bar.tick(false);
        continue;
      }
      const r = results[i];
      const cond = resizeCondition(conditions[i], outSize);
      const channels = presentChannels(cond);
      const side: Sidecar = {
        id: job.id, grade: r.grade, gradeSource: r.gradeSource, seed: job.seed, lesions: countLesions(cond.channels, outSize),
        modelId: o.model.modelId, conditionSource: conditions[i].source, channels, gradeProbabilities: r.gradeProbabilities.map((p) => Math.round(p * 1e6) / 1e6), size: outSize,
        batch: batchSize,
      };
      for (const ch of channels) await writeGrey(join(o.out, maskPath(job.id, ch)), cond.channels[ch]!, outSize);
      await writeGrey(join(o.out, 'fov', `${job.id}.png`), cond.fov ?? assumedFov(outSize), outSize);
      atomicWrite(join(o.out, 'images', `${job.id}.json`), JSON.stringify(side, null, 2) + '\n');
      await writeRgb(join(o.out, `images/${job.id}.png`), r.image.data, r.image.width, outSize);
      entries.push(entryFor(side));
      written++;
      bar.tick(true);
    }
  }
  bar.finish();
  const all = [...previous, ...entries];
  writeManifest(o.out, all);
  const gradeCounts = new Array(NUM_GRADES).fill(0);
  for (const e of all) if (e.grade !== null) gradeCounts[e.grade]++;
  writeDatasetInfo(o.out, {
    format: 'drgan-prepared', size: outSize, channels: CONDITION_CHANNELS, count: all.length, gradeCounts, created: new Date().toISOString(),
    source: 'synth', synth: { modelId: o.model.modelId, checkpoint: o.model.path, resolution: o.model.config.resolution, stage: o.model.generator.stage },
  });
  return { written, skipped, entries, stopped };
}

export function readSidecar(path: string): Sidecar {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Sidecar;
    if (typeof s.modelId !== 'string' || typeof s.grade !== 'number' || !Array.isArray(s.channels)) throw new Error('missing fields');
    return s;
  } catch (err) {
    throw new Error(`${path}: unreadable sidecar (${(err as Error).message}); delete it and its image to regenerate`);
  }
}

function entryFor(s: Sidecar): ManifestEntry {
  const masks: ManifestEntry['masks'] = {};
  for (const ch of s.channels) masks[ch] = maskPath(s.id, ch);
  return {
    id: s.id, image: `images/${s.id}.png`, fov: `fov/${s.id}.png`, masks, grade: s.grade, known: [...s.channels], predicted: [],
    split: splitForId(s.id), source: `synth:model=${s.modelId.slice(0, 12)}:seed=${s.seed}:${s.conditionSource}`, size: s.size,
    meta: { seed: s.seed, lesions: s.lesions, modelId: s.modelId, gradeSource: s.gradeSource, conditionSource: s.conditionSource, gradeProbabilities: s.gradeProbabilities },
  };
}

// ---- planning: which images a `drgan synth` run makes

/** Vessel trees (and discs, FOVs) to put sampled lesions on. */
export interface StructureSource {
  count: number;
  get(i: number): Promise<ConditionMasks>;
  describe: string;
}

/** Structures from --masks: every sample of a data set with a vessel mask, one folder, or one painting. */
export async function structureSource(spec: string): Promise<StructureSource> {
  const kind = conditionSourceKind(spec);
  if (kind === 'photo') throw new Error(`${spec}: a photo's masks are predicted first (loadPhotoCondition), then given to fixedStructure`);
  if (kind === 'dataset') {
    const dir = spec.startsWith('dataset:') ? spec.slice('dataset:'.length) : spec;
    const usable = readManifest(dir).filter((e) => e.masks.vessel && (e.known.includes('vessel') || e.predicted.includes('vessel')));
    if (!usable.length) throw new Error(`${dir}: no sample has a vessel mask to draw lesions on (run drgan masks to predict them)`);
    return { count: usable.length, get: (i) => loadEntryCondition(dir, usable[i % usable.length]), describe: `${usable.length} vessel trees of ${dir}` };
  }
  return fixedStructure(kind === 'folder' ? await loadFolderCondition(spec) : await loadPaintedCondition(spec), spec);
}

/** One condition's vessel tree and disc, for every job. */
export function fixedStructure(c: ConditionMasks, describe = c.source): StructureSource {
  if (!c.channels.vessel) throw new Error(`${describe}: has no vessel mask to draw lesions on`);
  return { count: 1, get: async () => c, describe };
}

/** Phantom eyes (grade 0, clean) as vessel trees when no --masks is given: any number, deterministic by seed. */
export function phantomStructures(seed: number, size: number): StructureSource {
  const render = Math.max(64, Math.min(1280, size));
  return {
    count: Infinity,
    describe: `phantom vessel trees (seed ${seed})`,
    get: async (i) => {
      const s = renderPhantom(seed, i, render, { grade: 0, photographic: false });
      const c: ConditionMasks = { size: render, channels: { vessel: s.masks.vessel, optic_disc: s.masks.optic_disc }, fov: s.fov, source: `phantom:seed=${seed}:index=${i}` };
      return resizeCondition(c, size);
    },
  };
}

/**
 * Jobs for sampled lesions: `perGrade` images for each grade, lesions drawn by the lesion
 * model on structure i (cycling through the source). Ids `synth-g<grade>-<index>`.
 */
export function sampledLesionJobs(o: { lesionModel: LesionModel; structures: StructureSource; grades: number[]; perGrade: number; seed: number; size: number }): SynthJob[] {
  const jobs: SynthJob[] = [];
  for (const g of o.grades) {
    checkGrade(g);
    for (let i = 0; i < o.perGrade; i++) {
      const seed = mixSeed(o.seed, g, i);
      const structureIndex = Number.isFinite(o.structures.count) ? i % o.structures.count : i;
      jobs.push({
        id: `synth-g${g}-${String(i).padStart(6, '0')}`,
        grade: g,
        seed,
        condition: async () => {
          const s = resizeCondition(await o.structures.get(structureIndex), o.size);
          const drawn = o.lesionModel.sample({ size: s.size, vessel: s.channels.vessel!, optic_disc: s.channels.optic_disc ?? new Uint8Array(s.size * s.size), fov: s.fov }, g, seed);
          return { size: s.size, channels: drawn.masks, fov: s.fov, source: `${s.source} + lesions(grade ${g}, seed ${seed})` };
        },
      });
    }
  }
  return jobs;
}

/**
 * Jobs for given masks: every sample of a data set once (or the first n, cycling), or one
 * folder/painting n times with different seeds. Grade given or predicted.
 */
/**
 * Jobs for given masks. `dataGrades` (data sets only): each image's target grade is its
 * sample's grade in the manifest (an ungraded sample's is predicted by the grade head), so a
 * real set can be re-rendered at its own grades.
 */
export function givenMaskJobs(o: {
  spec: string; grade?: number; dataGrades?: boolean; n?: number; seed: number; size: number; structure?: ConditionMasks;
  /** For photo:FILE, the masks predicted for it (loadPhotoCondition). */
  photo?: ConditionMasks;
}): SynthJob[] {
  const kind = conditionSourceKind(o.spec);
  if (o.dataGrades && o.grade !== undefined) throw new Error('give a fixed grade or the data set\'s own grades, not both');
  if (o.dataGrades && kind !== 'dataset') throw new Error(`${o.spec}: the data set's own grades need a data set of masks (dataset:DIR)`);
  if (kind === 'dataset') {
    const dir = o.spec.startsWith('dataset:') ? o.spec.slice('dataset:'.length) : o.spec;
    const all = readManifest(dir);
    if (!all.length) throw new Error(`${dir}: the data set is empty`);
    const n = o.n ?? all.length;
    return Array.from({ length: n }, (_, i) => {
      const e = all[i % all.length];
      const round = Math.floor(i / all.length);
      return {
        id: round === 0 ? `synth-${e.id}` : `synth-${e.id}-${round}`,
        grade: o.dataGrades ? e.grade ?? undefined : o.grade, seed: mixSeed(o.seed, i),
        condition: () => loadEntryCondition(dir, e, o.size),
      };
    });
  }
  if (kind === 'photo' && !o.photo) throw new Error(`${o.spec}: a photo's masks are predicted first (loadPhotoCondition) and passed as "photo"`);
  const load = kind === 'photo' ? async () => o.photo!
    : kind === 'folder' ? () => loadFolderCondition(o.spec, o.size) : () => loadPaintedCondition(o.spec, { size: o.size, structure: o.structure });
  return Array.from({ length: o.n ?? 1 }, (_, i) => ({ id: `synth-${String(i).padStart(6, '0')}`, grade: o.grade, seed: mixSeed(o.seed, i), condition: load }));
}

// ---- output

async function writeGrey(path: string, data: Uint8Array, size: number): Promise<void> {
  const png = await sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width: size, height: size, channels: 1 } }).toColourspace('b-w').png({ compressionLevel: 6 }).toBuffer();
  atomicWrite(path, png);
}

async function writeRgb(path: string, data: Uint8Array, from: number, size: number): Promise<void> {
  let img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width: from, height: from, channels: 3 } });
  if (from !== size) img = img.resize(size, size, { fit: 'fill', kernel: from < size ? 'cubic' : 'lanczos3' });
  atomicWrite(path, await img.png({ compressionLevel: 6 }).toBuffer());
}

/** A job's sidecar when its image and sidecar are already there (checked against this run's model and size); else null. */
function finishedSidecar(o: BatchOptions, job: SynthJob, outSize: number): Sidecar | null {
  const sidecarPath = join(o.out, 'images', `${job.id}.json`);
  if (!existsSync(join(o.out, 'images', `${job.id}.png`)) || !existsSync(sidecarPath)) return null;
  const side = readSidecar(sidecarPath);
  if (side.modelId !== o.model.modelId) {
    throw new Error(`${o.out} holds "${job.id}" made by model ${side.modelId.slice(0, 12)}..., not ${o.model.modelId.slice(0, 12)}... (${o.model.path}); use another --out or the same model to resume`);
  }
  if (side.size !== outSize) throw new Error(`${o.out} holds "${job.id}" at ${side.size} px, this run writes ${outSize} px; use another --out or the same --size`);
  return side;
}

function atomicWrite(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** One line redrawn on a terminal; elsewhere a plain line every 10% (and the last). */
class Progress {
  private done = 0;
  private made = 0;
  private readonly started = Date.now();
  private lastPlain = -1;
  constructor(private readonly total: number, private readonly stream: ProgressStream | null) {}

  tick(made: boolean): void {
    this.done++;
    if (made) this.made++;
    if (!this.stream) return;
    const secs = (Date.now() - this.started) / 1000;
    const rate = this.made / Math.max(secs, 1e-3);
    const eta = this.made > 0 ? (this.total - this.done) / rate : NaN;
    const text = `synth ${this.done}/${this.total} (${this.done - this.made} skipped) ${rate.toFixed(2)} img/s ETA ${formatDuration(eta)}`;
    if (this.stream.isTTY) {
      const width = 24, fill = Math.round((width * this.done) / Math.max(1, this.total));
      this.stream.write(`\r[${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${text}\x1b[K`);
    } else {
      const decile = Math.floor((10 * this.done) / Math.max(1, this.total));
      if (decile !== this.lastPlain || this.done === this.total) {
        this.lastPlain = decile;
        this.stream.write(text + '\n');
      }
    }
  }

  finish(): void {
    if (this.stream?.isTTY && this.total > 0) this.stream.write('\n');
  }
}
