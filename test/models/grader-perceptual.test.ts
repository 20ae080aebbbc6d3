// The perceptual loss's fallback: the grader backbone's five feature maps, frozen, consistent
// with the backbone's own forward pass, and differentiable in the image so G learns through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { Grader } from '../../src/models/grader.js';
import { GraderFeatureExtractor, loadGraderFeatureExtractor } from '../../src/models/grader-perceptual.js';
import { PerceptualLoss } from '../../src/gan/losses.js';
import { makeConfig } from '../../src/gan/config.js';
import { Generator } from '../../src/gan/generator.js';

torch.setNumThreads(1);

test('a ResNet grader file gives 5 frozen feature maps (strides 2..32) matching its own forward pass', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'grader-perc-'));
  torch.manualSeed(3);
  const trained = new Grader({ backbone: 'resnet18', inputSize: 32, widthDivisor: 16 });
  // Non-trivial running statistics, so eval mode is visible in the numbers.
  torch.noGrad(() => { for (let i = 0; i < 3; i++) trained.forward(torch.rand([4, 3, 32, 32]).mul(2).sub(1)); });
  const path = join(dir, 'grader.safetensors');
  trained.save(path);
  const ex = loadGraderFeatureExtractor(path);
  t.after(() => { trained.dispose(); ex.dispose(); rmSync(dir, { recursive: true, force: true }); });

  assert.equal(ex.grader.training, false);
  assert.ok(ex.grader.parameters().every((p) => !p.requiresGrad), 'grader parameters must be frozen');
  assert.match(ex.name, /grader's resnet18 backbone .*relu\(bn1\(conv1\)\), layer1\.\.layer4/);

  torch.tidy(() => {
    const x = torch.rand([2, 3, 32, 32]).mul(2).sub(1);
    const maps = ex.extract(x);
    assert.deepEqual(maps.map((m) => m.shape), [[2, 4, 16, 16], [2, 4, 8, 8], [2, 8, 4, 4], [2, 16, 2, 2], [2, 32, 1, 1]]);
    // Deepest map pooled = the grader's (PyTorch-checked) features; first = relu(bn1(conv1(x))).
    trained.eval();
    const pooled = maps[4].mean([2, 3]);
    assert.ok(pooled.allclose(trained.features(x), 1e-5, 1e-6));
    const normalised = x.add(1).mul(0.5).sub(torch.tensor([0.485, 0.456, 0.406], [1, 3, 1, 1])).div(torch.tensor([0.229, 0.224, 0.225], [1, 3, 1, 1]));
    const net = ex.grader.net as import('../../src/models/resnet.js').ResNet;
    assert.ok(maps[0].allclose(net.bn1.forward(net.conv1.forward(normalised)).relu(), 1e-5, 1e-6));
    // Images are taken at their own size (not resized to inputSize): 16 px keeps 5 levels.
    assert.deepEqual(ex.extract(torch.zeros([1, 3, 16, 16])).map((m) => m.shape[2]), [8, 4, 2, 1, 1]);
  });
});

test('a VGG-16 grader taps the ReLU before each of its 5 pools', (t) => {
  torch.manualSeed(4);
  const ex = new GraderFeatureExtractor(new Grader({ backbone: 'vgg16', inputSize: 32, widthDivisor: 16 }));
  t.after(() => ex.dispose());
  torch.tidy(() => {
    const x = torch.rand([1, 3, 32, 32]);
    const maps = ex.extract(x);
    assert.deepEqual(maps.map((m) => m.shape), [[1, 4, 32, 32], [1, 8, 16, 16], [1, 16, 8, 8], [1, 32, 4, 4], [1, 32, 2, 2]]);
    assert.ok(maps.every((m) => m.min().item() >= 0), 'taps are ReLU outputs');
    const vgg = ex.grader.net as import('../../src/models/vgg.js').VGG;
    const normalised = x.add(1).mul(0.5).sub(torch.tensor([0.485, 0.456, 0.406], [1, 3, 1, 1])).div(torch.tensor([0.229, 0.224, 0.225], [1, 3, 1, 1]));
    assert.ok(torch.F.maxPool2d(maps[4], 2, { stride: 2 }).allclose(vgg.features_.forward(normalised) as torch.Tensor, 1e-5, 1e-6));
  });
});

test('the fallback perceptual loss is finite and its gradients reach the generator, not the grader', (t) => {
  torch.manualSeed(5);
  const ex = new GraderFeatureExtractor(new Grader({ backbone: 'resnet18', inputSize: 32, widthDivisor: 16 }));
  const cfg = makeConfig('tiny');
  const G = new Generator(cfg);
  t.after(() => { ex.dispose(); G.dispose(); });
  const loss = new PerceptualLoss(ex, cfg.loss.perceptualWeights);
  torch.tidy(() => {
    const c = torch.rand([2, 8, 32, 32]);
    const z = torch.randn([2, cfg.generator.gradingVectorDim]);
    const fake = G.forward(c, z).image;
    const real = torch.rand(fake.shape).mul(2).sub(1);
    const l = loss.forward(fake, real);
    assert.ok(Number.isFinite(l.item()) && l.item() > 0, `loss ${l.item()}`);
    l.backward();
    const grads = G.parameters().map((p) => p.grad).filter((g): g is torch.Tensor => g !== null);
    assert.ok(grads.length > 0, 'no generator parameter received a gradient');
    assert.ok(grads.every((g) => g.isfinite().all().item()), 'non-finite generator gradient');
    assert.ok(grads.some((g) => g.abs().sum().item() > 0), 'all generator gradients are zero');
    assert.ok(ex.grader.parameters().every((p) => p.grad === null), 'the frozen grader must not collect gradients');
  });
});
