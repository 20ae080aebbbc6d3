// AdaIN against its formula, the mapping network, and the AGM block's dependence on the
// grading code and the noise, with a float64 gradient check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { AdaIN } from '../../src/gan/adain.js';
import { AGMBlock } from '../../src/gan/agm.js';
import { MappingNetwork } from '../../src/gan/mapping.js';
import { gradcheck } from '../torch/gradcheck.js';

// Tiny float64 tensors: a thread pool only adds overhead (float64 conv2d was ~10x slower with
// the engine's start-up thread setting than after setNumThreads).
torch.setNumThreads(1);

function maxAbsDiff(a: torch.Tensor, b: torch.Tensor): number {
  return torch.tidy(() => a.sub(b).abs().max().item());
}

test('AdaIN equals (1 + A_g w) * (x - mean) / sqrt(var + 1e-5) + A_b w per sample and channel', () => {
  torch.tidy(() => {
    torch.manualSeed(1);
    const m = new AdaIN(3, 5);
    const x = torch.randn([2, 3, 4, 5]).mul(3).add(2);
    const w = torch.randn([2, 5]);
    const got = m.forward(x, w);
    // By hand: statistics over H, W only; the affine's first C outputs are gamma - 1.
    const mean = x.mean([2, 3], true);
    const variance = x.sub(mean).square().mean([2, 3], true);
    const style = w.matmul(m.affine.weight.T).add(m.affine.bias!);
    const gamma = style.narrow(1, 0, 3).add(1).reshape(2, 3, 1, 1);
    const beta = style.narrow(1, 3, 3).reshape(2, 3, 1, 1);
    const want = x.sub(mean).div(variance.add(1e-5).sqrt()).mul(gamma).add(beta);
    assert.ok(maxAbsDiff(got, want) < 1e-5, `max diff ${maxAbsDiff(got, want)}`);
    m.dispose();
  });
});

test('AdaIN with a zero affine map is plain instance normalisation', () => {
  torch.tidy(() => {
    const m = new AdaIN(2, 3);
    torch.noGrad(() => { m.affine.weight.zero_(); m.affine.bias!.zero_(); });
    const x = torch.randn([1, 2, 3, 3]);
    const y = m.forward(x, torch.randn([1, 3]));
    assert.ok(y.mean([2, 3]).abs().max().item() < 1e-6);
    assert.ok(Math.abs(y.var([2, 3], false).mean().item() - 1) < 1e-3);
    m.dispose();
  });
});

test('AdaIN rejects a w whose batch does not match', () => {
  const m = new AdaIN(2, 3);
  assert.throws(() => m.forward(torch.zeros([2, 2, 3, 3]), torch.zeros([1, 3])), /AdaIN: expected w \[2, 3\]/);
  m.dispose();
});

test('the mapping network has 4 Linear + LeakyReLU(0.2) layers of width 512 by default', () => {
  torch.tidy(() => {
    const m = new MappingNetwork(7);
    assert.deepEqual(m.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`),
      ['net.0.weight:512x7', 'net.0.bias:512', 'net.2.weight:512x512', 'net.2.bias:512', 'net.4.weight:512x512', 'net.4.bias:512', 'net.6.weight:512x512', 'net.6.bias:512']);
    const z = torch.randn([3, 7]);
    let h = z;
    for (let i = 0; i < 4; i++) { const lin = m.net.at(2 * i) as torch.nn.Linear; h = torch.F.leakyRelu(torch.F.linear(h, lin.weight, lin.bias), 0.2); }
    assert.ok(maxAbsDiff(m.forward(z), h) < 1e-6);
    assert.throws(() => m.forward(torch.zeros([3, 6])), /MappingNetwork: expected a grading vector \[N, 7\]/);
    m.dispose();
  });
});

test('the AGM output changes with the grading code and with the noise, and is fixed by both', () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const m = new AGMBlock(8, 6);
    assert.equal(m.noiseChannels, 2);
    assert.deepEqual(m.fuse.weight.shape, [8, 10, 1, 1]);
    const x = torch.randn([2, 8, 4, 4]);
    const w1 = torch.randn([2, 6]), w2 = torch.randn([2, 6]);
    const n1 = torch.randn([2, 2, 4, 4]), n2 = torch.randn([2, 2, 4, 4]);
    const base = m.forward(x, w1, n1);
    assert.equal(maxAbsDiff(base, m.forward(x, w1, n1)), 0, 'same inputs, same output');
    assert.ok(maxAbsDiff(base, m.forward(x, w2, n1)) > 1e-3, 'grading code matters');
    assert.ok(maxAbsDiff(base, m.forward(x, w1, n2)) > 1e-3, 'noise matters');
    assert.ok(base.min().item() >= 0, 'ends with ReLU');
    // Drawn noise follows the global generator.
    torch.manualSeed(9); const a = m.forward(x, w1);
    torch.manualSeed(9); const b = m.forward(x, w1);
    assert.equal(maxAbsDiff(a, b), 0);
    assert.throws(() => m.forward(x, w1, torch.zeros([2, 3, 4, 4])), /noise must have shape \[2, 2, 4, 4\]/);
    m.dispose();
  });
});

test('AGM gradients match finite differences in float64 (features and grading code)', () => {
  torch.tidy(() => {
    torch.manualSeed(4);
    const m = new AGMBlock(4, 3).double();
    const noise = torch.randn([2, 1, 3, 3], { dtype: 'float64' });
    const x = torch.randn([2, 4, 3, 3], { dtype: 'float64' }).requiresGrad_(true);
    const w = torch.randn([2, 3], { dtype: 'float64' }).requiresGrad_(true);
    assert.equal(gradcheck((xx, ww) => m.forward(xx, ww, noise), [x, w], { atol: 1e-6, rtol: 1e-4 }), true);
    m.dispose();
  });
});
