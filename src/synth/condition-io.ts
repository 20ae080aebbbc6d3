// Condition masks for synthesis, from the three places a user keeps them:
//   - a prepared data set's sample, by id (its manifest's masks and FOV);
//   - a folder of one PNG per channel (`vessel.png`, `MA.png`, or `<anything>_<channel>.png`,
//     plus an optional `fov.png`);
//   - one painted RGB image whose colours mean channels (PAINT_KEY below), with vessel and
//     optic disc taken from the painting or from another source.
// Everything is brought to the model's size with nearest resampling, so binary masks stay
// binary (a soft LM/PM map keeps its grey levels).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import * as torch from '../torch/index.js';
import { CONDITION_CHANNELS, conditionMaskChannels, readManifest, type ConditionChannel, type ManifestEntry } from '../data/manifest.js';
import { readImage, readMask } from '../data/image-io.js';
import { DataError } from '../data/errors.js';
import { resizeNearest } from './mask-geometry.js';

export interface ConditionMasks {
  /** Side of the square masks. */
  size: number;
  /** The channels this condition has; an absent channel is all zero for the generator. */
  channels: Partial<Record<ConditionChannel, Uint8Array>>;
  /** 255 inside the field of view, when the source has one. */
  fov: Uint8Array | null;
  /** Where it came from, for the record. */
  source: string;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.gif', '.bmp', '.webp']);

/** The channels present, in the fixed condition order. */
export function presentChannels(c: ConditionMasks): ConditionChannel[] {
  return CONDITION_CHANNELS.filter((ch) => c.channels[ch]);
}

/** Nearest resize of every mask (and the FOV) to size x size. */
export function resizeCondition(c: ConditionMasks, size: number): ConditionMasks {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`condition size must be a positive integer, got ${size}`);
  if (c.size === size) return c;
  const channels: ConditionMasks['channels'] = {};
  for (const ch of presentChannels(c)) channels[ch] = resizeNearest(c.channels[ch]!, c.size, c.size, size, size);
  return { size, channels, fov: c.fov ? resizeNearest(c.fov, c.size, c.size, size, size) : null, source: c.source };
}

/** [1, 8, S, S] float32 in [0, 1] in CONDITION_CHANNELS order; absent channels zero. */
export function conditionTensor(c: ConditionMasks): torch.Tensor {
  const n = c.size * c.size;
  const data = new Float32Array(CONDITION_CHANNELS.length * n);
  CONDITION_CHANNELS.forEach((ch, k) => {
    const m = c.channels[ch];
    if (!m) return;
    for (let i = 0; i < n; i++) data[k * n + i] = m[i] / 255;
  });
  return torch.tensor(data, [1, CONDITION_CHANNELS.length, c.size, c.size]);
}

/** Checks a mask read from `file` is square and, when `size` is given, of that size. */
function checkSize(file: string, w: number, h: number, size: number | null, what: string): number {
  if (w !== h) throw new DataError(file, `${what} is ${w}x${h}; condition masks must be square`);
  if (size !== null && w !== size) throw new DataError(file, `${what} is ${w}x${h}, but ${size}x${size} was expected`);
  return w;
}

/** The sample `id` of a prepared data set: its known and predicted masks and its FOV. */
export async function loadDatasetCondition(dir: string, id: string, size?: number): Promise<ConditionMasks> {
  const entry = readManifest(dir).find((e) => e.id === id);
  if (!entry) throw new Error(`${dir}: no sample with id "${id}" in manifest.jsonl`);
  return loadEntryCondition(dir, entry, size);
}

