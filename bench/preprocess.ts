// Throughput of the data path: `prepare` on large JPEGs (3000x2000 -> 512) and the loader at
// 256 and 512. Run: npx tsc -p . && node dist/bench/preprocess.js [photos=16]
// Uses the synthetic fundus of the data tests, so it needs no data set.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLoader } from '../src/data/loader.js';
import { DEFAULT_AUGMENT } from '../src/data/augment.js';
import { prepareDataset } from '../src/data/prepare.js';
import { preprocessPhoto } from '../src/data/preprocess.js';
import { syntheticFundus, writeImage } from '../test/data/helpers.js';

const n = Number(process.argv[2] ?? 16);
const dir = mkdtempSync(join(tmpdir(), 'drgan-bench-'));
try {
  const src = join(dir, 'src', 'train');
  mkdirSync(src, { recursive: true });
  const big = syntheticFundus({ width: 3000, height: 2000, cx: 1500, cy: 1000, r: 1080, seed: 1 }); // cut top and bottom
  const rows = ['image,level'];
  for (let i = 0; i < n; i++) {
    await writeImage(join(src, `${i}_left.jpeg`), big);
    rows.push(`${i}_left,${i % 5}`);
  }
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'src', 'trainLabels.csv'), rows.join('\n'));
  console.log(`cpus ${availableParallelism()}, ${n} JPEGs 3000x2000`);

  let t = performance.now();
  await preprocessPhoto(join(src, '0_left.jpeg'), [], { size: 512 });
  console.log(`single photo to 512 (cold): ${(performance.now() - t).toFixed(0)} ms`);
  for (const [graham, conc] of [
    [false, 1],
    [false, 4],
    [true, 4],
  ] as const) {
    const out = join(dir, `out-${graham}-${conc}`);
    t = performance.now();
    const r = await prepareDataset({ format: 'eyepacs', input: join(dir, 'src'), output: out, size: 512, graham, concurrency: conc });
    const s = (performance.now() - t) / 1000;
    console.log(`prepare 3000x2000 JPEG -> 512, graham=${graham}, concurrency ${conc}: ${(r.prepared / s).toFixed(2)} photos/s`);
  }
  t = performance.now();
  await prepareDataset({ format: 'eyepacs', input: join(dir, 'src'), output: join(dir, 'out-false-4'), size: 512 });
  console.log(`prepare re-run (all up to date): ${(performance.now() - t).toFixed(0)} ms for ${n}`);

  for (const size of [256, 512]) {
    for (const augment of [false, true]) {
      const l = new DataLoader({ dir: join(dir, 'out-false-4'), split: 'all', batchSize: 8, size, seed: 1, augment: augment ? DEFAULT_AUGMENT : false, prefetch: 3 });
      t = performance.now();
      let samples = 0;
      for (let e = 0; e < 2; e++) for await (const b of l.epoch(e)) samples += b.batchSize;
      const s = (performance.now() - t) / 1000;
      console.log(`loader ${size}x${size} (prepared at 512${size === 512 ? '' : ', resized on load'}), augment=${augment}: ${(samples / s).toFixed(1)} samples/s`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
