// The two image sets an evaluation compares (real A, fake B): either a plain folder of images
// or a prepared data set (manifest.jsonl, e.g. from drgan prepare, phantom or synth), whose
// grades allow per-grade metrics. Images come out in batches of uint8 [B, 3, H, W] tensors,
// the exact pixel values; extractors and SWD accept uint8 directly.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { NUM_GRADES, readManifest, type Split } from '../data/manifest.js';
import { readImage } from '../data/image-io.js';
import * as torch from '../torch/index.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.gif', '.webp'] as const;

export interface ImageItem {
  path: string;
  id: string;
  /** ICDR grade 0..4 from the manifest; null in plain folders and for ungraded samples. */
  grade: number | null;
}

export interface ImageSet {
  /** The folder as given. */
  dir: string;
  kind: 'folder' | 'prepared';
  items: ImageItem[];
}

export interface OpenImageSetOptions {
  /** Prepared sets only: which split to take (default all samples). */
  split?: Split | 'all';
}

/**
 * A folder with manifest.jsonl is a prepared data set (its images, in manifest order, with
 * grades); any other folder is read as the image files directly inside it, sorted by name.
 */
export function openImageSet(dir: string, o: OpenImageSetOptions = {}): ImageSet {
  if (!existsSync(dir)) throw new Error(`${dir}: no such image folder or data set`);
  if (!statSync(dir).isDirectory()) throw new Error(`${dir}: expected a folder of images or a prepared data set, got a file`);
  const split = o.split ?? 'all';
  if (existsSync(join(dir, 'manifest.jsonl'))) {
    const entries = readManifest(dir).filter((e) => split === 'all' || e.split === split);
    if (entries.length === 0) throw new Error(`${dir}: prepared data set has no samples in split "${split}"`);
    return { dir, kind: 'prepared', items: entries.map((e) => ({ path: join(dir, e.image), id: e.id, grade: e.grade })) };
  }
  if (split !== 'all') throw new Error(`${dir}: split "${split}" needs a prepared data set (manifest.jsonl); this is a plain folder`);
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && (IMAGE_EXTENSIONS as readonly string[]).includes(extname(d.name).toLowerCase()))
    .map((d) => d.name)
    .sort();
  if (names.length === 0) throw new Error(`${dir}: no images found (looked for ${IMAGE_EXTENSIONS.join(' ')} files directly inside, and for manifest.jsonl)`);
  return { dir, kind: 'folder', items: names.map((n) => ({ path: join(dir, n), id: n.slice(0, n.length - extname(n).length), grade: null })) };
}

/**
 * The items of each grade present, grades ascending. Refuses plain folders (they carry no
 * grades) and sets where no sample is graded; ungraded samples of a graded set are left out.
 */
export function groupByGrade(set: ImageSet): Map<number, ImageItem[]> {
  if (set.kind !== 'prepared') throw new Error(`${set.dir}: per-grade metrics need a prepared data set with grades (manifest.jsonl); this is a plain folder of images`);
  const groups = new Map<number, ImageItem[]>();
  for (let g = 0; g < NUM_GRADES; g++) {
    const items = set.items.filter((i) => i.grade === g);
    if (items.length) groups.set(g, items);
  }
  if (groups.size === 0) throw new Error(`${set.dir}: no sample has a grade, so per-grade metrics are impossible`);
  return groups;
}

export interface ReadBatchesOptions {
  batchSize: number;
  /** Resize every image to size x size (needed when a set mixes image sizes). */
  size?: number;
  /** Names the set in errors ("--real", "--fake"). */
  label?: string;
}

export interface ImageBatch {
  /** uint8 [B, 3, H, W]. */
  images: torch.Tensor;
  items: ImageItem[];
}

/**
 * Decodes items batch by batch (each batch's files in parallel). Without `size`, every image
 * must have the size of the first; the caller owns (and disposes) each batch's tensor.
 */
export async function* readImageBatches(items: readonly ImageItem[], o: ReadBatchesOptions): AsyncGenerator<ImageBatch> {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`batch size must be a positive integer, got ${o.batchSize}`);
  const label = o.label ? `${o.label}: ` : '';
  let first: { width: number; height: number; path: string } | null = null;
  for (let start = 0; start < items.length; start += o.batchSize) {
    const batch = items.slice(start, start + o.batchSize);
    const resize = o.size !== undefined ? { width: o.size, height: o.size } : undefined;
    const decoded = await Promise.all(batch.map((it) => readImage(it.path, { resize })));
    decoded.forEach((img, i) => {
      if (!first) first = { width: img.width, height: img.height, path: batch[i].path };
      else if (img.width !== first.width || img.height !== first.height) {
        throw new Error(`${label}${batch[i].path} is ${img.width}x${img.height} but ${first.path} is ${first.width}x${first.height}; pass --size N to resize every image to N x N`);
      }
    });
    const images = torch.tidy(() => torch.stack(decoded.map((img) => torch.fromBytes(img.data, 'uint8', [img.height, img.width, 3]))).permute(0, 3, 1, 2).contiguous());
    yield { images, items: batch };
  }
}
