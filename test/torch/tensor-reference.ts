// Expected values from Python PyTorch (scripts/reference/ops.py writes test/fixtures/ops/*.json):
// loading a fixture, rebuilding its tensors exactly, and comparing results with a tolerance.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.js';

/** A tensor as the reference script writes it: floats as base64 bytes, others as a list. */
export interface TensorSpec {
  shape: number[];
  dtype: torch.DType;
  data?: number[];
  b64?: string;
}

const fixtureDir = fileURLToPath(new URL('../../../test/fixtures/ops/', import.meta.url));

export function loadFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(fixtureDir + name + '.json', 'utf8')) as T;
}

/** The spec's values as plain numbers. */
export function specValues(s: TensorSpec): number[] {
  if (s.b64 !== undefined) {
    const bytes = Buffer.from(s.b64, 'base64');
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    return Array.from(s.dtype === 'float64' ? new Float64Array(buf) : new Float32Array(buf));
  }
  return s.data ?? [];
}

/** The spec as a tensor with the same shape, dtype and values (bit-exact for floats). */
export function fromSpec(s: TensorSpec, o: { requiresGrad?: boolean; dtype?: torch.DType } = {}): torch.Tensor {
  if (s.b64 !== undefined) {
    const bytes = Buffer.from(s.b64, 'base64');
    let t = torch.fromBytes(new Uint8Array(bytes), s.dtype, s.shape);
    if (o.dtype && o.dtype !== s.dtype) t = t.to(o.dtype);
    if (o.requiresGrad) t.requiresGrad_(true);
    return t;
  }
  return torch.tensor(s.data ?? [], s.shape, { dtype: o.dtype ?? s.dtype, requiresGrad: o.requiresGrad });
}

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** Same shape, same dtype (unless ignoreDtype) and |a - e| <= atol + rtol |e| everywhere. */
export function assertMatches(actual: torch.Tensor, expected: TensorSpec, what: string, tol: Tolerance & { ignoreDtype?: boolean } = {}): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  if (!tol.ignoreDtype) assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assertClose(actual.toArray(), specValues(expected), what, tol);
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol: Tolerance = {}): void {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(err <= 0) && (worst < 0 || err > worstErr)) { worst = i; worstErr = err; }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}
