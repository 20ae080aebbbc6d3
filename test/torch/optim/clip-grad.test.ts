// Gradient clipping against torch.nn.utils.clip_grad_norm_ (norm types 1, 2, 3, inf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { fixture, fromJson, values } from './fixture.js';

for (const c of fixture.clip.cases) {
  test(`clipGradNorm_(maxNorm ${c.maxNorm}, normType ${c.normType}) returns PyTorch's total norm and scaled gradients`, () => {
    const params = fixture.clip.grads.map((g) => torch.zeros(g.shape).requiresGrad_(true));
    params.forEach((p, i) => { p.grad = fromJson(fixture.clip.grads[i]); });
    const total = torch.optim.clipGradNorm_(params, c.maxNorm, c.normType === 'inf' ? Infinity : c.normType);
    assert.deepEqual(total.shape, []);
    assert.equal(total.item(), c.total);
    params.forEach((p, i) => assert.deepEqual(values(p.grad!), c.grads[i], `gradient ${i}`));
  });
}

test('clipGradNorm_ skips parameters without gradients and returns 0 when none has one', () => {
  const a = torch.zeros([3]).requiresGrad_(true);
  const b = torch.zeros([2]).requiresGrad_(true);
  assert.equal(torch.optim.clipGradNorm_([a, b], 1).item(), 0);
  a.grad = torch.tensor([3, 4, 0]);
  assert.equal(torch.optim.clipGradNorm_([a, b], 1).item(), 5);
  assert.ok(Math.abs(a.grad!.norm().item() - 1) < 1e-6);
  assert.equal(b.grad, null);
  a.grad = torch.tensor([Number.NaN, 1, 0]);
  assert.throws(() => torch.optim.clipGradNorm_(a, 1, 2, true), /total norm of order 2 .* non-finite/);
  assert.throws(() => torch.optim.clipGradNorm_(a, -1), /maxNorm must be a number >= 0/);
});

test('clipGradValue_ clamps every element into [-clip, clip]', () => {
  const a = torch.zeros([4]).requiresGrad_(true);
  a.grad = torch.tensor([-3, -0.5, 0.25, 2]);
  torch.optim.clipGradValue_([a], 1);
  assert.deepEqual(a.grad!.toArray(), [-1, -0.5, 0.25, 1]);
});
