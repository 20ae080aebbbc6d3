// Shared pieces of the DR-GAN training tests: a dozen phantom photos (made at 64 px, the
// phantom minimum, and read at R = 32 by the loader), the tiny preset, a small grading
// space, and a parameter-free perceptual extractor so Eq. 1 runs with all four terms.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { makeConfig, type ConfigOverrides, type DrganConfig } from '../../src/gan/config.js';
import type { FeatureExtractor } from '../../src/gan/vgg19.js';
import { GradingSpaceAccumulator } from '../../src/latent/grading-space.js';
import { Grader, type BackboneName } from '../../src/models/grader.js';
import { generatePhantomSet } from '../../src/phantom/dataset.js';

let cached: Promise<string> | undefined;

/** A fresh copy of a 12-photo phantom set (all five grades present). */
export async function ganPhantomSet(t: { after(fn: () => void): void }): Promise<string> {
  cached ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drgan-gan-src-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    await generatePhantomSet({ out: dir, n: 12, size: 64, seed: 5, gradeFrequencies: [1, 1, 1, 1, 1], photographic: false });
    return dir;
  })();
  const src = await cached;
  const dir = mkdtempSync(join(tmpdir(), 'drgan-gan-'));
  cpSync(src, dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function tempDir(t: { after(fn: () => void): void }, prefix = 'drgan-gan-run-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The tiny preset (R = 32, ngf 4) with test-sized epochs. */
export function tinyConfig(over: ConfigOverrides = {}): DrganConfig {
  return makeConfig('tiny', { ...over, train: { stage1Epochs: 2, stage2Epochs: 1, ...(over.train ?? {}) } });
}

/** Five pooled copies of the image: no weights, but gradients flow to the generator. */
export const poolExtractor: FeatureExtractor = {
  name: 'test average pools',
  extract: (img) => torch.tidy(() => {
    const out: torch.Tensor[] = [];
    let h = img;
    for (let i = 0; i < 5; i++) {
      out.push(h);
      if (h.shape[2] > 1) h = torch.F.avgPool2d(h, 2, { stride: 2 });
    }
    return out;
  }),
};

/** An untrained small grader (32 px, layer widths / 16), seeded, saved to `path`: a network for the perceptual fallback. */
export function saveTinyGrader(path: string, backbone: BackboneName = 'resnet18'): string {
  torch.manualSeed(1);
  const grader = new Grader({ backbone, inputSize: 32, widthDivisor: 16 });
  grader.save(path);
  grader.dispose();
  return path;
}

/** A grading space of dimension `dim` with a separate mean per grade, saved to `path`. */
export function writeGradingSpace(path: string, dim: number): void {
  const acc = new GradingSpaceAccumulator(dim, 5);
  torch.manualSeed(99);
  const grades = Array.from({ length: 40 }, (_, i) => i % 5);
  const f = torch.tidy(() => torch.randn([40, dim]).add(torch.tensor(Float32Array.from(grades), [40, 1]).mul(0.5)));
  acc.add(f, grades);
  const space = acc.finish('test');
  space.save(path);
  f.dispose();
  acc.dispose();
  space.dispose();
}

/** Every tensor of a state dict as a flat copy, for bit-exact comparisons. */
export function snapshot(sd: Map<string, torch.Tensor>): Map<string, Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array> {
  return new Map([...sd].map(([k, v]) => [k, v.dataSync().slice()]));
}
