// ResNet-18/50 and VGG-16 against PyTorch: torchvision's state dict keys and shapes
// (scripts/reference/grader_models.py mirrors torchvision 0.14's classes, which are not
// installed here), and forward passes on the same weights in train and eval mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { ResNet } from '../../src/models/resnet.js';
import { VGG } from '../../src/models/vgg.js';

const FIX = join(process.cwd(), 'test', 'fixtures', 'models');
const KEYS = JSON.parse(readFileSync(join(FIX, 'keys.json'), 'utf8')) as Record<string, [string, number[]][]>;

function keysOf(m: torch.nn.Module): [string, number[]][] {
  return [...m.stateDict()].map(([k, t]) => [k, [...t.shape]]);
}

test('state dict keys and shapes are torchvision\'s for resnet18, resnet50, vgg16 and vgg16_bn (5 classes)', () => {
  const cases: [string, () => torch.nn.Module][] = [
    ['resnet18', () => new ResNet({ depth: 18, numClasses: 5 })],
    ['resnet50', () => new ResNet({ depth: 50, numClasses: 5 })],
  ];
  for (const [name, build] of cases) {
    const m = build();
    try {
      assert.deepEqual(keysOf(m), KEYS[name], name);
    } finally {
      m.dispose();
    }
  }
  // A full VGG-16 is 138M parameters (0.5 GB): compare its names on a narrow one, and the
  // shapes through the same rule scaled (channels / 16, hidden 64).
  for (const [name, batchNorm] of [['vgg16', false], ['vgg16_bn', true]] as const) {
    const m = new VGG({ numClasses: 5, batchNorm, widthDivisor: 16, hidden: 64 });
    try {
      const scaled = KEYS[name].map(([k, shape]): [string, number[]] => {
        if (k === 'classifier.0.weight') return [k, [64, (512 / 16) * 49]];
        if (/^classifier\.[03]\./.test(k)) return [k, shape.map((d) => (d === 4096 ? 64 : d))];
        if (k === 'classifier.6.weight') return [k, [5, 64]];
        if (k.startsWith('features.')) return [k, shape.map((d, i) => (i < 2 && d !== 3 ? d / 16 : d))];
        return [k, shape];
      });
      assert.deepEqual(keysOf(m), scaled, name);
    } finally {
      m.dispose();
    }
  }
  assert.deepEqual(KEYS.vgg16.find(([k]) => k === 'classifier.0.weight')![1], [4096, 25088]);
  // Spot checks against torchvision's published key names, independent of the script.
  const r50 = KEYS.resnet50.map(([k]) => k);
  for (const k of ['conv1.weight', 'bn1.num_batches_tracked', 'layer1.0.downsample.0.weight', 'layer4.2.bn3.running_var', 'fc.bias']) assert.ok(r50.includes(k), k);
  assert.equal(KEYS.resnet18.length, 122);
  assert.equal(KEYS.resnet50.length, 320);
});

test('features() has 512 dims for ResNet-18, 8 x base width for ResNet-50, the hidden width for VGG-16; forward gives 5 logits', () => {
  torch.manualSeed(0);
  const x = torch.randn([1, 3, 32, 32]);
  const r18 = new ResNet({ depth: 18, numClasses: 5 });
  const r50 = new ResNet({ depth: 50, numClasses: 5, baseWidth: 16 });
  const vgg = new VGG({ numClasses: 5, widthDivisor: 16, hidden: 64 });
  try {
    torch.noGrad(() => {
      r18.eval();
      assert.deepEqual(r18.features(x).shape, [1, 512]);
      assert.deepEqual(r18.forward(x).shape, [1, 5]);
      assert.equal(r50.featureDim, 512); // 16 * 8 * 4
      assert.deepEqual(r50.eval().features(x).shape, [1, 512]);
      assert.deepEqual(KEYS.resnet50.find(([k]) => k === 'fc.weight')![1], [5, 2048]);
      assert.deepEqual(vgg.eval().features(x).shape, [1, 64]);
      assert.equal(vgg.featureDim, 64); // 4096 at full size: classifier.3 is [4096, 4096] in keys.json
      assert.deepEqual(vgg.forward(x).shape, [1, 5]);
    });
    assert.throws(() => r18.features(torch.zeros([1, 1, 32, 32])), /expected images \[N, 3, H, W\]/);
    assert.throws(() => new ResNet({ depth: 34 as 18, numClasses: 5 }), /depth must be 18 or 50/);
  } finally {
    r18.dispose(); r50.dispose(); vgg.dispose();
  }
});

function checkForward(file: string, model: ResNet | VGG, compareTrain: boolean): void {
  const fx = torch.io.loadSafetensors(join(FIX, file));
  const weights = new Map([...fx].filter(([k]) => !k.includes('.') || !/^(in|out|after)\./.test(k)));
  model.loadStateDict(weights);
  const x = fx.get('in.x')!;
  const close = (a: torch.Tensor, b: torch.Tensor, what: string, tol = 1e-4) => {
    assert.deepEqual(a.shape, b.shape, what);
    const err = a.sub(b).abs().max().item();
    const scale = Math.max(1, b.abs().max().item());
    assert.ok(err <= tol * scale, `${what}: max abs error ${err} (scale ${scale})`);
  };
  torch.noGrad(() => {
    model.train();
    const trainLogits = model.forward(x);
    if (compareTrain) close(trainLogits, fx.get('out.train_logits')!, 'train-mode logits');
    for (const [k, t] of model.stateDict()) {
      const ref = fx.get(`after.${k}`);
      if (!ref) continue;
      if (k.endsWith('num_batches_tracked')) assert.equal(t.item(), ref.item(), k);
      else close(t, ref, `${k} after one training forward`, 1e-4);
    }
    model.eval();
    close(model.features(x), fx.get('out.eval_features')!, 'eval-mode features');
    close(model.forward(x), fx.get('out.eval_logits')!, 'eval-mode logits');
  });
  for (const t of fx.values()) t.dispose();
  model.dispose();
}

test('ResNet-18 (width 2) matches PyTorch on the same weights, train and eval mode', () => {
  checkForward('resnet18_w2.safetensors', new ResNet({ depth: 18, numClasses: 5, baseWidth: 2 }), true);
});

test('ResNet-50 (width 2) matches PyTorch on the same weights, train and eval mode', () => {
  checkForward('resnet50_w2.safetensors', new ResNet({ depth: 50, numClasses: 5, baseWidth: 2 }), true);
});

test('VGG-16-BN (channels / 32) matches PyTorch on the same weights in eval mode', () => {
  // Train-mode logits pass through dropout, whose draws differ; BN statistics still compare.
  checkForward('vgg16_bn_d32.safetensors', new VGG({ numClasses: 5, batchNorm: true, widthDivisor: 32, hidden: 16 }), false);
});
