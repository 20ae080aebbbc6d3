// torch.F against Python's torch.nn.functional: forward values and gradients with respect to
// inputs and weights for the same inputs and output gradient (test/fixtures/ops/functional.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { attention } from '../../../src/torch/nn/attention.js';
import { assertMatches, fromSpec, loadFixture, type TensorSpec } from '../tensor-reference.js';

const F = torch.F;
interface Case {
  params: Record<string, number | number[]>;
  inputs: Record<string, TensorSpec>;
  out: TensorSpec;
  gout?: TensorSpec;
  grads?: Record<string, TensorSpec>;
  running?: [TensorSpec, TensorSpec];
}
const fx = loadFixture<Record<string, Case>>('functional');
type P = Record<string, number | number[]>;
type T = Record<string, torch.Tensor>;
const pr = (v: number | number[] | undefined): torch.F.Pair | undefined => (v === undefined ? undefined : (v as torch.F.Pair));

const conv = (t: T, p: P) => F.conv2d(t.x, t.w, t.b ?? null, { stride: pr(p.stride), padding: pr(p.padding), dilation: pr(p.dilation), groups: p.groups as number | undefined });
const convT = (t: T, p: P) => F.convTranspose2d(t.x, t.w, t.b ?? null, { stride: pr(p.stride), padding: pr(p.padding), outputPadding: pr(p.outputPadding), dilation: pr(p.dilation), groups: p.groups as number | undefined });

const runners: Record<string, (t: T, p: P) => torch.Tensor> = {
  conv2d_basic: conv,
  conv2d_stride_pad_dil: conv,
  conv2d_groups: conv,
  conv_transpose2d: convT,
  conv_transpose2d_groups_dil: convT,
  batch_norm_train: (t, p) => F.batchNorm(t.x, { runningMean: t.rm, runningVar: t.rv, weight: t.g, bias: t.b }, true, p.momentum as number),
  batch_norm_eval: (t) => F.batchNorm(t.x, { runningMean: t.rm, runningVar: t.rv, weight: t.g, bias: t.b }, false),
  instance_norm: (t) => F.instanceNorm(t.x, { weight: t.g, bias: t.b }),
  group_norm: (t, p) => F.groupNorm(t.x, p.groups as number, t.g, t.b),
  layer_norm: (t) => F.layerNorm(t.x, [5, 5], t.g, t.b),
  linear: (t) => F.linear(t.x, t.w, t.b),
  relu: (t) => F.relu(t.x),
  leaky_relu: (t, p) => F.leakyRelu(t.x, p.slope as number),
  gelu: (t) => F.gelu(t.x),
  gelu_tanh: (t) => F.gelu(t.x, 'tanh'),
  avg_pool_incl: (t) => F.avgPool2d(t.x, 3, { stride: 2, padding: 1, countIncludePad: true }),
  avg_pool_excl: (t) => F.avgPool2d(t.x, 3, { stride: 2, padding: 1, countIncludePad: false }),
  max_pool: (t) => F.maxPool2d(t.x, 2),
  max_pool_pad: (t) => F.maxPool2d(t.x, 3, { stride: 2, padding: 1 }),
  adaptive_avg_pool: (t) => F.adaptiveAvgPool2d(t.x, [3, 4]),
  interp_nearest_size: (t) => F.interpolate(t.x, { size: [5, 7], mode: 'nearest' }),
  interp_nearest_scale: (t) => F.interpolate(t.x, { scaleFactor: 2, mode: 'nearest' }),
  interp_bilinear_ac: (t) => F.interpolate(t.x, { size: [5, 7], mode: 'bilinear', alignCorners: true }),
  interp_bilinear_noac: (t) => F.interpolate(t.x, { size: [5, 7], mode: 'bilinear', alignCorners: false }),
  interp_bilinear_scale: (t) => F.interpolate(t.x, { scaleFactor: 1.5, mode: 'bilinear', alignCorners: false }),
  pad_reflect: (t) => F.pad(t.x, [1, 2, 2, 1], 'reflect'),
  pad_replicate: (t) => F.pad(t.x, [2, 0, 1, 3], 'replicate'),
  pad_constant: (t) => F.pad(t.x, [1, 1, 0, 2], 'constant', 0.5),
  pixel_shuffle: (t) => F.pixelShuffle(t.x, 2),
  l1: (t) => F.l1Loss(t.x, t.t),
  mse: (t) => F.mseLoss(t.x, t.t),
  mse_sum: (t) => F.mseLoss(t.x, t.t, 'sum'),
  bce_logits_pos_weight: (t) => F.binaryCrossEntropyWithLogits(t.x, t.t, { posWeight: t.pw }),
  cross_entropy: (t) => F.crossEntropy(t.x, t.t),
  cross_entropy_weight_smooth: (t) => F.crossEntropy(t.x, t.t, { weight: t.w, labelSmoothing: 0.1 }),
  dropout_seeded: (t, p) => { torch.manualSeed(p.seed as number); return F.dropout(t.x, p.p as number, true); },
  attention: (t, p) => attention(t.q, t.k, t.v, { scale: p.scale as number, chunkSize: 4 }),
};

