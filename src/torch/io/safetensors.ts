// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
// header naming each tensor's dtype, shape and byte range, then the raw little-endian data.
// The writer lays files out exactly as the Python `safetensors` package does (tensors sorted
// by descending dtype, then by name; header padded with spaces to 8 bytes), so a file saved
// here is byte-identical to one saved there. The reader validates every field before it
// touches data, in the same way as the reference reader (contiguous ranges, no trailing bytes).
import { fromBytes, toBytes } from '../creation.js';
import { BYTES_PER_ELEMENT, type DType } from '../dtype.js';
import type { Device, Tensor } from '../tensor.js';
import { bufferSource, fileSource, withSource, type ByteSource } from './byte-source.js';
import { parseStrictJson, type JsonValue } from './strict-json.js';
import { writeFileAtomic } from './atomic-write.js';

/** Same bound as the reference reader: larger headers are refused as hostile. */
export const MAX_HEADER_BYTES = 100_000_000;

const TO_DTYPE: Record<string, DType> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const FROM_DTYPE: Record<DType, string> = Object.fromEntries(Object.entries(TO_DTYPE).map(([k, v]) => [v, k])) as Record<DType, string>;

// Position in the reference crate's Dtype enum (BOOL < U8 < I8 < I16 < F16 < BF16 < I32 <
// F32 < F64 < I64, skipping kinds we lack); its writer sorts by this, descending.
const DTYPE_RANK: Record<string, number> = { BOOL: 0, U8: 1, I8: 2, I16: 5, F16: 7, BF16: 8, I32: 9, F32: 11, F64: 13, I64: 14 };

export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte range within the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Entries in the order of their data (ascending offsets). */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Where the data section starts in the file: 8 + header length. */
  dataStart: number;
}

export interface LoadOptions {
  device?: Device;
}

export type TensorDict = Record<string, Tensor> | Map<string, Tensor>;

// ---------------------------------------------------------------- reading

function readHeader(src: ByteSource): SafetensorsHeader {
  const bad = (msg: string): never => {
    throw new Error(`${src.name}: not a valid safetensors file: ${msg}`);
  };
  if (src.size < 8) bad(`${src.size} bytes is too short for the 8-byte header length`);
  const lenBytes = src.read(0, 8, 'header length');
  const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) bad(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > src.size) bad(`header length ${headerLen} runs past the end of the file (${src.size} bytes)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(src.read(8, headerLen, 'header'));
  } catch {
    return bad('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) bad('header does not start with "{"');
  const json = parseStrictJson(text, `${src.name}: safetensors header`);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return bad('header is not a JSON object');

  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) bad('"__metadata__" must map strings to strings');
      for (const [k, v] of Object.entries(info as Record<string, JsonValue>)) {
        if (typeof v !== 'string') bad(`"__metadata__"."${k}" is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    entries.push(parseEntry(name, info, bad));
  }

  const dataStart = 8 + headerLen;
  const dataSize = src.size - dataStart;
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) {
      bad(e.begin < at
        ? `tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (which ends at ${at})`
        : `gap before tensor "${e.name}": data_offsets start at ${e.begin}, previous data ends at ${at}`);
    }
    at = e.end;
  }
  if (at > dataSize) bad(`data is truncated: tensors need ${at} bytes after the header, the file holds ${dataSize}`);
  if (at < dataSize) bad(`${dataSize - at} trailing bytes after the last tensor's data`);
  return { entries: sorted, metadata, dataStart };
}

function parseEntry(name: string, info: JsonValue, bad: (msg: string) => never): SafetensorsEntry {
  const where = `tensor "${name}"`;
  if (info === null || typeof info !== 'object' || Array.isArray(info)) bad(`${where} is not an object`);
  const o = info as Record<string, JsonValue>;
  const dtype = typeof o.dtype === 'string' ? TO_DTYPE[o.dtype] : undefined;
  if (!dtype) bad(`${where} has unsupported dtype ${JSON.stringify(o.dtype)} (supported: ${Object.keys(TO_DTYPE).join(', ')})`);
  if (!Array.isArray(o.shape)) bad(`${where} has no "shape" array`);
  const shape = o.shape as JsonValue[];
  let bytes = BYTES_PER_ELEMENT[dtype!];
  for (const s of shape) {
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) bad(`${where} has invalid shape [${shape.join(', ')}]: entries must be non-negative integers`);
    bytes *= s as number;
    if (!Number.isSafeInteger(bytes)) bad(`${where} shape [${shape.join(', ')}] overflows`);
  }
  const off = o.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    bad(`${where} "data_offsets" must be two non-negative integers, got ${JSON.stringify(off)}`);
  }
  const [begin, end] = off as number[];
  if (end < begin) bad(`${where} data_offsets [${begin}, ${end}] end before they begin`);
  if (end - begin !== bytes) bad(`${where} data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} shape [${shape.join(', ')}] needs ${bytes}`);
  return { name, dtype: dtype!, shape: shape as number[], begin, end };
}

