// A reader-study kit for Table I (method.md section 9, "Human reading"): a seeded random mix
// of real and synthetic fundus photos from prepared data sets, shuffled and given anonymous
// ids, written as one self-contained page for the readers (reading-page.ts) and an answer
// key kept apart from it (reading-score.ts scores the readers' answers against it).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { openImage } from '../data/image-io.js';
import { readManifest, type ManifestEntry, type Split } from '../data/manifest.js';
import { runPool } from '../data/pool.js';
import { mixSeed, mulberry32, shuffleInPlace } from '../data/rng.js';
import { readingPageHtml } from './reading-page.js';

/** The label of the real images in the key and the tables (Table I's first row). */
export const REAL_SET_NAME = 'Real';
export const KEY_FORMAT = 'drgan-reading-key';

export type Truth = 'real' | 'fake';
export type ImageFormat = 'jpeg' | 'png';

/** A synthetic set as given on the command line: `PATH` (named after its folder) or `NAME=PATH`. */
export interface ReadingSource {
  name: string;
  dir: string;
}

export interface ReadingKitOptions {
  /** Prepared real data set. */
  real: string;
  /** Prepared synthetic sets (drgan synth), one Table I row each. */
  fake: readonly ReadingSource[];
  out: string;
  /** Images in the kit. */
  n?: number;
  /** Share of synthetic images, split evenly over the synthetic sets. */
  fakeShare?: number;
  seed?: number;
  /** Side in pixels every image is shown at (all alike, so size gives nothing away). */
  size?: number;
  /** Also ask the reader's ICDR grade 0-4. */
  askGrade?: boolean;
  realSplit?: Split | 'all';
  fakeSplit?: Split | 'all';
  /** Draw real images evenly across grades like the fakes (default), or at the split's own grade mix. */
  stratifyReal?: boolean;
  format?: ImageFormat;
  /** JPEG quality 1-100. */
  quality?: number;
  title?: string;
  log?: (line: string) => void;
}

export interface KeyItem {
  /** Anonymous id the page shows and the answers use. */
  id: string;
  /** 1-based position in the page. */
  position: number;
  truth: Truth;
  set: string;
  /** Data set folder (absolute) and the image path inside it. */
  dir: string;
  file: string;
  /** The image's id in its data set's manifest. */
  sourceId: string;
  /** True ICDR grade of a real image, target grade of a synthetic one; null if ungraded. */
  grade: number | null;
}

export interface KeySet {
  name: string;
  truth: Truth;
  dir: string;
  split: Split | 'all';
  /** Images of the split the draw could choose from. */
  available: number;
  drawn: number;
  /** Drawn images per grade ("ungraded" for null). */
  drawnPerGrade: Record<string, number>;
}

export interface ReadingKey {
  format: typeof KEY_FORMAT;
  version: 1;
  /** Ties the page, its answers and this key together (the page shows no other id of the kit). */
  kitId: string;
  created: string;
  askGrade: boolean;
  options: { n: number; fakeShare: number; seed: number; size: number; realSplit: Split | 'all'; fakeSplit: Split | 'all'; stratifyReal: boolean; format: ImageFormat; quality: number };
  sets: KeySet[];
  /** Strata or sets that had fewer images than their even share (others made up the count). */
  warnings: string[];
  /** In page order. */
  items: KeyItem[];
}

/** A source after its manifest is read: the entries the draw may take. */
export interface SourcePool {
  name: string;
  truth: Truth;
  dir: string;
  split: Split | 'all';
  entries: ManifestEntry[];
}

export interface DrawOptions {
  n: number;
  fakeShare: number;
  seed: number;
  stratifyReal: boolean;
}

export interface ReadingDraw {
  /** In page order, ids assigned. */
  items: KeyItem[];
  sets: KeySet[];
  warnings: string[];
}

