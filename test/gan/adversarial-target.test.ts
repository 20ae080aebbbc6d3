// loss.adversarialTarget (a CPU option, 'image' in every preset): the adversarial loss on each
// image's averaged logit (paper) or on every logit of the patch map (pix2pixHD).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { makeConfig, PRESETS, type PresetName } from '../../src/gan/config.js';
import { MultiscaleDiscriminator, type DiscriminatorOutput } from '../../src/gan/discriminator.js';
import { discriminatorLoss, generatorLoss } from '../../src/gan/losses.js';

torch.setNumThreads(1);

const softplus = (v: number) => Math.log1p(Math.exp(v));

/** One discriminator's output whose patch map holds `patches` for every sample. */
function output(patches: number[], n = 2): DiscriminatorOutput {
  const map = torch.tensor(Float32Array.from(Array.from({ length: n }, () => patches).flat()), [n, 1, 1, patches.length]);
  return { features: [torch.zeros([n, 2, 2, 2])], patchLogits: map, logit: map.mean([1, 2, 3]), classLogits: null };
}

test("adversarialTarget is 'image' in every preset; a bad value is named", () => {
  for (const p of Object.keys(PRESETS) as PresetName[]) assert.equal(makeConfig(p).loss.adversarialTarget, 'image', p);
  assert.throws(() => makeConfig('tiny', { loss: { adversarialTarget: 'pixel' as 'patch' } }), /loss\.adversarialTarget" must be image\|patch, got "pixel"/);
});

test('D gives the patch map whose mean is its logit', () => {
  torch.tidy(() => {
    const D = new MultiscaleDiscriminator(makeConfig('tiny', { resolution: 64 }));
    const out = D.forward(torch.rand([2, 8, 64, 64]), torch.rand([2, 3, 64, 64]).mul(2).sub(1));
    // The head (kernel 4, padding 2) on 5x5, 3x3 and 2x2 maps.
    assert.deepEqual(out.map((o) => o.patchLogits.shape), [[2, 1, 6, 6], [2, 1, 4, 4], [2, 1, 3, 3]]);
    for (const o of out) assert.ok(o.patchLogits.mean([1, 2, 3]).sub(o.logit).abs().max().item() < 1e-6);
    D.dispose();
  });
});

test("'patch' judges every patch: a map of +4 and -4 is not the neutral image its mean (0) would be", () => {
  torch.tidy(() => {
    const cfg = (adversarialTarget: 'image' | 'patch') => makeConfig('tiny', { loss: { adversarialTarget, adversarial: 'bce' }, ablation: { noPerceptual: true, noClsLoss: true } });
    const split = [output([4, -4])], realSure = [output([3, 3])];
    const grades = torch.tensor(Int32Array.from([0, 1])).long(), gradeLogits = torch.zeros([2, 5]);
    const g = (c: ReturnType<typeof cfg>) => generatorLoss({ fakeOut: split, realOut: realSure, fakeImage: torch.zeros([2, 3, 4, 4]), realImage: torch.zeros([2, 3, 4, 4]), grades, gradeLogits }, c).terms.adversarial;
    const d = (c: ReturnType<typeof cfg>) => discriminatorLoss({ realOut: realSure, fakeOut: split, grades }, c).terms.adversarial;
    // G (non-saturating): -log sigmoid(l) = softplus(-l); D: softplus(-real) + softplus(fake).
    assert.ok(Math.abs(g(cfg('image')) - softplus(0)) < 1e-5);
    assert.ok(Math.abs(g(cfg('patch')) - (softplus(-4) + softplus(4)) / 2) < 1e-5);
    assert.ok(Math.abs(d(cfg('image')) - (softplus(-3) + softplus(0))) < 1e-5);
    assert.ok(Math.abs(d(cfg('patch')) - (softplus(-3) + (softplus(4) + softplus(-4)) / 2)) < 1e-5);
    assert.ok(g(cfg('patch')) > g(cfg('image')) + 1, 'the fooled-nowhere half of the map counts');
  });
});
