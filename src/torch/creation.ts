// Tensor factories: from JavaScript data and the usual constructors (zeros, arange, randn...).
import { native } from './native.js';
import { dtypeCode, type DType } from './dtype.js';
import { opRef } from './ops.js';
import { Tensor, callT, type Device } from './tensor.js';

export interface FactoryOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

const O = {
  zeros: opRef('zeros'), ones: opRef('ones'), full: opRef('full'), empty: opRef('empty', 'memory_format'),
  arange: opRef('arange', 'start_step'), linspace: opRef('linspace'), rand: opRef('rand'), randn: opRef('randn'),
  randint: opRef('randint', 'low'), randperm: opRef('randperm'), eye: opRef('eye', 'm'),
  zerosLike: opRef('zeros_like'), onesLike: opRef('ones_like'), fullLike: opRef('full_like'), randLike: opRef('rand_like'),
  randnLike: opRef('randn_like'), cat: opRef('cat'), stack: opRef('stack'), where: opRef('where', 'self'), einsum: opRef('einsum'),
};

function finish(t: Tensor, o: FactoryOptions): Tensor {
  if (o.requiresGrad) t.requiresGrad_(true);
  return t;
}
function dt(o: FactoryOptions, fallback: DType = 'float32'): number {
  return dtypeCode(o.dtype ?? fallback);
}
function checkShape(shape: readonly number[], what: string): number[] {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new Error(`${what}: shape [${shape.join(', ')}] must hold non-negative integers`);
  }
  return [...shape];
}

export function zeros(shape: readonly number[], o: FactoryOptions = {}): Tensor {
  return finish(callT(O.zeros, checkShape(shape, 'zeros'), dt(o), null, o.device ?? null, null), o);
}
export function ones(shape: readonly number[], o: FactoryOptions = {}): Tensor {
  return finish(callT(O.ones, checkShape(shape, 'ones'), dt(o), null, o.device ?? null, null), o);
}
export function full(shape: readonly number[], value: number, o: FactoryOptions = {}): Tensor {
  return finish(callT(O.full, checkShape(shape, 'full'), value, dt(o), null, o.device ?? null, null), o);
}
export function empty(shape: readonly number[], o: FactoryOptions = {}): Tensor {
  return finish(callT(O.empty, checkShape(shape, 'empty'), dt(o), null, o.device ?? null, null, null), o);
}
/** Values start, start+step, ... below end (PyTorch's arange; integer args give int64). */
export function arange(start: number, end?: number, step = 1, o: FactoryOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const integral = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  return finish(callT(O.arange, start, end, step, dt(o, integral ? 'int64' : 'float32'), null, o.device ?? null, null), o);
}
export function linspace(start: number, end: number, steps: number, o: FactoryOptions = {}): Tensor {
  return finish(callT(O.linspace, start, end, steps, dt(o), null, o.device ?? null, null), o);
}
/** Uniform [0, 1) from the global generator (see manualSeed). */
export function rand(shape: readonly number[], o: FactoryOptions = {}): Tensor {
  return finish(callT(O.rand, checkShape(shape, 'rand'), dt(o), null, o.device ?? null, null), o);
}
export function randn(shape: readonly number[], o: FactoryOptions = {}): Tensor {
  return finish(callT(O.randn, checkShape(shape, 'randn'), dt(o), null, o.device ?? null, null), o);
}
/** Integers in [low, high). */
export function randint(low: number, high: number, shape: readonly number[], o: FactoryOptions = {}): Tensor {
  return callT(O.randint, low, high, checkShape(shape, 'randint'), dt(o, 'int64'), null, o.device ?? null, null);
}
export function randperm(n: number, o: FactoryOptions = {}): Tensor {
  return callT(O.randperm, n, dt(o, 'int64'), null, o.device ?? null, null);
}
export function eye(n: number, m = n, o: FactoryOptions = {}): Tensor {
  return finish(callT(O.eye, n, m, dt(o), null, o.device ?? null, null), o);
}
export function zerosLike(t: Tensor): Tensor { return callT(O.zerosLike, t, null, null, null, null, null); }
export function onesLike(t: Tensor): Tensor { return callT(O.onesLike, t, null, null, null, null, null); }
export function fullLike(t: Tensor, v: number): Tensor { return callT(O.fullLike, t, v, null, null, null, null, null); }
export function randLike(t: Tensor): Tensor { return callT(O.randLike, t, null, null, null, null, null); }
export function randnLike(t: Tensor): Tensor { return callT(O.randnLike, t, null, null, null, null, null); }

export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('cat: needs at least one tensor');
  return callT(O.cat, tensors, dim);
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: needs at least one tensor');
  return callT(O.stack, tensors, dim);
}
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor { return callT(O.where, cond, a, b); }
export function einsum(equation: string, ...tensors: Tensor[]): Tensor { return callT(O.einsum, equation, tensors); }

type Nested = number | boolean | Nested[];

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

/**
 * A tensor from JavaScript data: a typed array (with a shape; its element type picks the
 * dtype) or nested arrays of numbers (float32 unless `dtype` says otherwise).
 */
export function tensor(data: Nested | ArrayBufferView, shapeOrOpts?: readonly number[] | FactoryOptions, maybeOpts: FactoryOptions = {}): Tensor {
  const shape = Array.isArray(shapeOrOpts) ? [...shapeOrOpts] : undefined;
  const o: FactoryOptions = Array.isArray(shapeOrOpts) ? maybeOpts : ((shapeOrOpts as FactoryOptions) ?? {});
  let t: Tensor;
  if (ArrayBuffer.isView(data)) {
    const s = shape ?? [(data as unknown as ArrayLike<number>).length];
    t = new Tensor(native.fromTypedArray(data, checkShape(s, 'tensor'), o.dtype === 'bool', o.device));
    if (o.dtype && o.dtype !== 'bool' && o.dtype !== t.dtype) t = t.to(o.dtype);
  } else {
    const inferred = inferShape(data as Nested);
    const flat: (number | boolean)[] = Array.isArray(data) ? ((data as unknown[]).flat(Infinity as 1) as (number | boolean)[]) : [data as number];
    const expected = inferred.reduce((a, b) => a * b, 1);
    if (flat.length !== expected) throw new Error(`tensor: ragged nested array (shape [${inferred.join(', ')}] needs ${expected} values, got ${flat.length})`);
    const dtype = o.dtype ?? (typeof flat[0] === 'boolean' ? 'bool' : 'float32');
    const s = shape ?? inferred;
    let arr: ArrayBufferView;
    if (dtype === 'float64') arr = Float64Array.from(flat as number[]);
    else if (dtype === 'int64') arr = BigInt64Array.from(flat as number[], (x) => BigInt(Math.trunc(Number(x))));
    else if (dtype === 'int32') arr = Int32Array.from(flat as number[]);
    else if (dtype === 'uint8' || dtype === 'bool') arr = Uint8Array.from(flat as number[], (x) => Number(x));
    else arr = Float32Array.from(flat as number[], Number);
    t = new Tensor(native.fromTypedArray(arr, checkShape(s, 'tensor'), dtype === 'bool', o.device));
    if (t.dtype !== dtype) t = t.to(dtype);
  }
  return finish(t, o);
}

/** Raw little-endian bytes of any dtype (what safetensors and .pth files hold). */
export function fromBytes(bytes: Uint8Array, dtype: DType, shape: readonly number[], device?: Device): Tensor {
  return new Tensor(native.fromBytes(bytes, dtypeCode(dtype), checkShape(shape, 'fromBytes'), device));
}
export function toBytes(t: Tensor): Uint8Array {
  return native.toBytes(t.handle);
}
