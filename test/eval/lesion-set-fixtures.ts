// Tiny prepared data sets with condition masks for the lesion-contrast tests: flat images with
// lesions painted at a chosen strength, written as PNG (lossless) so the tests can compare
// what the set reader measures with lesionContrast on the same arrays in memory.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writePng } from '../../src/data/image-io.js';
import { maskPath, writeManifest, type ConditionChannel, type ManifestEntry } from '../../src/data/manifest.js';
import type { ChannelMasks } from '../../src/eval/lesion-contrast.js';

export interface LesionSample {
  id: string;
  rgb: Uint8Array;
  /** The masks the manifest lists as known or predicted (what the metric must use). */
  masks: ChannelMasks;
  fov: Uint8Array;
}

type Box = [x0: number, y0: number, x1: number, y1: number];
/** Per sample: level of the flat background, lesions (channel, box, green offset at strength 1), which are predicted, split. */
const SAMPLES: { level: number; lesions: [ConditionChannel, Box, number][]; predicted?: ConditionChannel[]; split: ManifestEntry['split'] }[] = [
  { level: 100, lesions: [['vessel', [4, 10, 27, 10], -40], ['EX', [19, 19, 21, 21], 60]], split: 'train' },
  { level: 90, lesions: [['vessel', [12, 3, 12, 28], -30], ['HE', [18, 8, 21, 11], -50], ['MA', [8, 20, 9, 20], -60]], predicted: ['HE'], split: 'train' },
  { level: 110, lesions: [['vessel', [3, 16, 28, 16], -36], ['optic_disc', [20, 20, 25, 25], 40]], split: 'val' },
];

export const LESION_SET_SIZE = 32;

/**
 * Writes a prepared set of the three samples above at `strength` (lesion offsets scaled; 0.5
 * halves them, and since the background is flat the contrast halves exactly). Each sample
 * also has an HE mask file on disk that its manifest does not mark known or predicted
 * (sample 1 excepted), which the metric must ignore.
 */
export async function writeLesionSet(dir: string, strength = 1): Promise<LesionSample[]> {
  const S = LESION_SET_SIZE;
  for (const sub of ['images', 'masks', 'fov']) mkdirSync(join(dir, sub), { recursive: true });
  const fov = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) fov[y * S + x] = (x - 15.5) ** 2 + (y - 15.5) ** 2 <= 15 ** 2 ? 255 : 0;
  const out: LesionSample[] = [];
  const entries: ManifestEntry[] = [];
  for (const [k, s] of SAMPLES.entries()) {
    const id = `s${k}`;
    const rgb = new Uint8Array(S * S * 3);
    for (let i = 0; i < S * S; i++) rgb.set([s.level + 40, s.level, s.level / 2], 3 * i);
    const masks: ChannelMasks = {};
    const files: ManifestEntry['masks'] = {};
    for (const [ch, [x0, y0, x1, y1], offset] of s.lesions) {
      const m = new Uint8Array(S * S);
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) {
        m[y * S + x] = 255;
        rgb[3 * (y * S + x) + 1] = s.level + offset * strength;
      }
      masks[ch] = m;
      files[ch] = maskPath(id, ch);
      await writePng(join(dir, files[ch]!), m, S, S, 1);
    }
    if (!masks.HE) {
      // On disk and in `masks`, but neither known nor predicted: not a condition of this sample.
      const decoy = new Uint8Array(S * S).fill(255);
      files.HE = maskPath(id, 'HE');
      await writePng(join(dir, files.HE), decoy, S, S, 1);
    }
    await writePng(join(dir, 'images', `${id}.png`), rgb, S, S, 3);
    await writePng(join(dir, 'fov', `${id}.png`), fov, S, S, 1);
    const predicted = s.predicted ?? [];
    entries.push({
      id, image: `images/${id}.png`, fov: `fov/${id}.png`, masks: files, grade: k, split: s.split, source: 'test', size: S,
      known: s.lesions.map(([ch]) => ch).filter((ch) => !predicted.includes(ch)), predicted,
    });
    out.push({ id, rgb, masks, fov });
  }
  writeManifest(dir, entries);
  return out;
}
