// The data set a loader or training bench reads: the one given (--data), or a phantom set (all 8
// masks: 10 files per sample) written to a temporary folder, timed, and removed by remove().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePhantomSet } from '../src/phantom/dataset.js';

export async function benchDataSet(o: { data?: string; n: number; size: number; prefix: string }): Promise<{ dir: string; remove(): void }> {
  if (o.data) return { dir: o.data, remove: () => {} };
  const dir = mkdtempSync(join(tmpdir(), o.prefix));
  const t0 = performance.now();
  await generatePhantomSet({ out: dir, n: o.n, size: o.size, seed: 1 });
  console.log(`phantom set: ${o.n} samples at ${o.size} px in ${((performance.now() - t0) / 1000).toFixed(1)} s (${dir})`);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
