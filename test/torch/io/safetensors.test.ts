import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { EXPECTED, assertMatches, fixture, hasTorchPython, runReference, valuesOf, type Expected } from './helpers.js';

const { io } = torch;

test('loads a Python-written safetensors file with exact values for every dtype', () => {
  const loaded = io.loadSafetensors(fixture('values.safetensors'));
  assert.deepEqual([...loaded.keys()].sort(), Object.keys(EXPECTED.values).sort());
  for (const [k, e] of Object.entries(EXPECTED.values)) assertMatches(loaded.get(k), e, k);
  assert.deepEqual(io.readSafetensorsHeader(fixture('values.safetensors')).metadata, { format: 'pt' });
  torch.dispose(loaded);
});

test('writes byte-identical files to the reference writer (dtype then name order, padded header)', () => {
  for (const [file, metadata] of [['values.safetensors', { format: 'pt' }], ['nometa.safetensors', undefined]] as const) {
    const original = readFileSync(fixture(file));
    const loaded = io.parseSafetensors(original);
    // Insertion order must not matter: the writer sorts as the reference crate does.
    const shuffled = Object.fromEntries([...loaded.entries()].reverse());
    const written = io.serializeSafetensors(shuffled, metadata);
    assert.equal(Buffer.compare(Buffer.from(written), original), 0, `${file} differs from the Python-written bytes`);
    torch.dispose(loaded);
  }
});

test('saveSafetensors round-trips through a file atomically and leaves no temporary file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  try {
    const path = join(dir, 'w.safetensors');
    const a = torch.randn([3, 4]).T; // non-contiguous input
    const b = torch.tensor([1, 2, 3], { dtype: 'int64' });
    io.saveSafetensors(path, new Map([['a', a], ['b', b]]), { step: '7' });
    const back = io.loadSafetensors(path);
    assert.ok(back.get('a')!.equal(a) && back.get('b')!.equal(b));
    assert.deepEqual(io.readSafetensorsHeader(path).metadata, { step: '7' });
    // A failed save must leave the previous file whole.
    assert.throws(() => io.saveSafetensors(path, { a, bad: 3 as unknown as torch.Tensor }), /"bad" is not a Tensor/);
    assert.ok(io.loadSafetensors(path).get('a')!.equal(a));
    assert.deepEqual(readdirSync(dir), ['w.safetensors']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a TS-written file reads back in Python with the same values', { skip: !hasTorchPython() && 'no torch in /usr/bin/python3' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  try {
    const path = join(dir, 'ts.safetensors');
    const tensors = { x: torch.randn([2, 3], { dtype: 'float64' }), h: torch.tensor([0.5, -2], { dtype: 'float16' }), m: torch.tensor([true, false]) };
    io.saveSafetensors(path, tensors, { by: 'ts' });
    const py = runReference('verify-st', path) as { metadata: Record<string, string>; tensors: Record<string, Expected> };
    assert.deepEqual(py.metadata, { by: 'ts' });
    for (const [k, t] of Object.entries(tensors)) assert.deepEqual(py.tensors[k].values, valuesOf(t), k);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A file with the given header object (or raw header text) and data bytes. */
function craft(header: unknown, data = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const text = header instanceof Uint8Array ? Buffer.from(header) : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const out = Buffer.alloc(8 + text.length + data.length);
  out.writeBigUInt64LE(lengthOverride ?? BigInt(text.length), 0);
  text.copy(out, 8);
  out.set(data, 8 + text.length);
  return out;
}
const f32 = (shape: unknown, offsets: unknown, dtype = 'F32') => ({ dtype, shape, data_offsets: offsets });

test('hostile or malformed files give an error naming the file and the problem', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(5), /too short/],
    ['header length past the end', craft({}, new Uint8Array(0), 1000n), /runs past the end/],
    ['absurd header length', craft({}, new Uint8Array(0), 1n << 62n), /exceeds the 100000000-byte limit/],
    ['non-JSON header', craft('{"a": @}'), /safetensors header: unexpected character/],
    ['header not an object', craft('[1,2]'), /does not start with "\{"/],
    ['invalid UTF-8', craft(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x7d])), /header is not valid UTF-8/],
    ['unknown dtype', craft({ a: f32([1], [0, 4], 'F8_E4M3') }, new Uint8Array(4)), /unsupported dtype "F8_E4M3"/],
    ['negative shape', craft({ a: f32([-1], [0, 4]) }, new Uint8Array(4)), /invalid shape \[-1\]/],
    ['fractional shape', craft({ a: f32([1.5], [0, 6]) }, new Uint8Array(6)), /invalid shape/],
    ['overflowing shape', craft({ a: f32([2 ** 40, 2 ** 40], [0, 4]) }, new Uint8Array(4)), /overflows/],
    ['offsets of the wrong size', craft({ a: f32([2], [0, 4]) }, new Uint8Array(4)), /hold 4 bytes but float32 shape \[2\] needs 8/],
    ['offsets reversed', craft({ a: f32([0], [4, 0]) }, new Uint8Array(4)), /end before they begin/],
    ['offsets past the data', craft({ a: f32([2], [0, 8]) }, new Uint8Array(4)), /truncated: tensors need 8 bytes/],
    ['overlapping tensors', craft({ a: f32([2], [0, 8]), b: f32([1], [4, 8]) }, new Uint8Array(8)), /overlap/],
    ['gap between tensors', craft({ a: f32([1], [4, 8]) }, new Uint8Array(8)), /gap before tensor "a"/],
    ['duplicate names', craft('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /duplicate key "a"/],
    ['trailing garbage', craft({ a: f32([1], [0, 4]) }, new Uint8Array(9)), /5 trailing bytes/],
    ['metadata not strings', craft({ __metadata__: { n: 3 } }), /"__metadata__"."n" is not a string/],
    ['deeply nested JSON', craft(`{"a":${'['.repeat(10000)}}`), /nesting deeper/],
  ];
  for (const [what, bytes, re] of cases) {
    assert.throws(() => io.parseSafetensors(bytes, { name: 'hostile.safetensors' }), (err: Error) => {
      assert.match(err.message, /^hostile\.safetensors: /, what);
      assert.match(err.message, re, what);
      return true;
    });
  }
  // Through the file API the path is named.
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  try {
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, craft({ a: f32([2], [0, 8]) }, new Uint8Array(4)));
    assert.throws(() => io.loadSafetensors(path), (e: Error) => e.message.startsWith(`${path}: `) && /truncated/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz: every mutated or truncated file either loads or throws an Error', () => {
  const original = readFileSync(fixture('values.safetensors'));
  let loaded = 0;
  let refused = 0;
  const attempt = (bytes: Uint8Array): void => {
    try {
      torch.dispose(io.parseSafetensors(bytes));
      loaded++;
    } catch (err) {
      assert.ok(err instanceof Error, `threw a non-Error: ${String(err)}`);
      refused++;
    }
  };
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < original.length; i++) {
    for (const v of [original[i] ^ 0xff, rnd(), 0x30 + (i % 10)]) {
      const m = Buffer.from(original);
      m[i] = v;
      attempt(m);
    }
  }
  for (let n = 0; n < original.length; n++) attempt(original.subarray(0, n));
  // Mutations in the data section keep the file valid; header mutations mostly do not.
  assert.ok(loaded > 100 && refused > 500, `loaded ${loaded}, refused ${refused}`);
});
