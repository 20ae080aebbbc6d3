// Shared by the io tests: fixture paths, the expected values Python wrote, and a guard for
// the optional round trip through Debian's Python PyTorch.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { Tensor } from '../../../src/torch/index.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'io');
export const fixture = (name: string): string => join(FIXTURES, name);

export interface Expected { dtype: string; shape: number[]; values: number[] }
export const EXPECTED = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as {
  values: Record<string, Expected>;
  model: Record<string, Expected>;
  model_keys: string[];
};

/** Values as float64 numbers (bool as 0/1), for exact comparison with Python's .double(). */
export function valuesOf(t: Tensor): number[] {
  return t.dtype === 'bool' ? t.toArray().map(Number) : t.to('float64').toArray();
}

export function assertMatches(t: Tensor | undefined, e: Expected, key: string): void {
  assert.ok(t, `missing tensor "${key}"`);
  assert.equal(t.dtype, e.dtype, `${key} dtype`);
  assert.deepEqual(t.shape, e.shape, `${key} shape`);
  assert.deepEqual(valuesOf(t), e.values, `${key} values`);
}

const PYTHON = '/usr/bin/python3';
let torchPython: boolean | undefined;
/** Whether /usr/bin/python3 can import torch (dev machines; CI may lack python3-torch). */
export function hasTorchPython(): boolean {
  if (torchPython === undefined) torchPython = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  return torchPython;
}
export function runReference(...args: string[]): unknown {
  const r = spawnSync(PYTHON, [join(ROOT, 'scripts', 'reference', 'io.py'), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`reference script failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
