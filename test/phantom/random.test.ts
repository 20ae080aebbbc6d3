import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, hashKey } from '../../src/phantom/random.js';

const draw = (r: Rng, n: number) => Array.from({ length: n }, () => r.uint32());

test('a stream is fixed by its key and differs between keys', () => {
  assert.deepEqual(draw(Rng.for(1, 2, 'x'), 50), draw(Rng.for(1, 2, 'x'), 50));
  assert.notDeepEqual(draw(Rng.for(1, 2, 'x'), 50), draw(Rng.for(1, 3, 'x'), 50));
  assert.notDeepEqual(draw(Rng.for(1, 2, 'x'), 50), draw(Rng.for(1, 2, 'y'), 50));
  assert.notDeepEqual(draw(Rng.for(2 ** 32 + 1), 10), draw(Rng.for(1), 10), 'high bits of a seed count');
  assert.notEqual(hashKey(['ab']), hashKey(['a', 'b']));
});

test('uniform draws stay in range and look uniform', () => {
  const r = Rng.for('uniform');
  let sum = 0;
  const ints = new Set<number>();
  for (let i = 0; i < 20000; i++) {
    const x = r.float();
    assert.ok(x >= 0 && x < 1);
    sum += x;
    const k = r.int(3, 7);
    assert.ok(Number.isInteger(k) && k >= 3 && k <= 7);
    ints.add(k);
  }
  assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01);
  assert.deepEqual([...ints].sort(), [3, 4, 5, 6, 7]);
});

test('normal draws have mean 0 and sd 1; weighted draws follow their weights', () => {
  const r = Rng.for('normal');
  let s = 0;
  let s2 = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 0.03);
  assert.ok(Math.abs(Math.sqrt(s2 / n) - 1) < 0.03);
  const counts = [0, 0, 0];
  for (let i = 0; i < n; i++) counts[r.weighted([1, 0, 3])]++;
  assert.equal(counts[1], 0);
  assert.ok(Math.abs(counts[2] / n - 0.75) < 0.02);
});
