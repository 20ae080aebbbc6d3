// A stand-in synthesis for the ablation while src/synth is unfinished: a trained DR-GAN
// checkpoint makes `perGrade` images of every grade from the condition maps of real training
// samples OF THAT GRADE (cycled in a seeded order) and a grading vector drawn for the grade,
// written as a prepared data set (manifest.ts; images and FOV, grade = the target grade).
// Lesion masks are reused from real images, not sampled; swap in src/synth's synthesis
// (sampled lesion layouts) through AblationOptions.synthesize once it exists.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataLoader } from '../data/loader.js';
import { NUM_GRADES, readManifest, writeDatasetInfo, writeManifest, type ManifestEntry } from '../data/manifest.js';
import { writePng } from '../data/image-io.js';
import { mixSeed, mulberry32, shuffleInPlace } from '../data/rng.js';
import type { DrganConfig } from '../gan/config.js';
import { Generator } from '../gan/generator.js';
import { GradingSpace } from '../latent/grading-space.js';
import { GAN_CHECKPOINT_KIND, GradingVectors } from '../train/gan-trainer.js';
import { loadCheckpoint, restoreCheckpoint } from '../train/checkpoint.js';
import * as torch from '../torch/index.js';

export interface VariantSynthesisOptions {
  /** DR-GAN run checkpoint (latest.safetensors of a run folder). */
  checkpoint: string;
  /** Real prepared set whose train split gives the condition maps. */
  data: string;
  out: string;
  perGrade: number;
  seed: number;
  batchSize?: number;
}

function toBytes(images: torch.Tensor): Uint8Array {
  // [N, 3, S, S] in [-1, 1] -> [N, S, S, 3] uint8.
  return torch.tidy(() => images.add(1).mul(127.5).round().clamp(0, 255).permute(0, 2, 3, 1).contiguous().to({ dtype: 'uint8' }).dataSync() as Uint8Array);
}

export async function synthesizeFromRealMasks(o: VariantSynthesisOptions): Promise<{ dir: string; counts: number[] }> {
  const ck = loadCheckpoint(o.checkpoint, GAN_CHECKPOINT_KIND);
  const cfg = ck.state.config as DrganConfig;
  const spacePath = ck.state.gradingSpace as string | null;
  const G = new Generator(cfg, (ck.state.stage as 1 | 2) ?? 1);
  let space: GradingSpace | null = null;
  try {
    restoreCheckpoint(ck, { modules: { G } });
  } finally {
    ck.dispose();
  }
  G.eval();
  try {
    space = !cfg.ablation.noAGM && spacePath ? GradingSpace.load(spacePath) : null;
    const zs = cfg.ablation.noAGM ? null : new GradingVectors(space, cfg.generator.gradingVectorDim, cfg.numGrades);
    const train = readManifest(o.data).filter((e) => e.split === 'train' && e.grade !== null);
    if (train.length === 0) throw new Error(`${o.data}: the train split has no graded samples to take condition maps from`);
    for (const sub of ['images', 'fov']) mkdirSync(join(o.out, sub), { recursive: true });
    const entries: ManifestEntry[] = [];
    const counts = new Array<number>(NUM_GRADES).fill(0);
    const bs = o.batchSize ?? 8;
    for (let g = 0; g < NUM_GRADES; g++) {
      // Masks of the target grade where the real set has some; otherwise of any grade.
      const own = train.filter((e) => e.grade === g);
      const pool = shuffleInPlace([...(own.length ? own : train)], mulberry32(mixSeed(o.seed, g, 0x5e)));
      const sources = Array.from({ length: o.perGrade }, (_, i) => pool[i % pool.length]);
      for (let start = 0; start < sources.length; start += bs) {
        const chunk = sources.slice(start, start + bs);
        const loader = new DataLoader({ dir: o.data, split: 'train', batchSize: chunk.length, size: cfg.resolution, shuffle: false, prefetch: 1 });
        // The loader reads by entry; restrict it to this chunk through its entries list.
        loader.entries.splice(0, loader.entries.length, ...chunk);
        const b = (await loader.epoch(0).next()).value!;
        const { rgb, fov, S } = torch.noGrad(() => torch.tidy(() => {
          const c = torch.tensor(b.conditions, b.shapes.conditions);
          const z = zs ? zs.draw(new Array(chunk.length).fill(g), o.seed, 0x100000 + g * 100000 + start) : null;
          const img = G.forward(c, z, mixSeed(o.seed, g, start)).image;
          const S = img.shape[2];
          const f = torch.tensor(b.fov, b.shapes.fov);
          const fovS = S === cfg.resolution ? f : torch.F.interpolate(f, { size: S, mode: 'nearest' });
          // Outside the FOV a fundus photo is black.
          const masked = img.add(1).mul(fovS).sub(1);
          return { rgb: toBytes(masked), fov: fovS.mul(255).round().to({ dtype: 'uint8' }).dataSync() as Uint8Array, S };
        }));
        for (let i = 0; i < chunk.length; i++) {
          const id = `synth-g${g}-${String(start + i).padStart(6, '0')}`;
          await writePng(join(o.out, 'images', `${id}.png`), rgb.subarray(i * S * S * 3, (i + 1) * S * S * 3), S, S, 3);
          await writePng(join(o.out, 'fov', `${id}.png`), fov.subarray(i * S * S, (i + 1) * S * S), S, S, 1);
          entries.push({
            id, image: `images/${id}.png`, fov: `fov/${id}.png`, masks: {}, grade: g, known: [], predicted: [], split: 'train',
            source: chunk[i].id, size: S, meta: { checkpoint: o.checkpoint, conditionFrom: chunk[i].id, seed: o.seed },
          });
          counts[g]++;
        }
      }
    }
    writeManifest(o.out, entries);
    writeDatasetInfo(o.out, { format: 'drgan-synth-real-masks', size: entries[0].size, channels: [], count: entries.length, gradeCounts: counts, created: new Date().toISOString(), checkpoint: o.checkpoint });
    return { dir: o.out, counts };
  } finally {
    G.dispose();
    space?.dispose();
  }
}
