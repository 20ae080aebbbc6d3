// The generator's FLOP counter: conv, transposed conv, linear and attention products against
// hand counts, output shapes against real layers, and the whole generator's per-layer input
// shapes against the shapes a real forward pass feeds its layers (stage 1 and 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { nn } from '../../src/torch/index.js';
import { makeConfig } from '../../src/gan/config.js';
import { Generator } from '../../src/gan/generator.js';
import {
  ELEMENTWISE_FLOPS, FlopCounter, conv2dCount, convTranspose2dCount, generatorFlops, linearCount, spatialAttentionProducts, channelAttentionProducts,
} from '../../src/gan/flops.js';

torch.setNumThreads(1);

test('conv2d: MACs = output elements x C_in/groups x kH x kW, output shape as the layer computes it', () => {
  torch.tidy(() => {
    const conv = new nn.Conv2d(3, 5, 3, { stride: 2, padding: 1 });
    // H: floor((7 + 2 - 2 - 1) / 2) + 1 = 4; W: floor((9 + 2 - 2 - 1) / 2) + 1 = 5.
    // 2 x 5 x 4 x 5 outputs, each 3 x 3 x 3 = 27 multiply-adds: 200 x 27 = 5400.
    const c = conv2dCount(conv, [2, 3, 7, 9]);
    assert.deepEqual(c, { output: [2, 5, 4, 5], macs: 5400 });
    assert.deepEqual(conv.forward(torch.zeros([2, 3, 7, 9])).shape, c.output);
    // Grouped, non-square, dilated: each output sees 4/2 = 2 channels x 1 x 3 taps.
    const grouped = new nn.Conv2d(4, 6, [1, 3], { groups: 2, dilation: [1, 2] });
    const g = conv2dCount(grouped, [1, 4, 5, 8]);
    assert.deepEqual(g, { output: [1, 6, 5, 4], macs: 6 * 5 * 4 * 2 * 3 });
    assert.deepEqual(grouped.forward(torch.zeros([1, 4, 5, 8])).shape, g.output);
    assert.throws(() => conv2dCount(conv, [2, 4, 7, 9]), /conv2dCount: expected an input shape \[N, 3, H, W\], got \[2, 4, 7, 9\]/);
  });
});

test('transposed conv: MACs equal those of the conv it is the gradient of, output shape as the layer computes it', () => {
  torch.tidy(() => {
    const up = new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1 });
    const t = convTranspose2dCount(up, [1, 4, 3, 5]);
    // Each of the 1 x 4 x 3 x 5 = 60 inputs scatters 2 x 3 x 3 = 18 products.
    assert.deepEqual(t, { output: [1, 2, 6, 10], macs: 1080 });
    assert.deepEqual(up.forward(torch.zeros([1, 4, 3, 5])).shape, t.output);
    // The forward conv (2 -> 4, same kernel/stride/padding) maps [1, 2, 6, 10] back to [1, 4, 3, 5] with the same work.
    const down = conv2dCount(new nn.Conv2d(2, 4, 3, { stride: 2, padding: 1 }), t.output);
    assert.deepEqual(down, { output: [1, 4, 3, 5], macs: t.macs });
  });
});

test('linear: rows x in x out', () => {
  assert.deepEqual(linearCount(new nn.Linear(7, 3), [4, 7]), { output: [4, 3], macs: 84 });
  assert.deepEqual(linearCount(new nn.Linear(7, 3), [2, 5, 7]), { output: [2, 5, 3], macs: 210 });
  assert.throws(() => linearCount(new nn.Linear(7, 3), [4, 6]), /expected an input shape \[\.\.\., 7\], got \[4, 6\]/);
});

test('attention products: Q K^T and P V forward; recomputed Q K^T, dV, dP, dQ, dK backward', () => {
  // Nq = Nk = 6, d = 2, c = 4: Q K^T 6 x 6 x 2 = 72, P V 6 x 6 x 4 = 144.
  // Backward: Q K^T 72, dV = P^T dO 144, dP = dO V^T 144, dQ = dS K 72, dK = dS^T Q 72 = 504.
  assert.deepEqual(spatialAttentionProducts(1, 6, 6, 2, 4), { forwardMacs: 216, backwardMacs: 504, scores: 36 });
  assert.deepEqual(spatialAttentionProducts(3, 6, 6, 2, 4).forwardMacs, 3 * 216);
  // Channel attention, C = 3 over N = 10: I I^T 3 x 3 x 10 and A I 3 x 3 x 10.
  assert.deepEqual(channelAttentionProducts(2, 3, 10), { macs: 2 * 2 * 90, scores: 18 });
});

test('bias adds, norms and activations are element-wise work; batch norm costs more in training', () => {
  torch.tidy(() => {
    const seq = new nn.Sequential(new nn.Conv2d(8, 2, 1), new nn.BatchNorm2d(2), new nn.ReLU());
    const evalCount = new FlopCounter(seq);
    assert.deepEqual(evalCount.module(seq, [1, 8, 4, 4]), [1, 2, 4, 4]);
    // 16 positions x 2 outputs x 8 inputs; then 32 bias adds, 2 x 32 (batch norm eval), 32 (ReLU).
    assert.deepEqual([evalCount.total().macs, evalCount.total().otherFlops], [256, 32 + 64 + 32]);
    const trainCount = new FlopCounter(seq, 'train');
    trainCount.module(seq, [1, 8, 4, 4]);
    assert.equal(trainCount.total().otherFlops, 32 + ELEMENTWISE_FLOPS.batchNormTrain * 32 + 32);
    assert.deepEqual(evalCount.layers.map((l) => [l.name, l.kind]), [['0', 'conv'], ['1', 'elementwise'], ['2', 'elementwise']]);
  });
});

