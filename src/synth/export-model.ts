// A synthesis-only model file from a DR-GAN training checkpoint: the generator's weights
// (float32, or float16 with `half`), its config and stage, and the grading space it was
// trained with, embedded. The file alone then makes images on any machine: a training
// checkpoint names its grading space by path (gone once the run folder is moved) and also
// holds D, both Adam states and the RNG, several times the generator's size. Same container
// as a checkpoint (safetensors with a SHA-256 over everything), so a damaged file is refused
// by name; `drgan synth --model` reads both kinds (synthesize.ts).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type * as torch from '../torch/index.js';
import { GradingSpace } from '../latent/grading-space.js';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { GAN_CHECKPOINT_KIND } from '../train/gan-trainer.js';
import { generatorFromCheckpoint, GENERATOR_EXPORT_KIND, type ExportedGeneratorState } from './model-file.js';

export { GENERATOR_EXPORT_KIND, type ExportedGeneratorState } from './model-file.js';

export interface ExportGeneratorOptions {
  /** A DR-GAN training checkpoint (drgan train gan). */
  checkpoint: string;
  /** The model file to write (atomically). */
  out: string;
  /** Store floating-point weights as float16 (half the size; images differ by rounding). */
  half?: boolean;
  /** Grading space to embed; default the one the checkpoint was trained with. */
  gradingSpace?: string | null;
}

export interface ExportGeneratorResult {
  out: string;
  bytes: number;
  checkpointBytes: number;
  /** Numbers in the generator's state dict (weights and buffers). */
  values: number;
  dtype: 'float32' | 'float16';
  /** The embedded grading space's source file; null when the model uses none. */
  gradingSpace: string | null;
  stage: 1 | 2;
}

export function exportGenerator(o: ExportGeneratorOptions): ExportGeneratorResult {
  if (resolve(o.out) === resolve(o.checkpoint)) throw new Error(`${o.out}: the export would overwrite the checkpoint it reads; choose another output file`);
  const ck = loadCheckpoint(o.checkpoint);
  const owned: torch.Tensor[] = [];
  let space: GradingSpace | null = null;
  try {
    if (ck.kind !== GAN_CHECKPOINT_KIND) {
      throw new Error(`${o.checkpoint}: a "${ck.kind}" file; export reads a DR-GAN training checkpoint ("${GAN_CHECKPOINT_KIND}", written by drgan train gan)`);
    }
    const state = ck.state as { step?: number; gradingSpace?: string | null };
    // Refuse weights that do not fit the config before anything is written.
    const { generator, config, stage } = generatorFromCheckpoint(ck);
    generator.dispose();
    const weights = ck.modules.G;

    let spaceFile: string | null = null;
    if (!config.ablation.noAGM) {
      spaceFile = o.gradingSpace ?? state.gradingSpace ?? null;
      if (spaceFile !== null) {
        if (!existsSync(spaceFile)) {
          throw new Error(o.gradingSpace
            ? `${spaceFile}: grading space file not found`
            : `${spaceFile}: the grading space this model was trained with is gone; pass the file to embed (--grading-space FILE)`);
        }
        space = GradingSpace.load(spaceFile);
        const dim = config.generator.gradingVectorDim;
        if (space.dim !== dim) throw new Error(`${spaceFile}: grading vectors have ${space.dim} dimensions, the model's gradingVectorDim is ${dim}`);
        if (space.numGrades !== config.numGrades) throw new Error(`${spaceFile}: the space has ${space.numGrades} grades, the model ${config.numGrades}`);
      }
    }

    const dtype = o.half ? 'float16' : 'float32';
    const stored = new Map<string, torch.Tensor>();
    let values = 0;
    for (const [k, v] of weights) {
      values += v.numel;
      if (o.half && v.dtype === 'float32') {
        const h = v.to('float16');
        owned.push(h);
        stored.set(k, h);
      } else stored.set(k, v);
    }
    const modules: Record<string, ReadonlyMap<string, torch.Tensor>> = { G: stored };
    let spaceState: ExportedGeneratorState['gradingSpace'] = null;
    if (space) {
      const { tensors, meta } = space.toTensors();
      modules.space = tensors;
      spaceState = { ...meta, file: spaceFile! };
    }
    const exportState: ExportedGeneratorState = {
      config, stage, dtype, gradingSpace: spaceState,
      exportedFrom: { checkpoint: o.checkpoint, sha256: createHash('sha256').update(readFileSync(o.checkpoint)).digest('hex'), step: state.step ?? null },
    };
    saveCheckpoint(o.out, { kind: GENERATOR_EXPORT_KIND, modules, state: exportState as unknown as Record<string, unknown> });
    return {
      out: o.out, bytes: statSync(o.out).size, checkpointBytes: statSync(o.checkpoint).size, values, dtype, gradingSpace: spaceFile, stage,
    };
  } finally {
    for (const t of owned) t.dispose();
    space?.dispose();
    ck.dispose();
  }
}
