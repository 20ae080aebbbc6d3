// discriminator.classPooling: what the classification head's global average pool sees.
// 'normalized' (default, every preset) keeps the head on the last layer's output after
// InstanceNorm + LeakyReLU, bit for bit as before the option; 'preNorm' pools that layer's
// conv output, so a per-channel offset (which InstanceNorm removes) reaches the head.
// Agreement with PyTorch, gradients included: python-reference.test.ts, tiny_prenorm_stage1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { makeConfig, validateConfig, type DrganConfig } from '../../src/gan/config.js';
import { MultiscaleDiscriminator, PatchDiscriminator } from '../../src/gan/discriminator.js';

torch.setNumThreads(1);

/** A PatchDiscriminator's class logits computed by hand from its modules: GAP of `tap` -> classHead. */
function manualClassLogits(d: PatchDiscriminator, x: torch.Tensor, tap: 'conv' | 'output'): torch.Tensor {
  let h = x, conv = x;
  for (const layer of d.layers) {
    conv = layer.at(0).forward(h) as torch.Tensor;
    h = layer.forward(h) as torch.Tensor;
  }
  return d.classHead!.forward((tap === 'conv' ? conv : h).mean([2, 3]));
}

function pair(): { DN: MultiscaleDiscriminator; DP: MultiscaleDiscriminator } {
  const cfgN = makeConfig('tiny');
  const cfgP = makeConfig('tiny', { discriminator: { classPooling: 'preNorm' } });
  torch.manualSeed(3);
  const DN = new MultiscaleDiscriminator(cfgN);
  const DP = new MultiscaleDiscriminator(cfgP);
  // Same keys and shapes either way: a checkpoint loads into both, and the weights can be shared.
  DP.loadStateDict(DN.stateDict());
  return { DN, DP };
}

test('default is normalized in paper and tiny; the class head pools the layer output exactly as before', () => {
  for (const p of ['paper', 'tiny'] as const) assert.equal(makeConfig(p).discriminator.classPooling, 'normalized', p);
  torch.tidy(() => {
    const { DN, DP } = pair();
    const c = torch.rand([2, 8, 32, 32]), x = torch.rand([2, 3, 32, 32]).mul(2).sub(1);
    const input = torch.cat([c, x], 1);
    const outN = DN.forward(c, x), outP = DP.forward(c, x);
    // D1 sees the input as is: its logits must be the pre-option computation, bit for bit.
    assert.deepEqual(outN[0].classLogits!.toFloat32Array(), manualClassLogits(DN.discriminators.at(0), input, 'output').toFloat32Array());
    assert.deepEqual(outP[0].classLogits!.toFloat32Array(), manualClassLogits(DP.discriminators.at(0), input, 'conv').toFloat32Array());
    outN.forEach((o, n) => {
      // Only the class head's input changes: adversarial logits and features are the same.
      assert.deepEqual(o.logit.toFloat32Array(), outP[n].logit.toFloat32Array(), `D${n + 1} logit`);
      o.features.forEach((f, i) => assert.ok(f.equal(outP[n].features[i]), `D${n + 1} feature ${i}`));
      const gap = o.classLogits!.sub(outP[n].classLogits!).abs().max().item();
      assert.ok(gap > 1e-3, `D${n + 1}: preNorm class logits should differ from normalized ones (max diff ${gap})`);
    });
    DN.dispose();
    DP.dispose();
  });
});

test('a per-channel offset on the last conv reaches the head with preNorm only (InstanceNorm removes it)', () => {
  torch.tidy(() => {
    const { DN, DP } = pair();
    const c = torch.rand([2, 8, 32, 32]), x = torch.rand([2, 3, 32, 32]).mul(2).sub(1);
    const before = [DN, DP].map((D) => D.forward(c, x)[0].classLogits!);
    const shift = torch.tidy(() => torch.rand([DN.discriminators.at(0).classHead!.inFeatures]).mul(2).sub(1));
    for (const D of [DN, DP]) {
      const d0 = D.discriminators.at(0);
      const key = `layers.${d0.layers.length - 1}.0.bias`;
      const sd = d0.stateDict();
      d0.loadStateDict(new Map([[key, sd.get(key)!.add(shift)]]), { strict: false });
    }
    const after = [DN, DP].map((D) => D.forward(c, x)[0].classLogits!);
    // normalized: the offset is the channel's spatial mean, which InstanceNorm subtracts.
    const dN = after[0].sub(before[0]).abs().max().item();
    assert.ok(dN < 1e-4, `normalized: class logits moved by ${dN}`);
    // preNorm: GAP(conv + b) = GAP(conv) + b, so the logits move by W b exactly.
    const W = DP.discriminators.at(0).classHead!.weight;
    const expectedMove = W.matmul(shift.reshape([-1, 1])).reshape([1, -1]).expand(before[1].shape);
    const err = after[1].sub(before[1]).sub(expectedMove).abs().max().item();
    assert.ok(err < 1e-4, `preNorm: logits moved by W b within ${err}`);
    assert.ok(expectedMove.abs().max().item() > 1e-2, 'the test offset is large enough to see');
    DN.dispose();
    DP.dispose();
  });
});

test('preNorm gradients reach the last conv bias through the class head (zero with normalized)', () => {
  for (const [pooling, nonzero] of [['normalized', false], ['preNorm', true]] as const) {
    const D = new MultiscaleDiscriminator(makeConfig('tiny', { discriminator: { classPooling: pooling } }));
    torch.tidy(() => {
      const out = D.forward(torch.rand([2, 8, 32, 32]), torch.rand([2, 3, 32, 32]));
      torch.F.crossEntropy(out[0].classLogits!, torch.tensor([1, 3], { dtype: 'int64' })).backward();
    });
    const d0 = D.discriminators.at(0);
    const g = new Map(d0.namedParameters()).get(`layers.${d0.layers.length - 1}.0.bias`)!.grad!;
    const m = g.abs().max().item();
    // With normalized pooling the bias only shifts what InstanceNorm subtracts: float32 noise.
    assert.ok(nonzero ? m > 1e-4 : m < 1e-6, `${pooling}: |grad of last conv bias| max ${m}`);
    D.dispose();
  }
});

test('a bad classPooling is an error naming the field; a config without it (old checkpoint) reads as normalized', () => {
  assert.throws(() => makeConfig('tiny', { discriminator: { classPooling: 'prenorm' as never } }), /"discriminator\.classPooling" must be normalized\|preNorm, got "prenorm"/);
  assert.throws(() => makeConfig('tiny', { discriminator: { classPooling: null as never } }), /discriminator\.classPooling/);
  assert.throws(() => new PatchDiscriminator(11, 4, 4, 5, true, 'mean' as never), /PatchDiscriminator: classPooling must be 'normalized' or 'preNorm', got "mean"/);
  const old = makeConfig('tiny');
  delete (old.discriminator as Partial<DrganConfig['discriminator']>).classPooling;
  validateConfig(old);
  torch.tidy(() => {
    const D = new MultiscaleDiscriminator(old);
    assert.equal(D.discriminators.at(0).classPooling, 'normalized');
    D.dispose();
  });
});