// Same kernels as Python, but thread counts and accumulation order may differ slightly.
const tol = { rtol: 1e-4, atol: 1e-5 };

for (const [name, c] of Object.entries(fx)) {
  test(`${name}: forward and gradients equal PyTorch`, () => {
    const run = runners[name];
    assert.ok(run, `no runner for fixture case ${name}`);
    torch.tidy(() => {
      const wanted = new Set(Object.keys(c.grads ?? {}));
      const t: T = Object.fromEntries(Object.entries(c.inputs).map(([k, s]) => [k, fromSpec(s, { requiresGrad: wanted.has(k) })]));
      const out = run(t, c.params);
      assertMatches(out, c.out, `${name} forward`, tol);
      if (c.running) {
        assertMatches(t.rm, c.running[0], `${name} running mean`, tol);
        assertMatches(t.rv, c.running[1], `${name} running var`, tol);
      }
      if (c.grads) {
        const names = [...wanted];
        const grads = torch.grad(out, names.map((k) => t[k]), { gradOutputs: [fromSpec(c.gout!)] });
        names.forEach((k, i) => assertMatches(grads[i]!, c.grads![k], `${name} d/d${k}`, tol));
      }
    });
  });
}

test('every runner has a reference case', () => {
  assert.deepEqual(Object.keys(runners).filter((k) => !(k in fx)), []);
});

test('dropout: p=0 and train=false are the identity, p=1 gives zeros, kept values scale by 1/(1-p)', () => {
  const x = torch.randn([64, 32]);
  assert.ok(F.dropout(x, 0, true).equal(x));
  assert.ok(F.dropout(x, 0.7, false).equal(x));
  assert.equal(F.dropout(x, 1, true).abs().sum().item(), 0);
  const y = F.dropout(torch.ones([200, 100]), 0.25, true);
  const vals = new Set(y.toArray().map((v) => Math.fround(v)));
  assert.deepEqual([...vals].sort(), [0, Math.fround(1 / 0.75)].sort());
  const keptFraction = y.ne(0).float().mean().item();
  assert.ok(Math.abs(keptFraction - 0.75) < 0.02, `kept fraction ${keptFraction}`);
  assert.throws(() => F.dropout(x, 1.5), /p must be in \[0, 1\]/);
});

test('focal loss with gamma = 0 equals cross entropy, and gamma > 0 down-weights easy samples', () => {
  const c = fx.cross_entropy;
  const logits = fromSpec(c.inputs.x, { requiresGrad: true });
  const target = fromSpec(c.inputs.t);
  const focal = F.focalLoss(logits, target, { gamma: 0 });
  assertMatches(focal, c.out, 'focal gamma=0 vs Python cross entropy', tol);
  const [g] = torch.grad(focal, [logits], { gradOutputs: [torch.tensor(1)] });
  const [gCe] = torch.grad(F.crossEntropy(logits, target), [logits]);
  assert.ok(g!.allclose(gCe!, 1e-5, 1e-7), 'same gradient as cross entropy');
  const focal2 = F.focalLoss(logits, target, { gamma: 2, reduction: 'none' });
  const ce = F.crossEntropy(logits, target, { reduction: 'none' });
  assert.ok(focal2.le(ce.add(1e-7)).all().item() === 1, 'focal term never exceeds CE');
});

test('interpolate and pad reject contradictory options with a clear message', () => {
  const x = torch.zeros([1, 1, 2, 2]);
  assert.throws(() => F.interpolate(x, {}), /exactly one of size and scaleFactor/);
  assert.throws(() => F.interpolate(x, { size: 3, alignCorners: true }), /alignCorners only applies/);
  assert.throws(() => F.pad(x, [1, 1], 'reflect'), /needs \[left, right, top, bottom\]/);
});
