// Inception-v3 (the grader backbone) against PyTorch: scripts/reference/inception_v3_grader.py
// writes torchvision 0.14's Inception3 out by hand (torchvision is not installed), lists its
// state dict keys at full size, and records a width / 32 network's outputs on random weights
// stored in the fixture. Here the same weights are loaded by name and compared, in train mode
// (main and auxiliary logits, dropout from the same seeded generator, BN running statistics)
// and eval mode (pooled features and logits at 299 px and at the 75 px minimum).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { INCEPTION_V3_MIN_SIZE, InceptionV3 } from '../../src/models/inception-v3.js';
import { Grader } from '../../src/models/grader.js';
import { GraderFeatureExtractor } from '../../src/models/grader-perceptual.js';

// Inception runs hundreds of small ops per pass; on the shared 2-core machine, handing each to
// two threads cost 5x the wall time of one (measured: 204 s vs 40 s for the grader file).
torch.setNumThreads(1);

const FIX = join(process.cwd(), 'test', 'fixtures', 'models');
const KEYS = JSON.parse(readFileSync(join(FIX, 'inception-v3-keys.json'), 'utf8')) as Record<'inception_v3' | 'inception_v3_imagenet', [string, number[]][]>;
const FIXTURE = join(FIX, 'inception-v3-d32.safetensors');

interface Reference {
  divisor: number;
  num_classes: number;
  dropout_seed: number;
  x299: { seed: number; shape: number[] };
  x75: { seed: number; shape: number[] };
  num_parameters: number;
}
const REF = JSON.parse(torch.io.readSafetensorsHeader(FIXTURE).metadata.reference) as Reference;

function keysOf(m: torch.nn.Module): [string, number[]][] {
  return [...m.stateDict()].map(([k, t]) => [k, [...t.shape]]);
}

/** The reference script's input: torch.randn right after torch.manual_seed(seed). */
function seededInput(spec: { seed: number; shape: number[] }): torch.Tensor {
  torch.manualSeed(spec.seed);
  return torch.randn(spec.shape);
}

function assertClose(a: torch.Tensor, b: torch.Tensor, what: string, tol = 1e-5): number {
  assert.deepEqual(a.shape, b.shape, what);
  const err = a.sub(b).abs().max().item();
  const scale = Math.max(1, b.abs().max().item());
  assert.ok(err <= tol * scale, `${what}: max abs error ${err} (scale ${scale})`);
  return err;
}

/** The fixture's weights by name; `statsAfterTrain`: BN running statistics as one train-mode pass left them. */
function referenceWeights(fx: Map<string, torch.Tensor>, statsAfterTrain = false): Map<string, torch.Tensor> {
  const w = new Map([...fx].filter(([k]) => !/^(out|after)\./.test(k)));
  if (statsAfterTrain) for (const [k, t] of fx) if (k.startsWith('after.')) w.set(k.slice(6), t);
  return w;
}

/** The width / 32 network with the fixture's weights (strict names), and the fixture's tensors. */
function referenceNet(transformInput = true, statsAfterTrain = false): { net: InceptionV3; fx: Map<string, torch.Tensor> } {
  const fx = torch.io.loadSafetensors(FIXTURE);
  const net = new InceptionV3({ numClasses: REF.num_classes, widthDivisor: REF.divisor, transformInput });
  net.loadStateDict(referenceWeights(fx, statsAfterTrain));
  return { net, fx };
}

test('state dict keys and shapes are torchvision\'s Inception3, with ImageNet\'s 1000 classes and with 5', () => {
  // One full-size network (27M parameters); the 5-class lists differ from it in the two heads only.
  const m = new InceptionV3({ numClasses: 1000 });
  try {
    assert.deepEqual(keysOf(m), KEYS.inception_v3_imagenet);
    assert.equal(m.featureDim, 2048);
  } finally {
    m.dispose();
  }
  const heads = new Map([['fc.weight', [5, 2048]], ['fc.bias', [5]], ['AuxLogits.fc.weight', [5, 768]], ['AuxLogits.fc.bias', [5]]]);
  assert.deepEqual(KEYS.inception_v3, KEYS.inception_v3_imagenet.map(([k, shape]) => [k, heads.get(k) ?? shape]));
  // Spot checks against torchvision's published layout, independent of the script.
  const k = new Map(KEYS.inception_v3_imagenet);
  assert.deepEqual(k.get('Conv2d_1a_3x3.conv.weight'), [32, 3, 3, 3]);
  assert.deepEqual(k.get('AuxLogits.conv1.conv.weight'), [768, 128, 5, 5]);
  assert.deepEqual(k.get('AuxLogits.fc.weight'), [1000, 768]);
  assert.deepEqual(k.get('Mixed_7c.branch_pool.conv.weight'), [192, 2048, 1, 1]);
  assert.deepEqual(k.get('fc.weight'), [1000, 2048]);
  const order = KEYS.inception_v3.map(([key]) => key.split('.')[0]);
  assert.ok(order.indexOf('Mixed_6e') < order.indexOf('AuxLogits') && order.indexOf('AuxLogits') < order.indexOf('Mixed_7a'), 'AuxLogits registered between Mixed_6e and Mixed_7a');
  // The grader's network has the same names in the same order (at any width).
  const g = new Grader({ backbone: 'inception_v3', inputSize: 299, widthDivisor: 32 });
  try {
    assert.deepEqual([...g.net.stateDict().keys()], KEYS.inception_v3.map(([key]) => key));
    assert.equal(g.featureDim, 64); // 2048 / 32: 10 + 4 * 12 + 6 channels out of Mixed_7c
  } finally {
    g.dispose();
  }
  const bare = new InceptionV3({ numClasses: 5, auxLogits: false, widthDivisor: 32 });
  assert.ok(keysOf(bare).every(([key]) => !key.startsWith('AuxLogits')));
  assert.deepEqual(bare.headKeys(), ['fc.weight', 'fc.bias']);
  bare.dispose();
});

