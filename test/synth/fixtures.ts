// Shared fixtures for the synthesis tests: a small phantom data set (exact masks and known
// per-lesion counts) and a tiny untrained DR-GAN checkpoint in the trainer's format.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePhantomSet } from '../../src/phantom/dataset.js';
import { makeConfig } from '../../src/gan/config.js';
import { Generator } from '../../src/gan/generator.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { GAN_CHECKPOINT_KIND } from '../../src/train/gan-trainer.js';
import * as torch from '../../src/torch/index.js';

/** A phantom set with every grade equally likely (clean photos: masks are what matters here). */
export async function phantomSet(n: number, size: number, seed = 1): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'synth-phantom-'));
  await generatePhantomSet({ out: dir, n, size, seed, gradeFrequencies: [1, 1, 1, 1, 1], photographic: false });
  return dir;
}

/** An untrained `tiny` generator saved as the GAN trainer saves it; returns its path. */
export function tinyCheckpoint(dir: string, seed = 3, stage: 1 | 2 = 1): { path: string; generator: Generator } {
  torch.manualSeed(seed);
  const config = makeConfig('tiny');
  const G = new Generator(config, stage);
  const path = join(dir, `tiny-${seed}-s${stage}.safetensors`);
  saveCheckpoint(path, { kind: GAN_CHECKPOINT_KIND, modules: { G }, state: { config, stage, step: 0, gradingSpace: null } });
  return { path, generator: G };
}
