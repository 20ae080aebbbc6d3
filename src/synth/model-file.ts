// What a file that `drgan synth --model` reads holds: a DR-GAN training checkpoint (drgan train
// gan) or an exported generator (drgan export, export-model.ts), both in the checkpoint
// container. One reading of the generator in such a file, shared by synthesis and by export.
import * as torch from '../torch/index.js';
import { validateConfig, type DrganConfig } from '../gan/config.js';
import { Generator } from '../gan/generator.js';
import type { GradingSpaceMeta } from '../latent/grading-space.js';
import type { LoadedCheckpoint } from '../train/checkpoint.js';

export const GENERATOR_EXPORT_KIND = 'drgan-generator';

/** The JSON state of an exported generator file. */
export interface ExportedGeneratorState {
  config: DrganConfig;
  stage: 1 | 2;
  /** How the floating-point weights are stored; they are loaded as float32 either way. */
  dtype: 'float32' | 'float16';
  /** The embedded space's metadata (its tensors are module "space"), and the file it came from; null: none. */
  gradingSpace: (GradingSpaceMeta & { file: string }) | null;
  /** The training checkpoint it came from: path, SHA-256 of the file, training step. */
  exportedFrom: { checkpoint: string; sha256: string; step: number | null };
}

/**
 * The generator a loaded checkpoint describes: config and stage from its state, weights from
 * module "G" (float16 ones loaded as float32), on the CPU. Errors name the file and what is
 * missing or does not fit. The caller disposes the generator.
 */
export function generatorFromCheckpoint(ck: LoadedCheckpoint): { generator: Generator; config: DrganConfig; stage: 1 | 2 } {
  const state = ck.state as { config?: DrganConfig; stage?: number };
  if (!state.config) throw new Error(`${ck.path}: the checkpoint stores no config (state.config); cannot rebuild the generator`);
  validateConfig(state.config);
  const stage: 1 | 2 = state.stage === 2 ? 2 : 1;
  const stored = ck.modules.G;
  if (!stored) throw new Error(`${ck.path}: no generator weights (module "G") in the checkpoint (has: ${Object.keys(ck.modules).join(', ') || 'none'})`);
  const G = new Generator(state.config, stage);
  const weights = new Map<string, torch.Tensor>();
  for (const [k, v] of stored) weights.set(k, v.dtype === 'float16' ? v.float() : v);
  try {
    G.loadStateDict(weights);
  } catch (err) {
    G.dispose();
    throw new Error(`${ck.path}: generator weights do not fit its config: ${(err as Error).message}`);
  } finally {
    for (const [k, v] of weights) if (v !== stored.get(k)) v.dispose();
  }
  return { generator: G, config: state.config, stage };
}
