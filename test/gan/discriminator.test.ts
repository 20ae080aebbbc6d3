// Multi-scale discriminators: three scales x four feature maps, logits and class logits,
// the no-pad-counting downsampling between scales, and the noClsLoss switch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { makeConfig } from '../../src/gan/config.js';
import { MultiscaleDiscriminator } from '../../src/gan/discriminator.js';

torch.setNumThreads(1);

test('3 discriminators x 4 features (ndf, 2, 4, 8 ndf), one logit and 5 class logits each', () => {
  torch.tidy(() => {
    const cfg = makeConfig('tiny', { resolution: 64 });
    const D = new MultiscaleDiscriminator(cfg);
    const out = D.forward(torch.rand([2, 8, 64, 64]), torch.rand([2, 3, 64, 64]).mul(2).sub(1));
    assert.equal(out.length, 3);
    // kernel 4, stride 2, padding 2: H -> floor(H / 2) + 1.
    const expected = [[33, 17, 9, 5], [17, 9, 5, 3], [9, 5, 3, 2]];
    out.forEach((o, n) => {
      assert.deepEqual(o.features.map((f) => f.shape), [4, 8, 16, 32].map((c, p) => [2, c, expected[n][p], expected[n][p]]), `D${n + 1}`);
      assert.deepEqual(o.logit.shape, [2]);
      assert.deepEqual(o.classLogits!.shape, [2, 5]);
    });
    assert.deepEqual(D.discriminators.at(0).layers.at(0).at(0).stateDict().get('weight')!.shape, [4, 11, 4, 4], 'input: 8 condition + 3 image channels');
    D.dispose();
  });
});

test('D2 and D3 see avg pool 3 / stride 2 / pad 1 without counting the padding', () => {
  torch.tidy(() => {
    const D = new MultiscaleDiscriminator(makeConfig('tiny'));
    const c = torch.rand([1, 8, 32, 32]), x = torch.rand([1, 3, 32, 32]);
    const out = D.forward(c, x);
    let input = torch.cat([c, x], 1);
    for (let n = 1; n < 3; n++) {
      // Padding not counted: a constant map stays constant up to the border.
      input = torch.F.avgPool2d(input, 3, { stride: 2, padding: 1, countIncludePad: false });
      const direct = D.discriminators.at(n).forward(input);
      assert.ok(direct.logit.equal(out[n].logit), `D${n + 1}`);
    }
    const ones = torch.F.avgPool2d(torch.ones([1, 1, 8, 8]), 3, { stride: 2, padding: 1, countIncludePad: false });
    assert.equal(ones.min().item(), 1);
    D.dispose();
  });
});

test('noClsLoss removes the classification heads; noLesionMasks takes 2 + 3 channels', () => {
  torch.tidy(() => {
    const D = new MultiscaleDiscriminator(makeConfig('tiny', { ablation: { noClsLoss: true, noLesionMasks: true } }));
    assert.ok(!D.namedParameters().some(([n]) => n.includes('classHead')));
    const out = D.forward(torch.rand([1, 8, 32, 32]), torch.rand([1, 3, 32, 32]));
    assert.equal(out[0].classLogits, null);
    assert.deepEqual(D.discriminators.at(2).layers.at(0).at(0).stateDict().get('weight')!.shape, [4, 5, 4, 4]);
    assert.throws(() => D.forward(torch.rand([1, 8, 32, 32]), torch.rand([1, 3, 16, 16])), /expected image \[1, 3, 32, 32\]/);
    D.dispose();
  });
});
