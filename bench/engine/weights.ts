// Reads the weights and inputs that bench/python/gan_step.py writes (weights.json manifest
// plus weights.bin, raw float32), so both engines start from identical numbers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RawTensor {
  shape: number[];
  data: Float32Array;
}

interface Manifest {
  tensors: { name: string; shape: number[]; offset: number }[];
}

export function readWeights(dir: string): Map<string, RawTensor> {
  const manifestPath = join(dir, 'weights.json');
  const binPath = join(dir, 'weights.bin');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  const bin = readFileSync(binPath);
  const out = new Map<string, RawTensor>();
  for (const { name, shape, offset } of manifest.tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (offset + n * 4 > bin.byteLength) {
      throw new Error(`${binPath}: tensor "${name}" [${shape}] at byte ${offset} runs past the end (${bin.byteLength} bytes)`);
    }
    // slice() copies into an aligned buffer (Buffer offsets need not be multiples of 4)
    const data = new Float32Array(bin.buffer.slice(bin.byteOffset + offset, bin.byteOffset + offset + n * 4));
    out.set(name, { shape, data });
  }
  return out;
}
