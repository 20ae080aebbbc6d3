import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PickleWriter, PyDict, dataGlobals, unpickle, type UnpickleOptions } from '../../../src/torch/io/pickle.js';
import { fixture } from './helpers.js';

const opts: UnpickleOptions = { source: 'test.pkl', globals: dataGlobals('test.pkl') };

/** The JSON shape scripts/reference/io.py writes for the same data. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof PyDict) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]));
  return v;
}

const { pickles, expected } = JSON.parse(readFileSync(fixture('pickles.json'), 'utf8')) as { pickles: Record<string, string>; expected: unknown };

test('unpickles Python data at protocols 2-5 (ints of every width, floats, str, bytes, tuples, memo)', () => {
  for (const [protocol, hex] of Object.entries(pickles)) {
    const bytes = Buffer.from(hex, 'hex');
    const { value, end } = unpickle(bytes, opts);
    assert.equal(end, bytes.length, `protocol ${protocol} end`);
    assert.deepEqual(plain(value), expected, `protocol ${protocol}`);
    // The memo keeps Python's sharing: both list elements are one object.
    const shared = (value as PyDict).get('shared') as unknown[];
    assert.equal(shared[0], shared[1], `protocol ${protocol} shared`);
    assert.ok(Object.isFrozen((value as PyDict).get('tuple')), 'tuples are immutable');
  }
});

test('malformed pickles throw errors with the source and byte offset', () => {
  const cases: [string, number[], RegExp][] = [
    ['unknown opcode', [0x80, 2, 0xff], /unsupported pickle opcode 0xff \(opcode at byte 2\)/],
    ['truncated BINUNICODE', [0x80, 2, 0x58, 100, 0, 0, 0, 0x61], /truncated/],
    ['stack underflow', [0x80, 2, 0x52], /stack underflow/],
    ['GET of a missing memo slot', [0x80, 2, 0x68, 5, 0x2e], /memo index 5 was never stored/],
    ['no STOP', [0x80, 2, 0x4e], /truncated/],
    ['APPEND to a dict', [0x80, 2, 0x7d, 0x4e, 0x61, 0x2e], /APPEND\(S\) on something that is not a list/],
    ['SETITEMS odd count', [0x80, 2, 0x7d, 0x28, 0x4e, 0x75, 0x2e], /odd number/],
    ['persistent id where none is expected', [0x80, 2, 0x4e, 0x51, 0x2e], /persistent id/],
    ['huge LONG4', [0x80, 2, 0x8b, 0xff, 0xff, 0, 0], /too long/],
    ['future protocol', [0x80, 9], /protocol 9 is newer than 5/],
  ];
  for (const [what, bytes, re] of cases) {
    assert.throws(() => unpickle(Uint8Array.from(bytes), opts), (e: Error) => e.message.startsWith('test.pkl: pickle: ') && re.test(e.message), what);
  }
});

test('globals outside the allow-list are refused by GLOBAL and STACK_GLOBAL', () => {
  const global = Buffer.from('\x80\x02cos\nsystem\n.', 'latin1');
  assert.throws(() => unpickle(global, opts), /refusing global "os\.system"/);
  const stackGlobal = Buffer.concat([Buffer.from([0x80, 4, 0x8c, 8]), Buffer.from('builtins'), Buffer.from([0x8c, 4]), Buffer.from('eval'), Buffer.from([0x93, 0x2e])]);
  assert.throws(() => unpickle(stackGlobal, opts), /refusing global "builtins\.eval"/);
  // An allowed name that is only a value cannot be called.
  const valueOnly: UnpickleOptions = { source: 't', globals: new Map([['torch.FloatStorage', null]]) };
  assert.throws(() => unpickle(Buffer.from('\x80\x02ctorch\nFloatStorage\n)R.', 'latin1'), valueOnly), /cannot be called/);
});

test('deeply nested and self-referencing pickles do not overflow the stack', () => {
  const deep = Buffer.concat([Buffer.from([0x80, 2]), Buffer.alloc(200000, 0x5d), Buffer.alloc(199999, 0x61), Buffer.from([0x2e])]);
  const { value } = unpickle(deep, opts);
  assert.ok(Array.isArray(value));
  // l = []; l.append(l)
  const selfRef = Uint8Array.from([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e]);
  const l = unpickle(selfRef, opts).value as unknown[];
  assert.equal(l[0], l);
});

test('PickleWriter output reads back, including integers beyond 32 bits', () => {
  const w = new PickleWriter().proto(2).mark().int(5).int(-(2 ** 40)).str('ü').bool(true).none().intTuple([]).intTuple([3, 4]).tuple().stop();
  assert.deepEqual(unpickle(w.bytes(), opts).value, [5, -(2 ** 40), 'ü', true, null, [], [3, 4]]);
});
