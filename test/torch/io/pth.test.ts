import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { ZipReader, writeZip } from '../../../src/torch/io/zip.js';
import { bufferSource } from '../../../src/torch/io/byte-source.js';
import { EXPECTED, assertMatches, fixture, hasTorchPython, runReference, valuesOf, type Expected } from './helpers.js';

const { io } = torch;

for (const file of ['model_zip.pth', 'model_legacy.pth']) {
  test(`${file}: a Python state dict with views and shared storages loads with exact values`, () => {
    const sd = io.loadPth(fixture(file));
    assert.deepEqual([...sd.keys()], EXPECTED.model_keys);
    for (const [k, e] of Object.entries(EXPECTED.model)) assertMatches(sd.get(k), e, k);
    // Loaded tensors are independent contiguous copies, even where Python shared a storage.
    const a = sd.get('view.shared_a')!;
    assert.deepEqual(a.strides, [1]);
    a.fill_(-1);
    assert.deepEqual(valuesOf(sd.get('view.shared_b')!), EXPECTED.model['view.shared_b'].values);
    torch.dispose(sd);
  });
}

test('nested checkpoints load flat only when asked; loadPthObject returns everything', () => {
  assert.throws(() => io.loadPth(fixture('nested.pth')), /entry "model" is a nested dict, not a tensor; pass \{ flatten: true \}/);
  const flat = io.loadPth(fixture('nested.pth'), { flatten: true });
  assert.deepEqual([...flat.keys()], ['model.w', 'model.inner.b']);
  assert.deepEqual(valuesOf(flat.get('model.w')!), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(flat.get('model.inner.b')!.toArray(), [1, 2]);
  const obj = io.loadPthObject(fixture('nested.pth')) as torch.io.PyDict;
  assert.equal(obj.get('epoch'), 3);
  assert.equal(obj.get('name'), 'run1');
  assert.ok((obj.get('model') as torch.io.PyDict).get('w') instanceof torch.Tensor);
});

test('a pickle that names a global outside the allow-list (os.system) is refused, not run', () => {
  for (const file of ['evil_zip.pth', 'evil_legacy.pth']) {
    assert.throws(() => io.loadPth(fixture(file)), (e: Error) =>
      e.message.startsWith(fixture(file)) && /refusing global "posix\.system"/.test(e.message));
  }
});

test('savePth writes a zip checkpoint that loads back, views and all dtypes included', () => {
  const big = torch.arange(0, 24, 1, { dtype: 'float32' }).reshape(4, 6);
  const sd = {
    't': big.T, 'slice': big.slice(1, 2, 5), 'd': torch.randn([3], { dtype: 'float64' }),
    'h': torch.tensor([0.5, 3], { dtype: 'float16' }), 'i': torch.tensor([2 ** 40, -5], { dtype: 'int64' }),
    'b': torch.tensor([true, false]), 's': torch.full([], 4.5), 'e': torch.zeros([0, 2]),
  };
  const back = io.parsePth(io.serializePth(sd));
  assert.deepEqual([...back.keys()], Object.keys(sd));
  for (const [k, t] of Object.entries(sd)) {
    assert.equal(back.get(k)!.dtype, t.dtype, k);
    assert.ok(back.get(k)!.equal(t), k);
  }
});

test('a TS-written .pth loads in Python torch.load with the same values', { skip: !hasTorchPython() && 'no torch in /usr/bin/python3' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pth-'));
  try {
    const path = join(dir, 'ts.pth');
    const sd = new Map([['conv.weight', torch.randn([2, 3]).T], ['n', torch.tensor([7], { dtype: 'int64' })], ['h', torch.tensor([1.5], { dtype: 'float16' })]]);
    io.savePth(path, sd);
    const py = runReference('verify-pth', path) as Record<string, Expected>;
    assert.deepEqual(Object.keys(py), [...sd.keys()]);
    for (const [k, t] of sd) {
      assert.deepEqual(py[k].shape, t.shape, k);
      assert.deepEqual(py[k].values, valuesOf(t), k);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Rebuilds a zip fixture with entries renamed, dropped or replaced. */
function rezip(file: string, edit: (name: string, data: Uint8Array) => { name: string; data: Uint8Array } | null): Uint8Array {
  const zip = new ZipReader(bufferSource(readFileSync(fixture(file))));
  const out = zip.names.map((n) => edit(n, zip.read(n))).filter((e): e is { name: string; data: Uint8Array } => e !== null);
  return writeZip(out);
}

test('hostile .pth files give clear errors', () => {
  const zipBytes = readFileSync(fixture('model_zip.pth'));
  const legacy = readFileSync(fixture('model_legacy.pth'));
  const storageName = new ZipReader(bufferSource(zipBytes)).names.find((n) => /\/data\/\d+$/.test(n))!;
  const cases: [string, Uint8Array, RegExp][] = [
    ['not a checkpoint', Buffer.from('hello world, not weights'), /not a PyTorch checkpoint/],
    ['bad zip', Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100, 7)]), /not a valid zip archive: no end-of-central-directory/],
    ['missing data.pkl', rezip('model_zip.pth', (n, d) => (n.endsWith('data.pkl') ? null : { name: n, data: d })), /has no "model_zip\/data.pkl"/],
    ['missing storage', rezip('model_zip.pth', (n, d) => (n === storageName ? null : { name: n, data: d })), /storage entry ".*" is missing/],
    ['short storage', rezip('model_zip.pth', (n, d) => ({ name: n, data: n === storageName ? d.subarray(0, d.length - 4) : d })), /holds \d+ bytes, \d+ float32 elements need/],
    ['corrupt storage', (() => {
      const b = Buffer.from(zipBytes);
      b[b.indexOf(Buffer.from(new ZipReader(bufferSource(zipBytes)).read(storageName))) + 1] ^= 0x40;
      return b;
    })(), /zip entry ".*": CRC mismatch/],
    ['truncated legacy storage', legacy.subarray(0, legacy.length - 10), /truncated/],
    ['truncated zip', zipBytes.subarray(0, zipBytes.length - 30), /not a valid zip archive/],
  ];
  for (const [what, bytes, re] of cases) {
    assert.throws(() => torch.dispose(io.parsePth(bytes, { name: 'bad.pth' })), (e: Error) => {
      assert.match(e.message, /^bad\.pth/, what);
      assert.match(e.message, re, what);
      return true;
    });
  }
});

test('fuzz: mutated or truncated checkpoints either load or throw an Error', () => {
  for (const file of ['model_zip.pth', 'model_legacy.pth']) {
    const original = readFileSync(fixture(file));
    let loaded = 0;
    let refused = 0;
    const attempt = (bytes: Uint8Array): void => {
      try {
        torch.dispose(io.parsePth(bytes));
        loaded++;
      } catch (err) {
        assert.ok(err instanceof Error, `${file}: threw a non-Error: ${String(err)}`);
        refused++;
      }
    };
    const step = Math.max(1, Math.floor(original.length / 500));
    for (let i = 0; i < original.length; i += step) {
      const m = Buffer.from(original);
      m[i] ^= 0xff;
      attempt(m);
    }
    for (let n = 0; n < original.length; n += step) attempt(original.subarray(0, n));
    assert.ok(refused > 100, `${file}: loaded ${loaded}, refused ${refused}`);
  }
});
