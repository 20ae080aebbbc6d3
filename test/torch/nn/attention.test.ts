// Chunked attention (nn/attention.ts): finite-difference gradients in float64 for several
// chunk sizes and scales, equality with the full-map formula forward and backward, and
// memory bounded by the chunk rather than the N x N map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as torch from '../../../src/torch/index.js';
import { attention, attentionFull } from '../../../src/torch/nn/attention.js';
import { gradcheck } from '../gradcheck.js';

function qkv(lead: number[], nq: number, nk: number, d: number, c: number, dtype: torch.DType = 'float64'): torch.Tensor[] {
  return [
    torch.randn([...lead, nq, d], { dtype }).requiresGrad_(),
    torch.randn([...lead, nk, d], { dtype }).requiresGrad_(),
    torch.randn([...lead, nk, c], { dtype }).requiresGrad_(),
  ];
}

for (const [chunkSize, scale] of [[1, 1], [2, 1], [3, 0.37], [5, 1.8], [8, undefined]] as const) {
  test(`gradcheck: chunked attention, chunk ${chunkSize}, scale ${scale ?? '1/sqrt(d)'} (Nq = 5)`, () => {
    torch.manualSeed(100 + chunkSize);
    const inputs = qkv([1], 5, 4, 3, 2);
    assert.equal(gradcheck((q, k, v) => attention(q, k, v, { chunkSize, scale }), inputs, { eps: 1e-6, atol: 1e-6, rtol: 1e-4 }), true);
  });
}

test('gradcheck catches a wrong gradient (the checker itself can fail)', () => {
  torch.manualSeed(7);
  const x = torch.randn([4], { dtype: 'float64' }).requiresGrad_();
  // x * detach(x): autograd sees only one factor, so its gradient is half the true one.
  assert.throws(() => gradcheck((t) => t.mul(t.detach()), [x]), /Jacobian mismatch/);
  assert.equal(gradcheck((t) => t.mul(t), [x]), true);
});

test('chunked attention equals the full-map formula forward and backward (batch and head dims, chunk not dividing N)', () => {
  torch.manualSeed(3);
  const [q, k, v] = qkv([2, 3], 50, 37, 8, 5, 'float32');
  const gout = torch.randn([2, 3, 50, 5]);
  for (const scale of [1, 0.25, undefined]) {
    const chunked = attention(q, k, v, { chunkSize: 7, scale });
    const full = attentionFull(q, k, v, scale);
    assert.deepEqual(chunked.shape, [2, 3, 50, 5]);
    assert.ok(chunked.allclose(full, 1e-4, 1e-5), `forward, scale ${scale}`);
    const g1 = torch.grad(chunked, [q, k, v], { gradOutputs: [gout] });
    const g2 = torch.grad(full, [q, k, v], { gradOutputs: [gout] });
    g1.forEach((g, i) => assert.ok(g!.allclose(g2[i]!, 1e-4, 1e-5), `gradient ${'qkv'[i]}, scale ${scale}`));
  }
});

test('logits far beyond exp\'s range (|s| ~ 1e4) give finite outputs and gradients equal to softmax\'s', () => {
  // exp overflows float64 above ~709 and float32 above ~88: the kernel must subtract each
  // row's maximum before exp (and the log-sum-exp kept for backward must be finite too).
  torch.manualSeed(5);
  for (const dtype of ['float64', 'float32'] as const) {
    const [q, k, v] = qkv([2], 9, 11, 4, 3, dtype);
    const bigQ = q.detach().mul(60).requiresGrad_(), bigK = k.detach().mul(60).requiresGrad_();
    const gout = torch.randn([2, 9, 3], { dtype });
    const scores = bigQ.matmul(bigK.transpose(-2, -1)).abs().max().item();
    assert.ok(scores > 2000, `logits reach ${scores}`);
    const chunked = attention(bigQ, bigK, v, { chunkSize: 4, scale: 1 });
    const full = attentionFull(bigQ, bigK, v, 1);
    assert.ok(chunked.isfinite().all().item() !== 0, `${dtype}: forward finite`);
    const [tol, atol] = dtype === 'float64' ? [1e-10, 1e-10] : [1e-4, 1e-5];
    assert.ok(chunked.allclose(full, tol, atol), `${dtype}: forward equals softmax`);
    const g1 = torch.grad(chunked, [bigQ, bigK, v], { gradOutputs: [gout] });
    const g2 = torch.grad(full, [bigQ, bigK, v], { gradOutputs: [gout] });
    g1.forEach((g, i) => {
      assert.ok(g!.isfinite().all().item() !== 0, `${dtype}: gradient ${'qkv'[i]} finite`);
      assert.ok(g!.allclose(g2[i]!, tol, atol), `${dtype}: gradient ${'qkv'[i]} equals softmax's`);
    });
  }
  // And the finite-difference check at a large offset: every logit shifted by ~1e3 (a
  // constant column in q and k adds c^2 to every score), where exp(s) alone is inf.
  const [q, k, v] = qkv([1], 5, 4, 3, 2);
  const shiftedQ = torch.cat([q.detach(), torch.full([1, 5, 1], 40, { dtype: 'float64' })], -1).requiresGrad_();
  const shiftedK = torch.cat([k.detach(), torch.full([1, 4, 1], 40, { dtype: 'float64' })], -1).requiresGrad_();
  assert.equal(gradcheck((a, b, c) => attention(a, b, c, { chunkSize: 2, scale: 1 }), [shiftedQ, shiftedK, v], { eps: 1e-6, atol: 1e-6, rtol: 1e-4 }), true);
});

