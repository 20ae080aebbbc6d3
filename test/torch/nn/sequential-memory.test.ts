// Sequential frees each intermediate once the next layer has read it when autograd is not
// recording (containers.ts): same outputs as running the children one after another, the
// caller's input, kept tensors and pass-through outputs survive, gradients are unchanged
// with autograd on, and the number of live handles at the peak no longer grows with depth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { nn } from '../../../src/torch/index.js';
import { gradcheck } from '../gradcheck.js';

/** What Sequential.forward did before: every intermediate lives until the enclosing tidy ends. */
function chain(s: nn.Sequential, x: torch.Tensor): torch.Tensor {
  let y = x;
  for (const m of s) y = m.forward(y) as torch.Tensor;
  return y;
}

/** A pass-through child that records the live handles at its point in the chain. */
class Probe extends nn.Module {
  peak = 0;
  peakBytes = 0;
  forward(x: torch.Tensor): torch.Tensor {
    const s = torch.memoryStats();
    this.peak = Math.max(this.peak, s.handles);
    this.peakBytes = Math.max(this.peakBytes, s.bytes);
    return x;
  }
}

/** Returns a kept tensor of its own whatever it is given (a learned constant input). */
class Constant extends nn.Module {
  readonly value = this.registerBuffer('value', torch.randn([2, 3, 5, 5]));
  forward(): torch.Tensor { return this.value; }
}

/** Hands back its input object itself after an in-place change (ReLU(inplace) style). */
class InPlaceHalf extends nn.Module {
  forward(x: torch.Tensor): torch.Tensor { return x.mul_(0.5); }
}

function convNet(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Identity(),
    new nn.Sequential(new nn.Conv2d(4, 4, 3, { padding: 1 }), new nn.Tanh()), new InPlaceHalf(),
    new nn.Conv2d(4, 2, 1),
  );
}

test('Sequential gives bit-identical outputs with the early freeing (eval, train, noGrad, grad on)', () => {
  torch.manualSeed(1);
  const net = convNet();
  const x = torch.randn([2, 3, 6, 6]);
  for (const training of [false, true]) {
    net.train(training);
    // Batch norm in training mode updates running statistics: run both from the same state.
    const state = new Map([...net.stateDict()].map(([k, t]) => [k, t.clone()]));
    const expected = torch.noGrad(() => torch.tidy(() => chain(net, x)));
    net.loadStateDict(state);
    const got = torch.noGrad(() => torch.tidy(() => net.forward(x) as torch.Tensor));
    net.loadStateDict(state);
    const withGrad = torch.tidy(() => (net.forward(x) as torch.Tensor).detach());
    assert.ok(got.equal(expected), `noGrad output, training=${training}`);
    assert.ok(withGrad.equal(expected), `grad-mode output, training=${training}`);
  }
  assert.equal(x.isDisposed, false);
});

test('Sequential never disposes the caller\'s input, the result or a kept tensor', () => {
  torch.manualSeed(2);
  const x = torch.randn([2, 3, 5, 5]);
  const probe = new Probe();
  torch.noGrad(() => {
    // A chain of pass-throughs returns the input itself, which must survive every step.
    const same = new nn.Sequential(new nn.Identity(), probe, new nn.Identity()).forward(x);
    assert.equal(same, x);
    assert.equal(x.isDisposed, false);
    // An in-place child returns the input object itself: still the caller's.
    const inPlace = new nn.Sequential(new nn.Identity(), new InPlaceHalf(), new nn.ReLU()).forward(x.clone()) as torch.Tensor;
    assert.equal(inPlace.isDisposed, false);
    // A child returning a buffer: the next child reads it, and the buffer must not be freed.
    const constant = new Constant();
    const out = new nn.Sequential(new nn.ReLU(), constant, new nn.Tanh(), new nn.ReLU()).forward(x) as torch.Tensor;
    assert.equal(constant.value.isDisposed, false);
    assert.equal(x.isDisposed, false);
    assert.ok(out.equal(constant.value.tanh().relu()));
    // Outside any tidy as well.
    const net = convNet().eval();
    const y = net.forward(x) as torch.Tensor;
    assert.equal(x.isDisposed, false);
    assert.equal(y.isDisposed, false);
    assert.ok(y.equal(chain(net, x)));
  });
});

