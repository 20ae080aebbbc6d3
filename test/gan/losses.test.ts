// Losses on hand-made inputs: adversarial variants, feature matching, focal, perceptual,
// VGG-19's torchvision layout and its loud fallback, and the Eq. 1 sums for G and D.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { makeConfig } from '../../src/gan/config.js';
import { MultiscaleDiscriminator } from '../../src/gan/discriminator.js';
import { Generator } from '../../src/gan/generator.js';
import {
  PerceptualLoss, classificationLoss, discriminatorAdversarialLoss, discriminatorLoss, featureMatchingLoss,
  generatorAdversarialLoss, generatorLoss,
} from '../../src/gan/losses.js';
import { VGG19Features, loadVgg19, perceptualExtractor, type FeatureExtractor } from '../../src/gan/vgg19.js';

torch.setNumThreads(1);

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const softplus = (v: number) => Math.log1p(Math.exp(v));
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-5, `${what}: ${a} vs ${b}`);

test('adversarial losses for known logits: bce (non-saturating G), lsgan, hinge', () => {
  torch.tidy(() => {
    const r = [2, -1, 0.3], f = [0.5, -3, 1.5];
    const R = torch.tensor(r), Fk = torch.tensor(f);
    close(discriminatorAdversarialLoss('bce', R, Fk).item(), mean(r.map((v) => softplus(-v))) + mean(f.map(softplus)), 'bce D');
    close(generatorAdversarialLoss('bce', Fk).item(), mean(f.map((v) => softplus(-v))), 'bce G = -log sigmoid(f)');
    close(discriminatorAdversarialLoss('lsgan', R, Fk).item(), mean(r.map((v) => (v - 1) ** 2)) + mean(f.map((v) => v ** 2)), 'lsgan D');
    close(generatorAdversarialLoss('lsgan', Fk).item(), mean(f.map((v) => (v - 1) ** 2)), 'lsgan G');
    close(discriminatorAdversarialLoss('hinge', R, Fk).item(), mean(r.map((v) => Math.max(0, 1 - v))) + mean(f.map((v) => Math.max(0, 1 + v))), 'hinge D');
    close(generatorAdversarialLoss('hinge', Fk).item(), -mean(f), 'hinge G');
    assert.throws(() => generatorAdversarialLoss('wgan' as never, Fk), /bce\|lsgan\|hinge/);
  });
});

test('feature matching: 0 for identical features, 1/numD * 1/numLayers weights, L1 or L2, real side detached', () => {
  torch.tidy(() => {
    const feats = [[torch.randn([2, 3, 4, 4]), torch.randn([2, 5, 2, 2])], [torch.randn([2, 3, 2, 2]), torch.randn([2, 5, 1, 1])]];
    assert.equal(featureMatchingLoss(feats, feats).item(), 0);
    // One D, two layers: |0 - 1| and |0 - 2| averaged per layer, each weighted 1/2.
    const real = [[torch.zeros([1, 2, 2, 2]).requiresGrad_(true), torch.zeros([1, 2, 2, 2]).requiresGrad_(true)]];
    const fake = [[torch.ones([1, 2, 2, 2]).requiresGrad_(true), torch.full([1, 2, 2, 2], 2).requiresGrad_(true)]];
    close(featureMatchingLoss(real, fake, 'l1').item(), 1.5, 'l1');
    close(featureMatchingLoss(real, fake, 'l2').item(), 2.5, 'l2');
    // Two Ds: each weighted 1/2.
    close(featureMatchingLoss([real[0], real[0]], [fake[0], fake[0]], 'l1').item(), 1.5, 'two Ds');
    featureMatchingLoss(real, fake).backward();
    assert.equal(real[0][0].grad, null, 'no gradient into real features');
    assert.ok(fake[0][0].grad !== null);
  });
});

test('focal loss with gamma 0 is cross entropy; gamma 2 down-weights easy samples by (1 - p)^2', () => {
  torch.tidy(() => {
    const logits = torch.tensor([[2, 0.5, -1, 0, 0.1], [0.2, 0.1, 3, -2, 1]]);
    const y = torch.tensor([0, 4], { dtype: 'int64' });
    close(classificationLoss(logits, y, 0).item(), torch.F.crossEntropy(logits, y).item(), 'gamma 0');
    const p = logits.softmax(1).toArray();
    const pt = [p[0], p[5 + 4]];
    close(classificationLoss(logits, y, 2).item(), mean(pt.map((v) => -((1 - v) ** 2) * Math.log(v))), 'gamma 2');
    assert.throws(() => classificationLoss(logits, y.float(), 2), /grades must be int64/);
  });
});

test('perceptual loss: weighted L1 between feature lists, no gradient into the real image', () => {
  torch.tidy(() => {
    const toy: FeatureExtractor = { name: 'toy', extract: (x) => [x.mul(2), torch.F.avgPool2d(x, 2)] };
    const loss = new PerceptualLoss(toy, [0.5, 3]);
    const fake = torch.randn([1, 3, 4, 4]).requiresGrad_(true), real = torch.randn([1, 3, 4, 4]).requiresGrad_(true);
    const want = fake.mul(2).sub(real.mul(2)).abs().mean().mul(0.5).add(torch.F.avgPool2d(fake, 2).sub(torch.F.avgPool2d(real, 2)).abs().mean().mul(3));
    const got = loss.forward(fake, real);
    close(got.item(), want.item(), 'value');
    got.backward();
    assert.equal(real.grad, null);
    assert.throws(() => new PerceptualLoss(toy).forward(fake, real), /gives 2 feature maps but 5 weights/);
  });
});

