// SCA: the chunked spatial branch against the full-map formula (forward and backward),
// the channel branch against its formula, the zero-initialised gammas, and a float64
// gradient check of the whole block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { attentionFull } from '../../src/torch/nn/attention.js';
import { ChannelAttention, SCA, SpatialAttention } from '../../src/gan/attention.js';
import { gradcheck } from '../torch/gradcheck.js';

// Tiny float64 tensors: a thread pool only adds overhead (float64 conv2d was ~10x slower with
// the engine's start-up thread setting than after setNumThreads).
torch.setNumThreads(1);

function maxAbsDiff(a: torch.Tensor, b: torch.Tensor): number {
  return torch.tidy(() => a.sub(b).abs().max().item());
}

/** The spatial branch built from the full N x N map, as DANet writes it. */
function spatialReference(m: SpatialAttention, x: torch.Tensor, pool = 1): torch.Tensor {
  const [n, c, h, w] = x.shape;
  const kv = pool > 1 ? torch.F.avgPool2d(x, pool) : x;
  const conv = (layer: torch.nn.Conv2d, t: torch.Tensor) => torch.F.conv2d(t, layer.weight, layer.bias);
  const q = conv(m.query, x).flatten(2).transpose(1, 2);
  const k = conv(m.key, kv).flatten(2).transpose(1, 2);
  const v = conv(m.value, kv).flatten(2).transpose(1, 2);
  const out = attentionFull(q, k, v, 1).transpose(1, 2).reshape(n, c, h, w);
  return x.add(out.mul(m.gamma));
}

test('spatial attention (chunked, scale 1) equals the full-map formula, forward and backward', () => {
  torch.tidy(() => {
    torch.manualSeed(11);
    // A budget of a few rows forces many query chunks over N = 30 positions.
    const m = new SpatialAttention(8, 2, { memoryBudgetBytes: 2 * 30 * 8 * 3 });
    torch.noGrad(() => m.gamma.fill_(0.8));
    assert.deepEqual([m.query.weight.shape, m.key.weight.shape, m.value.weight.shape], [[4, 8, 1, 1], [4, 8, 1, 1], [8, 8, 1, 1]]);
    const x = torch.randn([2, 8, 5, 6]).requiresGrad_(true);
    const upstream = torch.randn([2, 8, 5, 6]);
    const params = [x, m.query.weight, m.key.weight, m.value.weight, m.value.bias!, m.gamma];
    const got = m.forward(x);
    const gGot = torch.grad(got, params, { gradOutputs: [upstream] });
    const want = spatialReference(m, x);
    const gWant = torch.grad(want, params, { gradOutputs: [upstream] });
    assert.ok(maxAbsDiff(got, want) < 1e-5, `forward diff ${maxAbsDiff(got, want)}`);
    gGot.forEach((g, i) => assert.ok(maxAbsDiff(g!, gWant[i]!) < 1e-4, `grad ${i} diff ${maxAbsDiff(g!, gWant[i]!)}`));
    m.dispose();
  });
});

test('key/value pooling equals attention over average-pooled keys and values', () => {
  torch.tidy(() => {
    torch.manualSeed(12);
    const m = new SpatialAttention(4, 2, { keyValuePool: 2 });
    torch.noGrad(() => m.gamma.fill_(1));
    const x = torch.randn([1, 4, 4, 6]);
    assert.ok(maxAbsDiff(m.forward(x), spatialReference(m, x, 2)) < 1e-5);
    assert.throws(() => m.forward(torch.randn([1, 4, 3, 4])), /keyValuePool 2 must divide the feature size 3x4/);
    m.dispose();
  });
});

test('channel attention: softmax(I I^T) over the last axis times I (plain), DANet max-minus-energy option', () => {
  torch.tidy(() => {
    torch.manualSeed(13);
    const x = torch.randn([2, 3, 2, 2]).mul(0.5);
    const flat = x.reshape(2, 3, 4);
    const energy = torch.einsum('bcn,bdn->bcd', flat, flat);
    for (const kind of ['plain', 'danet'] as const) {
      const m = new ChannelAttention(3, kind);
      torch.noGrad(() => m.gamma.fill_(0.5));
      const logits = kind === 'plain' ? energy : energy.amax(-1, true).sub(energy);
      const a = logits.exp().div(logits.exp().sum(-1, true));
      const want = x.add(torch.einsum('bcd,bdn->bcn', a, flat).reshape(2, 3, 2, 2).mul(0.5));
      assert.ok(maxAbsDiff(m.forward(x), want) < 1e-5, kind);
      m.dispose();
    }
  });
});

test('gamma_s and gamma_c start at 0, so SCA starts as conv3x3(I) + conv3x3(I)', () => {
  torch.tidy(() => {
    torch.manualSeed(14);
    const m = new SCA(8, 4);
    assert.deepEqual([m.spatial.gamma.toArray(), m.channel.gamma.toArray()], [[0], [0]]);
    const x = torch.randn([1, 8, 4, 4]);
    const want = torch.F.conv2d(x, m.spatialConv.weight, m.spatialConv.bias, { padding: 1 })
      .add(torch.F.conv2d(x, m.channelConv.weight, m.channelConv.bias, { padding: 1 }));
    assert.ok(maxAbsDiff(m.forward(x), want) < 1e-5);
    // A module's own parameters come before its children's, as in PyTorch.
    assert.deepEqual(m.namedParameters().map(([n]) => n), [
      'spatial.gamma', 'spatial.query.weight', 'spatial.query.bias', 'spatial.key.weight', 'spatial.key.bias', 'spatial.value.weight', 'spatial.value.bias',
      'channel.gamma', 'spatialConv.weight', 'spatialConv.bias', 'channelConv.weight', 'channelConv.bias',
    ]);
    m.dispose();
  });
});

test('SCA gradients match finite differences in float64 (both attention branches active)', () => {
  torch.tidy(() => {
    torch.manualSeed(15);
    for (const channelKind of ['plain', 'danet'] as const) {
      const m = new SCA(4, 2, { channelKind, memoryBudgetBytes: 64 }).double();
      torch.noGrad(() => { m.spatial.gamma.fill_(0.7); m.channel.gamma.fill_(-0.4); });
      const x = torch.randn([1, 4, 2, 3], { dtype: 'float64' }).mul(0.5).requiresGrad_(true);
      // Random output directions (v^T J) keep the check to a few backward passes.
      assert.equal(gradcheck((xx) => m.forward(xx), [x], { atol: 1e-6, rtol: 1e-4, maxFullRows: 0, probes: 4 }), true, channelKind);
      m.dispose();
    }
  });
});
