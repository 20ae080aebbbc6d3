#!/usr/bin/env node
// Renders a grid of phantom samples, one row per ICDR grade, for the README and for eyeballing
// changes to src/phantom/. Usage: node scripts/phantom-grid.mjs [out.jpg] [--size 256] [--cols 4] [--seed 1]
import sharp from 'sharp';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { renderPhantom } = await import(pathToFileURL(join(root, 'dist/src/phantom/render.js')).href);

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const out = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--'))) ?? join(root, 'docs/images/phantom-grid.jpg');
const size = opt('size', 256);
const cols = opt('cols', 4);
const seed = opt('seed', 1);
const gap = 4;

const W = cols * size + (cols + 1) * gap;
const H = 5 * size + 6 * gap;
const canvas = Buffer.alloc(W * H * 3, 255);
const t0 = performance.now();
for (let grade = 0; grade < 5; grade++) {
  for (let c = 0; c < cols; c++) {
    // Same eyes in every row (index c), drawn for each grade in turn.
    const s = renderPhantom(seed, c, size, { grade });
    const ox = gap + c * (size + gap);
    const oy = gap + grade * (size + gap);
    for (let y = 0; y < size; y++) s.rgb.subarray(y * size * 3, (y + 1) * size * 3).forEach((b, k) => (canvas[((oy + y) * W + ox) * 3 + k] = b));
  }
}
mkdirSync(dirname(out), { recursive: true });
// JPEG by default: the noisy photographic texture makes a lossless PNG of the grid ~3 MB.
const image = sharp(canvas, { raw: { width: W, height: H, channels: 3 } });
await (out.endsWith('.png') ? image.png() : image.jpeg({ quality: 88, mozjpeg: true })).toFile(out);
console.log(`${out}: ${5 * cols} samples at ${size}px, rows = grades 0..4, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
