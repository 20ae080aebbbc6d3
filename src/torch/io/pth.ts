// PyTorch checkpoints (`torch.save`) read directly, without Python: the zip format
// (PyTorch >= 1.6: <name>/data.pkl plus one <name>/data/<key> entry per storage) and the
// legacy format (magic number, protocol, sys_info and main pickles, the storage key list,
// then each storage as an 8-byte element count and raw bytes), which older pretrained files
// such as torchvision's VGG weights use. Tensors are rebuilt from (storage, offset, size,
// stride) with as_strided semantics and returned as contiguous copies, so views and shared
// storages load with the values PyTorch shows. `savePth` writes the zip format.
import { fromBytes, toBytes } from '../creation.js';
import { BYTES_PER_ELEMENT, isFloating, type DType } from '../dtype.js';
import { opRef } from '../ops.js';
import { callT, Tensor, type Device } from '../tensor.js';
import { bufferSource, fileSource, withSource, type ByteSource } from './byte-source.js';
import { PickleWriter, PyDict, PyGlobal, dataGlobals, unpickle, type PyTuple } from './pickle.js';
import { ZipReader, writeZip } from './zip.js';
import { writeFileAtomic } from './atomic-write.js';
import type { TensorDict } from './safetensors.js';

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool',
};
const STORAGE_OF: Record<DType, string> = Object.fromEntries(Object.entries(STORAGE_DTYPES).map(([k, v]) => [v, k])) as Record<DType, string>;

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;
const AS_STRIDED = opRef('as_strided');
const CLONE = opRef('clone');
const CONTIGUOUS_FORMAT = 0;

export interface PthLoadOptions {
  device?: Device;
  /**
   * Nested dicts (e.g. {"state_dict": {...}, "epoch": 3}) become dotted keys
   * ("state_dict.conv.weight") and non-tensor leaves are skipped. Without it the file must
   * hold one flat dict of tensors.
   */
  flatten?: boolean;
}

/** A storage as a persistent id names it; its bytes arrive later (legacy) or on demand (zip). */
interface StorageRef {
  key: string;
  dtype: DType;
  /** Elements, as the persistent id records them. */
  numel: number;
  /** Element offset into the root storage (old storage views; 0 otherwise). */
  offset: number;
  bytes(): Uint8Array;
}

/** A tensor as the pickle describes it; materialised once all storages are readable. */
class PendingTensor {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
    readonly requiresGrad: boolean,
  ) {}
}

function intList(v: unknown, what: string, fail: (m: string) => never): number[] {
  if (!Array.isArray(v)) fail(`${what} is not a tuple`);
  const out = v as unknown[];
  for (const x of out) if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) fail(`${what} (${out.join(', ')}) must hold non-negative integers`);
  return out as number[];
}

function rebuildTensor(source: string, args: PyTuple, v2: boolean): PendingTensor {
  const fail = (m: string): never => {
    throw new Error(`${source}: bad tensor record: ${m}`);
  };
  if (args.length < 4) fail(`_rebuild_tensor needs (storage, offset, size, stride), got ${args.length} arguments`);
  const [storage, offset, sizeV, strideV, requiresGrad] = args;
  if (!(storage && typeof storage === 'object' && 'dtype' in storage && 'bytes' in storage)) return fail('first argument is not a storage');
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) fail(`storage offset ${String(offset)} is not a non-negative integer`);
  const size = intList(sizeV, 'size', fail);
  const stride = intList(strideV, 'stride', fail);
  if (size.length !== stride.length) fail(`size (${size.join(', ')}) and stride (${stride.join(', ')}) differ in length`);
  const s = storage as StorageRef;
  let numel = 1;
  let last = offset as number;
  for (let i = 0; i < size.length; i++) {
    numel *= size[i];
    if (size[i] > 0) last += (size[i] - 1) * stride[i];
  }
  if (!Number.isSafeInteger(last) || !Number.isSafeInteger(numel)) fail(`size (${size.join(', ')}) overflows`);
  if (numel > 0 && last >= s.numel) {
    fail(`size (${size.join(', ')}) stride (${stride.join(', ')}) offset ${offset} reaches element ${last} of storage "${s.key}" which holds ${s.numel}`);
  }
  return new PendingTensor(s, offset as number, size, stride, v2 && requiresGrad === true);
}