test('default chunk size follows the memory budget and gives the same result', () => {
  torch.manualSeed(4);
  const [q, k, v] = qkv([1], 64, 64, 4, 4, 'float32');
  const tiny = attention(q, k, v, { memoryBudgetBytes: 64 * 4 * 2 * 3 }); // 3 rows per block
  assert.ok(tiny.allclose(attentionFull(q, k, v), 1e-4, 1e-6));
});

test('attention rejects mismatched shapes with the shapes in the message', () => {
  const q = torch.zeros([2, 5, 3]);
  assert.throws(() => attention(q, torch.zeros([2, 4, 2]), torch.zeros([2, 4, 2])), /attention: shapes must be .*k \[2,4,2\]/);
  assert.throws(() => attention(q, torch.zeros([2, 4, 3]), torch.zeros([2, 6, 2])), /v \[2,6,2\]/);
  // same element count in the batch dims, different layout: must not be silently mixed
  assert.throws(() => attention(torch.zeros([2, 3, 5, 4]), torch.zeros([3, 2, 5, 4]), torch.zeros([3, 2, 5, 4])), /same leading dims/);
  assert.throws(() => attention(q, torch.zeros([4, 3]), torch.zeros([4, 2])), /attention: q, k, v need the same rank/);
});

// Peak resident memory of a fresh process running one chunked attention forward + backward
// at N = 4096 (a 64 x 64 feature map), d = 16: VmHWM after minus VmHWM before. The child then
// allocates one N x N float32 map, to show the measurement does see an allocation that size.
const indexUrl = new URL('../../../src/torch/index.js', import.meta.url).href;
const attentionUrl = new URL('../../../src/torch/nn/attention.js', import.meta.url).href;
function peakGrowth(n: number, chunk: number): { attention: number; oneMap: number } {
  const script = `
    import * as torch from '${indexUrl}';
    import { attention } from '${attentionUrl}';
    import { readFileSync } from 'node:fs';
    const hwm = () => Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
    const run = (n) => torch.tidy(() => {
      const q = torch.randn([1, n, 16]).requiresGrad_(), k = torch.randn([1, n, 16]).requiresGrad_(), v = torch.randn([1, n, 16]).requiresGrad_();
      attention(q, k, v, { chunkSize: ${chunk} }).sum().backward();
      return q.grad.abs().sum().item();
    });
    run(256); // warm up kernels, thread pools and the allocator
    const before = hwm();
    const g = run(${n});
    if (!Number.isFinite(g)) throw new Error('non-finite gradient');
    const afterAttention = hwm();
    const map = torch.ones([${n}, ${n}]);
    const afterMap = hwm();
    map.dispose();
    console.log(JSON.stringify({ attention: afterAttention - before, oneMap: afterMap - before }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('chunked attention at N = 4096 runs forward + backward with peak memory far below the N x N map', () => {
  const N = 4096;
  const fullMap = N * N * 4; // 64 MiB for one float32 map
  const growth = peakGrowth(N, 128);
  console.log(`peak RSS growth: chunked attention (chunk 128) ${(growth.attention / 2 ** 20).toFixed(1)} MiB; one N x N map ${(growth.oneMap / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(growth.oneMap >= 0.9 * fullMap, `the measurement sees one map (${growth.oneMap} bytes)`);
  assert.ok(growth.attention < fullMap / 4, `chunked attention grew ${growth.attention} bytes, budget ${fullMap / 4}`);
});
