// `drgan phantom`: writes the procedural synthetic retina data set (src/phantom) in the
// prepared layout, so every later command can run with no download.
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';
import { generatePhantomSet } from '../../phantom/dataset.js';
import { EYEPACS_GRADE_FREQUENCIES, parseGradeFrequencies } from '../../phantom/grading.js';
import { MAX_SIZE, MIN_SIZE } from '../../phantom/render.js';

export const phantomCommand: Command = {
  name: 'phantom',
  summary: 'write a procedural synthetic fundus data set with exact masks and grades',
  usage: 'drgan phantom --out DIR [--n N] [--size S] [--seed K] [--grades g0,g1,g2,g3,g4] [--clean]',
  flags: {
    out: { kind: 'string', required: true, help: 'output folder (created; an existing phantom set there is resumed)' },
    n: { kind: 'int', default: 100, min: 1, max: 10_000_000, help: 'number of samples' },
    size: { kind: 'int', default: 512, min: MIN_SIZE, max: MAX_SIZE, help: 'image side in pixels' },
    seed: { kind: 'int', default: 0, min: 0, max: Number.MAX_SAFE_INTEGER, help: 'data set seed; sample i depends only on (seed, i)' },
    grades: { kind: 'string', default: EYEPACS_GRADE_FREQUENCIES.join(','), help: 'relative frequencies of grades 0..4' },
    clean: { kind: 'bool', default: false, help: 'no photographic variation (blur, noise, JPEG, uneven light)' },
    quiet: { kind: 'bool', default: false, help: 'no progress output' },
  },
  async run(flags) {
    let gradeFrequencies: number[];
    try {
      gradeFrequencies = parseGradeFrequencies(String(flags.grades));
    } catch (err) {
      throw new UsageError(`drgan phantom: --grades: ${(err as Error).message}`);
    }
    const out = String(flags.out);
    if (out.trim() === '') throw new UsageError('drgan phantom: --out must name a folder');
    const quiet = flags.quiet === true;
    const t0 = performance.now();
    let last = 0;
    const result = await generatePhantomSet({
      out,
      n: flags.n as number,
      size: flags.size as number,
      seed: flags.seed as number,
      gradeFrequencies,
      photographic: flags.clean !== true,
      onProgress: (done, total) => {
        const now = performance.now();
        if (!quiet && process.stderr.isTTY && (now - last > 500 || done === total)) {
          last = now;
          process.stderr.write(`\rphantom: ${done}/${total}`);
          if (done === total) process.stderr.write('\n');
        }
      },
    });
    if (!quiet) {
      const counts = [0, 0, 0, 0, 0];
      for (const e of result.entries) counts[e.grade!]++;
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(`phantom: ${result.written} written, ${result.skipped} already there, grades 0..4: ${counts.join('/')}, ${secs} s -> ${out}`);
    }
    return 0;
  },
};
