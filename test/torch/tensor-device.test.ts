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
