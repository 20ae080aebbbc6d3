// The Tensor class: a typed view of a libtorch tensor handle. Methods are thin calls of
// ATen operators by name; shapes, dtypes and autograd behave exactly as in PyTorch because
// the same kernels run.
import { native, type Handle, type RawResult } from './native.js';
import { dtypeCode, dtypeFromCode, type DType } from './dtype.js';
import { opRef, type OpRef } from './ops.js';
import { track, type Disposable } from './scope.js';

export type Shape = readonly number[];
export type TensorOrNumber = Tensor | number;
export type Device = string;

function toArg(a: unknown): unknown {
  if (a instanceof Tensor) return a.handle;
  if (Array.isArray(a) && a.some((x) => x instanceof Tensor)) return a.map((x) => (x instanceof Tensor ? x.handle : x));
  return a;
}

/** Wraps a raw result: handles become Tensors, arrays are mapped, numbers pass through. */
export function wrapResult(r: RawResult): unknown {
  if (r === null || typeof r !== 'object') return r;
  if (Array.isArray(r)) return r.map(wrapResult);
  return new Tensor(r as Handle);
}

/** Calls an operator with Tensor arguments; returns whatever it returns, wrapped. */
export function call(op: OpRef, ...args: unknown[]): unknown {
  return wrapResult(native.callOp(op.handle(), args.map(toArg)));
}
export function callT(op: OpRef, ...args: unknown[]): Tensor {
  return wrapResult(native.callOp(op.handle(), args.map(toArg))) as Tensor;
}
export function callTs(op: OpRef, ...args: unknown[]): Tensor[] {
  return wrapResult(native.callOp(op.handle(), args.map(toArg))) as Tensor[];
}
/** For in-place operators: runs the op and drops the returned alias of self. */
function callInPlace(op: OpRef, ...args: unknown[]): void {
  native.callOp(op.handle(), args.map(toArg), true);
}