/** As loadDatasetCondition, for a manifest entry already read (no manifest re-read per sample). */
export async function loadEntryCondition(dir: string, entry: ManifestEntry, size?: number): Promise<ConditionMasks> {
  const id = entry.id;
  const channels: ConditionMasks['channels'] = {};
  for (const ch of conditionMaskChannels(entry)) {
    const file = join(dir, entry.masks[ch]!);
    const m = await readMask(file);
    checkSize(file, m.width, m.height, entry.size, `the ${ch} mask of "${id}"`);
    channels[ch] = m.data;
  }
  let fov: Uint8Array | null = null;
  if (entry.fov && existsSync(join(dir, entry.fov))) {
    const m = await readMask(join(dir, entry.fov));
    checkSize(join(dir, entry.fov), m.width, m.height, entry.size, `the FOV of "${id}"`);
    fov = m.data;
  }
  const c: ConditionMasks = { size: entry.size, channels, fov, source: `dataset:${dir}#${id}` };
  return size === undefined ? c : resizeCondition(c, size);
}

/** The channel a file name stands for: `MA.png`, `img_optic_disc.png`, `x_vessel.tif` (case-insensitive); 'fov' for the FOV. */
export function channelOfFileName(name: string): ConditionChannel | 'fov' | null {
  const stem = name.slice(0, name.length - extname(name).length).toLowerCase();
  const names: (ConditionChannel | 'fov')[] = [...CONDITION_CHANNELS, 'fov'];
  // Longest name first, so "x_optic_disc" is not read as a channel called "disc".
  for (const ch of [...names].sort((a, b) => b.length - a.length)) {
    const low = ch.toLowerCase();
    if (stem === low || stem.endsWith(`_${low}`) || stem.endsWith(`-${low}`)) return ch;
  }
  return null;
}

