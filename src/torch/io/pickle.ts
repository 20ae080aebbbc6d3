// A restricted Python unpickler for PyTorch checkpoints, and the small pickler that writes
// them. Pickle is a program for a stack machine whose GLOBAL/REDUCE opcodes can call any
// Python function; here GLOBAL resolves only names on an allow-list given by the caller, and
// "calling" one runs the caller's TypeScript stand-in, so a hostile file can at worst be
// refused. The machine is iterative (no recursion) and every read is bounds-checked.

/** A Python global (module.qualname) that the allow-list admitted as a value. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string { return `${this.module}.${this.name}`; }
}

/** A Python dict (or OrderedDict); `attributes` holds what BUILD set (e.g. `_metadata`). */
export class PyDict extends Map<unknown, unknown> {
  attributes = new Map<string, unknown>();
  constructor(readonly className = 'dict') { super(); }
}

/** Python tuples arrive as frozen arrays; lists as ordinary arrays. */
export type PyTuple = readonly unknown[];

export interface UnpickleOptions {
  /** Names the source in errors. */
  source: string;
  /**
   * Allowed globals by "module.name". A function value is the stand-in called by
   * REDUCE/NEWOBJ with the argument tuple; `null` admits the name as a plain value only.
   */
  globals: ReadonlyMap<string, ((args: PyTuple) => unknown) | null>;
  /** BINPERSID: turns a persistent id (PyTorch's storage reference) into a value. */
  persistentLoad?: (pid: unknown) => unknown;
}

/**
 * Pure Python globals that plain data pickles use: OrderedDict, set, and
 * _codecs.encode (how protocol 2 spells bytes). None of them runs code.
 */
export function dataGlobals(source: string): Map<string, (args: PyTuple) => unknown> {
  const ordered = (args: PyTuple): PyDict => {
    const d = new PyDict('OrderedDict');
    const items = args[0];
    if (items !== undefined && !Array.isArray(items)) throw new Error(`${source}: OrderedDict argument is not a list of pairs`);
    for (const kv of items ?? []) {
      if (!Array.isArray(kv) || kv.length !== 2) throw new Error(`${source}: OrderedDict items are not pairs`);
      d.set(kv[0], kv[1]);
    }
    return d;
  };
  const set = (args: PyTuple): Set<unknown> => new Set(Array.isArray(args[0]) ? args[0] : []);
  const encode = (args: PyTuple): Uint8Array => {
    if (typeof args[0] !== 'string' || (args[1] !== 'latin1' && args[1] !== 'latin-1')) {
      throw new Error(`${source}: _codecs.encode is allowed only as (str, "latin1")`);
    }
    return Uint8Array.from(Buffer.from(args[0], 'latin1'));
  };
  return new Map<string, (args: PyTuple) => unknown>([
    ['collections.OrderedDict', ordered], ['builtins.set', set], ['__builtin__.set', set], ['_codecs.encode', encode],
  ]);
}

const MAX_LONG_BYTES = 256;
const MARK = Symbol('mark');