const O = {
  add: opRef('add', 'Tensor'), addS: opRef('add', 'Scalar'), sub: opRef('sub', 'Tensor'), subS: opRef('sub', 'Scalar'),
  rsubS: opRef('rsub', 'Scalar'), mul: opRef('mul', 'Tensor'), mulS: opRef('mul', 'Scalar'), div: opRef('div', 'Tensor'),
  divS: opRef('div', 'Scalar'), divMode: opRef('div', 'Tensor_mode'), pow: opRef('pow', 'Tensor_Tensor'), powS: opRef('pow', 'Tensor_Scalar'),
  remainderS: opRef('remainder', 'Scalar'), neg: opRef('neg'), exp: opRef('exp'), log: opRef('log'), log1p: opRef('log1p'),
  sqrt: opRef('sqrt'), rsqrt: opRef('rsqrt'), abs: opRef('abs'), sign: opRef('sign'), floor: opRef('floor'), ceil: opRef('ceil'),
  round: opRef('round'), sin: opRef('sin'), cos: opRef('cos'), reciprocal: opRef('reciprocal'), square: opRef('square'),
  sigmoid: opRef('sigmoid'), tanh: opRef('tanh'), relu: opRef('relu'), clamp: opRef('clamp'), clampT: opRef('clamp', 'Tensor'),
  maximum: opRef('maximum'), minimum: opRef('minimum'), isnan: opRef('isnan'), isfinite: opRef('isfinite'),
  eq: opRef('eq', 'Tensor'), eqS: opRef('eq', 'Scalar'), ne: opRef('ne', 'Tensor'), neS: opRef('ne', 'Scalar'),
  lt: opRef('lt', 'Tensor'), ltS: opRef('lt', 'Scalar'), le: opRef('le', 'Tensor'), leS: opRef('le', 'Scalar'),
  gt: opRef('gt', 'Tensor'), gtS: opRef('gt', 'Scalar'), ge: opRef('ge', 'Tensor'), geS: opRef('ge', 'Scalar'),
  logicalAnd: opRef('logical_and'), logicalOr: opRef('logical_or'), logicalNot: opRef('logical_not'),
  sum: opRef('sum'), sumDim: opRef('sum', 'dim_IntList'), mean: opRef('mean'), meanDim: opRef('mean', 'dim'),
  varDim: opRef('var', 'dim'), stdDim: opRef('std', 'dim'), max: opRef('max'), maxDim: opRef('max', 'dim'),
  min: opRef('min'), minDim: opRef('min', 'dim'), amax: opRef('amax'), amin: opRef('amin'), argmax: opRef('argmax'),
  argmin: opRef('argmin'), logsumexp: opRef('logsumexp'), prod: opRef('prod'), norm: opRef('linalg_vector_norm'),
  all: opRef('all'), any: opRef('any'), cumsum: opRef('cumsum'), sort: opRef('sort'), topk: opRef('topk'),
  matmul: opRef('matmul'), mm: opRef('mm'), bmm: opRef('bmm'), softmax: opRef('softmax', 'int'), logSoftmax: opRef('log_softmax', 'int'),
  reshape: opRef('reshape'), view: opRef('view'), permute: opRef('permute'), transpose: opRef('transpose', 'int'),
  flatten: opRef('flatten', 'using_ints'), squeeze: opRef('squeeze'), squeezeDim: opRef('squeeze', 'dim'), unsqueeze: opRef('unsqueeze'),
  expand: opRef('expand'), contiguous: opRef('contiguous'), clone: opRef('clone'), repeat: opRef('repeat'), flip: opRef('flip'),
  roll: opRef('roll'), slice: opRef('slice', 'Tensor'), select: opRef('select', 'int'), narrow: opRef('narrow'),
  index: opRef('index', 'Tensor'), indexSelect: opRef('index_select'), gather: opRef('gather'), scatter: opRef('scatter', 'src'),
  scatterAdd: opRef('scatter_add'), maskedFill: opRef('masked_fill', 'Scalar'), maskedFillT: opRef('masked_fill', 'Tensor'),
  maskedSelect: opRef('masked_select'), where: opRef('where', 'self'), nonzero: opRef('nonzero'),
  split: opRef('split', 'Tensor'), splitSizes: opRef('split_with_sizes'), chunk: opRef('chunk'), unbind: opRef('unbind', 'int'),
  toDtype: opRef('to', 'dtype'), toDevice: opRef('to', 'device'), detach: opRef('detach'),
  add_: opRef('add_', 'Tensor'), addS_: opRef('add_', 'Scalar'), mul_: opRef('mul_', 'Tensor'), mulS_: opRef('mul_', 'Scalar'),
  div_: opRef('div_', 'Tensor'), addcmul_: opRef('addcmul_'), addcdiv_: opRef('addcdiv_'), copy_: opRef('copy_'),
  zero_: opRef('zero_'), fill_: opRef('fill_', 'Scalar'), clamp_: opRef('clamp_'), lerpS_: opRef('lerp_', 'Scalar'),
  sqrt_: opRef('sqrt_'), normal_: opRef('normal_'), uniform_: opRef('uniform_'), sub_: opRef('sub_', 'Tensor'),
  maximum_: opRef('maximum'), bernoulli_: opRef('bernoulli_', 'float'),
  tensorEq: opRef('equal'), allclose: opRef('allclose'),
};

export class Tensor implements Disposable {
  /** The native handle. Do not share it: dispose() invalidates it for everyone. */
  readonly handle: Handle;

  constructor(handle: Handle) {
    this.handle = handle;
    track(this);
  }

  // ---- metadata
  get shape(): number[] { return native.shape(this.handle); }
  get dtype(): DType { return dtypeFromCode(native.dtype(this.handle)); }
  get device(): Device { return native.device(this.handle); }
  get ndim(): number { return native.shape(this.handle).length; }
  get numel(): number { return native.shape(this.handle).reduce((a, b) => a * b, 1); }
  size(dim?: number): number | number[] {
    const s = this.shape;
    if (dim === undefined) return s;
    return s[dim < 0 ? dim + s.length : dim];
  }
  get strides(): number[] { return native.strides(this.handle); }
  toString(): string { return `Tensor(${native.describe(this.handle)})`; }
  get isDisposed(): boolean { return native.isDisposed(this.handle); }
  dispose(): void { native.dispose(this.handle); }

