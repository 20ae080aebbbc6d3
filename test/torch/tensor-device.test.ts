// Tensors on a CUDA device, when there is one: the same conv gives the CPU's result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';

const hasCuda = torch.cuda.isAvailable();

test('cuda.isAvailable and deviceCount agree', () => {
  assert.equal(typeof hasCuda, 'boolean');
  assert.equal(torch.cuda.deviceCount() > 0, hasCuda);
});

test('a small conv on cuda:0 equals the CPU result, forward and backward', { skip: hasCuda ? false : 'no CUDA device' }, () => {
  torch.manualSeed(0);
  const x = torch.randn([2, 3, 16, 16]);
  const w = torch.randn([4, 3, 3, 3]);
  const b = torch.randn([4]);
  const xg = x.to('cuda:0').requiresGrad_();
  const wg = w.to('cuda:0').requiresGrad_();
  const bg = b.to('cuda:0');
  assert.equal(xg.device, 'cuda:0');
  const yg = torch.F.conv2d(xg, wg, bg, { padding: 1, stride: 2 });
  assert.equal(yg.device, 'cuda:0');
  const xc = x.clone().requiresGrad_();
  const wc = w.clone().requiresGrad_();
  const yc = torch.F.conv2d(xc, wc, b, { padding: 1, stride: 2 });
  assert.ok(yg.to('cpu').allclose(yc, 1e-3, 1e-3), 'forward');
  yg.square().sum().backward();
  yc.square().sum().backward();
  assert.ok(wg.grad!.to('cpu').allclose(wc.grad!, 1e-3, 1e-2), 'weight gradient');
  assert.ok(xg.grad!.to('cpu').allclose(xc.grad!, 1e-3, 1e-2), 'input gradient');
  const fromJs = torch.tensor([1, 2, 3], { device: 'cuda:0' });
  assert.equal(fromJs.device, 'cuda:0');
  assert.deepEqual(fromJs.toArray(), [1, 2, 3]);
});

// CUDA's foreach kernels fuse the update differently from the per-tensor ops, so the two paths
// may differ in the last bit there (they are bit-identical on the CPU: optim/adam-foreach.test.ts).
test('Adam on cuda:0: the foreach path matches the per-parameter loop and the CPU over 5 steps', { skip: hasCuda ? false : 'no CUDA device' }, () => {
  const shapes = [[8, 4, 3, 3], [8], [16, 32], [3]];
  const run = (device: string, foreach: boolean): number[][] => {
    torch.manualSeed(3);
    const params = shapes.map((s) => torch.randn(s).to(device).requiresGrad_(true));
    const opt = new torch.optim.Adam(params, { lr: 1e-2, betas: [0.5, 0.999], foreach });
    for (let step = 0; step < 5; step++) {
      torch.manualSeed(100 + step);
      params.forEach((p) => { p.grad = torch.randn(p.shape).mul(step % 2 ? -0.3 : 2).to(device); });
      opt.step();
    }
    opt.disposeState();
    return params.map((p) => p.to('cpu').toArray() as number[]);
  };
  const cpu = run('cpu', false);
  const loop = run('cuda:0', false);
  const fused = run('cuda:0', true);
  const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((t, i) => t.map((v, j) => Math.abs(v - b[i][j]))));
  assert.ok(maxDiff(fused, loop) < 1e-5, `foreach vs loop on cuda:0: ${maxDiff(fused, loop)}`);
  assert.ok(maxDiff(fused, cpu) < 1e-5, `cuda:0 foreach vs cpu: ${maxDiff(fused, cpu)}`);
  // The parameters moved (lr 1e-2 x 5 steps): a path that skipped every update would pass the comparisons above.
  torch.manualSeed(3);
  const initial = shapes.map((s) => torch.randn(s).toArray() as number[]);
  assert.ok(maxDiff(fused, initial) > 1e-2, 'the parameters did not move');
});
