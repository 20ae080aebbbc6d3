// The latent grading space: per-grade means and variances equal a direct computation however
// the features arrive in batches; samples have the fitted statistics; files round-trip; a
// grade without samples cannot be drawn from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { GradingSpace, GradingSpaceAccumulator } from '../../src/latent/grading-space.js';

function maxAbs(a: torch.Tensor, b: torch.Tensor): number {
  return a.double().sub(b.double()).abs().max().item();
}

test('means and variances match a direct float64 computation, batch boundaries notwithstanding', () => {
  torch.manualSeed(1);
  const N = 90;
  const D = 6;
  // Large offset: a naive sum-of-squares in float32 would lose the variance.
  const feats = torch.randn([N, D]).mul(0.5).add(1000);
  const grades = Array.from({ length: N }, (_, i) => (i % 7 === 0 ? -1 : i % 4)); // grade 4 never occurs, -1 ignored
  const acc = new GradingSpaceAccumulator(D, 5, true);
  for (const [start, len] of [[0, 7], [7, 1], [8, 40], [48, 42]]) acc.add(feats.narrow(0, start, len), grades.slice(start, start + len));
  const space = acc.finish();
  acc.dispose();
  for (let g = 0; g < 4; g++) {
    const rows = grades.flatMap((v, i) => (v === g ? [i] : []));
    const x = feats.double().indexSelect(0, torch.tensor(Int32Array.from(rows)).long());
    assert.equal(space.counts[g], rows.length);
    assert.ok(maxAbs(space.means[g]!, x.mean(0)) < 1e-3, `mean of grade ${g}`);
    assert.ok(maxAbs(space.variances[g]!, x.var(0)) < 1e-5, `variance of grade ${g}`);
    const xc = x.sub(x.mean(0));
    const cov = xc.transpose(0, 1).matmul(xc).div(rows.length - 1);
    assert.ok(maxAbs(space.covariances![g]!, cov) < 1e-5, `covariance of grade ${g}`);
  }
  assert.equal(space.counts[4], 0);
  assert.equal(space.means[4], null);
  assert.throws(() => space.sample(4, 3, 0), /grade 4 had no samples/);
  assert.throws(() => space.sample(5, 3, 0), /grade must be an integer in 0..4/);
  assert.throws(() => acc.add(feats.narrow(0, 0, 2), [0, 7]), /grade 7 at row 1/);
  assert.throws(() => acc.add(feats, [0]), /90 feature rows but 1 grades/);
  space.dispose();
});

test('sample() draws [n, D] with the grade\'s mean and variance, reproducibly, without touching the global RNG', () => {
  const D = 4;
  const mean = torch.tensor([1, -2, 3, 0]);
  const sd = torch.tensor([0.5, 2, 1, 0.1]);
  torch.manualSeed(2);
  const feats = torch.randn([4000, D]).mul(sd).add(mean);
  const acc = new GradingSpaceAccumulator(D, 5);
  acc.add(feats, new Array(4000).fill(2));
  const space = acc.finish();
  torch.manualSeed(77);
  const before = torch.getRngState();
  const s = space.sample(2, 20000, 11);
  assert.ok(torch.getRngState().equal(before), 'sample() changed the global generator');
  assert.deepEqual(s.shape, [20000, D]);
  assert.ok(maxAbs(s.mean(0), space.means[2]!) < 0.05);
  const ratio = s.var(0).div(space.variances[2]!);
  assert.ok(ratio.sub(1).abs().max().item() < 0.05, `variance ratio ${ratio.toArray()}`);
  assert.ok(s.equal(space.sample(2, 20000, 11)), 'same seed, same draws');
  assert.ok(!s.equal(space.sample(2, 20000, 12)), 'another seed, other draws');
  assert.throws(() => space.sample(2, 3, 0, { full: true }), /without it/);
  space.dispose();
});

test('full-covariance samples reproduce the correlation; files save and load', () => {
  torch.manualSeed(3);
  const z = torch.randn([3000, 2]);
  // x1 = z0, x2 = 0.9 z0 + 0.3 z1: strongly correlated.
  const feats = torch.stack([z.select(1, 0), z.select(1, 0).mul(0.9).add(z.select(1, 1).mul(0.3))], 1);
  const acc = new GradingSpaceAccumulator(2, 5, true);
  acc.add(feats, new Array(3000).fill(0));
  const space = acc.finish('test features');
  const s = space.sample(0, 20000, 1, { full: true });
  const c = s.sub(s.mean(0));
  const cov = c.transpose(0, 1).matmul(c).div(19999);
  assert.ok(maxAbs(cov, space.covariances![0]!) < 0.03, `sample covariance ${cov.toArray()}`);

  const dir = mkdtempSync(join(tmpdir(), 'latent-'));
  try {
    const path = join(dir, 'space.safetensors');
    space.save(path);
    const back = GradingSpace.load(path);
    assert.deepEqual(back.counts, [3000, 0, 0, 0, 0]);
    assert.equal(back.source, 'test features');
    assert.ok(back.means[0]!.equal(space.means[0]!));
    assert.ok(back.variances[0]!.equal(space.variances[0]!));
    assert.ok(back.covariances![0]!.equal(space.covariances![0]!));
    assert.ok(back.sample(0, 50, 4).equal(space.sample(0, 50, 4)));
    assert.throws(() => back.sample(1, 1, 0), /grade 1 had no samples/);
    back.dispose();
    const other = join(dir, 'other.safetensors');
    torch.io.saveSafetensors(other, { x: torch.zeros([1]) });
    assert.throws(() => GradingSpace.load(other), /not a grading space file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    space.dispose();
  }
});
