// PCA and t-SNE maps of features and the scatter PNG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../../src/torch/index.js';
import { drawScatter, GRADE_COLOURS, pca2, tsne, writeScatterPng } from '../../src/latent/embedding-plot.js';

/** Two Gaussian clusters in 10-D, 12 apart along a random direction. */
function clusters(n: number): { x: torch.Tensor; labels: number[] } {
  torch.manualSeed(4);
  const dir = torch.randn([10]);
  const unit = dir.div(dir.norm());
  const x = torch.randn([n, 10]);
  const labels = Array.from({ length: n }, (_, i) => (i < n / 2 ? 0 : 3));
  const shift = torch.tensor(labels.map((l) => (l ? 12 : 0)), [n, 1]).mul(unit);
  return { x: x.add(shift), labels };
}

test('pca2 finds the direction of largest variance and matches the SVD projection', () => {
  torch.manualSeed(5);
  // Variance 9 along axis 2, 1 elsewhere: the first component is +-e2.
  const x = torch.randn([400, 4]).mul(torch.tensor([1, 1, 3, 1]));
  const y = pca2(x);
  assert.deepEqual(y.shape, [400, 2]);
  const xc = x.double().sub(x.double().mean(0));
  const corr = y.select(1, 0).mul(xc.select(1, 2)).sum().item() / (y.select(1, 0).norm().item() * xc.select(1, 2).norm().item());
  assert.ok(Math.abs(corr) > 0.98, `first component vs axis 2: ${corr}`);
  // The two components are uncorrelated and the first has the larger spread.
  const c = y.select(1, 0).mul(y.select(1, 1)).mean().item();
  assert.ok(Math.abs(c) < 1e-8);
  assert.ok(y.select(1, 0).var().item() > y.select(1, 1).var().item());
});

test('t-SNE keeps two separated clusters apart and is reproducible for a seed', () => {
  const { x, labels } = clusters(120);
  const y = tsne(x, { perplexity: 15, iterations: 300, seed: 1 });
  assert.deepEqual(y.shape, [120, 2]);
  // Nearest neighbour in the map has the same label for (almost) every point.
  const d = y.unsqueeze(1).sub(y.unsqueeze(0)).square().sum(2).add(torch.eye(120, 120, { dtype: 'float64' }).mul(1e9));
  const nn = d.argmin(1).toArray() as number[];
  const agree = nn.filter((j, i) => labels[Number(j)] === labels[i]).length / 120;
  assert.ok(agree > 0.95, `nearest-neighbour label agreement ${agree}`);
  assert.ok(y.equal(tsne(x, { perplexity: 15, iterations: 300, seed: 1 })));
  assert.throws(() => tsne(x, { perplexity: 200 }), /perplexity must be in/);
});

test('the scatter PNG has the asked size, grade colours and a legend', async () => {
  const { x, labels } = clusters(60);
  const y = pca2(x).dataSync() as Float64Array;
  const img = drawScatter(y, labels, { width: 300, height: 200 });
  assert.equal(img.data.length, 300 * 200 * 4);
  const has = (c: number[]) => {
    for (let i = 0; i < img.data.length; i += 4) if (img.data[i] === c[0] && img.data[i + 1] === c[1] && img.data[i + 2] === c[2]) return true;
    return false;
  };
  // Legend swatches are drawn in the exact grade colours (dots are blended).
  assert.ok(has(GRADE_COLOURS[0]) && has(GRADE_COLOURS[3]));
  assert.ok(!has(GRADE_COLOURS[1]), 'no grade-1 points, so no grade-1 swatch');
  const dir = mkdtempSync(join(tmpdir(), 'plot-'));
  try {
    const path = join(dir, 'map.png');
    await writeScatterPng(path, y, labels, { width: 320, height: 240 });
    const meta = await sharp(path).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 320);
    assert.equal(meta.height, 240);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => drawScatter(y, labels.slice(1)), /60 points but 59 labels/);
});
