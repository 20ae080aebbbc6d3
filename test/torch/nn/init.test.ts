// Initialisation: layer defaults draw exactly what PyTorch draws after the same seed; the
// init helpers reproduce torch.nn.init values, gains and fan rules; statistics of large
// tensors have the intended spread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { nn } from '../../../src/torch/index.js';
import type { FanMode, Nonlinearity } from '../../../src/torch/nn/init.js';
import { assertMatches, loadNnFixture, type TensorSpec } from './fixture.js';

const { init } = nn;
interface InitFixture {
  conv2d: Record<string, TensorSpec>;
  conv2d_groups: Record<string, TensorSpec>;
  conv_transpose2d: Record<string, TensorSpec>;
  linear: Record<string, TensorSpec>;
  helpers: Record<string, TensorSpec>;
  gains: Record<string, number>;
}
const ref = loadNnFixture<InitFixture>('init');
const exact = { rtol: 0, atol: 0 };

test('default layer initialisation after manualSeed equals PyTorch bit for bit', () => {
  const makers: Record<string, () => nn.Module> = {
    conv2d: () => new nn.Conv2d(3, 8, 3),
    conv2d_groups: () => new nn.Conv2d(4, 6, [3, 2], { groups: 2 }),
    conv_transpose2d: () => new nn.ConvTranspose2d(6, 4, 4),
    linear: () => new nn.Linear(7, 5),
  };
  for (const [name, make] of Object.entries(makers)) {
    torch.manualSeed(1234);
    const m = make();
    const expected = ref[name as keyof InitFixture] as Record<string, TensorSpec>;
    for (const [k, spec] of Object.entries(expected)) assertMatches(m.stateDict().get(k)!, spec, `${name}.${k}`, exact);
    m.dispose();
  }
});

test('init helpers fill the same values as torch.nn.init after the same seed', () => {
  const calls: Record<string, (t: torch.Tensor) => torch.Tensor> = {
    kaiming_uniform_fan_out_relu: (t) => init.kaimingUniform_(t, { mode: 'fan_out', nonlinearity: 'relu' }),
    kaiming_normal_leaky: (t) => init.kaimingNormal_(t, { a: 0.2 }),
    xavier_uniform_gain: (t) => init.xavierUniform_(t, init.calculateGain('tanh')),
    xavier_normal: (t) => init.xavierNormal_(t),
    normal_002: (t) => init.normal_(t, 0, 0.02),
    uniform_ab: (t) => init.uniform_(t, -0.3, 0.7),
  };
  assert.deepEqual(Object.keys(calls).sort(), Object.keys(ref.helpers).sort());
  for (const [name, fn] of Object.entries(calls)) {
    torch.tidy(() => {
      const t = torch.empty([6, 4, 3, 3]);
      torch.manualSeed(7);
      assertMatches(fn(t), ref.helpers[name], name, { rtol: 1e-6, atol: 0 });
    });
  }
});

test('calculateGain matches PyTorch for every nonlinearity', () => {
  for (const [name, g] of Object.entries(ref.gains)) {
    const value = name === 'leaky_relu_0.2' ? init.calculateGain('leaky_relu', 0.2) : init.calculateGain(name as Nonlinearity);
    assert.ok(Math.abs(value - g) < 1e-12, `${name}: ${value} vs ${g}`);
  }
});

test('fans use dim 1 as inputs and dim 0 as outputs times the receptive field', () => {
  torch.tidy(() => {
    assert.deepEqual(init.calculateFanInAndFanOut(torch.empty([8, 3, 5, 7])), [3 * 35, 8 * 35]);
    assert.deepEqual(init.calculateFanInAndFanOut(torch.empty([4, 6])), [6, 4]);
    assert.throws(() => init.calculateFanInAndFanOut(torch.empty([4])), /at least 2 dims, got shape \[4\]/);
  });
});

function stats(t: torch.Tensor): { mean: number; std: number; min: number; max: number } {
  const v = t.toArray();
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  let min = Infinity, max = -Infinity;
  for (const x of v) { if (x < min) min = x; if (x > max) max = x; }
  return { mean, std, min, max };
}

test('kaiming and xavier have the intended standard deviation on large tensors, uniform variants their bounds', () => {
  torch.manualSeed(99);
  torch.tidy(() => {
    const shape = [256, 64, 3, 3]; // fanIn 576, fanOut 2304
    const fanIn = 576, fanOut = 2304;
    const check = (name: string, t: torch.Tensor, std: number, bound?: number) => {
      const s = stats(t);
      assert.ok(Math.abs(s.std / std - 1) < 0.03, `${name}: std ${s.std}, expected ${std}`);
      assert.ok(Math.abs(s.mean) < 0.03 * std, `${name}: mean ${s.mean}`);
      if (bound !== undefined) {
        assert.ok(s.min >= -bound && s.max <= bound, `${name}: range [${s.min}, ${s.max}] beyond ±${bound}`);
        assert.ok(s.max > 0.99 * bound && s.min < -0.99 * bound, `${name}: range [${s.min}, ${s.max}] does not reach ±${bound}`);
      }
    };
    const he = Math.sqrt(2 / fanIn);
    check('kaimingNormal_ relu', init.kaimingNormal_(torch.empty(shape), { nonlinearity: 'relu' }), he);
    check('kaimingUniform_ relu', init.kaimingUniform_(torch.empty(shape), { nonlinearity: 'relu' }), he, Math.sqrt(3) * he);
    const heOut = Math.sqrt(2 / (1 + 0.04)) / Math.sqrt(fanOut);
    check('kaimingNormal_ fan_out leaky 0.2', init.kaimingNormal_(torch.empty(shape), { a: 0.2, mode: 'fan_out' }), heOut);
    const glorot = Math.sqrt(2 / (fanIn + fanOut));
    check('xavierNormal_', init.xavierNormal_(torch.empty(shape)), glorot);
    check('xavierUniform_ gain 2', init.xavierUniform_(torch.empty(shape), 2), 2 * glorot, 2 * Math.sqrt(3) * glorot);
    // PyTorch's layer default: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weight and bias.
    const conv = new nn.Conv2d(64, 256, 3);
    check('Conv2d default weight', conv.weight, 1 / Math.sqrt(3 * fanIn), 1 / Math.sqrt(fanIn));
    const b = stats(conv.bias!);
    assert.ok(b.min >= -1 / Math.sqrt(fanIn) && b.max <= 1 / Math.sqrt(fanIn));
    conv.dispose();
  });
});

test('constant_, zeros_, ones_ fill without recording gradients', () => {
  torch.tidy(() => {
    const p = torch.empty([3]).requiresGrad_(true);
    init.constant_(p, 2.5);
    assert.deepEqual(p.toArray(), [2.5, 2.5, 2.5]);
    assert.ok(p.isLeaf && p.gradFn === null);
    assert.deepEqual(init.zeros_(p).toArray(), [0, 0, 0]);
    assert.deepEqual(init.ones_(p).toArray(), [1, 1, 1]);
    assert.throws(() => init.kaimingNormal_(torch.empty([3, 3]), { mode: 'fan_middle' as FanMode }), /mode must be fan_in or fan_out/);
  });
});
