// discriminator.classInput: what the classification head's pass sees. 'conditionAndImage'
// (default, every preset) is D_n's one pass on concat(c, image), bit for bit as before the
// option; 'imageOnly' computes the grade logits from a second pass of the same D_n with the
// condition map zeroed, so the grade can only come from the image (real and fake share c).
// Agreement with PyTorch, gradients included: python-reference.test.ts, tiny_imageonly_stage1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { makeConfig, validateConfig, type ClassInput, type DrganConfig } from '../../src/gan/config.js';
import { MultiscaleDiscriminator, type PatchDiscriminator } from '../../src/gan/discriminator.js';
import { downsample, Generator } from '../../src/gan/generator.js';
import { classificationLoss } from '../../src/gan/losses.js';

torch.setNumThreads(1);

const S = 32;

/** Default and imageOnly discriminators with the same weights (same keys and shapes: one checkpoint loads into both). */
function pair(ablation: { noLesionMasks?: boolean; noClsLoss?: boolean } = {}): { DC: MultiscaleDiscriminator; DI: MultiscaleDiscriminator } {
  torch.manualSeed(5);
  const DC = new MultiscaleDiscriminator(makeConfig('tiny', { ablation }));
  const DI = new MultiscaleDiscriminator(makeConfig('tiny', { discriminator: { classInput: 'imageOnly' }, ablation }));
  DI.loadStateDict(DC.stateDict());
  return { DC, DI };
}

/** A PatchDiscriminator's outputs computed by hand from its modules, as the code did before the option. */
function manual(d: PatchDiscriminator, x: torch.Tensor): { features: torch.Tensor[]; logit: torch.Tensor; classLogits: torch.Tensor } {
  const features: torch.Tensor[] = [];
  let h = x;
  for (const layer of d.layers) features.push(h = layer.forward(h) as torch.Tensor);
  return { features, logit: d.advHead.forward(h).mean([1, 2, 3]), classLogits: d.classHead!.forward(h.mean([2, 3])) };
}

/** c with its six lesion channels (2..7) replaced by `lesions`. */
function withLesions(c: torch.Tensor, lesions: torch.Tensor): torch.Tensor {
  return torch.cat([c.narrow(1, 0, 2), lesions], 1);
}

const maxDiff = (a: torch.Tensor, b: torch.Tensor): number => a.sub(b).abs().max().item();

test('default is conditionAndImage in paper and tiny; its outputs are the one-pass computation bit for bit', () => {
  for (const p of ['paper', 'tiny'] as const) assert.equal(makeConfig(p).discriminator.classInput, 'conditionAndImage', p);
  torch.tidy(() => {
    const { DC } = pair();
    const c = torch.rand([2, 8, S, S]), x = torch.rand([2, 3, S, S]).mul(2).sub(1);
    let input = torch.cat([c, x], 1);
    DC.forward(c, x).forEach((o, n) => {
      if (n > 0) input = downsample(input);
      const m = manual(DC.discriminators.at(n), input);
      assert.deepEqual(o.logit.toFloat32Array(), m.logit.toFloat32Array(), `D${n + 1} logit`);
      assert.deepEqual(o.classLogits!.toFloat32Array(), m.classLogits.toFloat32Array(), `D${n + 1} class logits`);
      o.features.forEach((f, i) => assert.ok(f.equal(m.features[i]), `D${n + 1} feature ${i}`));
    });
    DC.dispose();
  });
});

