// Scalar math that must agree with Python's `float ** float` bit for bit. V8's Math.pow
// differs from glibc's pow in the last bit for about 7% of (beta, step) pairs, which would
// make Adam's bias corrections drift from PyTorch's; aten::pow.Scalar on a one-element
// float64 tensor calls glibc's std::pow, the same function CPython uses.
import { opRef } from '../ops.js';
import { callT } from '../tensor.js';
import { full } from '../creation.js';

const POW_SCALAR = opRef('pow', 'Scalar');

/** base ** exponent exactly as CPython computes it. */
export function libmPow(base: number, exponent: number): number {
  const e = full([], exponent, { dtype: 'float64' });
  const r = callT(POW_SCALAR, base, e);
  const v = r.item();
  e.dispose();
  r.dispose();
  return v;
}

/** A libmPow remembering its last answer per base: every parameter of a group shares its step. */
export class PowCache {
  private readonly last = new Map<number, { exponent: number; value: number }>();
  pow(base: number, exponent: number): number {
    const hit = this.last.get(base);
    if (hit && hit.exponent === exponent) return hit.value;
    const value = libmPow(base, exponent);
    this.last.set(base, { exponent, value });
    return value;
  }
}
