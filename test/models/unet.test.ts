import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { UNet } from '../../src/models/unet.js';

test('logits have one map per target at the input size, for several depths, widths and sizes', () => {
  torch.manualSeed(0);
  for (const [depth, width, norm, up, H, W] of [
    [1, 4, 'batch', 'bilinear', 32, 32],
    [2, 3, 'instance', 'transpose', 40, 36],
    [3, 4, 'batch', 'transpose', 33, 47],
    [4, 2, 'instance', 'bilinear', 64, 48],
  ] as const) {
    const net = new UNet({ outChannels: 3, depth, baseWidth: width, norm, up });
    const y = torch.tidy(() => net.forward(torch.randn([2, 3, H, W])));
    assert.deepEqual(y.shape, [2, 3, H, W], `depth ${depth} ${H}x${W}`);
    assert.ok((y.dataSync() as Float32Array).every(Number.isFinite));
    y.dispose();
    net.dispose();
  }
});

test('state dict keys follow the levels (inc, downs.i, ups.i.up/conv, outc)', () => {
  const net = new UNet({ outChannels: 2, depth: 2, baseWidth: 4, up: 'transpose' });
  const keys = [...net.stateDict().keys()];
  for (const k of ['inc.0.weight', 'inc.1.running_mean', 'downs.1.3.weight', 'ups.0.up.weight', 'ups.1.conv.4.bias', 'outc.weight', 'outc.bias']) {
    assert.ok(keys.includes(k), `missing ${k}`);
  }
  // The deepest decoder level takes 16 channels up to 8 and concatenates the 8 of the skip.
  assert.deepEqual(net.stateDict().get('ups.0.conv.0.weight')!.shape, [8, 16, 3, 3]);
  const bil = new UNet({ outChannels: 2, depth: 2, baseWidth: 4 });
  assert.deepEqual(bil.stateDict().get('ups.0.conv.0.weight')!.shape, [8, 24, 3, 3]);
  assert.ok(![...bil.stateDict().keys()].some((k) => k.includes('.up.')));
  net.dispose();
  bil.dispose();
});

test('a size that is not a multiple of 2^depth runs as its replicate-padded image, cropped', () => {
  torch.manualSeed(1);
  const net = new UNet({ outChannels: 1, depth: 2, baseWidth: 4 });
  net.eval();
  const x = torch.randn([1, 3, 30, 29]);
  const a = torch.noGrad(() => net.forward(x));
  const b = torch.noGrad(() => net.forward(torch.F.pad(x, [0, 3, 0, 2], 'replicate')).narrow(2, 0, 30).narrow(3, 0, 29));
  assert.deepEqual(a.shape, [1, 1, 30, 29]);
  assert.ok(a.allclose(b, 1e-5, 1e-6));
  for (const t of [x, a, b]) t.dispose();
  net.dispose();
});

test('gradients reach every parameter', () => {
  torch.manualSeed(2);
  const net = new UNet({ outChannels: 2, depth: 2, baseWidth: 2, up: 'transpose', norm: 'instance' });
  torch.tidy(() => net.forward(torch.randn([2, 3, 16, 16])).square().mean().backward());
  for (const [name, p] of net.namedParameters()) {
    const g = p.grad;
    assert.ok(g, `no gradient for ${name}`);
    g!.dispose();
  }
  net.dispose();
});

test('bad configuration and input are refused by name', () => {
  assert.throws(() => new UNet({ outChannels: 0 }), /outChannels must be an integer >= 1/);
  assert.throws(() => new UNet({ outChannels: 1, depth: 0 }), /depth/);
  assert.throws(() => new UNet({ outChannels: 1, norm: 'group' as never }), /norm must be "batch" or "instance"/);
  const net = new UNet({ outChannels: 1, depth: 1, baseWidth: 2 });
  const x = torch.zeros([1, 4, 8, 8]);
  assert.throws(() => net.forward(x), /expected input \[N, 3, H, W\], got shape \[1, 4, 8, 8\]/);
  x.dispose();
  net.dispose();
});