test('VGG-19 has torchvision\'s `features` keys and shapes, loads a full torchvision state dict, taps relu1_1..relu5_1', () => {
  torch.tidy(() => {
    const vgg = new VGG19Features();
    const convs = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34];
    const widths = [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512];
    const sd = vgg.stateDict();
    assert.deepEqual([...sd.keys()], convs.flatMap((i) => [`features.${i}.weight`, `features.${i}.bias`]));
    convs.forEach((i, j) => assert.deepEqual(sd.get(`features.${i}.weight`)!.shape, [widths[j], j === 0 ? 3 : widths[j - 1], 3, 3]));
    // A torchvision dict (features + classifier) with known values loads; classifier keys are ignored.
    const given = new Map<string, torch.Tensor>([...sd].map(([k, t]) => [k, torch.fullLike(t, 0.001)]));
    given.set('classifier.0.weight', torch.zeros([4096, 8]));
    const loaded = loadVgg19(given);
    close(loaded.stateDict().get('features.34.bias')!.max().item(), 0.001, 'loaded value');
    assert.ok(loaded.parameters().every((p) => !p.requiresGrad), 'frozen');
    const taps = loaded.extract(torch.zeros([1, 3, 32, 32]));
    assert.deepEqual(taps.map((t) => t.shape), [[1, 64, 32, 32], [1, 128, 16, 16], [1, 256, 8, 8], [1, 512, 4, 4], [1, 512, 2, 2]]);
    given.delete('features.10.weight');
    assert.throws(() => loadVgg19(given), /missing keys: "features\.10\.weight"/);
    assert.throws(() => loadVgg19(new Map([['conv1.weight', torch.zeros([1])]])), /no "features\.\*" keys/);
    vgg.dispose(); loaded.dispose();
  });
});

test('without VGG weights: the fallback extractor with a loud warning, or an error; never a random VGG', () => {
  const warnings: string[] = [];
  const fallback: FeatureExtractor = { name: 'grader backbone (resnet-50)', extract: (x) => [x] };
  assert.equal(perceptualExtractor({ fallback, warn: (m) => warnings.push(m) }), fallback);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /WARNING: no VGG-19 weights: the perceptual loss uses "grader backbone \(resnet-50\)"/);
  assert.throws(() => perceptualExtractor({}), /no VGG-19 weights were given and no fallback/);
});

test('Eq. 1: G and D totals are the sums of their weighted terms; ablations drop terms; gradients flow', () => {
  torch.tidy(() => {
    torch.manualSeed(31);
    const cfg = makeConfig('tiny');
    const G = new Generator(cfg, 2), D = new MultiscaleDiscriminator(cfg);
    const c = torch.rand([2, 8, 32, 32]), z = torch.randn([2, 16]), real = torch.rand([2, 3, 32, 32]).mul(2).sub(1);
    const grades = torch.tensor([0, 3], { dtype: 'int64' });
    const toy: FeatureExtractor = { name: 'toy', extract: (x) => [1, 2, 4, 8, 16].map((k) => torch.F.avgPool2d(x, k)) };
    const { image, gradeLogits } = G.forward(c, z, 1);
    const gl = generatorLoss({ fakeOut: D.forward(c, image), realOut: D.forward(c, real), fakeImage: image, realImage: real, grades, gradeLogits, perceptual: new PerceptualLoss(toy) }, cfg);
    assert.deepEqual(Object.keys(gl.terms), ['adversarial', 'featureMatching', 'perceptual', 'classification', 'gradeHead']);
    close(gl.total.item(), Object.values(gl.terms).reduce((a, b) => a + b, 0), 'G total');
    gl.total.backward();
    assert.ok(G.global.encoder.at(0).at(1).stateDict().get('weight')!.grad !== null);
    D.zeroGrad();
    const fakeDetached = image.detach();
    const dl = discriminatorLoss({ realOut: D.forward(c, real), fakeOut: D.forward(c, fakeDetached), grades }, cfg);
    assert.deepEqual(Object.keys(dl.terms), ['adversarial', 'classification']);
    close(dl.total.item(), dl.terms.adversarial + dl.terms.classification, 'D total');
    dl.total.backward();
    assert.ok(D.parameters().every((p) => p.grad !== null), 'every D parameter gets a gradient');

    const ab = makeConfig('tiny', { ablation: { noClsLoss: true, noPerceptual: true } });
    const D2 = new MultiscaleDiscriminator(ab);
    const out = D2.forward(c, fakeDetached);
    const gl2 = generatorLoss({ fakeOut: out, realOut: D2.forward(c, real), fakeImage: fakeDetached, realImage: real, grades, gradeLogits }, ab);
    assert.deepEqual(Object.keys(gl2.terms), ['adversarial', 'featureMatching', 'gradeHead']);
    assert.throws(() => generatorLoss({ fakeOut: out, realOut: out, fakeImage: real, realImage: real, grades, gradeLogits }, cfg), /noPerceptual is off but no PerceptualLoss/);
    for (const m of [G, D, D2]) m.dispose();
  });
});