test('train mode matches PyTorch on the same weights: main and auxiliary logits, BN running statistics', (t) => {
  const { net, fx } = referenceNet();
  try {
    assert.equal(net.numParameters(), REF.num_parameters);
    const x = seededInput(REF.x299);
    net.train();
    torch.manualSeed(REF.dropout_seed); // dropout's mask, as drawn in the script
    const { logits, aux } = torch.noGrad(() => net.forwardWithAux(x));
    assert.ok(aux, 'the auxiliary head runs in training mode at 299 px');
    const e1 = assertClose(logits, fx.get('out.train_logits')!, 'train-mode logits');
    const e2 = assertClose(aux, fx.get('out.train_aux')!, 'train-mode aux logits');
    let stats = 0;
    for (const [k, t] of net.stateDict()) {
      const ref = fx.get(`after.${k}`);
      if (!ref) continue;
      if (k.endsWith('num_batches_tracked')) assert.equal(t.item(), ref.item(), k);
      else assertClose(t, ref, `${k} after one training forward`);
      stats++;
    }
    assert.equal(stats, 1 + 2 * [...net.stateDict().keys()].filter((k) => k.endsWith('running_mean')).length);
    t.diagnostic(`train-mode max abs error: logits ${e1.toExponential(2)}, aux ${e2.toExponential(2)}`);
  } finally {
    net.dispose();
    for (const t of fx.values()) t.dispose();
  }
});

test('eval mode matches PyTorch: pooled features and logits at 299 px and at the 75 px minimum; no aux', () => {
  // The script's eval pass follows its train-mode pass, so it sees the statistics that pass left.
  const { net, fx } = referenceNet(true, true);
  try {
    net.eval();
    torch.noGrad(() => {
      const x = seededInput(REF.x299);
      assertClose(net.features(x), fx.get('out.eval_features')!, 'eval features at 299');
      assertClose(net.forward(x), fx.get('out.eval_logits')!, 'eval logits at 299');
      const { logits, aux } = net.forwardWithAux(x);
      assert.equal(aux, null, 'no aux logits in eval mode');
      assert.ok(logits.equal(net.forward(x)));
      const small = seededInput(REF.x75);
      assertClose(net.features(small), fx.get('out.eval75_features')!, 'eval features at 75 x 80');
      assertClose(net.forward(small), fx.get('out.eval75_logits')!, 'eval logits at 75 x 80');
      const maps = net.stageOutputs(small);
      assert.deepEqual(maps.map((m) => m.shape.slice(2)), [[35, 37], [15, 16], [7, 7], [3, 3], [1, 1]]);
    });
  } finally {
    net.dispose();
    for (const t of fx.values()) t.dispose();
  }
});

test('the grader on [-1, 1] images: ImageNet normalisation then transform_input hands the Google weights [-1, 1]', () => {
  const { net: plain, fx } = referenceNet(false); // a network fed the images as they are
  const g = new Grader({ backbone: 'inception_v3', inputSize: 80, widthDivisor: REF.divisor });
  try {
    g.net.loadStateDict(referenceWeights(fx));
    g.eval();
    plain.eval();
    torch.manualSeed(3);
    const images = torch.rand([2, 3, 80, 80]).mul(2).sub(1);
    torch.noGrad(() => {
      assertClose(g.features(images), plain.features(images), 'grader features vs the untransformed network', 1e-5);
      assertClose(g.forward(images), plain.forward(images), 'grader logits vs the untransformed network', 1e-5);
    });
  } finally {
    g.dispose();
    plain.dispose();
    for (const t of fx.values()) t.dispose();
  }
});

