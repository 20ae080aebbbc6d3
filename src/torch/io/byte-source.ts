// Random-access reads from a file or an in-memory buffer, with every range checked against
// the source's size first, so a parser driven by untrusted offsets reports "truncated"
// instead of reading past the end.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ByteSource {
  /** Names the source in error messages (a path, or "<buffer>"). */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`; throws when the range leaves the source. */
  read(offset: number, length: number, what: string): Uint8Array;
  close(): void;
}

function checkRange(src: { name: string; size: number }, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > src.size) {
    throw new Error(`${src.name}: ${what} needs bytes ${offset}..${offset + length} but the file has ${src.size} (truncated or corrupt)`);
  }
}

export function bufferSource(bytes: Uint8Array, name = '<buffer>'): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read(offset, length, what) {
      checkRange(this, offset, length, what);
      return bytes.subarray(offset, offset + length);
    },
    close() {},
  };
}

export function fileSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return {
    name: path,
    size,
    read(offset, length, what) {
      checkRange(this, offset, length, what);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0) throw new Error(`${path}: ${what}: file shrank while reading`);
        done += n;
      }
      return out;
    },
    close() {
      closeSync(fd);
    },
  };
}

/** Runs fn on an opened source and always closes it. */
export function withSource<T>(src: ByteSource, fn: (s: ByteSource) => T): T {
  try {
    return fn(src);
  } finally {
    src.close();
  }
}
