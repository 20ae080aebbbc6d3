// Fixtures for the data tests: synthetic fundus photos with a known circle, image writers for
// every format, temp folders, and where the real data sets live (../shared/data beside the repo).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { RgbImage } from '../../src/data/bmp.js';
import { mulberry32 } from '../../src/data/rng.js';

/** Repository root (this file runs from dist/test/data/). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const sharedData = join(repoRoot, '..', 'shared', 'data');
export const driveDir = join(sharedData, 'DRIVE');
export const haveDrive = existsSync(join(driveDir, 'training', 'images'));
export const DRIVE_MISSING = `real DRIVE data not found at ${driveDir} (tests read ../shared/data beside the repo)`;

export function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'drgan-data-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export interface FundusSpec {
  width: number;
  height: number;
  cx: number;
  cy: number;
  r: number;
  /** Level of the dark border (0..40). */
  border?: number;
  /** Brightness falls from 1 on the right to this on the left (uneven illumination). */
  dimLeft?: number;
  seed?: number;
}

/** An orange disc with texture and noise on a dark noisy border. */
export function syntheticFundus(s: FundusSpec): RgbImage {
  const rand = mulberry32(s.seed ?? 1);
  const data = new Uint8Array(s.width * s.height * 3);
  const border = s.border ?? 4;
  for (let y = 0; y < s.height; y++) {
    for (let x = 0; x < s.width; x++) {
      const o = (y * s.width + x) * 3;
      const d = Math.hypot(x + 0.5 - s.cx, y + 0.5 - s.cy);
      const noise = (rand() - 0.5) * 6;
      if (d > s.r) {
        data[o] = data[o + 1] = data[o + 2] = clamp(border + noise);
        continue;
      }
      const light = s.dimLeft === undefined ? 1 : s.dimLeft + (1 - s.dimLeft) * (x / s.width);
      const vignette = 1 - 0.35 * (d / s.r) ** 2;
      const texture = 10 * Math.sin(x / 7) * Math.sin(y / 9);
      data[o] = clamp((200 + texture) * vignette * light + noise);
      data[o + 1] = clamp((95 + texture / 2) * vignette * light + noise);
      data[o + 2] = clamp(40 * vignette * light + noise);
    }
  }
  return { data, width: s.width, height: s.height };
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Paints a filled square of colour `rgb` centred at (x, y) with half-side h. */
export function paintSquare(img: { data: Uint8Array; width: number; height: number }, x: number, y: number, h: number, rgb: number[]): void {
  const ch = img.data.length / (img.width * img.height);
  for (let yy = y - h; yy <= y + h; yy++) {
    for (let xx = x - h; xx <= x + h; xx++) {
      if (xx < 0 || yy < 0 || xx >= img.width || yy >= img.height) continue;
      for (let c = 0; c < ch; c++) img.data[(yy * img.width + xx) * ch + c] = rgb[c % rgb.length];
    }
  }
}

export async function writeImage(path: string, img: { data: Uint8Array; width: number; height: number }, channels: 1 | 3 = 3): Promise<void> {
  const ext = path.split('.').pop()!.toLowerCase();
  if (ext === 'bmp') {
    writeFileSync(path, encodeBmp24(img as RgbImage));
    return;
  }
  let p = sharp(img.data, { raw: { width: img.width, height: img.height, channels } });
  if (ext === 'jpg' || ext === 'jpeg') p = p.jpeg({ quality: 95 });
  else if (ext === 'tif' || ext === 'tiff') p = p.tiff({ compression: 'lzw' });
  else if (ext === 'gif') p = p.gif();
  else p = p.png();
  await p.toFile(path);
}

export function greyMask(width: number, height: number): { data: Uint8Array; width: number; height: number } {
  return { data: new Uint8Array(width * height), width, height };
}

/** Bottom-up 24-bit BI_RGB BMP, rows padded to 4 bytes. */
export function encodeBmp24(img: RgbImage): Buffer {
  const stride = Math.ceil((img.width * 3) / 4) * 4;
  const buf = Buffer.alloc(54 + stride * img.height);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(img.width, 18);
  buf.writeInt32LE(img.height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  for (let y = 0; y < img.height; y++) {
    const row = 54 + (img.height - 1 - y) * stride;
    for (let x = 0; x < img.width; x++) {
      const s = (y * img.width + x) * 3;
      buf[row + x * 3] = img.data[s + 2];
      buf[row + x * 3 + 1] = img.data[s + 1];
      buf[row + x * 3 + 2] = img.data[s];
    }
  }
  return buf;
}

export function iou(a: Uint8Array, b: Uint8Array): number {
  let i = 0;
  let u = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k] > 127;
    const y = b[k] > 127;
    if (x && y) i++;
    if (x || y) u++;
  }
  return u ? i / u : 1;
}

/** Centroid of pixels where pred holds, in a w-wide plane. */
export function centroid(n: number, w: number, pred: (i: number) => boolean): { x: number; y: number; count: number } {
  let sx = 0;
  let sy = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    if (!pred(i)) continue;
    sx += i % w;
    sy += Math.floor(i / w);
    c++;
  }
  return { x: sx / c, y: sy / c, count: c };
}
