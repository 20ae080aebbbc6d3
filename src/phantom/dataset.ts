// Writes a phantom data set in the prepared layout of data/manifest.ts. Sample i depends only
// on (seed, i) and the settings, so an interrupted run resumes: finished samples are skipped
// (only planned, not painted, to recover their manifest entry) and the manifest comes last.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { CONDITION_CHANNELS, maskPath, NUM_GRADES, splitForId, writeDatasetInfo, writeManifest, type ManifestEntry } from '../data/manifest.js';
import { EYEPACS_GRADE_FREQUENCIES, type LesionSummary } from './grading.js';
import { MAX_SIZE, MIN_SIZE, planPhantom, renderPhantom, type PhantomOptions } from './render.js';

export interface PhantomSetOptions {
  out: string;
  n: number;
  size: number;
  seed: number;
  /** Weights of grades 0..4; default EyePACS (73.7, 6.9, 15.1, 2.4, 2.2). */
  gradeFrequencies?: readonly number[];
  /** false: no photographic degradation. Default true. */
  photographic?: boolean;
  onProgress?: (done: number, total: number) => void;
  /**
   * Render only the samples i with i % count == index and write no manifest: several processes
   * share one folder this way (drgan phantom --jobs), then one unsharded pass over the finished
   * folder plans every sample and writes the manifest.
   */
  shard?: { index: number; count: number };
}

export interface PhantomSetResult {
  written: number;
  skipped: number;
  entries: ManifestEntry[];
}

/** Settings that decide the pixels; a resumed run must use the same ones. */
interface PhantomSettings {
  seed: number;
  size: number;
  gradeFrequencies: number[];
  photographic: boolean;
}

export const PHANTOM_SETTINGS_FILE = 'phantom.json';

export function phantomId(index: number): string {
  return `phantom-${String(index).padStart(6, '0')}`;
}

export async function generatePhantomSet(opts: PhantomSetOptions): Promise<PhantomSetResult> {
  const { out, n, size, seed } = opts;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`phantom set size n must be a positive integer, got ${n}`);
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) throw new RangeError(`phantom image size must be an integer in ${MIN_SIZE}..${MAX_SIZE}, got ${size}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`phantom seed must be a non-negative integer, got ${seed}`);
  const settings: PhantomSettings = {
    seed,
    size,
    gradeFrequencies: [...(opts.gradeFrequencies ?? EYEPACS_GRADE_FREQUENCIES)],
    photographic: opts.photographic ?? true,
  };
  const shard = opts.shard ?? { index: 0, count: 1 };
  if (!Number.isInteger(shard.count) || shard.count < 1 || !Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new RangeError(`phantom shard must be index/count with 0 <= index < count, got ${shard.index}/${shard.count}`);
  }
  for (const sub of ['images', 'fov', 'masks']) mkdirSync(join(out, sub), { recursive: true });
  checkSettings(out, settings);

  const renderOpts: PhantomOptions = { gradeFrequencies: settings.gradeFrequencies, photographic: settings.photographic };
  const entries: ManifestEntry[] = [];
  let written = 0;
  let skipped = 0;
  // Encoding (sharp, on its own threads) of sample i overlaps the painting of sample i + 1.
  let pending: Promise<void> = Promise.resolve();
  for (let i = shard.index; i < n; i += shard.count) {
    const id = phantomId(i);
    const entry = entryFor(id, seed, i, size);
    if (entry.known.every((c) => existsSync(join(out, entry.masks[c]!))) && existsSync(join(out, entry.fov)) && existsSync(join(out, entry.image))) {
      const plan = planPhantom(seed, i, renderOpts);
      finishEntry(entry, plan.grade, plan.summary, plan.anatomy.eye);
      skipped++;
    } else {
      const s = renderPhantom(seed, i, size, renderOpts);
      finishEntry(entry, s.grade, s.lesions, s.eye);
      await pending;
      // Masks and FOV first, image last: the image's presence marks a finished sample.
      const files: [string, Uint8Array, number][] = CONDITION_CHANNELS.map((c) => [entry.masks[c]!, s.masks[c], 1] as [string, Uint8Array, number]);
      files.push([entry.fov, s.fov, 1]);
      pending = (async () => {
        await Promise.all(files.map(([rel, data, ch]) => writePng(join(out, rel), data, size, ch)));
        await writePng(join(out, entry.image), s.rgb, size, 3);
      })();
      written++;
    }
    entries.push(entry);
    opts.onProgress?.(i + 1, n);
  }
  await pending;
  if (shard.count > 1) return { written, skipped, entries };

  writeManifest(out, entries);
  const gradeCounts = new Array(NUM_GRADES).fill(0);
  for (const e of entries) gradeCounts[e.grade!]++;
  writeDatasetInfo(out, {
    format: 'drgan-prepared',
    size,
    channels: CONDITION_CHANNELS,
    count: entries.length,
    gradeCounts,
    created: new Date().toISOString(),
    source: 'phantom',
    phantom: settings,
  });
  return { written, skipped, entries };
}

function entryFor(id: string, seed: number, index: number, size: number): ManifestEntry {
  const masks: ManifestEntry['masks'] = {};
  for (const c of CONDITION_CHANNELS) masks[c] = maskPath(id, c);
  return {
    id,
    image: `images/${id}.png`,
    fov: `fov/${id}.png`,
    masks,
    grade: null,
    // Phantom masks are exact ground truth for every channel.
    known: [...CONDITION_CHANNELS],
    predicted: [],
    split: splitForId(id),
    source: `phantom:seed=${seed}:index=${index}`,
    size,
  };
}

function finishEntry(e: ManifestEntry, grade: number, s: LesionSummary, eye: string): void {
  e.grade = grade;
  e.meta = {
    eye,
    lesions: { MA: s.MA, HE: s.HE, EX: s.EX, SE: s.SE, LM: s.LM, PM: s.PM },
    heQuadrants: s.heQuadrants,
    beadedQuadrants: s.beadedQuadrants,
  };
}

/** Refuses to mix samples made with different settings into one folder. */
function checkSettings(out: string, settings: PhantomSettings): void {
  const path = join(out, PHANTOM_SETTINGS_FILE);
  if (existsSync(path)) {
    let old: PhantomSettings;
    try {
      old = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`${path}: unreadable (${(err as Error).message}); delete it or use another output folder`);
    }
    const diff = (Object.keys(settings) as (keyof PhantomSettings)[]).filter((k) => JSON.stringify(old[k]) !== JSON.stringify(settings[k]));
    if (diff.length > 0) {
      const what = diff.map((k) => `${k} ${JSON.stringify(old[k])} -> ${JSON.stringify(settings[k])}`).join(', ');
      throw new Error(`${out} holds a phantom set made with other settings (${what}); use a new output folder or the same settings to resume`);
    }
    return;
  }
  atomicWrite(path, JSON.stringify(settings, null, 2) + '\n');
}

async function writePng(path: string, data: Uint8Array, size: number, channels: 1 | 3 | number): Promise<void> {
  let img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width: size, height: size, channels: channels as 1 | 3 } });
  // Without this sharp stores a one-channel mask as RGB (three times the bytes).
  if (channels === 1) img = img.toColourspace('b-w');
  const png = await img.png({ compressionLevel: 6 }).toBuffer();
  atomicWrite(path, png);
}

function atomicWrite(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
