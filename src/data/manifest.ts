// The prepared data set layout shared by `drgan prepare`, `drgan phantom` and `drgan synth`:
// every later command reads a folder with this layout, whatever made it.
//
//   DIR/manifest.jsonl       one ManifestEntry per line, paths relative to DIR
//   DIR/dataset.json         DatasetInfo (format, size, channel order, counts)
//   DIR/images/<id>.png      RGB, square, FOV centred
//   DIR/fov/<id>.png         8-bit grey, 255 inside the field of view
//   DIR/masks/<id>_<channel>.png   8-bit grey; binary channels 0/255, LM/PM soft 0..255
//   DIR/log.jsonl            problems met while preparing (skipped files and why)
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** method.md section 0: the fixed order of the 8 condition channels. */
export const CONDITION_CHANNELS = ['vessel', 'optic_disc', 'MA', 'HE', 'EX', 'SE', 'LM', 'PM'] as const;
export type ConditionChannel = (typeof CONDITION_CHANNELS)[number];
export const NUM_GRADES = 5;

export type Split = 'train' | 'val' | 'test';

export interface ManifestEntry {
  id: string;
  /** Relative path of the prepared RGB image. */
  image: string;
  /** Relative path of the FOV mask. */
  fov: string;
  /** Relative mask path per channel that is known (annotated or predicted). */
  masks: Partial<Record<ConditionChannel, string>>;
  /** ICDR grade 0..4, or null where the source has none. */
  grade: number | null;
  /** Channels present in `masks` that came from annotation (or exact phantom ground truth). */
  known: ConditionChannel[];
  /** Channels present in `masks` that a model predicted (drgan masks). */
  predicted: ConditionChannel[];
  split: Split;
  /** Source file the sample came from (for traceability), relative or absolute. */
  source: string;
  /** Side length in pixels of the prepared image. */
  size: number;
  /** Free-form extras: phantom lesion counts, synth seed, model id, ... */
  meta?: Record<string, unknown>;
}

export interface DatasetInfo {
  format: string;
  size: number;
  channels: readonly string[];
  count: number;
  gradeCounts: number[];
  created: string;
  [extra: string]: unknown;
}

/**
 * Stable split by id: a hash of the id, not the position in a folder listing, so adding or
 * removing files never moves an existing sample between train, val and test.
 */
export function splitForId(id: string, valFraction = 0.1, testFraction = 0.1): Split {
  const h = createHash('sha1').update(id).digest();
  const u = h.readUInt32BE(0) / 0x100000000;
  if (u < testFraction) return 'test';
  if (u < testFraction + valFraction) return 'val';
  return 'train';
}

/**
 * The condition channels a sample has a mask file for that is marked known or predicted, in
 * CONDITION_CHANNELS order: the masks synthesis and evaluation read as the sample's condition.
 */
export function conditionMaskChannels(e: ManifestEntry): ConditionChannel[] {
  const use = new Set([...e.known, ...e.predicted]);
  return CONDITION_CHANNELS.filter((ch) => e.masks[ch] && use.has(ch));
}

export function readManifest(dir: string): ManifestEntry[] {
  const path = join(dir, 'manifest.jsonl');
  if (!existsSync(path)) throw new Error(`${path}: no manifest.jsonl (is ${dir} a prepared data set? see drgan prepare / drgan phantom)`);
  const lines = readFileSync(path, 'utf8').split('\n');
  const entries: ManifestEntry[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let e: ManifestEntry;
    try {
      e = JSON.parse(line);
    } catch (err) {
      throw new Error(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof e.id !== 'string' || typeof e.image !== 'string') throw new Error(`${path}:${i + 1}: entry needs string fields "id" and "image"`);
    if (e.grade !== null && e.grade !== undefined && !(Number.isInteger(e.grade) && e.grade >= 0 && e.grade < NUM_GRADES)) {
      throw new Error(`${path}:${i + 1}: grade ${JSON.stringify(e.grade)} of "${e.id}" is outside 0..4`);
    }
    entries.push({ ...e, masks: e.masks ?? {}, known: e.known ?? [], predicted: e.predicted ?? [], grade: e.grade ?? null });
  });
  return entries;
}

/** Writes the whole manifest atomically (temp file + rename), so a crash never leaves half a file. */
export function writeManifest(dir: string, entries: ManifestEntry[]): void {
  const path = join(dir, 'manifest.jsonl');
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : ''));
  renameSync(tmp, path);
}

export function writeDatasetInfo(dir: string, info: DatasetInfo): void {
  const path = join(dir, 'dataset.json');
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n');
  renameSync(tmp, path);
}

export function maskPath(id: string, channel: ConditionChannel): string {
  return `masks/${id}_${channel}.png`;
}
