// Tiny prepared data sets for the segmentation tests: phantom photos (exact masks for all 8
// channels) at 64 px, made once per process and copied per test.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePhantomSet } from '../../src/phantom/dataset.js';

let cached: Promise<string> | undefined;

/** A fresh copy of a 6-photo phantom set at 64 px (grades spread so lesions appear). */
export async function tinyPhantomSet(t: { after(fn: () => void): void }, n = 6): Promise<string> {
  cached ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drgan-seg-src-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    await generatePhantomSet({ out: dir, n, size: 64, seed: 11, gradeFrequencies: [1, 1, 2, 2, 2] });
    return dir;
  })();
  const src = await cached;
  const dir = mkdtempSync(join(tmpdir(), 'drgan-seg-'));
  cpSync(src, dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