test('imageOnly: adversarial logits and features are the full input\'s; class logits are the pass with c zeroed', () => {
  torch.tidy(() => {
    const { DC, DI } = pair();
    const c = torch.rand([2, 8, S, S]), x = torch.rand([2, 3, S, S]).mul(2).sub(1);
    const outC = DC.forward(c, x), outI = DI.forward(c, x);
    // The input without c built independently: zero it first, then downsample.
    let free = torch.cat([torch.zeros([2, 8, S, S]), x], 1);
    outI.forEach((o, n) => {
      if (n > 0) free = downsample(free);
      assert.deepEqual(o.logit.toFloat32Array(), outC[n].logit.toFloat32Array(), `D${n + 1} logit`);
      assert.ok(o.patchLogits.equal(outC[n].patchLogits), `D${n + 1} patch logits`);
      o.features.forEach((f, i) => assert.ok(f.equal(outC[n].features[i]), `D${n + 1} feature ${i}`));
      const want = manual(DI.discriminators.at(n), free).classLogits;
      assert.ok(maxDiff(o.classLogits!, want) < 1e-6, `D${n + 1}: class logits are the pass on concat(0, x)`);
      assert.ok(maxDiff(o.classLogits!, outC[n].classLogits!) > 1e-3, `D${n + 1}: and differ from the full input's`);
    });
    DC.dispose();
    DI.dispose();
  });
});

test('imageOnly class logits ignore c (lesion masks, vessels) and follow the image; the default reads the lesions', () => {
  torch.tidy(() => {
    const { DC, DI } = pair();
    const c = torch.rand([2, 8, S, S]), x = torch.rand([2, 3, S, S]).mul(2).sub(1);
    const c2 = withLesions(c, torch.rand([2, 6, S, S]).gt(0.7).float());
    const c3 = torch.rand([2, 8, S, S]);
    const x2 = torch.rand([2, 3, S, S]).mul(2).sub(1);
    for (let n = 0; n < 3; n++) {
      const [base, lesions, all, image] = [DI.forward(c, x), DI.forward(c2, x), DI.forward(c3, x), DI.forward(c, x2)].map((o) => o[n].classLogits!);
      assert.deepEqual(lesions.toFloat32Array(), base.toFloat32Array(), `D${n + 1}: imageOnly class logits moved with the lesion masks`);
      assert.deepEqual(all.toFloat32Array(), base.toFloat32Array(), `D${n + 1}: imageOnly class logits moved with the condition map`);
      assert.ok(maxDiff(image, base) > 1e-3, `D${n + 1}: imageOnly class logits should follow the image`);
      // The control: the same weights, reading the full input, see the new masks.
      const [cb, cl] = [DC.forward(c, x), DC.forward(c2, x)].map((o) => o[n].classLogits!);
      assert.ok(maxDiff(cl, cb) > 1e-3, `D${n + 1}: conditionAndImage class logits should move with the lesion masks`);
      // The adversarial head still sees the lesions with imageOnly.
      assert.ok(maxDiff(DI.forward(c2, x)[n].logit, DI.forward(c, x)[n].logit) > 1e-5, `D${n + 1}: adversarial logit sees the masks`);
    }
    DC.dispose();
    DI.dispose();
  });
});

