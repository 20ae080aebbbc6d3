// Reading photos and masks in every format the sources ship (PNG, JPEG, TIFF, GIF through
// sharp; BMP through bmp.ts), 8 or 16 bit, upright per EXIF orientation, and writing PNG.
// All failures become DataErrors naming the file, so a corrupt photo is reported, not thrown
// from deep inside libvips with no file name.
import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeBmp, isBmp, type RgbImage } from './bmp.js';
import { DataError } from './errors.js';

export type { RgbImage } from './bmp.js';

export interface GreyImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A decodable image: its upright size and a factory for a fresh sharp pipeline (upright, no alpha). */
export interface OpenedImage {
  path: string;
  width: number;
  height: number;
  format: string;
  pipeline(): sharp.Sharp;
}

// 'warning' makes libvips fail on truncated JPEG/PNG data instead of returning grey rows.
const SHARP_OPTIONS: sharp.SharpOptions = { failOn: 'warning' };

export async function openImage(path: string): Promise<OpenedImage> {
  let head: Buffer;
  try {
    head = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(path, code === 'ENOENT' ? 'file not found' : `cannot read file (${(err as Error).message})`);
  }
  if (head.length === 0) throw new DataError(path, 'empty file');
  if (isBmp(head)) {
    let img: RgbImage;
    try {
      img = decodeBmp(head);
    } catch (err) {
      throw new DataError(path, `corrupt or unsupported BMP: ${(err as Error).message}`);
    }
    const raw = { width: img.width, height: img.height, channels: 3 as const };
    return { path, width: img.width, height: img.height, format: 'bmp', pipeline: () => sharp(img.data, { raw }) };
  }
  let meta: sharp.Metadata;
  try {
    meta = await sharp(head, SHARP_OPTIONS).metadata();
  } catch (err) {
    throw new DataError(path, `not a readable image: corrupt, truncated or unsupported format (${(err as Error).message})`);
  }
  if (!meta.width || !meta.height) throw new DataError(path, 'image has no size');
  // EXIF orientations 5..8 swap width and height once the photo is turned upright.
  const swap = (meta.orientation ?? 1) >= 5;
  const width = swap ? meta.height : meta.width;
  const height = swap ? meta.width : meta.height;
  return {
    path,
    width,
    height,
    format: meta.format ?? 'unknown',
    pipeline: () => sharp(head, SHARP_OPTIONS).rotate().flatten({ background: '#000000' }),
  };
}

/** Runs a pipeline to raw pixels, turning libvips failures (truncated data) into a DataError. */
async function toRaw(path: string, p: sharp.Sharp): Promise<{ data: Uint8Array; width: number; height: number; channels: number }> {
  try {
    const { data, info } = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    throw new DataError(path, `cannot decode image: corrupt or truncated (${(err as Error).message})`);
  }
}

export interface ReadOptions {
  /** Decode at this size (sharp shrinks JPEGs on load, which is much faster for big photos). */
  resize?: { width: number; height: number };
}

/** RGB, HWC, 8 bit; 16-bit and grey inputs are converted, alpha flattened onto black. */
export async function readImage(path: string, opts: ReadOptions = {}): Promise<RgbImage> {
  return decodeRgb(await openImage(path), opts);
}

export async function decodeRgb(img: OpenedImage, opts: ReadOptions = {}): Promise<RgbImage> {
  let p = img.pipeline();
  if (opts.resize && (opts.resize.width !== img.width || opts.resize.height !== img.height)) {
    p = p.resize(opts.resize.width, opts.resize.height, { fit: 'fill', kernel: 'lanczos3' });
  }
  const r = await toRaw(img.path, p.toColourspace('srgb'));
  if (r.channels !== 3) throw new DataError(img.path, `expected 3 colour channels after conversion, got ${r.channels}`);
  return { data: r.data, width: r.width, height: r.height };
}

/**
 * A mask as one grey channel: the maximum over colour channels, because some sources store
 * binary masks as pure red (IDRiD TIFs) where luminance would be 54, not 255.
 */
export async function readMask(path: string): Promise<GreyImage> {
  const img = await openImage(path);
  const r = await toRaw(path, img.pipeline().toColourspace('srgb'));
  const n = r.width * r.height;
  const out = new Uint8Array(n);
  for (let i = 0, s = 0; i < n; i++, s += r.channels) {
    let m = r.data[s];
    for (let c = 1; c < Math.min(3, r.channels); c++) if (r.data[s + c] > m) m = r.data[s + c];
    out[i] = m;
  }
  return { data: out, width: r.width, height: r.height };
}

/** Writes 8-bit PNG from HWC pixels with 1 (grey) or 3 (RGB) channels. */
export async function writePng(path: string, data: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<void> {
  if (data.length !== width * height * channels) throw new Error(`writePng ${path}: ${data.length} bytes for ${width}x${height}x${channels}`);
  await sharp(data, { raw: { width, height, channels } })
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .png({ compressionLevel: 6 })
    .toFile(path);
}

export async function mtimeMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}