/**
 * Runs one pickle starting at `start`; returns its value and the offset just past STOP
 * (legacy .pth files hold several pickles back to back).
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions, start = 0): { value: unknown; end: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let p = start;
  let opAt = start;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const fail = (msg: string): never => {
    throw new Error(`${opts.source}: pickle: ${msg} (opcode at byte ${opAt})`);
  };
  const need = (n: number): number => {
    if (n < 0 || p + n > bytes.length) fail(`truncated: needs ${n} more bytes at byte ${p}, data ends at ${bytes.length}`);
    const at = p;
    p += n;
    return at;
  };
  const u8 = (): number => bytes[need(1)];
  const u16 = (): number => dv.getUint16(need(2), true);
  const u32 = (): number => dv.getUint32(need(4), true);
  const u64 = (): number => {
    const v = dv.getBigUint64(need(8), true);
    if (v > BigInt(bytes.length)) fail(`length ${v} exceeds the data`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => bytes.subarray(need(n), p);
  const text = (n: number): string => {
    const b = take(n);
    try {
      return utf8.decode(b);
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const nl = bytes.indexOf(0x0a, p);
    if (nl < 0 || nl - p > 1024) fail('unterminated text argument');
    const s = Buffer.from(bytes.subarray(p, nl)).toString('latin1');
    p = nl + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK on the stack');
    return stack.splice(m!);
  };
  const long = (n: number): number | bigint => {
    if (n > MAX_LONG_BYTES) fail(`integer of ${n} bytes is too long`);
    const b = take(n);
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const global = (module: string, name: string): unknown => {
    const key = `${module}.${name}`;
    if (!opts.globals.has(key)) {
      fail(`refusing global "${key}": only ${[...opts.globals.keys()].join(', ')} may appear in a weight file (it may hold code)`);
    }
    return new PyGlobal(module, name);
  };
  const callGlobal = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PyGlobal)) return fail('REDUCE/NEWOBJ of something that is not an allowed global');
    const impl = opts.globals.get(fn.qualified);
    if (!impl) return fail(`global "${fn.qualified}" is allowed as a value but cannot be called`);
    if (!Array.isArray(args)) return fail(`arguments of ${fn.qualified} are not a tuple`);
    return impl(args);
  };
  const setItems = (d: unknown, kv: unknown[]): void => {
    if (!(d instanceof PyDict)) fail('SETITEM(S) on something that is not a dict');
    if (kv.length % 2) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < kv.length; i += 2) (d as PyDict).set(kv[i], kv[i + 1]);
  };
  const appendItems = (l: unknown, items: unknown[]): void => {
    if (l instanceof Set) { for (const x of items) l.add(x); return; }
    if (!Array.isArray(l) || Object.isFrozen(l)) fail('APPEND(S) on something that is not a list');
    for (const x of items) (l as unknown[]).push(x);
  };
  const tuple = (items: unknown[]): PyTuple => Object.freeze(items);
  const bytesValue = (b: Uint8Array): Uint8Array => Uint8Array.from(b);

  for (;;) {
    opAt = p;
    const op = u8();
    switch (op) {
      case 0x80: { const v = u8(); if (v > 5) fail(`pickle protocol ${v} is newer than 5`); break; } // PROTO
      case 0x95: u64(); break; // FRAME: a size hint; the frame's opcodes follow inline
      case 0x2e: { // STOP
        if (stack.length !== 1 || marks.length) fail(`STOP with ${stack.length} values on the stack`);
        return { value: stack[0], end: p };
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(dv.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(long(u8())); break; // LONG1
      case 0x8b: { const n = dv.getInt32(need(4), true); if (n < 0) fail('negative LONG4 length'); stack.push(long(n)); break; }
      case 0x47: stack.push(dv.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x49: { // INT (text; "01"/"00" are booleans in protocol 0)
        const s = line();
        if (s === '01' || s === '00') stack.push(s === '01');
        else if (/^-?\d{1,15}$/.test(s)) stack.push(Number(s));
        else fail(`bad INT argument "${s}"`);
        break;
      }
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(u64())); break; // BINUNICODE8
      case 0x54: { const n = dv.getInt32(need(4), true); if (n < 0) fail('negative BINSTRING length'); stack.push(text(n)); break; } // Python 2 str
      case 0x55: stack.push(text(u8())); break; // SHORT_BINSTRING
      case 0x43: stack.push(bytesValue(take(u8()))); break; // SHORT_BINBYTES
      case 0x42: stack.push(bytesValue(take(u32()))); break; // BINBYTES
      case 0x8e: stack.push(bytesValue(take(u64()))); break; // BINBYTES8
      case 0x96: stack.push(bytesValue(take(u64()))); break; // BYTEARRAY8
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x85: stack.push(tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(tuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(tuple([a, b, c])); break; } // TUPLE3
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x64: { const d = new PyDict(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); const s = top(); if (!(s instanceof Set)) fail('ADDITEMS on something that is not a set'); for (const x of items) (s as Set<unknown>).add(x); break; }
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x63: { const module = line(); const name = line(); stack.push(global(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(); const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); stack.push(callGlobal(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(callGlobal(cls, args)); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop(); const args = pop(); const cls = pop();
        if (!(kwargs instanceof PyDict) || kwargs.size) fail('NEWOBJ_EX with keyword arguments is not supported');
        stack.push(callGlobal(cls, args));
        break;
      }
      case 0x62: { // BUILD: only dicts accept state here (OrderedDict's `_metadata`)
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict)) fail('BUILD on an object other than a dict is not supported');
        if (state instanceof PyDict) for (const [k, v] of state) (obj as PyDict).attributes.set(String(k), v);
        else if (state !== null) fail('BUILD state is not a dict');
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('persistent id in a pickle that cannot have one');
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x70: { const s = line(); if (!/^\d{1,9}$/.test(s)) fail('bad PUT index'); memo.set(Number(s), top()); break; } // PUT
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const i = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(i)) fail(`memo index ${i} was never stored`);
        stack.push(memo.get(i));
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

// ---------------------------------------------------------------- writing

/** Emits pickle protocol 2 opcodes: just what a state dict of tensors needs. */
export class PickleWriter {
  private chunks: Uint8Array[] = [];

  private raw(...b: number[]): this { this.chunks.push(Uint8Array.from(b)); return this; }
  proto(v = 2): this { return this.raw(0x80, v); }
  global(module: string, name: string): this {
    this.chunks.push(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
    return this;
  }
  mark(): this { return this.raw(0x28); }
  tuple(): this { return this.raw(0x74); }
  emptyTuple(): this { return this.raw(0x29); }
  reduce(): this { return this.raw(0x52); }
  setItems(): this { return this.raw(0x75); }
  persistentId(): this { return this.raw(0x51); }
  bool(v: boolean): this { return this.raw(v ? 0x88 : 0x89); }
  none(): this { return this.raw(0x4e); }
  stop(): this { return this.raw(0x2e); }
  int(v: number): this {
    if (!Number.isSafeInteger(v)) throw new Error(`pickle: ${v} is not an integer`);
    if (v >= -(2 ** 31) && v < 2 ** 31) {
      const b = Buffer.alloc(5);
      b[0] = 0x4a;
      b.writeInt32LE(v, 1);
      this.chunks.push(b);
      return this;
    }
    const b = Buffer.alloc(10);
    b[0] = 0x8a;
    b[1] = 8;
    b.writeBigInt64LE(BigInt(v), 2);
    this.chunks.push(b);
    return this;
  }
  str(s: string): this {
    const body = Buffer.from(s, 'utf8');
    const head = Buffer.alloc(5);
    head[0] = 0x58;
    head.writeUInt32LE(body.length, 1);
    this.chunks.push(head, body);
    return this;
  }
  /** A tuple of integers (sizes, strides). */
  intTuple(values: readonly number[]): this {
    if (values.length === 0) return this.emptyTuple();
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  bytes(): Uint8Array { return Buffer.concat(this.chunks); }
}