/** Parses `--fake A,B` or `--fake name=A,B`: names default to the folder name and must be unique. */
export function parseReadingSources(text: string): ReadingSource[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new Error(`--fake: empty entry in "${text}" (expected PATH or NAME=PATH, comma-separated)`);
  const sources = parts.map((p) => {
    const eq = p.indexOf('=');
    // NAME=PATH only when the part before "=" is a plain name, so a path holding "=" still works.
    if (eq > 0 && !/[\\/]/.test(p.slice(0, eq))) return { name: p.slice(0, eq).trim(), dir: p.slice(eq + 1).trim() };
    return { name: basename(resolve(p)), dir: p };
  });
  for (const s of sources) if (s.name === '' || s.dir === '') throw new Error(`--fake: "${s.name}=${s.dir}" needs both a name and a path`);
  checkSetNames(sources.map((s) => s.name));
  return sources;
}

function checkSetNames(names: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const k = name.toLowerCase();
    if (k === REAL_SET_NAME.toLowerCase()) throw new Error(`synthetic set name "${name}" is reserved for the real images: name it with NAME=PATH`);
    if (seen.has(k)) throw new Error(`two synthetic sets are named "${name}": name them apart with NAME=PATH`);
    seen.set(k, name);
  }
}

/**
 * Splits `total` as evenly as possible over strata holding `capacity[i]` items each: a stratum
 * short of its share gives the rest to the others. Units that do not divide evenly go to
 * strata in a seeded random order, so no grade or set is favoured by its position.
 */
export function allocateEvenly(total: number, capacity: readonly number[], rand: () => number): number[] {
  const have = capacity.reduce((a, b) => a + b, 0);
  if (total > have) throw new Error(`allocateEvenly: ${total} wanted, only ${have} available`);
  const count = capacity.map(() => 0);
  let left = total;
  while (left > 0) {
    const open = capacity.map((c, i) => i).filter((i) => count[i] < capacity[i]);
    const share = Math.floor(left / open.length);
    if (share === 0) {
      for (const i of shuffleInPlace(open, rand).slice(0, left)) count[i]++;
      left = 0;
    } else {
      for (const i of open) {
        const add = Math.min(share, capacity[i] - count[i]);
        count[i] += add;
        left -= add;
      }
    }
  }
  return count;
}

const gradeKey = (g: number | null) => (g === null ? 'ungraded' : String(g));

/** Draws `count` entries of one source, evenly over its grades when `stratify`. */
function drawFromSource(src: SourcePool, count: number, stratify: boolean, seed: number, warnings: string[]): ManifestEntry[] {
  const rand = mulberry32(seed);
  const strata = new Map<string, ManifestEntry[]>();
  for (const e of src.entries) {
    const k = stratify ? gradeKey(e.grade) : 'all';
    if (!strata.has(k)) strata.set(k, []);
    strata.get(k)!.push(e);
  }
  const keys = [...strata.keys()].sort();
  const groups = keys.map((k) => strata.get(k)!);
  const counts = allocateEvenly(count, groups.map((g) => g.length), rand);
  if (stratify && keys.length > 1) {
    const even = count / keys.length;
    const short = keys.filter((_, i) => groups[i].length < Math.floor(even));
    if (short.length) warnings.push(`${src.name}: grade(s) ${short.join(', ')} had fewer images than their even share (${even.toFixed(1)}); other grades made up the count`);
  }
  // Within a stratum: a seeded shuffle of the manifest order (sorted by id first, so reordering a manifest changes nothing).
  return groups.flatMap((g, i) => shuffleInPlace([...g].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), rand).slice(0, counts[i]));
}

const ID_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** Anonymous ids: random letters from their own seeded stream, unrelated to source, grade or position. */
function anonymousIds(count: number, seed: number): string[] {
  const rand = mulberry32(mixSeed(seed, 0x1d5));
  const ids = new Set<string>();
  while (ids.size < count) {
    let s = '';
    for (let i = 0; i < 6; i++) s += ID_ALPHABET[Math.floor(rand() * ID_ALPHABET.length)];
    ids.add(s);
  }
  return [...ids];
}

/**
 * The draw itself, without images: how many images each source gives (fakes split evenly
 * over the synthetic sets, each set evenly over its grades), which ones, in which order and
 * under which anonymous id. A pure function of the pools and the seed.
 */