/** A folder of one image per channel (see channelOfFileName); every image must name a channel. */
export async function loadFolderCondition(dir: string, size?: number): Promise<ConditionMasks> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: not a folder of condition masks`);
  const files = readdirSync(dir).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort();
  if (!files.length) throw new Error(`${dir}: no mask images (expected files such as vessel.png, optic_disc.png, MA.png, HE.png, ...)`);
  const channels: ConditionMasks['channels'] = {};
  const from: Partial<Record<ConditionChannel | 'fov', string>> = {};
  let fov: Uint8Array | null = null;
  let side: number | null = null;
  let first = '';
  for (const f of files) {
    const ch = channelOfFileName(f);
    const file = join(dir, f);
    if (!ch) throw new DataError(file, `unknown channel file: its name names none of ${CONDITION_CHANNELS.join(', ')}, fov (as NAME.png or PREFIX_NAME.png)`);
    if (from[ch]) throw new DataError(file, `a second file for channel ${ch} (the first is ${from[ch]})`);
    from[ch] = file;
    const m = await readMask(file);
    if (side !== null && (m.width !== side || m.height !== side)) throw new DataError(file, `mask size mismatch: ${m.width}x${m.height}, but ${first} is ${side}x${side}`);
    side = checkSize(file, m.width, m.height, side, 'mask');
    first ||= file;
    if (ch === 'fov') fov = m.data;
    else channels[ch] = m.data;
  }
  const c: ConditionMasks = { size: side!, channels, fov, source: `folder:${dir}` };
  return size === undefined ? c : resizeCondition(c, size);
}

/**
 * Colour key of a painted condition (RGB). Paint lesions in these colours on black; anything
 * within PAINT_TOLERANCE of a key colour in every component counts as that channel.
 */
export const PAINT_KEY: Readonly<Record<ConditionChannel, readonly [number, number, number]>> = {
  vessel: [0, 255, 0], // green
  optic_disc: [255, 128, 0], // orange
  MA: [255, 0, 0], // red
  HE: [0, 0, 255], // blue
  EX: [255, 255, 0], // yellow
  SE: [255, 255, 255], // white
  LM: [255, 0, 255], // magenta
  PM: [0, 255, 255], // cyan
};
export const PAINT_TOLERANCE = 40;
/** Pixels darker than this in every component are background. */
const PAINT_BLACK = 40;
/** More unmatched coloured pixels than this share means the file is not a painting in the key. */
const PAINT_MAX_UNMATCHED = 0.1;

export interface PaintedOptions {
  size?: number;
  /** Vessel, optic disc and FOV from elsewhere (a data set sample or a folder), for channels not painted. */
  structure?: ConditionMasks;
}

/** Decodes RGB pixels in the PAINT_KEY colours into per-channel masks (0/255). */
export function decodePainting(rgb: Uint8Array, width: number, height: number, file = 'painting'): { channels: Record<ConditionChannel, Uint8Array>; painted: ConditionChannel[]; unmatched: number } {
  const n = width * height;
  const channels = Object.fromEntries(CONDITION_CHANNELS.map((c) => [c, new Uint8Array(n)])) as Record<ConditionChannel, Uint8Array>;
  const painted = new Set<ConditionChannel>();
  let coloured = 0, unmatched = 0;
  for (let i = 0; i < n; i++) {
    const r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
    if (r < PAINT_BLACK && g < PAINT_BLACK && b < PAINT_BLACK) continue;
    coloured++;
    let hit: ConditionChannel | null = null;
    for (const ch of CONDITION_CHANNELS) {
      const k = PAINT_KEY[ch];
      if (Math.abs(r - k[0]) <= PAINT_TOLERANCE && Math.abs(g - k[1]) <= PAINT_TOLERANCE && Math.abs(b - k[2]) <= PAINT_TOLERANCE) {
        hit = ch;
        break;
      }
    }
    if (!hit) {
      unmatched++;
      continue;
    }
    channels[hit][i] = 255;
    painted.add(hit);
  }
  if (coloured > 0 && unmatched / coloured > PAINT_MAX_UNMATCHED) {
    throw new DataError(file, `${((100 * unmatched) / coloured).toFixed(1)}% of the non-black pixels match no colour of the paint key ` +
      `(${CONDITION_CHANNELS.map((c) => `${c} rgb(${PAINT_KEY[c].join(',')})`).join(', ')}); is this a painted condition?`);
  }
  return { channels, painted: CONDITION_CHANNELS.filter((c) => painted.has(c)), unmatched };
}

/**
 * One painted RGB image. Lesion channels come from the painting (unpainted ones are empty);
 * vessel and optic disc from the painting when painted, else from `structure`.
 */
export async function loadPaintedCondition(file: string, o: PaintedOptions = {}): Promise<ConditionMasks> {
  const img = await readImage(file);
  checkSize(file, img.width, img.height, null, 'painting');
  const dec = decodePainting(img.data, img.width, img.height, file);
  let c: ConditionMasks = { size: img.width, channels: {}, fov: null, source: `painted:${file}` };
  for (const ch of CONDITION_CHANNELS) {
    if (ch === 'vessel' || ch === 'optic_disc') {
      if (dec.painted.includes(ch)) c.channels[ch] = dec.channels[ch];
    } else {
      c.channels[ch] = dec.channels[ch];
    }
  }
  const size = o.size ?? (o.structure ? o.structure.size : img.width);
  c = resizeCondition(c, size);
  if (o.structure) {
    const s = resizeCondition(o.structure, size);
    for (const ch of ['vessel', 'optic_disc'] as const) if (!c.channels[ch] && s.channels[ch]) c.channels[ch] = s.channels[ch];
    c.fov = s.fov;
    c.source += ` + structure ${s.source}`;
  }
  return c;
}

/** Where `--masks` points: `dataset:DIR` (with an id), a folder of channel PNGs, or one painted image. */
/** photo: a real fundus photo whose masks segmentation models predict (photo-condition.ts). */
export type ConditionSourceKind = 'dataset' | 'folder' | 'painted' | 'photo';

export function conditionSourceKind(spec: string): ConditionSourceKind {
  if (spec.startsWith('dataset:')) return 'dataset';
  if (spec.startsWith('photo:')) return 'photo';
  if (!existsSync(spec)) throw new Error(`${spec}: condition source not found (give a folder of channel masks, a painted PNG, dataset:DIR or photo:FILE)`);
  return statSync(spec).isDirectory() ? (existsSync(join(spec, 'manifest.jsonl')) ? 'dataset' : 'folder') : 'painted';
}
