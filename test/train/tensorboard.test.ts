// The TensorBoard event writer: CRC32C against published vectors, the protobuf bytes of one
// event against a hand encoding, and a written file decoded back (CRCs checked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { crc32c, encodeEvent, maskedCrc32c, readEvents, readTfRecords, tfRecord, TensorBoardWriter } from '../../src/train/tensorboard.js';

test('CRC32C matches the published check value and the RFC 3720 vectors', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  const c = 0xe3069283;
  assert.equal(maskedCrc32c(new TextEncoder().encode('123456789')), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
});

test('an Event is encoded as the protobuf wire format says', () => {
  const bytes = encodeEvent({ wallTime: 1.5, step: 300, scalars: [{ tag: 'a', value: 2 }] });
  const expected = [
    0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // wall_time = 1.5 (field 1, fixed64)
    0x10, 0xac, 0x02, // step = 300 (field 2, varint)
    0x2a, 0x0a, // summary (field 5, 10 bytes)
    0x0a, 0x08, // value (field 1, 8 bytes)
    0x0a, 0x01, 0x61, // tag "a"
    0x15, 0, 0, 0, 0x40, // simple_value = 2.0f (field 2, fixed32)
  ];
  assert.deepEqual([...bytes], expected);
});

test('a written events file decodes back, and damage is detected', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drgan-tb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const w = new TensorBoardWriter(dir, 1_700_000_000_123);
  w.scalars(1, { 'G/adversarial': 0.75, 'D/adversarial': 1.25 }, 1_700_000_001);
  w.scalars(2, { 'G/adversarial': Number.NaN, lr: 1e-4 }, 1_700_000_002);
  w.close();
  assert.equal(basename(w.path), `events.out.tfevents.1700000000.${hostname()}`);
  const events = readEvents(w.path);
  assert.equal(events.length, 3);
  assert.equal(events[0].fileVersion, 'brain.Event:2');
  assert.equal(events[0].wallTime, 1_700_000_000.123);
  assert.deepEqual(events[1], { wallTime: 1_700_000_001, step: 1, scalars: [{ tag: 'G/adversarial', value: 0.75 }, { tag: 'D/adversarial', value: 1.25 }] });
  assert.equal(events[2].step, 2);
  assert.ok(Number.isNaN(events[2].scalars[0].value));
  assert.equal(events[2].scalars[1].value, Math.fround(1e-4));
  // Framing by hand: length, masked CRC of the length, data, masked CRC of the data.
  const raw = readFileSync(w.path);
  const len = Number(raw.readBigUInt64LE(0));
  assert.equal(raw.readUInt32LE(8), maskedCrc32c(raw.subarray(0, 8)));
  assert.equal(raw.readUInt32LE(12 + len), maskedCrc32c(raw.subarray(12, 12 + len)));
  assert.deepEqual(tfRecord(raw.subarray(12, 12 + len)), new Uint8Array(raw.subarray(0, 16 + len)));
  const flipped = Buffer.from(raw);
  flipped[20] ^= 0x10;
  const bad = join(dir, 'bad');
  writeFileSync(bad, flipped);
  assert.throws(() => readEvents(bad), /data CRC mismatch in the record at byte 0/);
  assert.throws(() => readTfRecords(new Uint8Array(raw.subarray(0, raw.length - 3)), 'cut'), /cut: record at byte \d+ claims/);
});