export function drawReadingSet(pools: readonly SourcePool[], o: DrawOptions): ReadingDraw {
  if (!Number.isInteger(o.n) || o.n < 2) throw new Error(`n must be an integer >= 2, got ${o.n}`);
  if (!(o.fakeShare > 0 && o.fakeShare < 1)) throw new Error(`fake share must be strictly between 0 and 1 (Table I needs real and synthetic images), got ${o.fakeShare}`);
  const real = pools.filter((p) => p.truth === 'real');
  const fakes = pools.filter((p) => p.truth === 'fake');
  if (real.length !== 1) throw new Error(`need exactly one real set, got ${real.length}`);
  if (fakes.length === 0) throw new Error('need at least one synthetic set');
  checkSetNames(fakes.map((f) => f.name));
  const nFake = Math.round(o.n * o.fakeShare);
  const nReal = o.n - nFake;
  if (nReal < 1) throw new Error(`n = ${o.n} with fake share ${o.fakeShare} leaves no real image`);
  if (nFake < fakes.length) throw new Error(`n = ${o.n} with fake share ${o.fakeShare} gives ${nFake} synthetic image(s) for ${fakes.length} synthetic sets: raise n or the fake share`);
  const r = real[0];
  if (r.entries.length < nReal) {
    throw new Error(`${r.dir}: the ${r.split === 'all' ? 'data set' : `${r.split} split`} has ${r.entries.length} image(s), the kit needs ${nReal} real images${r.split === 'all' ? '' : ' (try --real-split all)'} or lower --n`);
  }
  const warnings: string[] = [];
  const fakeAvailable = fakes.map((f) => f.entries.length);
  const totalFake = fakeAvailable.reduce((a, b) => a + b, 0);
  if (totalFake < nFake) throw new Error(`the synthetic sets hold ${totalFake} image(s) in all (${fakes.map((f, i) => `${f.name}: ${fakeAvailable[i]}`).join(', ')}), the kit needs ${nFake}: lower --n or --fake-share`);
  fakes.forEach((f, i) => { if (fakeAvailable[i] === 0) throw new Error(`${f.dir}: synthetic set "${f.name}" has no images${f.split === 'all' ? '' : ` in the ${f.split} split`}`); });
  const perFake = allocateEvenly(nFake, fakeAvailable, mulberry32(mixSeed(o.seed, 0xfa4e)));
  fakes.forEach((f, i) => { if (fakeAvailable[i] < Math.floor(nFake / fakes.length)) warnings.push(`${f.name}: ${fakeAvailable[i]} image(s), fewer than its even share of ${Math.floor(nFake / fakes.length)}; other sets made up the count`); });

  const sets: KeySet[] = [];
  const drawn: Omit<KeyItem, 'id' | 'position'>[] = [];
  const take = (src: SourcePool, count: number, stratify: boolean, stream: number) => {
    const chosen = drawFromSource(src, count, stratify, mixSeed(o.seed, stream), warnings);
    const perGrade: Record<string, number> = {};
    for (const e of chosen) {
      perGrade[gradeKey(e.grade)] = (perGrade[gradeKey(e.grade)] ?? 0) + 1;
      drawn.push({ truth: src.truth, set: src.name, dir: src.dir, file: e.image, sourceId: e.id, grade: e.grade });
    }
    sets.push({ name: src.name, truth: src.truth, dir: src.dir, split: src.split, available: src.entries.length, drawn: chosen.length, drawnPerGrade: perGrade });
  };
  take(r, nReal, o.stratifyReal, 0);
  fakes.forEach((f, i) => take(f, perFake[i], true, i + 1));

  shuffleInPlace(drawn, mulberry32(mixSeed(o.seed, 0x5eed)));
  const ids = anonymousIds(drawn.length, o.seed);
  return { items: drawn.map((d, i) => ({ id: ids[i], position: i + 1, ...d })), sets, warnings };
}

function splitOf(entries: ManifestEntry[], split: Split | 'all'): ManifestEntry[] {
  return split === 'all' ? entries : entries.filter((e) => e.split === split);
}

function canonicalDir(dir: string): string {
  return existsSync(dir) ? realpathSync(dir) : resolve(dir);
}

