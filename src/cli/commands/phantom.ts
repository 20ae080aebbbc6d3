// `drgan phantom`: writes the procedural synthetic retina data set (src/phantom) in the
// prepared layout, so every later command can run with no download.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';
import { generatePhantomSet } from '../../phantom/dataset.js';
import { EYEPACS_GRADE_FREQUENCIES, parseGradeFrequencies } from '../../phantom/grading.js';
import { MAX_SIZE, MIN_SIZE } from '../../phantom/render.js';

export const phantomCommand: Command = {
  name: 'phantom',
  summary: 'write a procedural synthetic fundus data set with exact masks and grades',
  usage: 'drgan phantom --out DIR [--n N] [--size S] [--seed K] [--grades g0,g1,g2,g3,g4] [--clean] [--jobs N]',
  flags: {
    out: { kind: 'string', required: true, help: 'output folder (created; an existing phantom set there is resumed)' },
    n: { kind: 'int', default: 100, min: 1, max: 10_000_000, help: 'number of samples' },
    size: { kind: 'int', default: 512, min: MIN_SIZE, max: MAX_SIZE, help: 'image side in pixels' },
    seed: { kind: 'int', default: 0, min: 0, max: Number.MAX_SAFE_INTEGER, help: 'data set seed; sample i depends only on (seed, i)' },
    grades: { kind: 'string', default: EYEPACS_GRADE_FREQUENCIES.join(','), help: 'relative frequencies of grades 0..4' },
    clean: { kind: 'bool', default: false, help: 'no photographic variation (blur, noise, JPEG, uneven light)' },
    quiet: { kind: 'bool', default: false, help: 'no progress output' },
    jobs: { kind: 'int', default: 1, min: 1, max: 256, help: 'render in this many processes at once (the images are the same for any N)' },
    shard: { kind: 'string', help: 'I/N: render only the samples i with i % N == I and write no manifest (what --jobs runs in each process)' },
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
    let shard: { index: number; count: number } | undefined;
    if (flags.shard !== undefined) {
      const m = /^(\d+)\/(\d+)$/.exec(String(flags.shard));
      if (!m || Number(m[1]) >= Number(m[2])) throw new UsageError(`drgan phantom: --shard ${String(flags.shard)}: expected I/N with 0 <= I < N`);
      shard = { index: Number(m[1]), count: Number(m[2]) };
      if ((flags.jobs as number) > 1) throw new UsageError('drgan phantom: --shard and --jobs do not go together (--jobs runs the shards)');
    }
    const t0 = performance.now();
    const jobs = flags.jobs as number;
    if (jobs > 1) {
      // Each child renders every jobs-th sample into the same folder; the pass below then only
      // plans the finished samples (cheap) and writes the manifest.
      const args = ['phantom', '--out', out, '--n', String(flags.n), '--size', String(flags.size), '--seed', String(flags.seed), '--grades', String(flags.grades), '--quiet'];
      if (flags.clean === true) args.push('--clean');
      await Promise.all(Array.from({ length: jobs }, (_, i) => runShard([...args, '--shard', `${i}/${jobs}`])));
    }
    let last = 0;
    const result = await generatePhantomSet({
      out,
      n: flags.n as number,
      size: flags.size as number,
      seed: flags.seed as number,
      gradeFrequencies,
      photographic: flags.clean !== true,
      shard,
      onProgress: (done, total) => {
        const now = performance.now();
        if (!quiet && process.stderr.isTTY && (now - last > 500 || done === total)) {
          last = now;
          process.stderr.write(`\rphantom: ${done}/${total}`);
          if (done === total) process.stderr.write('\n');
        }
      },
    });
    if (!quiet && !shard) {
      const counts = [0, 0, 0, 0, 0];
      for (const e of result.entries) counts[e.grade!]++;
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(`phantom: ${result.written} written, ${result.skipped} already there, grades 0..4: ${counts.join('/')}, ${secs} s -> ${out}`);
    }
    return 0;
  },
};

// The launcher, found from this file (dist/src/cli/commands/phantom.js), not from process.argv:
// a library or test caller's argv[1] is some other script.
const LAUNCHER = fileURLToPath(new URL('../../../../bin/drgan.js', import.meta.url));

/** Runs the CLI in a child process (one --shard); rejects with its stderr when it fails. */
function runShard(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`drgan phantom: shard ${args[args.length - 1]} failed (exit ${code}): ${err.trim()}`))));
  });
}
