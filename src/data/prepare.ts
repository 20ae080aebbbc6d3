// `drgan prepare`: a published data set in, the prepared layout of manifest.ts out.
// Resumable and idempotent: each sample's files are written temp-then-rename with the image
// last, each finished sample is appended to manifest.partial.jsonl at once, and a sample whose
// outputs exist, are newer than its sources and were made with the same options is not redone.
// Bad inputs stop the run (--on-error fail) or are skipped and logged (skip); never dropped
// silently.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { DataError, type SourceProblem } from './errors.js';
import { FORMATS } from './formats/index.js';
import type { SourceSample } from './formats/source.js';
import { mtimeMs } from './image-io.js';
import {
  CONDITION_CHANNELS,
  maskPath,
  NUM_GRADES,
  readManifest,
  splitForId,
  writeDatasetInfo,
  writeManifest,
  type ConditionChannel,
  type ManifestEntry,
} from './manifest.js';
import { runPool } from './pool.js';
import { preprocessPhoto, type PreprocessOptions } from './preprocess.js';

export type OnError = 'fail' | 'skip';

export interface PrepareOptions extends PreprocessOptions {
  format: string;
  input: string;
  output: string;
  onError?: OnError;
  concurrency?: number;
  /** Called after each sample (done counts prepared + reused + skipped). */
  onProgress?: (done: number, total: number, id: string) => void;
}

export interface Skipped {
  id?: string;
  file: string;
  reason: string;
}

export interface PrepareReport {
  entries: ManifestEntry[];
  /** Samples processed in this run, and samples whose earlier outputs were still valid. */
  prepared: number;
  reused: number;
  skipped: Skipped[];
  notes: string[];
}

const PARTIAL = 'manifest.partial.jsonl';
// Channels stored as soft maps (CAM activations), resampled by averaging, not thresholded.
const SOFT: ReadonlySet<ConditionChannel> = new Set(['LM', 'PM']);

export async function prepareDataset(opts: PrepareOptions): Promise<PrepareReport> {
  const format = FORMATS[opts.format];
  if (!format) throw new Error(`unknown format "${opts.format}" (known: ${Object.keys(FORMATS).join(', ')})`);
  const input = resolve(opts.input);
  const out = resolve(opts.output);
  if (!existsSync(input)) throw new Error(`${input}: input folder does not exist`);
  const onError = opts.onError ?? 'fail';
  const listing = await format.list(input);
  const problems = [...listing.problems, ...duplicateIds(listing.samples)];
  const dup = new Set(problems.filter((p) => p.error.reason.startsWith('duplicate id')).map((p) => p.id));
  const samples = listing.samples.filter((s) => !dup.has(s.id));

  for (const d of ['images', 'fov', 'masks']) mkdirSync(join(out, d), { recursive: true });
  const logPath = join(out, 'log.jsonl');
  writeFileSync(logPath, '');
  const skipped: Skipped[] = [];
  const report = (p: SourceProblem, action: 'skipped' | 'stopped') => {
    const s: Skipped = { id: p.id, file: p.error.file, reason: p.error.reason };
    appendFileSync(logPath, JSON.stringify({ time: new Date().toISOString(), action, ...s }) + '\n');
    if (action === 'skipped') skipped.push(s);
  };
  for (const p of problems) {
    report(p, onError === 'fail' ? 'stopped' : 'skipped');
    if (onError === 'fail') throw p.error;
  }

  const key = optionsKey(opts);
  const previous = loadPrevious(out);
  const done = new Map<string, ManifestEntry>();
  const todo: SourceSample[] = [];
  for (const s of samples) {
    const prev = previous.get(s.id);
    if (prev && (await upToDate(prev, s, key, out))) done.set(s.id, prev);
    else todo.push(s);
  }
  const reused = done.size;
  let progress = reused;
  const partialPath = join(out, PARTIAL);
  // The partial log restarts from what is already known good, so it never grows without bound.
  writeFileSync(partialPath, [...done.values()].map((e) => JSON.stringify(e) + '\n').join(''));

  let stopError: DataError | undefined;
  await runPool(
    todo,
    opts.concurrency ?? 4,
    async (s) => {
      try {
        const entry = await prepareSample(s, opts, key, out);
        done.set(s.id, entry);
        appendFileSync(partialPath, JSON.stringify(entry) + '\n');
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        report({ id: s.id, error: err }, onError === 'fail' ? 'stopped' : 'skipped');
        if (onError === 'fail') stopError ??= err;
      }
      opts.onProgress?.(++progress, samples.length, s.id);
    },
    () => stopError !== undefined,
  );
  if (stopError) throw stopError;

  const entries = samples.filter((s) => done.has(s.id)).map((s) => done.get(s.id)!);
  writeManifest(out, entries);
  const gradeCounts = new Array(NUM_GRADES).fill(0);
  for (const e of entries) if (e.grade !== null) gradeCounts[e.grade]++;
  writeDatasetInfo(out, {
    format: opts.format,
    size: opts.size,
    channels: CONDITION_CHANNELS,
    count: entries.length,
    gradeCounts,
    created: new Date().toISOString(),
    source: input,
    graham: !!opts.graham,
    maskResample: opts.maskResample ?? 'nearest',
    skipped: skipped.length,
  });
  rmSync(partialPath, { force: true });
  return { entries, prepared: entries.length - reused, reused, skipped, notes: listing.notes };
}