function isContiguous(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    if (size[i] !== 1 && stride[i] !== expected) return false;
    expected *= size[i];
  }
  return true;
}

/** The allow-list: everything a state dict of dense tensors needs, and nothing that runs code. */
function allowedGlobals(source: string): Map<string, ((args: PyTuple) => unknown) | null> {
  const g = new Map<string, ((args: PyTuple) => unknown) | null>([
    ...dataGlobals(source),
    ['torch._utils._rebuild_tensor_v2', (a) => rebuildTensor(source, a, true)],
    ['torch._utils._rebuild_tensor', (a) => rebuildTensor(source, a, false)],
    ['torch._utils._rebuild_parameter', (a) => {
      if (!(a[0] instanceof PendingTensor)) throw new Error(`${source}: _rebuild_parameter of something that is not a tensor`);
      return new PendingTensor(a[0].storage, a[0].offset, a[0].size, a[0].stride, a[1] === true);
    }],
  ]);
  for (const name of Object.keys(STORAGE_DTYPES)) g.set(`torch.${name}`, null);
  return g;
}

function storageDtype(source: string, t: unknown): DType {
  const d = t instanceof PyGlobal && t.module === 'torch' ? STORAGE_DTYPES[t.name] : undefined;
  if (!d) throw new Error(`${source}: unsupported storage type ${t instanceof PyGlobal ? t.qualified : String(t)}`);
  return d;
}

function checkKey(source: string, key: unknown): string {
  if (typeof key !== 'string' || !/^[\w.-]{1,64}$/.test(key)) throw new Error(`${source}: storage key ${JSON.stringify(key)} is not a plain name`);
  return key;
}

// ---------------------------------------------------------------- zip format

function readZipFormat(src: ByteSource): unknown {
  const zip = new ZipReader(src);
  if (zip.names.length === 0) throw new Error(`${src.name}: zip archive is empty, not a PyTorch checkpoint`);
  const slash = zip.names[0].indexOf('/');
  if (slash <= 0) throw new Error(`${src.name}: first zip entry "${zip.names[0]}" is not inside a directory, not a PyTorch checkpoint`);
  const prefix = zip.names[0].slice(0, slash);
  if (!zip.has(`${prefix}/data.pkl`)) throw new Error(`${src.name}: PyTorch checkpoint has no "${prefix}/data.pkl"`);
  if (zip.has(`${prefix}/byteorder`)) {
    const order = Buffer.from(zip.read(`${prefix}/byteorder`)).toString('latin1').trim();
    if (order !== 'little') throw new Error(`${src.name}: byte order "${order}" is not supported (only little-endian)`);
  }
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new Error(`${src.name}: unsupported persistent id ${describe(pid)}`);
    const key = checkKey(src.name, pid[2]);
    const dtype = storageDtype(src.name, pid[1]);
    const numel = pid[4];
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new Error(`${src.name}: storage "${key}" has bad element count ${String(numel)}`);
    const known = storages.get(key);
    if (known) return known;
    let cached: Uint8Array | undefined;
    const ref: StorageRef = {
      key, dtype, numel, offset: 0,
      bytes() {
        if (cached) return cached;
        const name = `${prefix}/data/${key}`;
        if (!zip.has(name)) throw new Error(`${src.name}: storage entry "${name}" is missing`);
        const b = zip.read(name);
        const want = numel * BYTES_PER_ELEMENT[dtype];
        if (b.length !== want) throw new Error(`${src.name}: storage "${name}" holds ${b.length} bytes, ${numel} ${dtype} elements need ${want}`);
        cached = b;
        return b;
      },
    };
    storages.set(key, ref);
    return ref;
  };
  return unpickle(zip.read(`${prefix}/data.pkl`), { source: `${src.name} (data.pkl)`, globals: allowedGlobals(src.name), persistentLoad }).value;
}

// ---------------------------------------------------------------- legacy format