/** One image as shown to readers: size x size (letterboxed on black if not square), metadata stripped. */
export async function encodeForReading(path: string, size: number, format: ImageFormat, quality: number): Promise<Buffer> {
  const p = (await openImage(path)).pipeline().resize(size, size, { fit: 'contain', background: { r: 0, g: 0, b: 0 }, kernel: 'lanczos3' }).toColourspace('srgb');
  return format === 'jpeg' ? p.jpeg({ quality }).toBuffer() : p.png({ compressionLevel: 9 }).toBuffer();
}

/** Digest of what readers see and what the key says, so answers can be matched to their key. */
function kitDigest(draw: ReadingDraw, options: ReadingKey['options'], askGrade: boolean): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ options, askGrade, items: draw.items.map((i) => [i.id, i.set, i.sourceId, i.truth]) }));
  return h.digest('hex').slice(0, 16);
}

export interface ReadingKitResult {
  key: ReadingKey;
  htmlPath: string;
  keyPath: string;
  htmlBytes: number;
}

/** Reads the sets, draws the kit and writes OUT/reading.html and OUT/key.json. */
export async function writeReadingKit(o: ReadingKitOptions): Promise<ReadingKitResult> {
  const options: ReadingKey['options'] = {
    n: o.n ?? 100, fakeShare: o.fakeShare ?? 0.5, seed: o.seed ?? 0, size: o.size ?? 512,
    realSplit: o.realSplit ?? 'test', fakeSplit: o.fakeSplit ?? 'all', stratifyReal: o.stratifyReal ?? true,
    format: o.format ?? 'jpeg', quality: o.quality ?? 90,
  };
  const askGrade = o.askGrade ?? false;
  if (!Number.isInteger(options.size) || options.size < 16 || options.size > 4096) throw new Error(`size must be an integer in 16..4096, got ${options.size}`);
  if (!Number.isInteger(options.quality) || options.quality < 1 || options.quality > 100) throw new Error(`quality must be an integer in 1..100, got ${options.quality}`);
  const realDir = canonicalDir(o.real);
  const pools: SourcePool[] = [{ name: REAL_SET_NAME, truth: 'real', dir: realDir, split: options.realSplit, entries: splitOf(readManifest(o.real), options.realSplit) }];
  for (const f of o.fake) {
    const dir = canonicalDir(f.dir);
    if (dir === realDir) throw new Error(`${f.dir}: given both as --real and as the synthetic set "${f.name}"`);
    const other = pools.find((p) => p.dir === dir);
    if (other) throw new Error(`${f.dir}: given twice (as "${other.name}" and "${f.name}")`);
    pools.push({ name: f.name, truth: 'fake', dir, split: options.fakeSplit, entries: splitOf(readManifest(f.dir), options.fakeSplit) });
  }
  const draw = drawReadingSet(pools, options);
  const kitId = kitDigest(draw, options, askGrade);
  for (const w of draw.warnings) o.log?.(`warning: ${w}`);

  const images = new Array<string>(draw.items.length);
  let done = 0;
  await runPool(draw.items, 4, async (item, i) => {
    const buf = await encodeForReading(join(item.dir, item.file), options.size, options.format, options.quality);
    images[i] = `data:image/${options.format};base64,${buf.toString('base64')}`;
    if (++done % 50 === 0) o.log?.(`encoded ${done}/${draw.items.length}`);
  });
  const html = readingPageHtml({ kitId, title: o.title ?? 'Fundus photograph reading', askGrade, images: draw.items.map((it, i) => ({ id: it.id, src: images[i] })) });

  const key: ReadingKey = { format: KEY_FORMAT, version: 1, kitId, created: new Date().toISOString(), askGrade, options, sets: draw.sets, warnings: draw.warnings, items: draw.items };
  mkdirSync(o.out, { recursive: true });
  const htmlPath = join(o.out, 'reading.html');
  const keyPath = join(o.out, 'key.json');
  writeFileSync(htmlPath, html);
  writeFileSync(keyPath, JSON.stringify(key, null, 2) + '\n');
  return { key, htmlPath, keyPath, htmlBytes: Buffer.byteLength(html) };
}
