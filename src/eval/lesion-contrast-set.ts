// Lesion contrast (lesion-contrast.ts) over a prepared data set: every sample's image is
// measured on that sample's own condition masks, so a real set uses its annotations and a
// `drgan synth` output the masks it was generated from. Masks are those the manifest marks
// known or predicted, as synthesis reads them (synth/condition-io.ts). A sample that cannot be
// measured (no masks, a missing or unreadable file, sizes that disagree) stops the run with
// the file named: skipping it would change the set the numbers describe without a word.
import { join } from 'node:path';
import { DataError } from '../data/errors.js';
import { readImage, readMask, type GreyImage } from '../data/image-io.js';
import { CONDITION_CHANNELS, conditionMaskChannels, readManifest, type ManifestEntry, type Split } from '../data/manifest.js';
import { resizeNearest } from '../data/mask-resize.js';
import { LesionContrastAccumulator, lesionContrast, type ChannelMasks, type ImageLesionContrast, type LesionContrastSummary } from './lesion-contrast.js';

export interface MeasureLesionContrastOptions {
  /** Which split to read (default all samples). */
  split?: Split | 'all';
  /** Resize image (lanczos3) and masks (nearest, so they stay binary) to size x size. */
  size?: number;
  /** Library callers: keep only the samples this accepts (after the split; e.g. held-out and graded). */
  filter?: (e: ManifestEntry) => boolean;
  /** Only the first `limit` samples kept, in manifest order. */
  limit?: number;
  /** Called after each sample, e.g. for progress. */
  onSample?: (done: number, total: number, id: string, r: ImageLesionContrast) => void;
}

export interface SetLesionContrast extends LesionContrastSummary {
  dir: string;
  split: Split | 'all';
  /** Side the images were measured at; null when read at their own size. */
  size: number | null;
}

function resizePlane(src: GreyImage, dw: number, dh: number): Uint8Array {
  return src.width === dw && src.height === dh ? src.data : resizeNearest(src.data, src.width, src.height, dw, dh);
}

/** One sample's contrast, its image and masks read from `dir` (and resized to `size` when given). */
export async function measureEntry(dir: string, e: ManifestEntry, size?: number): Promise<ImageLesionContrast> {
  const channels = conditionMaskChannels(e);
  if (channels.length === 0) {
    throw new DataError(join(dir, 'manifest.jsonl'), `sample "${e.id}" has no condition masks (none of ${CONDITION_CHANNELS.join(', ')} is listed in masks and marked known or predicted), so its lesion contrast cannot be measured`);
  }
  if (!e.fov) throw new DataError(join(dir, 'manifest.jsonl'), `sample "${e.id}" has no FOV mask ("fov" field), which the lesion contrast needs for its background`);
  const imageFile = join(dir, e.image);
  const resize = size !== undefined ? { width: size, height: size } : undefined;
  const planes = [...channels.map((ch) => join(dir, e.masks[ch]!)), join(dir, e.fov)];
  const [img, ...grey] = await Promise.all([readImage(imageFile, { resize }), ...planes.map((p) => readMask(p))]);
  const fit = (m: GreyImage, file: string): Uint8Array => {
    if (size !== undefined) return resizePlane(m, size, size);
    if (m.width !== img.width || m.height !== img.height) {
      throw new DataError(file, `mask is ${m.width}x${m.height} but its image ${imageFile} is ${img.width}x${img.height} (pass a size to resize both)`);
    }
    return m.data;
  };
  const masks: ChannelMasks = {};
  channels.forEach((ch, k) => (masks[ch] = fit(grey[k], planes[k])));
  const fov = fit(grey[grey.length - 1], planes[planes.length - 1]);
  return lesionContrast({ rgb: img.data, width: img.width, height: img.height, masks, fov, name: imageFile });
}

/** Per-channel contrast summary of a prepared data set (its split, filtered, first `limit` samples). */
export async function measureLesionContrast(dir: string, o: MeasureLesionContrastOptions = {}): Promise<SetLesionContrast> {
  const split = o.split ?? 'all';
  if (o.size !== undefined && !(Number.isInteger(o.size) && o.size >= 1)) throw new RangeError(`lesion contrast: size must be a positive integer, got ${o.size}`);
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1)) throw new RangeError(`lesion contrast: limit must be a positive integer, got ${o.limit}`);
  let entries = readManifest(dir).filter((e) => (split === 'all' || e.split === split) && (!o.filter || o.filter(e)));
  if (entries.length === 0) throw new Error(`${dir}: prepared data set has no samples in split "${split}"${o.filter ? ' that pass the filter' : ''}`);
  if (o.limit !== undefined) entries = entries.slice(0, o.limit);
  const acc = new LesionContrastAccumulator();
  for (let i = 0; i < entries.length; i++) {
    const r = await measureEntry(dir, entries[i], o.size);
    acc.add(r);
    o.onSample?.(i + 1, entries.length, entries[i].id, r);
  }
  return { dir, split, size: o.size ?? null, ...acc.summary() };
}
