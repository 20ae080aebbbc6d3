// Multi-tensor ("foreach") operators: ATen's _foreach_* ops apply one elementwise op to a
// whole list of tensors in one call. Through the addon each call costs one Node-API
// crossing and one dispatch, so an optimiser updating hundreds of parameters pays that
// overhead once per op instead of once per op per parameter (on CUDA the lists are also
// fused into few kernel launches). On CPU ATen loops over the list calling the ordinary
// per-tensor op, so results are bit-identical to the per-tensor methods.
//
// Only the Scalar and List overloads are declared: the addon does not convert Scalar[]
// arguments, so callers wanting a different scalar per tensor call once per distinct value.
// ATen refuses empty lists; these wrappers treat an empty list as nothing to do.
import { opRef } from './ops.js';
import { call, callTs, type Tensor } from './tensor.js';

const O = {
  mulS_: opRef('_foreach_mul_', 'Scalar'),
  addS_: opRef('_foreach_add_', 'Scalar'),
  addL_: opRef('_foreach_add_', 'List'),
  addS: opRef('_foreach_add', 'Scalar'),
  addL: opRef('_foreach_add', 'List'),
  divS_: opRef('_foreach_div_', 'Scalar'),
  addcmulS_: opRef('_foreach_addcmul_', 'Scalar'),
  addcdivS_: opRef('_foreach_addcdiv_', 'Scalar'),
  maximumL_: opRef('_foreach_maximum_', 'List'),
  sqrt: opRef('_foreach_sqrt'),
  neg: opRef('_foreach_neg'),
};

function sameLength(what: string, self: readonly Tensor[], ...others: readonly Tensor[][]): void {
  for (const o of others) {
    if (o.length !== self.length) throw new Error(`${what}: tensor lists differ in length (${self.length} and ${o.length})`);
  }
}

/** self[i] *= scalar for every i. */
export function foreachMul_(self: Tensor[], scalar: number): void {
  if (self.length > 0) call(O.mulS_, self, scalar);
}

/** self[i] += scalar, or self[i] += alpha * other[i]. */
export function foreachAdd_(self: Tensor[], other: Tensor[] | number, alpha = 1): void {
  if (self.length === 0) return;
  if (typeof other === 'number') {
    if (alpha !== 1) throw new Error('foreachAdd_: alpha applies only to a tensor list');
    call(O.addS_, self, other);
  } else {
    sameLength('foreachAdd_', self, other);
    call(O.addL_, self, other, alpha);
  }
}

/** New tensors self[i] + scalar, or self[i] + alpha * other[i]. */
export function foreachAdd(self: Tensor[], other: Tensor[] | number, alpha = 1): Tensor[] {
  if (self.length === 0) return [];
  if (typeof other === 'number') {
    if (alpha !== 1) throw new Error('foreachAdd: alpha applies only to a tensor list');
    return callTs(O.addS, self, other);
  }
  sameLength('foreachAdd', self, other);
  return callTs(O.addL, self, other, alpha);
}

/** self[i] /= scalar. */
export function foreachDiv_(self: Tensor[], scalar: number): void {
  if (self.length > 0) call(O.divS_, self, scalar);
}

/** self[i] += value * a[i] * b[i]. */
export function foreachAddcmul_(self: Tensor[], a: Tensor[], b: Tensor[], value = 1): void {
  if (self.length === 0) return;
  sameLength('foreachAddcmul_', self, a, b);
  call(O.addcmulS_, self, a, b, value);
}

/** self[i] += value * a[i] / b[i]. */
export function foreachAddcdiv_(self: Tensor[], a: Tensor[], b: Tensor[], value = 1): void {
  if (self.length === 0) return;
  sameLength('foreachAddcdiv_', self, a, b);
  call(O.addcdivS_, self, a, b, value);
}

/** self[i] = maximum(self[i], other[i]). */
export function foreachMaximum_(self: Tensor[], other: Tensor[]): void {
  if (self.length === 0) return;
  sameLength('foreachMaximum_', self, other);
  call(O.maximumL_, self, other);
}

/** New tensors sqrt(self[i]). */
export function foreachSqrt(self: Tensor[]): Tensor[] {
  return self.length === 0 ? [] : callTs(O.sqrt, self);
}

/** New tensors -self[i]. */
export function foreachNeg(self: Tensor[]): Tensor[] {
  return self.length === 0 ? [] : callTs(O.neg, self);
}
