// Writes a file so that readers see either the old file or the complete new one: the bytes
// go to a temporary file beside the target, which is fsynced and renamed over it. A crash
// mid-save (a long training run killed) therefore never leaves a half-written checkpoint.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Calls `write(chunk => ...)` to produce the content, then renames it into place. */
export function writeFileAtomic(path: string, produce: (write: (chunk: Uint8Array) => void) => void): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx');
  let ok = false;
  try {
    produce((chunk) => {
      let done = 0;
      while (done < chunk.byteLength) done += writeSync(fd, chunk, done, chunk.byteLength - done);
    });
    fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) unlinkSync(tmp);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}
