// Autograd through the addon: backward with a gradient, graph retention, higher-order
// gradients (a gradient penalty through conv2d + leakyRelu, against Python), grad modes,
// requiresGrad propagation and .grad accumulation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { assertMatches, fromSpec, loadFixture, type TensorSpec } from './tensor-reference.js';

const fx = loadFixture<Record<string, Record<string, TensorSpec>>>('autograd');
const tol = { rtol: 1e-4, atol: 1e-5 };

test('backward with an explicit gradient equals Python', () => {
  const c = fx.backward_with_gradient;
  const x = fromSpec(c.x, { requiresGrad: true });
  const w = fromSpec(c.w, { requiresGrad: true });
  x.mul(x).mul(w).backward(fromSpec(c.g));
  assertMatches(x.grad!, c.x_grad, 'x.grad', tol);
  assertMatches(w.grad!, c.w_grad, 'w.grad', tol);
});

test('a second backward works only with retainGraph; without it a clear error, not a crash', () => {
  const x = torch.tensor([1, 2, 3], { requiresGrad: true });
  const y = x.exp().sum();
  y.backward(undefined, { retainGraph: true });
  y.backward();
  assert.deepEqual(x.grad!.toArray().map((v) => Math.fround(v)), [1, 2, 3].map((v) => Math.fround(2 * Math.exp(v))));
  assert.throws(() => y.backward(), /backward: Trying to backward through the graph a second time/);
  // the process is fine afterwards
  const z = torch.tensor([4], { requiresGrad: true });
  z.mul(z).sum().backward();
  assert.deepEqual(z.grad!.toArray(), [8]);
});

test('backward of a non-scalar without a gradient is an error naming the cause', () => {
  const x = torch.ones([2], { requiresGrad: true });
  assert.throws(() => x.mul(2).backward(), /grad can be implicitly created only for scalar outputs/);
});

test('gradient penalty: autograd.grad with createGraph then backward matches Python (double backward)', () => {
  const c = fx.gradient_penalty;
  const x = fromSpec(c.x, { requiresGrad: true });
  const w1 = fromSpec(c.w1, { requiresGrad: true });
  const w2 = fromSpec(c.w2, { requiresGrad: true });
  const b1 = fromSpec(c.b1);
  const h = torch.F.leakyRelu(torch.F.conv2d(x, w1, b1, { padding: 1 }), 0.2);
  const d = torch.F.conv2d(h, w2, null, { stride: 2 });
  const score = d.mul(d).sum().add(d.sum());
  assertMatches(score, c.score, 'score', tol);
  const [gx] = torch.grad(score, [x], { createGraph: true });
  assert.ok(gx!.requiresGrad, 'gradient is itself differentiable');
  assertMatches(gx!, c.gx, 'd score / d x', tol);
  const gp = gx!.flatten(1).norm(2, 1).sub(1).pow(2).mean();
  assertMatches(gp, c.gp, 'penalty', tol);
  gp.backward();
  assertMatches(w1.grad!, c.w1_grad, 'd penalty / d w1', tol);
  assertMatches(w2.grad!, c.w2_grad, 'd penalty / d w2', tol);
  assertMatches(x.grad!, c.x_grad, 'd penalty / d x', tol);
});

test('autograd.grad leaves .grad alone; allowUnused gives null for unused inputs', () => {
  const x = torch.tensor([1, 2], { requiresGrad: true });
  const u = torch.tensor([5], { requiresGrad: true });
  const [gx, gu] = torch.grad(x.pow(3).sum(), [x, u], { allowUnused: true });
  assert.deepEqual(gx!.toArray(), [3, 12]);
  assert.equal(gu, null);
  assert.equal(x.grad, null);
  assert.throws(() => torch.grad(x.sum(), [u]), /autograd.grad: .*not have been used/);
});

test('detach cuts the graph and shares data', () => {
  const x = torch.tensor([1, 2], { requiresGrad: true });
  const y = x.mul(3);
  const d = y.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.gradFn, null);
  assert.match(y.gradFn!, /^MulBackward/);
  y.add(d).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [3, 3]);
  d.fill_(0);
  assert.deepEqual(y.toArray(), [0, 0], 'detach is a view of the same data');
});

test('noGrad / enableGrad nest and restore the previous mode, even when fn throws', () => {
  const x = torch.ones([2], { requiresGrad: true });
  assert.equal(torch.isGradEnabled(), true);
  torch.noGrad(() => {
    assert.equal(x.mul(2).requiresGrad, false);
    torch.enableGrad(() => {
      assert.equal(x.mul(2).requiresGrad, true);
      torch.noGrad(() => assert.equal(x.mul(2).requiresGrad, false));
      assert.equal(torch.isGradEnabled(), true);
    });
    assert.equal(torch.isGradEnabled(), false);
  });
  assert.equal(torch.isGradEnabled(), true);
  assert.throws(() => torch.noGrad(() => { throw new Error('inner'); }), /inner/);
  assert.equal(torch.isGradEnabled(), true);
  assert.equal(torch.noGrad(() => 42), 42);
});

test('requiresGrad propagates to results and leaves are marked', () => {
  const a = torch.ones([2], { requiresGrad: true });
  const b = torch.ones([2]);
  assert.equal(a.isLeaf, true);
  assert.equal(b.add(b).requiresGrad, false);
  const c = a.add(b);
  assert.equal(c.requiresGrad, true);
  assert.equal(c.isLeaf, false);
  assert.equal(c.gradFn, 'AddBackward0');
  b.requiresGrad_();
  assert.equal(b.mul(3).requiresGrad, true);
  b.requiresGrad_(false);
  assert.equal(b.mul(3).requiresGrad, false);
  assert.throws(() => c.requiresGrad_(false), /requiresGrad_/);
});

test('.grad accumulates over backward calls until reset', () => {
  const w = torch.tensor([1, -1], { requiresGrad: true });
  for (let i = 0; i < 3; i++) w.mul(torch.tensor([2, 5])).sum().backward();
  assert.deepEqual(w.grad!.toArray(), [6, 15]);
  w.grad = null;
  assert.equal(w.grad, null);
  w.mul(w).sum().backward();
  assert.deepEqual(w.grad!.toArray(), [2, -2]);
  w.grad!.zero_();
  w.sum().backward();
  assert.deepEqual(w.grad!.toArray(), [1, 1]);
});

test('retainGrad keeps a non-leaf gradient; torch.backward takes several roots', () => {
  const x = torch.tensor([2], { requiresGrad: true });
  const h = x.mul(3).retainGrad();
  const y = h.pow(2).sum();
  const z = x.mul(10).sum();
  torch.backward([y, z]);
  assert.deepEqual(h.grad!.toArray(), [12]);
  assert.deepEqual(x.grad!.toArray(), [36 + 10]);
});

test('in-place ops on a leaf that requires grad are refused; under noGrad they are allowed', () => {
  const w = torch.ones([2], { requiresGrad: true });
  assert.throws(() => w.add_(1), /leaf Variable that requires grad/);
  torch.noGrad(() => w.add_(1));
  assert.deepEqual(w.toArray(), [2, 2]);
});
