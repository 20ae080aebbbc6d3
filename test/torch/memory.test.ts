// Memory guarantees over long loops: tidy and dispose keep live handles flat, and without
// either the garbage collector's finalizers (the safety net) keep them bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as torch from '../../src/torch/index.js';

const ITERATIONS = 10_000;

test('10,000 iterations inside tidy leave no live handles behind', () => {
  const w = torch.randn([8, 8]);
  const before = torch.memoryStats();
  let acc = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    acc += torch.tidy(() => torch.ones([8, 8]).matmul(w).relu().sum().item());
    if (i % 1000 === 0) assert.equal(torch.memoryStats().handles, before.handles, `iteration ${i}`);
  }
  assert.ok(Number.isFinite(acc));
  assert.deepEqual(torch.memoryStats(), before);
  w.dispose();
});

test('10,000 iterations with explicit dispose leave no live handles behind', () => {
  const before = torch.memoryStats();
  for (let i = 0; i < ITERATIONS; i++) {
    const a = torch.full([32], i);
    const b = a.mul(2);
    b.dispose();
    a.dispose();
    a.dispose();
  }
  assert.deepEqual(torch.memoryStats(), before);
});

// Without tidy or dispose only the garbage collector frees handles. A child process with
// --expose-gc collects every 1,000 iterations (4 tensors each: 40,000 would be live without
// finalizers) and reports the most live handles seen after a collection.
function unmanagedLoop(yieldToEventLoop: boolean): { peak: number; endHandles: number; endBytes: number } {
  const indexUrl = new URL('../../src/torch/index.js', import.meta.url).href;
  const script = `
    import * as torch from '${indexUrl}';
    const start = torch.memoryStats();
    let peak = 0;
    for (let i = 0; i < ${ITERATIONS}; i++) {
      torch.ones([64, 64]).mul(i).add(1).sum();
      if (i % 1000 === 999) {
        ${yieldToEventLoop ? 'await new Promise((r) => setImmediate(r));' : ''}
        global.gc();
        ${yieldToEventLoop ? 'await new Promise((r) => setImmediate(r));' : ''}
        peak = Math.max(peak, torch.memoryStats().handles - start.handles);
      }
    }
    global.gc();
    await new Promise((r) => setImmediate(r));
    global.gc();
    await new Promise((r) => setImmediate(r));
    const end = torch.memoryStats();
    console.log(JSON.stringify({ peak, endHandles: end.handles - start.handles, endBytes: end.bytes - start.bytes }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('10,000 iterations without tidy or dispose stay bounded when the event loop turns (GC safety net)', () => {
  const m = unmanagedLoop(true);
  console.log(`GC safety net, yielding loop: ${JSON.stringify(m)}`);
  assert.ok(m.peak <= 100, `live handles after each collection: ${m.peak}`);
  assert.ok(m.endHandles <= 10, `live handles at the end: ${m.endHandles}`);
  assert.ok(m.endBytes <= 64 * 1024, `live bytes at the end: ${m.endBytes}`);
});

// The addon registers as experimental Node-API so its basic finalizers run inside GC
// itself; as Node-API 8 they waited for the event loop and such a loop reached 5 GB.
test('10,000 synchronous iterations without tidy or dispose stay bounded (GC finalizers during the loop)', () => {
  const m = unmanagedLoop(false);
  console.log(`GC safety net, synchronous loop: ${JSON.stringify(m)}`);
  assert.ok(m.endHandles <= 10, `live handles once the loop turns: ${m.endHandles}`);
  assert.ok(m.peak <= 100, `live handles after each collection inside the loop: ${m.peak}`);
});

test('grad accumulation in a training-like loop does not grow handles', () => {
  const w = torch.randn([16, 16]).requiresGrad_();
  const before = torch.memoryStats().handles;
  for (let i = 0; i < 500; i++) {
    torch.tidy(() => {
      const loss = torch.ones([4, 16]).matmul(w).pow(2).mean();
      loss.backward();
      torch.noGrad(() => w.sub_(w.grad!.mul(1e-3)));
      w.grad = null;
    });
  }
  assert.equal(torch.memoryStats().handles, before);
  w.dispose();
});