function duplicateIds(samples: SourceSample[]): SourceProblem[] {
  const first = new Map<string, string>();
  const problems: SourceProblem[] = [];
  for (const s of samples) {
    const f = first.get(s.id);
    if (f !== undefined) problems.push({ id: s.id, error: new DataError(s.image, `duplicate id "${s.id}" (also ${f}); neither is prepared`) });
    else first.set(s.id, s.image);
  }
  for (const p of [...problems]) problems.push({ id: p.id, error: new DataError(first.get(p.id!)!, `duplicate id "${p.id}"; neither is prepared`) });
  return problems;
}

/** Everything that changes the pixels written: a change means redoing the sample. */
function optionsKey(o: PreprocessOptions): string {
  return `size=${o.size};graham=${o.graham ? 1 : 0};masks=${o.maskResample ?? 'nearest'}`;
}

/** Entries of the last complete run, overlaid with any later partial progress. */
function loadPrevious(out: string): Map<string, ManifestEntry> {
  const m = new Map<string, ManifestEntry>();
  if (existsSync(join(out, 'manifest.jsonl'))) {
    try {
      for (const e of readManifest(out)) m.set(e.id, e);
    } catch {
      // An unreadable manifest means nothing can be trusted: redo everything.
    }
  }
  const partial = join(out, PARTIAL);
  if (existsSync(partial)) {
    for (const line of readFileSync(partial, 'utf8').split('\n')) {
      try {
        const e = JSON.parse(line) as ManifestEntry;
        if (e && typeof e.id === 'string') m.set(e.id, e);
      } catch {
        // The last line of an interrupted run may be cut short.
      }
    }
  }
  return m;
}

async function upToDate(prev: ManifestEntry, s: SourceSample, key: string, out: string): Promise<boolean> {
  if (prev.meta?.prepared !== key || prev.source !== s.image || prev.grade !== s.grade) return false;
  if ([...prev.known].sort().join() !== [...s.known].sort().join()) return false;
  const outputs = [prev.image, prev.fov, ...Object.values(prev.masks)].map((p) => join(out, p!));
  const sources = [s.image, s.fov, ...Object.values(s.masks)].filter((p): p is string => !!p);
  let oldestOut = Infinity;
  for (const p of outputs) oldestOut = Math.min(oldestOut, (await mtimeMs(p)) ?? -Infinity);
  let newestSrc = -Infinity;
  for (const p of sources) newestSrc = Math.max(newestSrc, (await mtimeMs(p)) ?? Infinity);
  return oldestOut >= newestSrc;
}

async function prepareSample(s: SourceSample, opts: PreprocessOptions, key: string, out: string): Promise<ManifestEntry> {
  const maskSources = Object.entries(s.masks).map(([ch, path]) => ({ key: ch, path: path!, soft: SOFT.has(ch as ConditionChannel) }));
  const r = await preprocessPhoto(s.image, maskSources, opts, s.fov);
  const masks: Partial<Record<ConditionChannel, string>> = {};
  const empty = new Uint8Array(r.size * r.size);
  // Masks and FOV first, the image last: an image file on disk means its sample is complete.
  for (const ch of CONDITION_CHANNELS) {
    if (!s.known.includes(ch) && !s.masks[ch]) continue;
    masks[ch] = maskPath(s.id, ch);
    await writePngAtomic(join(out, masks[ch]!), r.masks.get(ch) ?? empty, r.size, 1);
  }
  const fov = `fov/${s.id}.png`;
  const image = `images/${s.id}.png`;
  await writePngAtomic(join(out, fov), r.fov, r.size, 1);
  await writePngAtomic(join(out, image), r.image, r.size, 3);
  return {
    id: s.id,
    image,
    fov,
    masks,
    grade: s.grade,
    known: CONDITION_CHANNELS.filter((c) => s.known.includes(c)),
    predicted: [],
    split: splitForId(s.id),
    source: s.image,
    size: r.size,
    meta: {
      ...s.meta,
      prepared: key,
      fovCircle: { cx: round2(r.circle.cx), cy: round2(r.circle.cy), r: round2(r.circle.r) },
      sourceSize: [r.sourceWidth, r.sourceHeight],
    },
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

async function writePngAtomic(path: string, data: Uint8Array, size: number, channels: 1 | 3): Promise<void> {
  const png = await sharp(data, { raw: { width: size, height: size, channels } })
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .png({ compressionLevel: 6 })
    .toBuffer();
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, png);
  renameSync(tmp, path);
}