  // ---- read-back
  /** A copy of the data as a typed array (int64 as BigInt64Array, bool as Uint8Array). */
  dataSync(): Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array {
    return native.toTypedArray(this.handle);
  }
  /** A copy of the data as plain numbers (int64 converted). */
  toArray(): number[] {
    const d = native.toTypedArray(this.handle);
    if (d instanceof BigInt64Array) return Array.from(d, (x) => Number(x));
    return Array.from(d as ArrayLike<number>);
  }
  toFloat32Array(): Float32Array {
    const d = native.toTypedArray(this.handle);
    return d instanceof Float32Array ? d : Float32Array.from(d instanceof BigInt64Array ? Array.from(d, Number) : (d as ArrayLike<number>));
  }
  item(): number { return native.item(this.handle); }

  // ---- autograd
  get requiresGrad(): boolean { return native.requiresGrad(this.handle); }
  requiresGrad_(on = true): this { native.setRequiresGrad(this.handle, on); return this; }
  get grad(): Tensor | null { const g = native.grad(this.handle); return g ? new Tensor(g) : null; }
  set grad(g: Tensor | null) {
    // The addon assigns the slot as is; PyTorch refuses a mismatched gradient, and an
    // optimiser step would otherwise fail much later with a broadcasting error.
    if (g && (g.dtype !== this.dtype || g.shape.join() !== this.shape.join())) {
      throw new Error(`grad: assigned gradient is ${g.dtype}[${g.shape}] but the tensor is ${this.dtype}[${this.shape}]`);
    }
    native.setGrad(this.handle, g ? g.handle : null);
  }
  get isLeaf(): boolean { return native.isLeaf(this.handle); }
  get gradFn(): string | null { return native.gradFn(this.handle); }
  retainGrad(): this { native.retainGrad(this.handle); return this; }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward([this.handle], gradient ? [gradient.handle] : null, opts.retainGraph, opts.createGraph ?? false);
  }
  detach(): Tensor { return callT(O.detach, this); }

  // ---- arithmetic (broadcasting)
  add(o: TensorOrNumber, alpha = 1): Tensor { return typeof o === 'number' ? callT(O.addS, this, o, alpha) : callT(O.add, this, o, alpha); }
  sub(o: TensorOrNumber, alpha = 1): Tensor { return typeof o === 'number' ? callT(O.subS, this, o, alpha) : callT(O.sub, this, o, alpha); }
  /** o - this */
  rsub(o: number): Tensor { return callT(O.rsubS, this, o, 1); }
  mul(o: TensorOrNumber): Tensor { return typeof o === 'number' ? callT(O.mulS, this, o) : callT(O.mul, this, o); }
  div(o: TensorOrNumber, roundingMode?: 'trunc' | 'floor'): Tensor {
    if (roundingMode) return callT(O.divMode, this, typeof o === 'number' ? scalarLike(o, this) : o, roundingMode);
    return typeof o === 'number' ? callT(O.divS, this, o) : callT(O.div, this, o);
  }
  pow(o: TensorOrNumber): Tensor { return typeof o === 'number' ? callT(O.powS, this, o) : callT(O.pow, this, o); }
  remainder(o: number): Tensor { return callT(O.remainderS, this, o); }
  neg(): Tensor { return callT(O.neg, this); }
  exp(): Tensor { return callT(O.exp, this); }
  log(): Tensor { return callT(O.log, this); }
  log1p(): Tensor { return callT(O.log1p, this); }
  sqrt(): Tensor { return callT(O.sqrt, this); }
  rsqrt(): Tensor { return callT(O.rsqrt, this); }
  abs(): Tensor { return callT(O.abs, this); }
  sign(): Tensor { return callT(O.sign, this); }
  floor(): Tensor { return callT(O.floor, this); }
  ceil(): Tensor { return callT(O.ceil, this); }
  round(): Tensor { return callT(O.round, this); }
  sin(): Tensor { return callT(O.sin, this); }
  cos(): Tensor { return callT(O.cos, this); }
  reciprocal(): Tensor { return callT(O.reciprocal, this); }
  square(): Tensor { return callT(O.square, this); }
  sigmoid(): Tensor { return callT(O.sigmoid, this); }
  tanh(): Tensor { return callT(O.tanh, this); }
  relu(): Tensor { return callT(O.relu, this); }
  clamp(min?: number | null, max?: number | null): Tensor { return callT(O.clamp, this, min ?? null, max ?? null); }
  maximum(o: Tensor): Tensor { return callT(O.maximum, this, o); }
  minimum(o: Tensor): Tensor { return callT(O.minimum, this, o); }
  isnan(): Tensor { return callT(O.isnan, this); }
  isfinite(): Tensor { return callT(O.isfinite, this); }

  // ---- comparisons (bool tensors)
  eq(o: TensorOrNumber): Tensor { return typeof o === 'number' ? callT(O.eqS, this, o) : callT(O.eq, this, o); }
  ne(o: TensorOrNumber): Tensor { return typeof o === 'number' ? callT(O.neS, this, o) : callT(O.ne, this, o); }
  lt(o: TensorOrNumber): Tensor { return typeof o === 'number' ? callT(O.ltS, this, o) : callT(O.lt, this, o); }
  le(o: TensorOrNumber): Tensor { return typeof o === 'number' ? callT(O.leS, this, o) : callT(O.le, this, o); }
  gt(o: TensorOrNumber): Tensor { return typeof o === 'number' ? callT(O.gtS, this, o) : callT(O.gt, this, o); }
  ge(o: TensorOrNumber): Tensor { return typeof o === 'number' ? callT(O.geS, this, o) : callT(O.ge, this, o); }
  logicalAnd(o: Tensor): Tensor { return callT(O.logicalAnd, this, o); }
  logicalOr(o: Tensor): Tensor { return callT(O.logicalOr, this, o); }
  logicalNot(): Tensor { return callT(O.logicalNot, this); }
  /** Same shape and elements (torch.equal). */
  equal(o: Tensor): boolean { return call(O.tensorEq, this, o) as boolean; }
  allclose(o: Tensor, rtol = 1e-5, atol = 1e-8): boolean { return call(O.allclose, this, o, rtol, atol, false) as boolean; }

  // ---- reductions
  sum(dim?: number | number[], keepdim = false, dtype?: DType): Tensor {
    const dt = dtype ? dtypeCode(dtype) : null;
    return dim === undefined ? callT(O.sum, this, dt) : callT(O.sumDim, this, asList(dim), keepdim, dt);
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? callT(O.mean, this, null) : callT(O.meanDim, this, asList(dim), keepdim, null);
  }
  var(dim?: number | number[], unbiased = true, keepdim = false): Tensor { return callT(O.varDim, this, dim === undefined ? null : asList(dim), unbiased, keepdim); }
  std(dim?: number | number[], unbiased = true, keepdim = false): Tensor { return callT(O.stdDim, this, dim === undefined ? null : asList(dim), unbiased, keepdim); }
  /** Maximum of all elements. */
  max(): Tensor { return callT(O.max, this); }
  /** Maximum along a dimension: [values, indices]. */
  maxDim(dim: number, keepdim = false): [Tensor, Tensor] { return callTs(O.maxDim, this, dim, keepdim) as [Tensor, Tensor]; }
  min(): Tensor { return callT(O.min, this); }
  minDim(dim: number, keepdim = false): [Tensor, Tensor] { return callTs(O.minDim, this, dim, keepdim) as [Tensor, Tensor]; }
  amax(dim: number | number[], keepdim = false): Tensor { return callT(O.amax, this, asList(dim), keepdim); }
  amin(dim: number | number[], keepdim = false): Tensor { return callT(O.amin, this, asList(dim), keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return callT(O.argmax, this, dim ?? null, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return callT(O.argmin, this, dim ?? null, keepdim); }
  logsumexp(dim: number | number[], keepdim = false): Tensor { return callT(O.logsumexp, this, asList(dim), keepdim); }
  prod(): Tensor { return callT(O.prod, this, null); }
  norm(ord = 2, dim?: number | number[], keepdim = false): Tensor { return callT(O.norm, this, ord, dim === undefined ? null : asList(dim), keepdim, null); }
  all(): Tensor { return callT(O.all, this); }
  any(): Tensor { return callT(O.any, this); }
  cumsum(dim: number): Tensor { return callT(O.cumsum, this, dim, null); }
  sort(dim = -1, descending = false): [Tensor, Tensor] { return callTs(O.sort, this, dim, descending) as [Tensor, Tensor]; }
  topk(k: number, dim = -1, largest = true, sorted = true): [Tensor, Tensor] { return callTs(O.topk, this, k, dim, largest, sorted) as [Tensor, Tensor]; }

  // ---- linear algebra
  matmul(o: Tensor): Tensor { return callT(O.matmul, this, o); }
  mm(o: Tensor): Tensor { return callT(O.mm, this, o); }
  bmm(o: Tensor): Tensor { return callT(O.bmm, this, o); }
  softmax(dim: number): Tensor { return callT(O.softmax, this, dim, null); }
  logSoftmax(dim: number): Tensor { return callT(O.logSoftmax, this, dim, null); }

  // ---- shape
  reshape(...shape: number[] | [number[]]): Tensor { return callT(O.reshape, this, flatShape(shape)); }
  view(...shape: number[] | [number[]]): Tensor { return callT(O.view, this, flatShape(shape)); }
  permute(...dims: number[] | [number[]]): Tensor { return callT(O.permute, this, flatShape(dims)); }
  transpose(d0: number, d1: number): Tensor { return callT(O.transpose, this, d0, d1); }
  /** Matrix transpose of the last two dims. */
  get T(): Tensor { return callT(O.transpose, this, -2, -1); }
  flatten(startDim = 0, endDim = -1): Tensor { return callT(O.flatten, this, startDim, endDim); }
  squeeze(dim?: number): Tensor { return dim === undefined ? callT(O.squeeze, this) : callT(O.squeezeDim, this, dim); }
  unsqueeze(dim: number): Tensor { return callT(O.unsqueeze, this, dim); }
  expand(...shape: number[] | [number[]]): Tensor { return callT(O.expand, this, flatShape(shape), false); }
  expandAs(o: Tensor): Tensor { return callT(O.expand, this, o.shape, false); }
  contiguous(): Tensor { return callT(O.contiguous, this, 0); }
  clone(): Tensor { return callT(O.clone, this, null); }
  repeat(...times: number[] | [number[]]): Tensor { return callT(O.repeat, this, flatShape(times)); }
  flip(dims: number | number[]): Tensor { return callT(O.flip, this, asList(dims)); }
  roll(shifts: number | number[], dims: number | number[]): Tensor { return callT(O.roll, this, asList(shifts), asList(dims)); }
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    return typeof sizeOrSizes === 'number' ? callTs(O.split, this, sizeOrSizes, dim) : callTs(O.splitSizes, this, sizeOrSizes, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] { return callTs(O.chunk, this, chunks, dim); }
  unbind(dim = 0): Tensor[] { return callTs(O.unbind, this, dim); }

  // ---- indexing
  /** Elements start..end (exclusive) step along dim, as a view (Python's t[..., a:b:s]). */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor { return callT(O.slice, this, dim, start ?? null, end ?? null, step); }
  select(dim: number, index: number): Tensor { return callT(O.select, this, dim, index); }
  narrow(dim: number, start: number, length: number): Tensor { return callT(O.narrow, this, dim, start, length); }
  /** Advanced indexing with one index tensor per leading dim (null skips a dim), as t[i, j]. */
  index(indices: (Tensor | null)[]): Tensor { return callT(O.index, this, indices); }
  indexSelect(dim: number, index: Tensor): Tensor { return callT(O.indexSelect, this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return callT(O.gather, this, dim, index, false); }
  scatter(dim: number, index: Tensor, src: Tensor): Tensor { return callT(O.scatter, this, dim, index, src); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return callT(O.scatterAdd, this, dim, index, src); }
  maskedFill(mask: Tensor, value: TensorOrNumber): Tensor {
    return typeof value === 'number' ? callT(O.maskedFill, this, mask, value) : callT(O.maskedFillT, this, mask, value);
  }
  maskedSelect(mask: Tensor): Tensor { return callT(O.maskedSelect, this, mask); }
  nonzero(): Tensor { return callT(O.nonzero, this); }

  // ---- conversion
  to(target: DType | Device | { dtype?: DType; device?: Device }): Tensor {
    const opts = typeof target === 'string' ? (isDType(target) ? { dtype: target } : { device: target }) : target;
    let t: Tensor = this;
    if (opts.device && opts.device !== this.device) t = callT(O.toDevice, t, opts.device, dtypeCode(opts.dtype ?? t.dtype), false, false, null);
    else if (opts.dtype && opts.dtype !== this.dtype) t = callT(O.toDtype, t, dtypeCode(opts.dtype), false, false, null);
    return t;
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  long(): Tensor { return this.to('int64'); }
  bool(): Tensor { return this.to('bool'); }

  // ---- in-place (used by optimisers and init; autograd records them like PyTorch)
  add_(o: TensorOrNumber, alpha = 1): this { typeof o === 'number' ? callInPlace(O.addS_, this, o, alpha) : callInPlace(O.add_, this, o, alpha); return this; }
  sub_(o: Tensor, alpha = 1): this { callInPlace(O.sub_, this, o, alpha); return this; }
  mul_(o: TensorOrNumber): this { typeof o === 'number' ? callInPlace(O.mulS_, this, o) : callInPlace(O.mul_, this, o); return this; }
  div_(o: Tensor): this { callInPlace(O.div_, this, o); return this; }
  addcmul_(a: Tensor, b: Tensor, value = 1): this { callInPlace(O.addcmul_, this, a, b, value); return this; }
  addcdiv_(a: Tensor, b: Tensor, value = 1): this { callInPlace(O.addcdiv_, this, a, b, value); return this; }
  lerp_(end: Tensor, weight: number): this { callInPlace(O.lerpS_, this, end, weight); return this; }
  sqrt_(): this { callInPlace(O.sqrt_, this); return this; }
  copy_(src: Tensor): this { callInPlace(O.copy_, this, src, false); return this; }
  zero_(): this { callInPlace(O.zero_, this); return this; }
  fill_(v: number): this { callInPlace(O.fill_, this, v); return this; }
  clamp_(min?: number | null, max?: number | null): this { callInPlace(O.clamp_, this, min ?? null, max ?? null); return this; }
  normal_(mean = 0, std = 1): this { callInPlace(O.normal_, this, mean, std, null); return this; }
  uniform_(from = 0, to = 1): this { callInPlace(O.uniform_, this, from, to, null); return this; }
  bernoulli_(p: number): this { callInPlace(O.bernoulli_, this, p, null); return this; }
}

function isDType(s: string): s is DType {
  return ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'].includes(s);
}

function asList(d: number | number[]): number[] {
  return typeof d === 'number' ? [d] : d;
}

function flatShape(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}

const FULL = opRef('full');
function scalarLike(v: number, like: Tensor): Tensor {
  return callT(FULL, [], v, dtypeCode(like.dtype), null, like.device, null);
}

/** ternary select: where(cond, a, b) */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return callT(O.where, cond, a, b);
}