test('inputs under 75 px are refused with a clear message, at the config and at the network', () => {
  assert.throws(() => new Grader({ backbone: 'inception_v3', inputSize: 74 }), /inputSize must be >= 75 for inception_v3 \(torchvision's minimum.*got 74/);
  assert.throws(() => new Grader({ backbone: 'inception_v3', inputSize: 64, widthDivisor: 32 }), /inputSize must be >= 75/);
  const net = new InceptionV3({ numClasses: 5, widthDivisor: 32 });
  try {
    assert.equal(INCEPTION_V3_MIN_SIZE, 75);
    assert.throws(() => net.forward(torch.zeros([1, 3, 74, 120])), /input 74 x 120 is too small; Inception-v3 needs at least 75 x 75/);
    assert.throws(() => net.stageOutputs(torch.zeros([1, 3, 120, 60])), /input 120 x 60 is too small/);
    assert.throws(() => net.features(torch.zeros([1, 1, 80, 80])), /expected images \[N, 3, H, W\]/);
    assert.deepEqual(torch.noGrad(() => net.eval().forward(torch.zeros([1, 3, 75, 75]))).shape, [1, 5]);
  } finally {
    net.dispose();
  }
  // Under 299 px the auxiliary head sits out of training (torchvision would fail), and says so.
  const g = new Grader({ backbone: 'inception_v3', inputSize: 128, widthDivisor: 32 });
  try {
    g.train();
    const { logits, aux } = torch.noGrad(() => g.trainingLogits(torch.zeros([2, 3, 128, 128])));
    assert.deepEqual(logits.shape, [2, 5]);
    assert.equal(aux, null);
    assert.match(g.auxHeadNote!, /inception_v3 at 128 px: its auxiliary head needs a 299 px input/);
  } finally {
    g.dispose();
  }
  const full = new Grader({ backbone: 'inception_v3', inputSize: 299, widthDivisor: 32 });
  assert.equal(full.auxHeadNote, null);
  full.dispose();
});

test('loadPretrained takes a 1000-class torchvision file (no num_batches_tracked) and re-initialises fc and AuxLogits.fc', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'inception-pretrained-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  torch.manualSeed(1);
  const imagenet = new InceptionV3({ numClasses: 1000, widthDivisor: 32, transformInput: true });
  const g = new Grader({ backbone: 'inception_v3', inputSize: 299, widthDivisor: 32 });
  try {
    // inception_v3_google-0cc3c7bd.pth's layout; older torchvision files lack the BN counters.
    const file = new Map([...imagenet.stateDict()].filter(([k]) => !k.endsWith('num_batches_tracked')));
    const path = join(dir, 'inception_v3_google.pth');
    torch.io.savePth(path, file);
    const heads = ['fc.weight', 'fc.bias', 'AuxLogits.fc.weight', 'AuxLogits.fc.bias'];
    assert.deepEqual(g.net.headKeys(), heads);
    const before = new Map(heads.map((k) => [k, g.net.stateDict().get(k)!.clone()]));
    g.loadPretrained(path);
    const sd = g.net.stateDict();
    let loaded = 0;
    for (const [k, w] of file) {
      if (heads.includes(k)) continue;
      assert.ok(sd.get(k)!.equal(w), `${k} not loaded`);
      loaded++;
    }
    assert.equal(loaded, file.size - 4);
    for (const k of heads) assert.ok(sd.get(k)!.equal(before.get(k)!), `${k} must keep its fresh 5-class initialisation`);
    assert.deepEqual(sd.get('fc.weight')!.shape, [5, 64]);
    assert.deepEqual(sd.get('AuxLogits.fc.weight')!.shape, [5, 24]);
    const wrong = new Grader({ backbone: 'inception_v3', inputSize: 299, widthDivisor: 16 });
    assert.throws(() => wrong.loadPretrained(path), /do not fit inception_v3.*shape/s);
    wrong.dispose();
    const resnetFile = join(dir, 'resnet.pth');
    torch.io.savePth(resnetFile, new Map([['conv1.weight', torch.zeros([2, 3, 7, 7])]]));
    assert.throws(() => g.loadPretrained(resnetFile), /do not fit inception_v3/);
  } finally {
    imagenet.dispose();
    g.dispose();
  }
});

test('an inception_v3 grader serves the perceptual fallback: five maps, differentiable in the image', () => {
  const ex = new GraderFeatureExtractor(new Grader({ backbone: 'inception_v3', inputSize: 80, widthDivisor: 32 }));
  try {
    assert.match(ex.name, /inception_v3 backbone \(5 levels: Conv2d_2b_3x3, Conv2d_4a_3x3, Mixed_5d, Mixed_6e, Mixed_7c\)/);
    torch.manualSeed(4);
    const image = torch.rand([1, 3, 96, 96]).mul(2).sub(1).requiresGrad_();
    const maps = ex.extract(image); // at the image's own size, not resized to inputSize
    assert.deepEqual(maps.map((m) => m.shape), [[1, 2, 45, 45], [1, 6, 20, 20], [1, 9, 9, 9], [1, 24, 4, 4], [1, 64, 1, 1]]);
    maps.reduce((acc, m) => acc.add(m.square().mean()), torch.zeros([])).backward();
    assert.ok(image.grad!.abs().sum().item() > 0, 'gradient reaches the image');
    assert.ok(ex.grader.parameters().every((p) => p.grad === null), 'the frozen grader collects no gradients');
  } finally {
    ex.dispose();
  }
});