function readLegacyFormat(src: ByteSource): unknown {
  // The pickles come first and are small; read a head of the file, growing it if a pickle
  // runs past it, then read storages by offset.
  let headLen = Math.min(src.size, 1 << 20);
  for (;;) {
    const head = src.read(0, headLen, 'pickles');
    try {
      return readLegacyFrom(src, head);
    } catch (err) {
      if (headLen < src.size && /truncated/.test((err as Error).message)) {
        headLen = Math.min(src.size, headLen * 4);
        continue;
      }
      throw err;
    }
  }
}

function readLegacyFrom(src: ByteSource, head: Uint8Array): unknown {
  const globals = allowedGlobals(src.name);
  const step = (at: number, what: string, persistentLoad?: (pid: unknown) => unknown) =>
    unpickle(head, { source: `${src.name} (${what})`, globals, persistentLoad }, at);
  const magic = step(0, 'magic number');
  if (magic.value !== LEGACY_MAGIC) throw new Error(`${src.name}: not a PyTorch checkpoint (legacy magic number missing)`);
  const protocol = step(magic.end, 'protocol version');
  if (protocol.value !== LEGACY_PROTOCOL) throw new Error(`${src.name}: legacy protocol ${String(protocol.value)} is not supported (expected ${LEGACY_PROTOCOL})`);
  const sysInfo = step(protocol.end, 'sys_info');
  if (sysInfo.value instanceof PyDict && sysInfo.value.get('little_endian') === false) throw new Error(`${src.name}: saved on a big-endian machine; not supported`);

  interface LegacyStorage { ref: StorageRef; root: string; data?: Uint8Array }
  const roots = new Map<string, { dtype: DType; numel: number; data?: Uint8Array }>();
  const views = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    if (Array.isArray(pid) && pid[0] === 'module') throw new Error(`${src.name}: file holds a pickled nn.Module (whole model), which needs Python code to load; save model.state_dict() instead`);
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 6) throw new Error(`${src.name}: unsupported persistent id ${describe(pid)}`);
    const dtype = storageDtype(src.name, pid[1]);
    const rootKey = checkKey(src.name, pid[2]);
    const numel = pid[4];
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new Error(`${src.name}: storage "${rootKey}" has bad element count ${String(numel)}`);
    let root = roots.get(rootKey);
    if (!root) roots.set(rootKey, (root = { dtype, numel }));
    if (root.dtype !== dtype || root.numel !== numel) throw new Error(`${src.name}: storage "${rootKey}" is described twice differently`);
    const view = pid[5];
    let key = rootKey;
    let offset = 0;
    let count = numel;
    if (view !== null && view !== undefined) {
      if (!Array.isArray(view) || view.length !== 3) throw new Error(`${src.name}: bad storage view ${describe(view)}`);
      key = checkKey(src.name, view[0]);
      [offset, count] = [view[1] as number, view[2] as number];
      if (![offset, count].every((x) => Number.isSafeInteger(x) && x >= 0) || offset + count > numel) {
        throw new Error(`${src.name}: storage view "${key}" (offset ${offset}, size ${count}) leaves root storage "${rootKey}" of ${numel} elements`);
      }
    }
    const existing = views.get(key);
    if (existing) return existing;
    const r = root;
    const ref: StorageRef = {
      key, dtype, numel: count, offset,
      bytes() {
        if (!r.data) throw new Error(`${src.name}: storage "${rootKey}" is not in the file's storage list`);
        const es = BYTES_PER_ELEMENT[dtype];
        return r.data.subarray(offset * es, (offset + count) * es);
      },
    };
    views.set(key, ref);
    return ref;
  };
  const main = step(sysInfo.end, 'main pickle', persistentLoad);
  const keys = step(main.end, 'storage keys');
  if (!Array.isArray(keys.value)) throw new Error(`${src.name}: storage key list is not a list`);
  let at = keys.end;
  for (const k of keys.value) {
    const key = checkKey(src.name, k);
    const root = roots.get(key);
    if (!root) throw new Error(`${src.name}: storage "${key}" in the key list was never referenced`);
    const countBytes = src.read(at, 8, `element count of storage "${key}"`);
    const count = new DataView(countBytes.buffer, countBytes.byteOffset, 8).getBigInt64(0, true);
    if (count !== BigInt(root.numel)) throw new Error(`${src.name}: storage "${key}" records ${count} elements, its reference says ${root.numel}`);
    const nbytes = root.numel * BYTES_PER_ELEMENT[root.dtype];
    root.data = src.read(at + 8, nbytes, `storage "${key}"`);
    at += 8 + nbytes;
  }
  return main.value;
}

