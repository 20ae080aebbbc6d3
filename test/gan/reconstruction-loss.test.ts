// The CPU option loss.lambdaReconstruction: a lesion-weighted L1 between G(c) and the real
// photo, checked against a float64 loop, its gradient against finite differences, and its
// place in Eq. 1 (off in every preset, a named term when on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { makeConfig, PRESETS, type PresetName } from '../../src/gan/config.js';
import { MultiscaleDiscriminator } from '../../src/gan/discriminator.js';
import { Generator } from '../../src/gan/generator.js';
import { generatorLoss, reconstructionLoss } from '../../src/gan/losses.js';

torch.setNumThreads(1);

/** sum_p w_p |f - r| / (3 sum_p w_p), w = 1 + k max(lesion channels), written as plain loops. */
function directLoss(f: number[], r: number[], c: number[], [N, C, H, W]: number[], k: number): number {
  let num = 0, den = 0;
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < H * W; p++) {
      let lesion = 0;
      for (let ch = 2; ch < C; ch++) lesion = Math.max(lesion, c[(n * C + ch) * H * W + p]);
      const w = 1 + k * lesion;
      for (let ch = 0; ch < 3; ch++) num += w * Math.abs(f[(n * 3 + ch) * H * W + p] - r[(n * 3 + ch) * H * W + p]);
      den += 3 * w;
    }
  }
  return num / den;
}

test('reconstruction loss equals the weighted mean |fake - real| of a float64 loop; vessel and disc channels carry no weight', () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const shape = [2, 8, 5, 6];
    const fake = torch.randn([2, 3, 5, 6], { dtype: 'float64' }), real = torch.randn([2, 3, 5, 6], { dtype: 'float64' });
    // Sparse lesions, as in a photo: most pixels have none.
    const cond = torch.rand(shape, { dtype: 'float64' }).sub(0.8).clamp(0, 1).mul(5);
    const [f, r, c] = [fake, real, cond].map((t) => Array.from(t.dataSync() as Float64Array));
    for (const k of [0, 1, 20]) {
      const got = reconstructionLoss(fake, real, cond, k).item();
      const want = directLoss(f, r, c, shape, k);
      assert.ok(Math.abs(got - want) < 1e-12, `k=${k}: ${got} vs ${want}`);
    }
    // A weight moves the loss towards the lesion pixels' error; 0 is the plain L1.
    assert.ok(Math.abs(reconstructionLoss(fake, real, cond, 0).item() - fake.sub(real).abs().mean().item()) < 1e-12);
    assert.notEqual(reconstructionLoss(fake, real, cond, 20).item(), reconstructionLoss(fake, real, cond, 0).item());
    // Structure channels (vessel, optic disc) do not weigh: only channels 2.. (MA..PM) do.
    const structureOnly = cond.mul(torch.tensor([1, 1, 0, 0, 0, 0, 0, 0], { dtype: 'float64' }).reshape([1, 8, 1, 1]));
    assert.ok(Math.abs(reconstructionLoss(fake, real, structureOnly, 20).item() - fake.sub(real).abs().mean().item()) < 1e-12);
    // Two condition channels (ablation.noLesionMasks): the plain L1.
    assert.ok(Math.abs(reconstructionLoss(fake, real, cond.narrow(1, 0, 2), 20).item() - fake.sub(real).abs().mean().item()) < 1e-12);
  });
});

test('reconstruction loss: gradient into the fake matches finite differences in float64; none into the real photo', () => {
  torch.tidy(() => {
    torch.manualSeed(4);
    const shape = [1, 8, 3, 4];
    const fakeData = Array.from(torch.randn([1, 3, 3, 4], { dtype: 'float64' }).dataSync() as Float64Array);
    const real = torch.randn([1, 3, 3, 4], { dtype: 'float64' }).requiresGrad_(true);
    const cond = torch.rand(shape, { dtype: 'float64' });
    const fake = torch.tensor(Float64Array.from(fakeData), [1, 3, 3, 4]).requiresGrad_(true);
    reconstructionLoss(fake, real, cond, 7).backward();
    const grad = Array.from(fake.grad!.dataSync() as Float64Array);
    assert.equal(real.grad, null, 'the real photo is a target, not a variable');
    const r = Array.from(real.detach().dataSync() as Float64Array), c = Array.from(cond.dataSync() as Float64Array);
    const eps = 1e-6;
    for (let i = 0; i < fakeData.length; i++) {
      const plus = fakeData.slice(), minus = fakeData.slice();
      plus[i] += eps; minus[i] -= eps;
      const numeric = (directLoss(plus, r, c, shape, 7) - directLoss(minus, r, c, shape, 7)) / (2 * eps);
      assert.ok(Math.abs(numeric - grad[i]) < 1e-7, `element ${i}: analytic ${grad[i]} vs numeric ${numeric}`);
    }
  });
});

test('reconstruction loss refuses mismatched shapes, naming them', () => {
  torch.tidy(() => {
    assert.throws(() => reconstructionLoss(torch.zeros([1, 3, 4, 4]), torch.zeros([1, 3, 4, 5]), torch.zeros([1, 8, 4, 4]), 1), /\[1, 3, 4, 4\], \[1, 3, 4, 5\] and \[1, 8, 4, 4\]/);
    assert.throws(() => reconstructionLoss(torch.zeros([1, 3, 4, 4]), torch.zeros([1, 3, 4, 4]), torch.zeros([1, 8, 2, 2]), 1), /condition \[N, C, H, W\]/);
  });
});

test('Eq. 1 with loss.lambdaReconstruction: a "reconstruction" term of lambda x the loss; off (absent) in every preset; checked by config', () => {
  for (const p of Object.keys(PRESETS) as PresetName[]) assert.equal(makeConfig(p).loss.lambdaReconstruction, 0, p);
  assert.throws(() => makeConfig('tiny', { loss: { lambdaReconstruction: -1 } }), /loss.lambdaReconstruction/);
  assert.throws(() => makeConfig('tiny', { loss: { reconstructionLesionWeight: Number.NaN } }), /loss.reconstructionLesionWeight/);
  torch.tidy(() => {
    torch.manualSeed(5);
    const on = makeConfig('tiny', { ablation: { noPerceptual: true }, loss: { lambdaReconstruction: 4, reconstructionLesionWeight: 10 } });
    const off = makeConfig('tiny', { ablation: { noPerceptual: true } });
    const G = new Generator(on, 2), D = new MultiscaleDiscriminator(on);
    const c = torch.rand([2, 8, 32, 32]), z = torch.randn([2, 16]), real = torch.rand([2, 3, 32, 32]).mul(2).sub(1);
    const grades = torch.tensor([1, 2], { dtype: 'int64' });
    const { image, gradeLogits } = G.forward(c, z, 1);
    const inputs = { fakeOut: D.forward(c, image), realOut: D.forward(c, real), fakeImage: image, realImage: real, grades, gradeLogits, condition: c };
    const gl = generatorLoss(inputs, on);
    assert.deepEqual(Object.keys(gl.terms), ['adversarial', 'featureMatching', 'reconstruction', 'classification', 'gradeHead']);
    assert.ok(Math.abs(gl.terms.reconstruction - 4 * reconstructionLoss(image, real, c, 10).item()) < 1e-5);
    assert.ok(!('reconstruction' in generatorLoss(inputs, off).terms));
    assert.throws(() => generatorLoss({ ...inputs, condition: undefined }, on), /needs the condition map/);
    G.dispose(); D.dispose();
  });
});
