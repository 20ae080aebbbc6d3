// The addon in a worker thread: a server can run synthesis off the main thread while its
// event loop keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';

test('a worker computes a conv2d with the addon while the main event loop keeps ticking', async () => {
  const indexUrl = new URL('../../src/torch/index.js', import.meta.url).href;
  // The worker reports when the addon is loaded, then runs a conv heavy enough to take a
  // while, and checks it against the same conv written as unfold + matmul.
  const source = `
    const { parentPort } = require('node:worker_threads');
    import('${indexUrl}').then((torch) => {
      parentPort.postMessage({ kind: 'loaded', grad: torch.isGradEnabled() });
      torch.manualSeed(1);
      const x = torch.randn([2, 16, 64, 64]);
      const w = torch.randn([16, 16, 3, 3]);
      const t0 = Date.now();
      let y;
      for (let i = 0; i < 10; i++) { if (y) y.dispose(); y = torch.F.conv2d(x, w, null, { padding: 1 }); }
      const ms = Date.now() - t0;
      const cols = torch.aten('im2col')(x, [3, 3], [1, 1], [1, 1], [1, 1]);
      const ref = w.reshape(16, -1).matmul(cols).reshape(2, 16, 64, 64);
      parentPort.postMessage({ kind: 'done', ms, shape: y.shape, maxDiff: y.sub(ref).abs().max().item() });
    }).catch((e) => parentPort.postMessage({ kind: 'error', message: String(e && e.stack || e) }));`;
  let ticks = 0;
  let ticksAtLoad = -1;
  const timer = setInterval(() => ticks++, 5);
  try {
    const result = await new Promise<{ ms: number; shape: number[]; maxDiff: number; grad: boolean }>((resolve, reject) => {
      const worker = new Worker(source, { eval: true });
      let grad = false;
      worker.on('message', (m) => {
        if (m.kind === 'loaded') { ticksAtLoad = ticks; grad = m.grad; }
        else if (m.kind === 'done') { resolve({ ...m, grad }); void worker.terminate(); }
        else reject(new Error(m.message));
      });
      worker.on('error', reject);
      worker.on('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with ${code}`)); });
    });
    const during = ticks - ticksAtLoad;
    console.log(`worker conv: ${result.ms} ms; main-thread timer ticks meanwhile: ${during}`);
    assert.deepEqual(result.shape, [2, 16, 64, 64]);
    assert.ok(result.maxDiff < 1e-3, `conv matches unfold + matmul (max diff ${result.maxDiff})`);
    assert.equal(result.grad, true, 'grad mode starts enabled in the worker (it is per thread)');
    assert.ok(ticksAtLoad >= 0);
    // A 5 ms timer should tick many times over the worker's compute; a blocked main thread
    // would give at most one or two ticks.
    assert.ok(during >= Math.min(10, result.ms / 20), `main loop ticked ${during} times during ${result.ms} ms of worker compute`);
  } finally {
    clearInterval(timer);
  }
});

test('the addon loads in two workers at once and each keeps its own tensors', async () => {
  const indexUrl = new URL('../../src/torch/index.js', import.meta.url).href;
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    import('${indexUrl}').then((torch) => {
      const t = torch.full([1000], workerData);
      let s = 0;
      for (let i = 0; i < 200; i++) s = torch.tidy(() => t.mul(2).sum().item());
      parentPort.postMessage(s);
    });`;
  const run = (v: number) => new Promise<number>((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData: v });
    w.on('message', (m) => { resolve(m); void w.terminate(); });
    w.on('error', reject);
  });
  assert.deepEqual(await Promise.all([run(1), run(3)]), [2000, 6000]);
});