test('imageOnly: the class loss reaches c and D\'s condition weights with exactly zero gradient, the image and G with some', () => {
  for (const classInput of ['conditionAndImage', 'imageOnly'] as ClassInput[]) {
    const cfg = makeConfig('tiny', { discriminator: { classInput } });
    torch.manualSeed(9);
    const G = new Generator(cfg, 2), D = new MultiscaleDiscriminator(cfg);
    torch.tidy(() => {
      const c = torch.rand([2, 8, S, S]).requiresGrad_(true), z = torch.randn([2, cfg.generator.gradingVectorDim]);
      const grades = torch.tensor([1, 4], { dtype: 'int64' });
      const { image } = G.forward(c, z, 1);
      // The generator's class term alone (generatorLoss's 'classification'), summed over D_n.
      D.forward(c, image).map((o) => classificationLoss(o.classLogits!, grades, cfg.loss.focalGamma)).reduce((a, b) => a.add(b)).backward();
      const lesionGrad = c.grad!.narrow(1, 2, 6).abs().max().item();
      const d1conv = new Map(D.discriminators.at(0).namedParameters()).get('layers.0.0.weight')!.grad!;
      const condWeightGrad = d1conv.narrow(1, 0, 8).abs().max().item();
      const lesionWeightGrad = d1conv.narrow(1, 2, 6).abs().max().item();
      const imageWeightGrad = d1conv.narrow(1, 8, 3).abs().max().item();
      const gHead = G.parameters().map((p) => p.grad?.abs().max().item() ?? 0).reduce((a, b) => Math.max(a, b), 0);
      if (classInput === 'imageOnly') {
        // c reaches the loss only through G's image (G reads c): through D's pass it does not.
        const direct = torch.tidy(() => {
          const cc = c.detach().requiresGrad_(true);
          D.forward(cc, image.detach()).map((o) => classificationLoss(o.classLogits!, grades, cfg.loss.focalGamma)).reduce((a, b) => a.add(b)).backward();
          return cc.grad!.abs().max().item();
        });
        assert.equal(direct, 0, 'imageOnly: d(class loss)/dc through D');
        assert.equal(condWeightGrad, 0, 'imageOnly: D1 first-conv weights on the condition channels get no class gradient');
      } else {
        assert.ok(lesionWeightGrad > 1e-6, `conditionAndImage: D1 lesion-channel weights get a class gradient (${lesionWeightGrad})`);
        assert.ok(lesionGrad > 1e-6, `conditionAndImage: the lesion channels get a class gradient (${lesionGrad})`);
      }
      assert.ok(imageWeightGrad > 1e-6, `${classInput}: D1 image weights get a class gradient`);
      assert.ok(gHead > 1e-6, `${classInput}: the class loss reaches G (max |grad| ${gHead})`);
    });
    G.dispose();
    D.dispose();
  }
});

test('imageOnly with ablation.noLesionMasks zeroes the two channels there; with noClsLoss there is no head and nothing changes', () => {
  torch.tidy(() => {
    const { DC, DI } = pair({ noLesionMasks: true });
    const c = torch.rand([2, 2, S, S]), x = torch.rand([2, 3, S, S]).mul(2).sub(1);
    const [oc, oi, oi2] = [DC.forward(c, x), DI.forward(c, x), DI.forward(torch.rand([2, 2, S, S]), x)];
    oc.forEach((o, n) => {
      assert.deepEqual(oi2[n].classLogits!.toFloat32Array(), oi[n].classLogits!.toFloat32Array(), `D${n + 1}: ignores c`);
      assert.ok(maxDiff(oi[n].classLogits!, o.classLogits!) > 1e-3, `D${n + 1}: differs from the one pass`);
    });
    DC.dispose();
    DI.dispose();
  });
  torch.tidy(() => {
    const { DC, DI } = pair({ noClsLoss: true });
    const c = torch.rand([2, 8, S, S]), x = torch.rand([2, 3, S, S]).mul(2).sub(1);
    const [oc, oi] = [DC.forward(c, x), DI.forward(c, x)];
    oc.forEach((o, n) => {
      assert.equal(oi[n].classLogits, null);
      assert.deepEqual(oi[n].logit.toFloat32Array(), o.logit.toFloat32Array(), `D${n + 1} logit`);
    });
    DC.dispose();
    DI.dispose();
  });
});

test('a bad classInput is an error naming the field; a config without it (old checkpoint) reads as conditionAndImage', () => {
  assert.throws(() => makeConfig('tiny', { discriminator: { classInput: 'image' as never } }), /"discriminator\.classInput" must be conditionAndImage\|imageOnly, got "image"/);
  assert.throws(() => makeConfig('tiny', { discriminator: { classInput: null as never } }), /discriminator\.classInput/);
  const bad = makeConfig('tiny');
  (bad.discriminator as { classInput: unknown }).classInput = 'imageonly';
  assert.throws(() => new MultiscaleDiscriminator(bad), /MultiscaleDiscriminator: discriminator\.classInput must be 'conditionAndImage' or 'imageOnly', got "imageonly"/);
  const old = makeConfig('tiny');
  delete (old.discriminator as Partial<DrganConfig['discriminator']>).classInput;
  validateConfig(old);
  torch.tidy(() => {
    const D = new MultiscaleDiscriminator(old);
    assert.equal(D.classInput, 'conditionAndImage');
    D.dispose();
  });
});
