// Tiny image sets on disk for the image-set, extractor and CLI tests: plain folders of PNGs
// and prepared data sets (manifest.jsonl with grades), with deterministic pixels.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePng } from '../../src/data/image-io.js';
import { writeManifest, type ManifestEntry } from '../../src/data/manifest.js';
import { mulberry32 } from '../../src/data/rng.js';
import { Grader } from '../../src/models/grader.js';
import * as torch from '../../src/torch/index.js';

export function tempDir(t: { after(fn: () => void): void }, prefix = 'drgan-eval-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** HWC RGB pixels: a colour gradient plus noise of the given amplitude (0 = smooth). */
export function pixels(size: number, seed: number, noise: number, height = size): Uint8Array {
  const rand = mulberry32(seed);
  const out = new Uint8Array(size * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        const base = (c === 0 ? x / size : c === 1 ? y / height : 0.5) * 200 + 20;
        out[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(base + (rand() - 0.5) * 2 * noise)));
      }
    }
  }
  return out;
}

/** A folder of `count` PNGs named img0.png, img1.png, ... */
export async function pngFolder(dir: string, count: number, o: { size?: number; seed?: number; noise?: number } = {}): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const size = o.size ?? 32;
  for (let i = 0; i < count; i++) await writePng(join(dir, `img${i}.png`), pixels(size, (o.seed ?? 1) * 1000 + i, o.noise ?? 40), size, size, 3);
  return dir;
}

/** A prepared data set whose i-th image has grades[i] (null = ungraded) and split splits[i] (default train). */
export async function preparedSet(dir: string, grades: (number | null)[], o: { size?: number; seed?: number; noise?: number; splits?: ManifestEntry['split'][] } = {}): Promise<string> {
  mkdirSync(join(dir, 'images'), { recursive: true });
  const size = o.size ?? 32;
  const entries: ManifestEntry[] = [];
  for (let i = 0; i < grades.length; i++) {
    const id = `s${i}`;
    // Grade shifts the noise level, so per-grade distances differ from the pooled one.
    await writePng(join(dir, 'images', `${id}.png`), pixels(size, (o.seed ?? 1) * 1000 + i, (o.noise ?? 30) + 10 * (grades[i] ?? 0)), size, size, 3);
    entries.push({ id, image: `images/${id}.png`, fov: `fov/${id}.png`, masks: {}, grade: grades[i], known: [], predicted: [], split: o.splits?.[i] ?? 'train', source: 'test', size });
  }
  writeManifest(dir, entries);
  return dir;
}

/** A small random grader file (ResNet-18 at 1/16 width: 32-d features). */
export function tinyGrader(path: string, seed = 3): void {
  torch.manualSeed(seed);
  const g = new Grader({ backbone: 'resnet18', widthDivisor: 16, inputSize: 32 });
  g.save(path);
  g.dispose();
}