test('a layer without an arithmetic model is an error naming it and its path', () => {
  torch.tidy(() => {
    const seq = new nn.Sequential(new nn.Conv2d(1, 2, 1), new nn.GELU());
    assert.throws(() => new FlopCounter(seq).module(seq, [1, 1, 2, 2]), /no arithmetic model for GELU at "1"/);
  });
});

/** Every conv, transposed conv and linear layer's input shape in one real forward of G. */
function recordedInputs(G: Generator, c: torch.Tensor, z: torch.Tensor | null): string[] {
  const seen: string[] = [];
  for (const [name, m] of G.namedModules()) {
    if (!(m instanceof nn.Conv2d || m instanceof nn.ConvTranspose2d || m instanceof nn.Linear)) continue;
    const forward = m.forward.bind(m);
    m.forward = (x: torch.Tensor) => { seen.push(`${name} [${x.shape.join(', ')}]`); return forward(x); };
  }
  torch.noGrad(() => torch.tidy(() => { G.forward(c, z, 0); }));
  return seen.sort();
}

for (const [stage, halfScaleFusion] of [[1, false], [2, false], [2, true]] as const) {
  test(`stage ${stage} generator${halfScaleFusion ? ' with half-scale fusion' : ''}: each layer the forward pass runs is counted once, with the input shape it really gets`, () => {
    torch.tidy(() => {
      torch.manualSeed(3);
      const cfg = makeConfig('tiny', { attention: { keyValuePool: 2 }, generator: { halfScaleFusion } });
      const G = new Generator(cfg, stage).eval();
      const R = cfg.resolution, B = 2;
      const count = generatorFlops(G, { batch: B });
      const counted = count.layers.filter((l) => l.kind === 'conv' || l.kind === 'convTranspose' || l.kind === 'linear')
        .map((l) => `${l.name} [${l.input.join(', ')}]`).sort();
      const real = recordedInputs(G, torch.rand([B, 8, R, R]), torch.randn([B, cfg.generator.gradingVectorDim]));
      assert.deepEqual(counted, real);
      // Stage 2 skips G_m's output head (G_l makes the image); stage 1 has no G_l.
      assert.equal(counted.some((l) => l.startsWith('global.outputHead.')), stage === 1);
      assert.equal(counted.some((l) => l.startsWith('local.')), stage === 2);
      assert.equal(counted.some((l) => l.startsWith('global.halfScaleFusion.')), halfScaleFusion);

      // Three spatial and three channel attention products, at R/16, R/8, R/4 (pooled keys: N/4).
      const spatial = count.layers.filter((l) => l.kind === 'attention' && l.name.includes('.spatial#'));
      assert.deepEqual(spatial.map((l) => l.input), [[B, 32, 2, 2], [B, 16, 4, 4], [B, 8, 8, 8]]);
      spatial.forEach((l, i) => {
        const n = l.input[2] * l.input[3], ch = l.input[1];
        assert.equal(l.macs, spatialAttentionProducts(B, n, n / 4, ch / cfg.attention.reductions[i], ch).forwardMacs);
        assert.equal(l.otherFlops, B * n * (n / 4) * ELEMENTWISE_FLOPS.attentionSoftmax);
      });
      assert.equal(count.macs, count.layers.reduce((a, l) => a + l.macs, 0));
      assert.equal(count.flops, 2 * count.macs + count.otherFlops);
      // Everything is per sample: a batch of 1 is exactly half the work.
      assert.equal(generatorFlops(G, { batch: 1 }).flops * B, count.flops);
      G.dispose();
    });
  });
}

test('ablations: without AGM and SCA the counted layers still match a real forward, with no attention or mapping', () => {
  torch.tidy(() => {
    torch.manualSeed(4);
    const cfg = makeConfig('tiny', { ablation: { noAGM: true, noSCA: true, noLesionMasks: true }, generator: { norm: 'instance' } });
    const G = new Generator(cfg, 2).eval();
    const R = cfg.resolution;
    const count = generatorFlops(G);
    const counted = count.layers.filter((l) => l.kind === 'conv' || l.kind === 'convTranspose' || l.kind === 'linear')
      .map((l) => `${l.name} [${l.input.join(', ')}]`).sort();
    // Two condition channels (vessel, optic disc) are narrowed from the 8-channel map.
    assert.deepEqual(counted, recordedInputs(G, torch.rand([1, 8, R, R]), null));
    assert.equal(count.layers.some((l) => l.kind === 'attention' || l.name.startsWith('global.mapping.')), false);
    assert.deepEqual(count.layers.find((l) => l.name === 'global.encoder.0.1')?.input, [1, 2, R / 2 + 6, R / 2 + 6]);
    G.dispose();
  });
});

test('generatorFlops rejects a bad batch size', () => {
  torch.tidy(() => {
    const G = new Generator(makeConfig('tiny'));
    assert.throws(() => generatorFlops(G, { batch: 0 }), /batch must be a positive integer, got 0/);
    G.dispose();
  });
});
