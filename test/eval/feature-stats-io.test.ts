import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { saveSafetensors } from '../../src/torch/io/index.js';
import { featureStats, frechetDistance } from '../../src/eval/frechet.js';
import { loadFeatureStats, saveFeatureStats } from '../../src/eval/feature-stats-io.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'drgan-eval-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('saved statistics load back bit for bit with n and the extractor name', (t) => {
  const dir = tempDir(t);
  torch.manualSeed(8);
  const stats = featureStats(torch.randn([20, 6]).mul(3).add(1), 'inception-v3-test');
  const path = join(dir, 'real.safetensors');
  saveFeatureStats(path, stats);
  const back = loadFeatureStats(path, { extractor: 'inception-v3-test' });
  assert.equal(back.n, 20);
  assert.equal(back.extractor, 'inception-v3-test');
  assert.equal(back.mu.dtype, 'float64');
  assert.ok(back.mu.equal(stats.mu) && back.sigma.equal(stats.sigma));
  assert.ok(frechetDistance(back, stats) < 1e-12);
  // A plain safetensors file: JSON header after an 8-byte length, metadata readable by Python.
  const bytes = readFileSync(path);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
  assert.deepEqual(header.__metadata__, { extractor: 'inception-v3-test', format: 'drgan-feature-stats', n: '20', version: '1' });
  assert.deepEqual(header.sigma.shape, [6, 6]);
});

test('statistics from another extractor or a foreign file are refused, naming the file', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'stats.safetensors');
  saveFeatureStats(path, featureStats(torch.randn([5, 3]), 'extractor-a'));
  assert.throws(() => loadFeatureStats(path, { extractor: 'extractor-b' }), new RegExp(`${path}.*"extractor-a".*"extractor-b"`));

  const weights = join(dir, 'weights.safetensors');
  saveSafetensors(weights, { w: torch.zeros([2]) });
  assert.throws(() => loadFeatureStats(weights), /weights\.safetensors: not a feature statistics file: metadata "format"/);

  const wrongDtype = join(dir, 'f32.safetensors');
  saveSafetensors(wrongDtype, { mu: torch.zeros([3]), sigma: torch.zeros([3, 3]) }, { format: 'drgan-feature-stats', version: '1', n: '5' });
  assert.throws(() => loadFeatureStats(wrongDtype), /f32\.safetensors.*"mu" is float32, expected float64/);

  const wrongShape = join(dir, 'shape.safetensors');
  saveSafetensors(wrongShape, { mu: torch.zeros([3], { dtype: 'float64' }), sigma: torch.zeros([3, 2], { dtype: 'float64' }) }, { format: 'drgan-feature-stats', version: '1', n: '5' });
  assert.throws(() => loadFeatureStats(wrongShape), /shape\.safetensors.*\[3\] and sigma \[3, 2\]/);

  const badN = join(dir, 'n.safetensors');
  saveSafetensors(badN, { mu: torch.zeros([3], { dtype: 'float64' }), sigma: torch.zeros([3, 3], { dtype: 'float64' }) }, { format: 'drgan-feature-stats', version: '1', n: 'many' });
  assert.throws(() => loadFeatureStats(badN), /n\.safetensors.*"n" must be an integer/);
  assert.throws(() => loadFeatureStats(join(dir, 'missing.safetensors')), /missing\.safetensors/);
});
