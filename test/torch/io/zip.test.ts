import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as torch from '../../../src/torch/index.js';
import { ZipReader, crc32, writeZip } from '../../../src/torch/io/zip.js';
import { bufferSource } from '../../../src/torch/io/byte-source.js';
import { EXPECTED, assertMatches, fixture } from './helpers.js';

test('crc32 gives the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('reads deflated entries (a checkpoint re-zipped by Python zipfile) with exact values', () => {
  const bytes = readFileSync(fixture('model_deflated.pth'));
  const zip = new ZipReader(bufferSource(bytes));
  assert.ok([...zip.entries.values()].some((e) => e.method === 8 && e.compressedSize < e.size), 'fixture has deflated entries');
  const sd = torch.io.parsePth(bytes);
  for (const [k, e] of Object.entries(EXPECTED.model)) assertMatches(sd.get(k), e, k);
  torch.dispose(sd);
});

test('an entry that inflates beyond its recorded size is refused (no zip bomb)', () => {
  const bytes = Buffer.from(readFileSync(fixture('model_deflated.pth')));
  const name = Buffer.from('model_zip/data.pkl');
  let patched = false;
  for (let i = bytes.indexOf('PK\x01\x02'); i >= 0; i = bytes.indexOf('PK\x01\x02', i + 4)) {
    if (bytes.subarray(i + 46, i + 46 + name.length).equals(name)) {
      bytes.writeUInt32LE(bytes.readUInt32LE(i + 24) - 10, i + 24);
      patched = true;
    }
  }
  assert.ok(patched);
  assert.throws(() => new ZipReader(bufferSource(bytes, 'bomb.zip')).read('model_zip/data.pkl'), /^Error: bomb\.zip: zip entry "model_zip\/data\.pkl": (deflate data is corrupt|inflated to)/);
});

test('writeZip aligns every entry to 64 bytes and reads back', () => {
  const entries = [
    { name: 'a/data.pkl', data: Buffer.from('hello') },
    { name: 'a/data/0', data: Uint8Array.from({ length: 100 }, (_, i) => i) },
    { name: 'a/ünïcode', data: new Uint8Array(0) },
  ];
  const bytes = writeZip(entries);
  const zip = new ZipReader(bufferSource(bytes));
  assert.deepEqual(zip.names, entries.map((e) => e.name));
  for (const e of entries) {
    assert.deepEqual([...zip.read(e.name)], [...e.data]);
    const local = zip.entries.get(e.name)!.localOffset;
    const dataAt = local + 30 + bytes[local + 26] + (bytes[local + 27] << 8) + bytes[local + 28] + (bytes[local + 29] << 8);
    assert.equal(dataAt % 64, 0, `${e.name} data at ${dataAt}`);
  }
  assert.throws(() => zip.read('missing'), /has no entry "missing"/);
});
