// Every layer against PyTorch on the same weights: the fixture holds the module's state
// dict, an input, the output, and the input and parameter gradients for an upstream
// gradient; here the same module is built, loaded and run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { nn } from '../../../src/torch/index.js';
import { assertMatches, fromSpec, loadNnFixture, stateFromSpecs, type TensorSpec } from './fixture.js';

interface ModuleCase {
  train: boolean;
  state: Record<string, TensorSpec>;
  input: TensorSpec;
  output: TensorSpec;
  gradOutput: TensorSpec;
  inputGrad: TensorSpec;
  paramGrads: Record<string, TensorSpec>;
  stateAfter: Record<string, TensorSpec>;
}

// The same modules as CASES in scripts/reference/nn_modules.py, by name.
const FACTORIES: Record<string, () => nn.Module> = {
  conv2d_stride_pad: () => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 }),
  conv2d_dilation_groups: () => new nn.Conv2d(4, 4, 3, { padding: 2, dilation: 2, groups: 2 }),
  conv2d_reflect: () => new nn.Conv2d(2, 3, 3, { padding: 1, paddingMode: 'reflect' }),
  conv2d_replicate_nobias: () => new nn.Conv2d(2, 3, [3, 1], { padding: [1, 2], paddingMode: 'replicate', bias: false }),
  conv_transpose2d_output_padding: () => new nn.ConvTranspose2d(3, 2, 3, { stride: 2, padding: 1, outputPadding: 1 }),
  conv_transpose2d_groups_nobias: () => new nn.ConvTranspose2d(4, 2, 4, { stride: 2, padding: 1, groups: 2, bias: false }),
  linear: () => new nn.Linear(5, 3),
  batchnorm2d_train: () => new nn.BatchNorm2d(3),
  batchnorm2d_eval: () => new nn.BatchNorm2d(3),
  instancenorm2d_default: () => new nn.InstanceNorm2d(3),
  instancenorm2d_affine: () => new nn.InstanceNorm2d(3, { affine: true }),
  instancenorm2d_tracked_eval: () => new nn.InstanceNorm2d(3, { affine: true, trackRunningStats: true }),
  groupnorm: () => new nn.GroupNorm(2, 4),
  layernorm: () => new nn.LayerNorm([4, 4]),
  relu: () => new nn.ReLU(),
  leaky_relu: () => new nn.LeakyReLU(0.2),
  gelu: () => new nn.GELU(),
  gelu_tanh: () => new nn.GELU('tanh'),
  tanh: () => new nn.Tanh(),
  sigmoid: () => new nn.Sigmoid(),
  identity: () => new nn.Identity(),
  flatten: () => new nn.Flatten(),
  dropout_eval: () => new nn.Dropout(0.5),
  upsample_nearest: () => new nn.Upsample({ scaleFactor: 2, mode: 'nearest' }),
  upsample_bilinear_size: () => new nn.Upsample({ size: [5, 7], mode: 'bilinear' }),
  upsample_bilinear_align: () => new nn.Upsample({ scaleFactor: 2, mode: 'bilinear', alignCorners: true }),
  avgpool2d: () => new nn.AvgPool2d(2),
  avgpool2d_pad_exclude: () => new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
  maxpool2d: () => new nn.MaxPool2d(3, { stride: 2, padding: 1 }),
  adaptive_avgpool2d: () => new nn.AdaptiveAvgPool2d([2, 3]),
  reflection_pad2d: () => new nn.ReflectionPad2d(1),
  reflection_pad2d_sides: () => new nn.ReflectionPad2d([1, 2, 0, 1]),
  sequential: () => new nn.Sequential(
    new nn.ReflectionPad2d(1), new nn.Conv2d(2, 4, 3), new nn.InstanceNorm2d(4, { affine: true }), new nn.LeakyReLU(0.2),
    new nn.Conv2d(4, 2, 4, { stride: 2, padding: 1 }), new nn.Tanh(),
  ),
};

const cases = loadNnFixture<Record<string, ModuleCase>>('modules');
const tol = { rtol: 1e-5, atol: 1e-5 };

test('every fixture case has a TypeScript factory and vice versa', () => {
  assert.deepEqual(Object.keys(FACTORIES).sort(), Object.keys(cases).sort());
});

for (const [name, c] of Object.entries(cases)) {
  test(`${name}: forward, input gradient and parameter gradients match PyTorch on the same weights`, () => {
    torch.tidy(() => {
      const m = FACTORIES[name]();
      assert.deepEqual([...m.stateDict().keys()], Object.keys(c.state), 'state dict keys');
      m.loadStateDict(stateFromSpecs(c.state));
      m.train(c.train);
      const x = fromSpec(c.input, { requiresGrad: true });
      const y = m.forward(x) as torch.Tensor;
      assertMatches(y, c.output, `${name} output`, tol);
      y.mul(fromSpec(c.gradOutput)).sum().backward();
      assertMatches(x.grad!, c.inputGrad, `${name} input grad`, tol);
      const params = new Map(m.namedParameters());
      assert.deepEqual([...params.keys()], Object.keys(c.paramGrads), 'parameter names');
      for (const [k, spec] of Object.entries(c.paramGrads)) assertMatches(params.get(k)!.grad!, spec, `${name} grad of ${k}`, tol);
      const sd = m.stateDict();
      for (const [k, spec] of Object.entries(c.stateAfter)) assertMatches(sd.get(k)!, spec, `${name} ${k} after forward`, tol);
      m.dispose();
    });
  });
}

test('Conv2d rejects a wrong channel count naming the shape', () => {
  const m = new nn.Conv2d(3, 4, 3);
  assert.throws(() => m.forward(torch.zeros([1, 2, 5, 5])), /Conv2d: expected 3 input channels, got shape \[1, 2, 5, 5\]/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /inChannels \(3\) must be divisible by groups \(2\)/);
  m.dispose();
});

test('BatchNorm2d rejects non-4-D input and Linear a wrong feature size', () => {
  assert.throws(() => new nn.BatchNorm2d(3).forward(torch.zeros([2, 3])), /BatchNorm2d: expected 4-D input, got shape \[2, 3\]/);
  assert.throws(() => new nn.Linear(5, 2).forward(torch.zeros([2, 4])), /Linear: expected input \[\.\.\., 5\], got shape \[2, 4\]/);
});

test('Dropout in training zeroes about p of the elements and scales the rest by 1/(1-p)', () => {
  torch.tidy(() => {
    const d = new nn.Dropout(0.25);
    const y = d.forward(torch.ones([4000])).toArray();
    const zeros = y.filter((v) => v === 0).length;
    assert.ok(Math.abs(zeros / 4000 - 0.25) < 0.03, `zero fraction ${zeros / 4000}`);
    assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
    d.eval();
    assert.deepEqual(d.forward(torch.ones([10])).toArray(), new Array(10).fill(1));
  });
});

test('Sequential chains children and indexes them; ModuleDict names its keys', () => {
  const s = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU());
  assert.equal(s.length, 2);
  assert.ok(s.at(-1) instanceof nn.ReLU);
  assert.throws(() => s.at(2), /index 2 out of range for length 2/);
  const d = new nn.ModuleDict({ a: new nn.Linear(1, 1), b: new nn.Identity() });
  assert.deepEqual([...d.stateDict().keys()], ['a.weight', 'a.bias']);
  assert.throws(() => d.get('c'), /no module "c" \(keys: a, b\)/);
  assert.deepEqual([...nn.Sequential.named({ first: new nn.Linear(1, 1) }).stateDict().keys()], ['first.weight', 'first.bias']);
});