test('with autograd on, gradients through Sequential are unchanged: finite differences, and equal to the plain chain', () => {
  torch.manualSeed(3);
  const net = new nn.Sequential(new nn.Linear(3, 4), new nn.Tanh(), new nn.Identity(), new nn.Linear(4, 2), new nn.Sigmoid()).double();
  const x = torch.randn([5, 3], { dtype: 'float64' }).requiresGrad_(true);
  assert.equal(gradcheck((t) => net.forward(t) as torch.Tensor, [x]), true);
  // Input without grad, parameters with: the parameter gradients must match the plain chain's.
  const plain = torch.randn([5, 3], { dtype: 'float64' });
  const params = net.parameters();
  const viaSequential = torch.tidy(() => torch.grad((net.forward(plain) as torch.Tensor).square().sum(), params));
  const viaChain = torch.tidy(() => torch.grad(chain(net, plain).square().sum(), params));
  viaSequential.forEach((g, i) => assert.ok(g!.equal(viaChain[i]!), `parameter ${i}`));
  // Training-mode batch norm (batch statistics) with a backward through the whole chain.
  const bn = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 1)).double();
  const state = new Map([...bn.stateDict()].map(([k, t]) => [k, t.clone()]));
  const g1 = torch.tidy(() => torch.grad((bn.forward(x) as torch.Tensor).sum(), [x, ...bn.parameters()]));
  bn.loadStateDict(state);
  const g2 = torch.tidy(() => torch.grad(chain(bn, x).sum(), [x, ...bn.parameters()]));
  g1.forEach((g, i) => assert.ok(g!.equal(g2[i]!), `batch-norm chain gradient ${i}`));
  assert.equal(x.isDisposed, false);
});

test('the live handles at the peak of a deep Sequential stay flat without autograd (and grow with it)', () => {
  torch.manualSeed(4);
  const depth = 12;
  const layers: nn.Module[] = [];
  for (let i = 0; i < depth; i++) layers.push(new nn.Linear(8, 8), new nn.ReLU());
  const probe = new Probe();
  layers.push(probe);
  const net = new nn.Sequential(...layers);
  const x = torch.randn([4, 8]);
  const peakAbove = (run: () => torch.Tensor): { handles: number; bytes: number; value: torch.Tensor } => {
    probe.peak = 0;
    probe.peakBytes = 0;
    const base = torch.memoryStats();
    const value = torch.tidy(run);
    return { handles: probe.peak - base.handles, bytes: probe.peakBytes - base.bytes, value };
  };
  const before = torch.noGrad(() => peakAbove(() => chain(net, x)));
  const after = torch.noGrad(() => peakAbove(() => net.forward(x) as torch.Tensor));
  console.log(`live handles above the start at the end of ${2 * depth} layers: plain chain ${before.handles}, Sequential ${after.handles}`);
  assert.ok(after.value.equal(before.value));
  // Plain chain: one live output per layer. Sequential: the last output (+1 at most in flight).
  assert.ok(before.handles >= 2 * depth, `plain chain peak ${before.handles}`);
  assert.ok(after.handles <= 2, `Sequential peak ${after.handles}`);
  // Bytes follow the handles: 2 * depth outputs of [4, 8] float32 against about one.
  assert.ok(after.bytes < before.bytes / depth, `bytes at the peak: plain ${before.bytes}, Sequential ${after.bytes}`);
  // With autograd recording (parameters require grad) nothing is freed early: the graph would keep it anyway.
  const graded = peakAbove(() => net.forward(x) as torch.Tensor);
  assert.ok(graded.handles >= 2 * depth, `grad-mode peak ${graded.handles}`);
});
