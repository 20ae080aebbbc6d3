// TensorBoard scalar logs without TensorFlow: an events file is a sequence of TFRecords
// (uint64 length, masked CRC32C of the length, the bytes, masked CRC32C of the bytes), each
// holding one serialized `tensorflow.Event` protobuf. Only the fields scalars need are
// encoded, by hand: Event{wall_time=1 double, step=2 int64, file_version=3 string,
// summary=5 Summary{value=1 repeated Value{tag=1 string, simple_value=2 float}}}.
// `readEvents` decodes the same subset (CRCs checked), for tests and tools.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------- CRC32C (Castagnoli)

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC32C_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masking, so that a CRC of data that itself holds CRCs stays well distributed. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

// ---------------------------------------------------------------- framing

export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Splits a TFRecord stream into its records, checking both CRCs of each. */
export function readTfRecords(bytes: Uint8Array, name = 'events file'): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) throw new Error(`${name}: truncated record header at byte ${at}`);
    const len = Number(view.getBigUint64(at, true));
    if (view.getUint32(at + 8, true) !== maskedCrc32c(bytes.subarray(at, at + 8))) throw new Error(`${name}: length CRC mismatch in the record at byte ${at}`);
    if (at + 12 + len + 4 > bytes.length) throw new Error(`${name}: record at byte ${at} claims ${len} bytes, past the end of the file`);
    const data = bytes.subarray(at + 12, at + 12 + len);
    if (view.getUint32(at + 12 + len, true) !== maskedCrc32c(data)) throw new Error(`${name}: data CRC mismatch in the record at byte ${at}`);
    records.push(data);
    at += 16 + len;
  }
  return records;
}

// ---------------------------------------------------------------- protobuf (the subset)

class ProtoWriter {
  private readonly parts: number[] = [];
  private varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }
  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }
  int64(field: number, v: number): this {
    this.key(field, 0);
    this.varint(BigInt(v));
    return this;
  }
  double(field: number, v: number): this {
    this.key(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.parts.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }
  bytes(field: number, v: Uint8Array): this {
    this.key(field, 2);
    this.varint(BigInt(v.length));
    this.parts.push(...v);
    return this;
  }
  string(field: number, v: string): this {
    return this.bytes(field, new TextEncoder().encode(v));
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface ScalarEvent {
  wallTime: number;
  step: number;
  /** Set on the file's first record ("brain.Event:2"). */
  fileVersion?: string;
  scalars: { tag: string; value: number }[];
}

export function encodeEvent(e: ScalarEvent): Uint8Array {
  const w = new ProtoWriter().double(1, e.wallTime).int64(2, e.step);
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion);
  if (e.scalars.length) {
    const summary = new ProtoWriter();
    for (const s of e.scalars) summary.bytes(1, new ProtoWriter().string(1, s.tag).float(2, s.value).finish());
    w.bytes(5, summary.finish());
  }
  return w.finish();
}

type Field = { field: number; wire: number; int?: bigint; bytes?: Uint8Array; view?: DataView };

function* fields(buf: Uint8Array, what: string): Generator<Field> {
  let at = 0;
  const varint = (): bigint => {
    let v = 0n, shift = 0n;
    for (;;) {
      if (at >= buf.length) throw new Error(`${what}: truncated varint`);
      const b = buf[at++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const k = Number(varint());
    const field = k >>> 3, wire = k & 7;
    const take = (n: number) => {
      if (at + n > buf.length) throw new Error(`${what}: field ${field} runs past the end`);
      const b = buf.subarray(at, at + n);
      at += n;
      return b;
    };
    if (wire === 0) yield { field, wire, int: varint() };
    else if (wire === 1 || wire === 5) { const b = take(wire === 1 ? 8 : 4); yield { field, wire, bytes: b, view: new DataView(b.buffer, b.byteOffset, b.length) }; }
    else if (wire === 2) yield { field, wire, bytes: take(Number(varint())) };
    else throw new Error(`${what}: unsupported wire type ${wire} for field ${field}`);
  }
}

export function decodeEvent(buf: Uint8Array): ScalarEvent {
  const e: ScalarEvent = { wallTime: 0, step: 0, scalars: [] };
  for (const f of fields(buf, 'Event')) {
    if (f.field === 1 && f.wire === 1) e.wallTime = f.view!.getFloat64(0, true);
    else if (f.field === 2 && f.wire === 0) e.step = Number(BigInt.asIntN(64, f.int!));
    else if (f.field === 3 && f.wire === 2) e.fileVersion = new TextDecoder().decode(f.bytes);
    else if (f.field === 5 && f.wire === 2) {
      for (const v of fields(f.bytes!, 'Summary')) {
        if (v.field !== 1 || v.wire !== 2) continue;
        let tag = '', value = NaN;
        for (const x of fields(v.bytes!, 'Summary.Value')) {
          if (x.field === 1 && x.wire === 2) tag = new TextDecoder().decode(x.bytes);
          else if (x.field === 2 && x.wire === 5) value = x.view!.getFloat32(0, true);
        }
        e.scalars.push({ tag, value });
      }
    }
  }
  return e;
}

/** Every event of a file, CRCs checked. */
export function readEvents(path: string): ScalarEvent[] {
  return readTfRecords(new Uint8Array(readFileSync(path)), path).map(decodeEvent);
}

// ---------------------------------------------------------------- writer

/** Appends scalar events to `DIR/events.out.tfevents.<unix seconds>.<host>`. */
export class TensorBoardWriter {
  readonly path: string;
  private fd: number | null;

  constructor(dir: string, now = Date.now()) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, `events.out.tfevents.${Math.floor(now / 1000)}.${hostname()}`);
    // 'a': a resumed run in the same second appends instead of clobbering.
    this.fd = openSync(this.path, 'a');
    this.write({ wallTime: now / 1000, step: 0, fileVersion: 'brain.Event:2', scalars: [] });
  }

  private write(e: ScalarEvent): void {
    if (this.fd === null) throw new Error(`${this.path}: TensorBoard writer is closed`);
    const rec = tfRecord(encodeEvent(e));
    let done = 0;
    while (done < rec.length) done += writeSync(this.fd, rec, done, rec.length - done);
  }

  /** One event holding every scalar of a step (tags such as "G/adversarial"). */
  scalars(step: number, values: Record<string, number>, wallTime = Date.now() / 1000): void {
    this.write({ wallTime, step, scalars: Object.entries(values).map(([tag, value]) => ({ tag, value })) });
  }

  flush(): void {
    if (this.fd !== null) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }
}
