import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeCache } from '../../src/data/decode-cache.js';

/** A load that resolves when release() is called, counting its calls. */
function gate<V>(value: V) {
  let calls = 0;
  let release!: () => void;
  const ready = new Promise<void>((r) => (release = r));
  return { load: async () => { calls++; await ready; return value; }, release: () => release(), calls: () => calls };
}

test('decode cache: a key asked for again while its decode runs shares that decode and is kept once', async () => {
  const c = new DecodeCache<string, Uint8Array>(100, (v) => v.byteLength);
  const g = gate(new Uint8Array(10));
  const a = c.get('x', g.load);
  const b = c.get('x', g.load);
  g.release();
  const [va, vb] = await Promise.all([a, b]);
  assert.equal(va, vb, 'the same object');
  assert.equal(g.calls(), 1);
  assert.deepEqual(c.stats(), { samples: 1, bytes: 10, budget: 100, hits: 1, misses: 1 });
  assert.equal(await c.get('x', g.load), va);
  assert.equal(g.calls(), 1);
  assert.equal(c.stats().hits, 2);
});

test('decode cache: keeps values until the budget, then decodes the rest every time', async () => {
  const c = new DecodeCache<number, Uint8Array>(25, (v) => v.byteLength);
  let calls = 0;
  const load = (n: number) => async () => { calls++; return new Uint8Array(n); };
  for (const [k, n] of [[0, 10], [1, 10], [2, 10], [3, 5]]) await c.get(k, load(n));
  // 10 + 10 fit, the third 10 would pass 25, the 5 still fits.
  assert.deepEqual(c.stats(), { samples: 3, bytes: 25, budget: 25, hits: 0, misses: 4 });
  for (const [k, n] of [[0, 10], [1, 10], [2, 10], [3, 5]]) await c.get(k, load(n));
  assert.equal(calls, 5, 'only key 2 is decoded again');
  assert.deepEqual(c.stats(), { samples: 3, bytes: 25, budget: 25, hits: 3, misses: 5 });
  assert.throws(() => new DecodeCache(-1, () => 0), /budget must be a finite number of bytes >= 0, got -1/);
});

test('decode cache: a failed decode reaches every waiter, is not kept, and is tried again next time', async () => {
  const c = new DecodeCache<string, Uint8Array>(100, (v) => v.byteLength);
  let fail = true;
  let calls = 0;
  const load = async () => {
    calls++;
    await new Promise((r) => setImmediate(r));
    if (fail) throw new Error('bad.png: broken');
    return new Uint8Array(4);
  };
  const both = [c.get('k', load), c.get('k', load)];
  for (const p of both) await assert.rejects(p, /bad\.png: broken/);
  assert.equal(calls, 1);
  assert.equal(c.stats().samples, 0);
  fail = false;
  assert.equal((await c.get('k', load)).byteLength, 4);
  assert.equal(calls, 2);
  assert.deepEqual(c.stats(), { samples: 1, bytes: 4, budget: 100, hits: 1, misses: 2 });
});
