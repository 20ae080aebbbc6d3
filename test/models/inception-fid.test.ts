// The FID Inception-v3 against PyTorch: scripts/reference/inception_fid.py builds pytorch-fid's
// network in Python, fills it with seeded random weights and records pool3 features and logits
// of a seeded input. Here the same weights are drawn from the same libtorch generator, written
// to a .pth in the standard layout, loaded through the extractor the CLI uses, and compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { InceptionFid, loadInceptionFid } from '../../src/models/inception-fid.js';
import { openFeatureExtractor, STANDARD_INCEPTION_NAME } from '../../src/eval/feature-extractors.js';

interface Fixture {
  seed: number;
  input_seed: number;
  input_shape: number[];
  keys: [string, number[]][];
  num_parameters: number;
  pool3: number[][];
  logits: number[][];
}

const fixture: Fixture = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'models', 'inception_fid.json'), 'utf8'));

/** The reference script's fill_weights, draw for draw (state dict order, one seeded generator). */
function referenceWeights(model: InceptionFid, seed: number): Map<string, torch.Tensor> {
  torch.manualSeed(seed);
  const out = new Map<string, torch.Tensor>();
  for (const [key, t] of model.stateDict()) torch.tidy(() => {
    const s = t.shape;
    if (key.endsWith('num_batches_tracked')) return;
    let v: torch.Tensor;
    if (key.endsWith('conv.weight')) v = torch.randn(s).mul(Math.sqrt(2.0 / (s[1] * s[2] * s[3])));
    else if (key.endsWith('bn.weight') || key.endsWith('running_var')) v = torch.rand(s).mul(0.5).add(0.75);
    else if (key.endsWith('bn.bias') || key.endsWith('running_mean')) v = torch.randn(s).mul(0.1);
    else if (key === 'fc.weight') v = torch.randn(s).mul(Math.sqrt(1.0 / s[1]));
    else if (key === 'fc.bias') v = torch.randn(s).mul(0.1);
    else throw new Error(`unexpected key ${key}`);
    out.set(key, v);
    torch.keep(v);
  });
  return out;
}

function relativeError(actual: torch.Tensor, expected: number[][]): number {
  return torch.tidy(() => {
    const e = torch.tensor(expected);
    return actual.sub(e).abs().max().item() / e.abs().max().item();
  });
}

test('state dict keys and shapes are exactly pytorch-fid\'s (pt_inception-2015-12-05 layout)', () => {
  const model = new InceptionFid();
  try {
    const ours = [...model.stateDict()].map(([k, t]) => [k, t.shape]);
    assert.deepEqual(ours, fixture.keys);
    assert.equal(model.numParameters(), fixture.num_parameters);
    assert.ok(fixture.keys.some(([k]) => k === 'Mixed_7c.branch3x3dbl_3b.bn.running_var'));
    assert.equal((model.Conv2d_1a_3x3 as unknown as { bn: torch.nn.BatchNorm2d }).bn.eps, 0.001);
  } finally {
    model.dispose();
  }
});

test('pool3 features and logits match PyTorch on the same weights, loaded from a .pth through the extractor', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drgan-inception-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'random-inception.pth');
  const template = new InceptionFid();
  const weights = referenceWeights(template, fixture.seed);
  template.dispose();
  torch.io.savePth(path, weights);
  torch.manualSeed(fixture.input_seed);
  const unit = torch.rand(fixture.input_shape); // pytorch-fid's input range [0, 1]
  const images = unit.mul(2).sub(1); // ours: [-1, 1]

  const ex = await openFeatureExtractor('inception-fid', { inceptionWeights: path, env: {} });
  try {
    // Same architecture, other bytes than pt_inception-2015-12-05: never labelled as the standard FID.
    assert.equal(ex.standard, false);
    assert.notEqual(ex.name, STANDARD_INCEPTION_NAME);
    assert.match(ex.name, /^inception-v3-fid-arch@[0-9a-f]{12}$/);
    assert.match(ex.notes.join('\n'), /not pt_inception-2015-12-05-6726825d\.pth/);
    assert.equal(ex.dim, 2048);
    // One forward pass (Inception at 299 is the slow part of this file).
    const feats = ex.features(images);
    assert.deepEqual(feats.shape, [2, 2048]);
    const err = relativeError(feats, fixture.pool3);
    assert.ok(err < 1e-4, `pool3 relative error ${err}`);
    t.diagnostic(`pool3 max relative error ${err.toExponential(2)}`);
    // The 1008 logits are fc over pool3 (InceptionFid.forward): the fc weights under pytorch-fid's names.
    const logits = torch.F.linear(feats, weights.get('fc.weight')!, weights.get('fc.bias')!);
    const lerr = relativeError(logits, fixture.logits);
    assert.ok(lerr < 1e-4, `logits relative error ${lerr}`);
    t.diagnostic(`logits max relative error ${lerr.toExponential(2)}`);
    torch.dispose([feats, logits]);
  } finally {
    ex.dispose();
    for (const w of weights.values()) w.dispose();
    torch.dispose([unit, images]);
  }
});

test('weights files with a wrong or missing key are refused naming the key; num_batches_tracked may be absent', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drgan-inception-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const model = new InceptionFid();
  try {
    const sd = new Map([...model.stateDict()].filter(([k]) => !k.endsWith('num_batches_tracked')));
    const ok = join(dir, 'no-nbt.pth');
    torch.io.savePth(ok, sd);
    loadInceptionFid(ok).dispose();

    sd.delete('Mixed_6b.branch7x7dbl_4.conv.weight');
    const bad = join(dir, 'missing.pth');
    torch.io.savePth(bad, sd);
    assert.throws(() => loadInceptionFid(bad), (e: Error) => e.message.includes(bad) && e.message.includes('Mixed_6b.branch7x7dbl_4.conv.weight'));
    assert.throws(() => loadInceptionFid(join(dir, 'absent.pth')), /no such Inception weights file.*pt_inception-2015-12-05-6726825d\.pth/);
  } finally {
    model.dispose();
  }
});