// ---------------------------------------------------------------- materialising

function materialize(tree: unknown, device: Device | undefined): { value: unknown; created: Tensor[] } {
  const done = new Map<unknown, unknown>();
  const created: Tensor[] = [];
  const bases = new Map<StorageRef, Tensor>();
  const build = (p: PendingTensor): Tensor => {
    const es = BYTES_PER_ELEMENT[p.storage.dtype];
    const bytes = p.storage.bytes();
    let t: Tensor;
    if (isContiguous(p.size, p.stride)) {
      const n = p.size.reduce((a, b) => a * b, 1);
      t = fromBytes(bytes.subarray(p.offset * es, (p.offset + n) * es), p.storage.dtype, p.size);
    } else {
      let base = bases.get(p.storage);
      if (!base) bases.set(p.storage, (base = fromBytes(bytes, p.storage.dtype, [p.storage.numel])));
      const v = callT(AS_STRIDED, base, p.size, p.stride, p.offset);
      t = callT(CLONE, v, CONTIGUOUS_FORMAT);
      v.dispose();
    }
    if (device && device !== 'cpu') {
      const moved = t.to({ device });
      t.dispose();
      t = moved;
    }
    if (p.requiresGrad && isFloating(t.dtype)) t.requiresGrad_(true);
    created.push(t);
    return t;
  };
  // Iterative walk: a hostile pickle can nest deeply or refer to itself through the memo.
  const rootHolder: unknown[] = [tree];
  const work: [unknown, (v: unknown) => void][] = [[tree, (v) => (rootHolder[0] = v)]];
  try {
    while (work.length) {
      const [node, assign] = work.pop()!;
      if (node === null || typeof node !== 'object') { assign(node); continue; }
      if (done.has(node)) { assign(done.get(node)); continue; }
      if (node instanceof PendingTensor) {
        const t = build(node);
        done.set(node, t);
        assign(t);
      } else if (node instanceof PyDict) {
        const out = new PyDict(node.className);
        done.set(node, out);
        out.attributes = node.attributes;
        for (const [k, v] of node) { out.set(k, undefined); work.push([v, (x) => out.set(k, x)]); }
        assign(out);
      } else if (Array.isArray(node)) {
        const out: unknown[] = new Array(node.length);
        done.set(node, out);
        node.forEach((v, i) => work.push([v, (x) => (out[i] = x)]));
        assign(out);
      } else {
        assign(node);
      }
    }
  } catch (err) {
    for (const t of created) t.dispose();
    throw err;
  } finally {
    for (const b of bases.values()) b.dispose();
  }
  return { value: rootHolder[0], created };
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return `(${v.map(describe).join(', ')})`;
  if (v instanceof PyGlobal) return v.qualified;
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function readAny(src: ByteSource): unknown {
  if (src.size < 4) throw new Error(`${src.name}: ${src.size} bytes is too short for a PyTorch checkpoint`);
  const head = src.read(0, Math.min(src.size, 512), 'file signature');
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return readZipFormat(src);
  if (head[0] === 0x80 && head[2] === 0x8a) return readLegacyFormat(src);
  if (head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar') {
    throw new Error(`${src.name}: tar-based checkpoint (PyTorch before 0.1.10) is not supported`);
  }
  throw new Error(`${src.name}: not a PyTorch checkpoint (neither a zip archive nor the legacy pickle format)`);
}

function toStateDict(source: string, value: unknown, opts: PthLoadOptions, created: Tensor[]): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  try {
    if (!(value instanceof PyDict)) throw new Error(`${source}: holds a ${Array.isArray(value) ? 'list' : typeof value}, not a dict of tensors; use loadPthObject`);
    // Iterative so that a self-referencing or deeply nested file cannot overflow the stack.
    const work: [string, unknown][] = [...value].reverse().map(([k, v]) => [String(k), v]);
    const seen = new Set<unknown>([value]);
    while (work.length) {
      const [key, v] = work.pop()!;
      if (v instanceof Tensor) {
        if (out.has(key)) throw new Error(`${source}: key "${key}" occurs twice after flattening`);
        out.set(key, v);
      } else if (!opts.flatten) {
        throw new Error(`${source}: entry "${key}" is ${v instanceof PyDict ? 'a nested dict' : `a ${Array.isArray(v) ? 'list' : typeof v}`}, not a tensor; pass { flatten: true } for dotted keys, or use loadPthObject`);
      } else if ((v instanceof PyDict || Array.isArray(v)) && !seen.has(v)) {
        seen.add(v);
        const children: [unknown, unknown][] = v instanceof PyDict ? [...v] : v.map((x, i) => [i, x]);
        for (const [k, x] of children.reverse()) work.push([`${key}.${String(k)}`, x]);
      }
    }
  } catch (err) {
    for (const t of created) t.dispose();
    throw err;
  }
  const kept = new Set(out.values());
  for (const t of created) if (!kept.has(t)) t.dispose();
  return out;
}

