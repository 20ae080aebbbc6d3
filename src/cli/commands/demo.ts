// `drgan demo`: the main job on the built-in synthetic data set (src/demo): phantom set,
// grader, latent grading space, lesion model, DR-GAN, synthesis, evaluation, and one HTML
// report. `--quick` runs the same story at toy sizes (tests, CI smoke).
import { runDemo } from '../../demo/demo.js';
import type { Command } from '../command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the whole method on the built-in synthetic data set, ending in OUT/report.html (~15 min on 2 cores; --quick: < 1 min)',
  usage: 'drgan demo [--out demo] [--quick] [--seed 0] [--size 128] [--n 1000] [--steps N] [--threads 1]',
  flags: {
    out: { kind: 'string', default: 'demo', help: 'output folder (a second run resumes what is there)' },
    quick: { kind: 'bool', default: false, help: 'toy sizes: the same phases in well under a minute' },
    seed: { kind: 'int', min: 0, max: 2 ** 31 - 1, help: 'seed of the data set, training and synthesis (default 0)' },
    size: { kind: 'int', min: 64, max: 1280, help: 'image side R of the phantom set and DR-GAN, a multiple of 32 (default 128; quick 64)' },
    n: { kind: 'int', min: 20, max: 1_000_000, help: 'phantom images (default 1000; quick 40); DR-GAN trains on the first 400 (quick 30), the grader on all' },
    steps: { kind: 'int', min: 1, max: 10_000_000, help: 'about this many DR-GAN steps in all (default 820; quick 12)' },
    threads: { kind: 'int', min: 1, max: 256, help: 'libtorch threads (default 1: on a shared 2-core machine 2 are slower)' },
    quiet: { kind: 'bool', default: false, help: 'no progress bars (phase lines still print)' },
  },
  async run(f) {
    await runDemo({
      out: f.out as string,
      quick: f.quick as boolean,
      seed: f.seed as number | undefined,
      size: f.size as number | undefined,
      n: f.n as number | undefined,
      steps: f.steps as number | undefined,
      threads: f.threads as number | undefined,
      progress: !(f.quiet as boolean),
    });
    return 0;
  },
};
