// A PNG grid of generator samples, saved during training so progress can be seen: one row
// per fixed condition map, the real photo first, then one image per ICDR grade 0..4. The
// conditions, grading vectors and AGM noise are the same at every save, so successive grids
// differ only by what the generator learnt (and drawing them never touches the training
// run's random stream).
import { renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as torch from '../torch/index.js';
import type { Generator } from '../gan/generator.js';
import { writePng } from '../data/image-io.js';

export const GRID_PAD = 2;

/** Images [N, 3, S, S] in [-1, 1] -> HWC uint8 tiles, `cols` per row, GRID_PAD grey pixels between. */
export function tileImages(images: torch.Tensor, cols: number): { data: Uint8Array; width: number; height: number } {
  const s = images.shape;
  if (s.length !== 4 || s[1] !== 3 || s[2] !== s[3]) throw new Error(`sample grid: expected images [N, 3, S, S], got shape [${s.join(', ')}]`);
  if (!Number.isInteger(cols) || cols < 1) throw new Error(`sample grid: cols must be a positive integer, got ${cols}`);
  const [n, , S] = s;
  const rows = Math.ceil(n / cols);
  const width = cols * S + (cols + 1) * GRID_PAD, height = rows * S + (rows + 1) * GRID_PAD;
  const data = new Uint8Array(width * height * 3).fill(128);
  const px = torch.noGrad(() => torch.tidy(() => images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to({ dtype: 'uint8' }).permute(0, 2, 3, 1).contiguous().dataSync())) as Uint8Array;
  for (let i = 0; i < n; i++) {
    const x0 = GRID_PAD + (i % cols) * (S + GRID_PAD), y0 = GRID_PAD + Math.floor(i / cols) * (S + GRID_PAD);
    for (let y = 0; y < S; y++) {
      const src = (i * S + y) * S * 3;
      data.set(px.subarray(src, src + S * 3), ((y0 + y) * width + x0) * 3);
    }
  }
  return { data, width, height };
}

export interface SampleGridInputs {
  /** Condition maps [K, 8, R, R] of the fixed rows. */
  conditions: torch.Tensor;
  /** Their real photos [K, 3, R, R] in [-1, 1] (first column). */
  images: torch.Tensor;
  /** Grading vectors [K, zDim] for one grade (fixed per grade), or null without AGM. */
  gradingVectors: (grade: number, k: number) => torch.Tensor | null;
  numGrades: number;
  /** Seed of the AGM noise (same every save). */
  noiseSeed: number;
}

/** Generates the grid in eval mode without gradients and writes it atomically as PNG. */
export async function saveSampleGrid(path: string, G: Generator, inp: SampleGridInputs): Promise<{ width: number; height: number }> {
  const K = inp.conditions.shape[0];
  const wasTraining = G.training;
  G.eval();
  let tiles: ReturnType<typeof tileImages>;
  try {
    tiles = torch.noGrad(() => torch.tidy(() => {
      const size = G.outputSize;
      const real = inp.images.shape[2] === size ? inp.images : torch.F.adaptiveAvgPool2d(inp.images, size);
      const perGrade = Array.from({ length: inp.numGrades }, (_, g) => G.forward(inp.conditions, inp.gradingVectors(g, K), inp.noiseSeed).image);
      // Row k: real_k, grade0_k, ..., grade4_k.
      const rows = Array.from({ length: K }, (_, k) => torch.cat([real.narrow(0, k, 1), ...perGrade.map((t) => t.narrow(0, k, 1))], 0));
      return tileImages(torch.cat(rows, 0), 1 + inp.numGrades);
    }));
  } finally {
    G.train(wasTraining);
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp.png`);
  await writePng(tmp, tiles.data, tiles.width, tiles.height, 3);
  renameSync(tmp, path);
  return { width: tiles.width, height: tiles.height };
}