function loadFrom(src: ByteSource, opts: PthLoadOptions): Map<string, Tensor> {
  const { value, created } = materialize(readAny(src), opts.device);
  return toStateDict(src.name, value, opts, created);
}

/** A state dict from a .pth/.pt file: tensor names to tensors, in file order. */
export function loadPth(path: string, opts: PthLoadOptions = {}): Map<string, Tensor> {
  return withSource(fileSource(path), (src) => loadFrom(src, opts));
}
export function parsePth(bytes: Uint8Array, opts: PthLoadOptions & { name?: string } = {}): Map<string, Tensor> {
  return loadFrom(bufferSource(bytes, opts.name), opts);
}
/**
 * Everything in a checkpoint: dicts as PyDict (a Map), lists and tuples as arrays, tensors
 * as Tensors, numbers and strings as themselves. For checkpoints holding more than weights.
 */
export function loadPthObject(path: string, opts: { device?: Device } = {}): unknown {
  return withSource(fileSource(path), (src) => materialize(readAny(src), opts.device).value);
}
export function parsePthObject(bytes: Uint8Array, opts: { device?: Device; name?: string } = {}): unknown {
  return materialize(readAny(bufferSource(bytes, opts.name)), opts.device).value;
}

// ---------------------------------------------------------------- writing

/** The bytes of a zip-format checkpoint of a flat state dict, as torch.load reads it. */
export function serializePth(stateDict: TensorDict): Uint8Array {
  const items = stateDict instanceof Map ? [...stateDict.entries()] : Object.entries(stateDict);
  const w = new PickleWriter().proto(2);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  const storages: { name: string; data: Uint8Array }[] = [];
  items.forEach(([name, t], i) => {
    if (!(t instanceof Tensor)) throw new Error(`savePth: value for "${name}" is not a Tensor`);
    const shape = t.shape;
    const stride: number[] = new Array(shape.length);
    for (let d = shape.length - 1, s = 1; d >= 0; d--) { stride[d] = s; s *= shape[d]; }
    const key = String(i);
    storages.push({ name: `archive/data/${key}`, data: toBytes(t) });
    w.str(name).global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', STORAGE_OF[t.dtype]).str(key).str('cpu').int(t.numel).tuple().persistentId();
    w.int(0).intTuple(shape).intTuple(stride).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
    w.tuple().reduce();
  });
  w.setItems().stop();
  return writeZip([
    { name: 'archive/data.pkl', data: w.bytes() },
    ...storages,
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
}

/** Saves a state dict atomically in the zip format of torch.save (PyTorch >= 1.6). */
export function savePth(path: string, stateDict: TensorDict): void {
  const bytes = serializePth(stateDict);
  writeFileAtomic(path, (write) => write(bytes));
}