function readTensors(src: ByteSource, opts: LoadOptions): Map<string, Tensor> {
  const header = readHeader(src);
  const out = new Map<string, Tensor>();
  try {
    for (const e of header.entries) {
      const bytes = src.read(header.dataStart + e.begin, e.end - e.begin, `tensor "${e.name}"`);
      out.set(e.name, fromBytes(bytes, e.dtype, e.shape, opts.device));
    }
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}

/** The tensors of a .safetensors file by name, in the order of their data. */
export function loadSafetensors(path: string, opts: LoadOptions = {}): Map<string, Tensor> {
  return withSource(fileSource(path), (src) => readTensors(src, opts));
}
export function parseSafetensors(bytes: Uint8Array, opts: LoadOptions & { name?: string } = {}): Map<string, Tensor> {
  return readTensors(bufferSource(bytes, opts.name), opts);
}
/** Names, dtypes, shapes and metadata without reading any tensor data. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  return withSource(fileSource(path), readHeader);
}
export function parseSafetensorsHeader(bytes: Uint8Array, name?: string): SafetensorsHeader {
  return readHeader(bufferSource(bytes, name));
}

// ---------------------------------------------------------------- writing

interface Planned {
  name: string;
  tensor: Tensor;
  code: string;
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function plan(tensors: TensorDict, metadata: Record<string, string> | undefined): { header: Uint8Array; order: Planned[] } {
  const items = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const order: Planned[] = items.map(([name, tensor]) => {
    if (name === '__metadata__') throw new Error('safetensors: "__metadata__" is reserved and cannot name a tensor');
    if (!tensor || typeof (tensor as Tensor).dtype !== 'string') throw new Error(`safetensors: value for "${name}" is not a Tensor`);
    return { name, tensor, code: FROM_DTYPE[tensor.dtype] };
  });
  order.sort((a, b) => DTYPE_RANK[b.code] - DTYPE_RANK[a.code] || utf8Compare(a.name, b.name));

  const parts: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort(utf8Compare);
    for (const k of keys) if (typeof metadata[k] !== 'string') throw new Error(`safetensors: metadata "${k}" must be a string`);
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const p of order) {
    const shape = p.tensor.shape;
    const n = shape.reduce((a, b) => a * b, BYTES_PER_ELEMENT[p.tensor.dtype]);
    parts.push(`${JSON.stringify(p.name)}:{"dtype":"${p.code}","shape":[${shape.join(',')}],"data_offsets":[${offset},${offset + n}]}`);
    offset += n;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  const header = new Uint8Array(8 + padded.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded.length), true);
  header.set(padded, 8);
  return { header, order };
}

function emit(tensors: TensorDict, metadata: Record<string, string> | undefined, write: (chunk: Uint8Array) => void): void {
  const { header, order } = plan(tensors, metadata);
  write(header);
  for (const p of order) write(toBytes(p.tensor));
}

/** The bytes of a .safetensors file holding `tensors` (and string metadata). */
export function serializeSafetensors(tensors: TensorDict, metadata?: Record<string, string>): Uint8Array {
  const chunks: Uint8Array[] = [];
  emit(tensors, metadata, (c) => chunks.push(c));
  return Buffer.concat(chunks);
}

/** Saves atomically: a temporary file beside `path` is renamed over it when complete. */
export function saveSafetensors(path: string, tensors: TensorDict, metadata?: Record<string, string>): void {
  writeFileAtomic(path, (write) => emit(tensors, metadata, write));
}
