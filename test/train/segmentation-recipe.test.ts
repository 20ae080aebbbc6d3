// The lesion recipe's options: BCE pos_weight, several optimiser steps per decoded batch,
// and lesion-biased patch sampling (how much it raises the share of patches with a lesion).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { DataLoader } from '../../src/data/loader.js';
import { mulberry32 } from '../../src/data/rng.js';
import { cropPatches, positivePixels, segmentationLoss, targetsOfBatch, trainSegmentation, type SegArrays } from '../../src/train/segmentation-training.js';
import { loadCheckpoint, disposeCheckpoint } from '../../src/train/checkpoint-file.js';
import { tinyPhantomSet } from './seg-fixtures.js';

torch.setNumThreads(1);

const tiny = { depth: 2, baseWidth: 4, norm: 'batch' as const, up: 'bilinear' as const };

test('pos_weight multiplies the BCE of positive pixels only (float64 formula); 1 is plain BCE', () => {
  torch.manualSeed(4);
  const n = 2, T = 2, H = 4, W = 4;
  const x = torch.randn([n, T, H, W]).mul(2);
  const y = torch.rand([n, T, H, W]).gt(0.7).float();
  const fov = torch.ones([n, 1, H, W]);
  fov.narrow(3, 0, 1).fill_(0);
  const known = torch.tensor([[1, 1], [0, 1]]);
  const xs = Array.from(x.dataSync() as Float32Array), ys = Array.from(y.dataSync() as Float32Array);
  const fs = Array.from(fov.dataSync() as Float32Array), ks = Array.from(known.dataSync() as Float32Array);
  const expected = (pw: number) => {
    let num = 0, den = 0;
    for (let i = 0; i < n; i++) for (let t = 0; t < T; t++) for (let p = 0; p < H * W; p++) {
      const w = fs[i * H * W + p] * ks[i * T + t];
      const k = (i * T + t) * H * W + p;
      const logSig = -Math.log1p(Math.exp(-xs[k]));
      const logOneMinus = -Math.log1p(Math.exp(xs[k]));
      num += w * -(pw * ys[k] * logSig + (1 - ys[k]) * logOneMinus);
      den += w;
    }
    return num / den;
  };
  for (const pw of [1, 3, 10]) {
    const got = segmentationLoss(x, y, fov, known, { diceWeight: 0, bceWeight: 1, posWeight: pw }).item();
    assert.ok(Math.abs(got - expected(pw)) < 1e-5 * expected(pw), `pos_weight ${pw}: ${got} vs ${expected(pw)}`);
  }
  const o = { diceWeight: 1, bceWeight: 1 };
  assert.equal(segmentationLoss(x, y, fov, known, { ...o, posWeight: 1 }).item(), segmentationLoss(x, y, fov, known, o).item());
  for (const t of [x, y, fov, known]) t.dispose();
});

/** Share of patches that hold at least one positive pixel of target t (inside the FOV). */
function shareWithPositive(a: SegArrays, t: number): number {
  const T = a.known.length / a.n;
  const pp = a.side * a.side;
  let hits = 0;
  for (let i = 0; i < a.n; i++) {
    const plane = a.labels.subarray((i * T + t) * pp, (i * T + t + 1) * pp);
    if (plane.some((v, k) => v > 0.5 && a.fov[i * pp + k] > 0.5)) hits++;
  }
  return hits / a.n;
}

test('lesion-biased sampling: every patch holds a lesion at positiveFraction 1, each lesion drawn about equally, far above chance', async (t) => {
  const dir = await tinyPhantomSet(t);
  const b = (await new DataLoader({ dir, split: 'all', batchSize: 6, shuffle: false }).epoch(0).next()).value!;
  const targets = ['MA', 'HE', 'EX'] as const;
  const a = targetsOfBatch(b, targets);
  const positives = positivePixels(a);
  // The photos of this set hold all three lesions (else the test would not measure the draw).
  assert.ok(positives.some((p) => p.length === 3), 'no photo with all three lesions');
  const p = 8, perImage = 200;
  const biased = cropPatches(a, p, perImage, 1, mulberry32(1), positives);
  const uniform = cropPatches(a, p, perImage, 0, mulberry32(1), positives);
  const T = targets.length;
  let anyBiased = 0;
  for (let i = 0; i < biased.n; i++) {
    let has = false;
    for (let k = 0; k < T && !has; k++) {
      const plane = biased.labels.subarray((i * T + k) * p * p, (i * T + k + 1) * p * p);
      has = plane.some((v) => v > 0.5);
    }
    if (has) anyBiased++;
  }
  // Photos without any lesion fall back to uniform draws; count only those with one.
  const withLesion = positives.filter((x) => x.length > 0).length;
  assert.ok(anyBiased >= withLesion * perImage, `${anyBiased} of ${biased.n} biased patches hold a lesion`);
  const S = a.side;
  const has = (i: number, k: number) => a.labels.subarray((i * T + k) * S * S, (i * T + k + 1) * S * S).some((v) => v > 0.5);
  for (let k = 0; k < T; k++) {
    const sb = shareWithPositive(biased, k), su = shareWithPositive(uniform, k);
    // Drawn uniformly among the lesions a photo has: a photo with m of them centres 1/m of its
    // patches on each (more patches hold one by chance), so this is a lower bound.
    let centred = 0;
    for (let i = 0; i < a.n; i++) if (has(i, k)) centred += 1 / positives[i].length;
    centred /= a.n;
    assert.ok(centred > 0);
    assert.ok(sb > 0.85 * centred, `${targets[k]}: ${sb.toFixed(3)} of biased patches, expected >= ${centred.toFixed(3)}`);
    assert.ok(sb > su, `${targets[k]}: biased ${sb.toFixed(3)} <= uniform ${su.toFixed(3)}`);
  }
  // Precomputed positives give the same crops as computing them inside.
  assert.deepEqual(cropPatches(a, p, 3, 0.5, mulberry32(9)).labels, cropPatches(a, p, 3, 0.5, mulberry32(9), positives).labels);
});

test('stepsPerBatch: K Adam steps per loaded batch on new patches, stored in the config; loss falls', async (t) => {
  const dir = await tinyPhantomSet(t);
  const base = {
    data: dir, targets: ['vessel', 'EX'] as ('vessel' | 'EX')[], trainSplit: 'all' as const, valSplit: 'all' as const,
    patch: 32, patchesPerImage: 2, imagesPerStep: 3, model: tiny, seed: 2, lr: 1e-2, posWeight: 3,
  };
  const one = await trainSegmentation({ ...base, out: join(dir, 'k1'), epochs: 1, stepsPerBatch: 1 });
  const four = await trainSegmentation({ ...base, out: join(dir, 'k4'), epochs: 3, stepsPerBatch: 4 });
  const batches = 2; // 6 photos, 3 per batch
  const ck = loadCheckpoint<{ stepsPerBatch: number; posWeight: number }, unknown>(join(dir, 'k4', 'latest.safetensors'), 'segmentation');
  assert.equal(ck.config.stepsPerBatch, 4);
  assert.equal(ck.config.posWeight, 3);
  const steps = Object.values(ck.optim!.state).map((s) => Number(s.step));
  assert.ok(steps.length > 0 && steps.every((s) => s === 3 * batches * 4), `Adam steps ${steps.slice(0, 3)}`);
  disposeCheckpoint(ck);
  const c1 = loadCheckpoint(join(dir, 'k1', 'latest.safetensors'), 'segmentation');
  assert.ok(Object.values(c1.optim!.state).every((s) => Number(s.step) === batches));
  disposeCheckpoint(c1);
  const h = four.progress.history.map((r) => r.loss);
  assert.ok(h[2] < h[0], `epoch losses ${h.map((l) => l.toFixed(3)).join(' ')}`);
  one.model.dispose();
  four.model.dispose();
});

test('bad recipe options are clear errors', async (t) => {
  const dir = await tinyPhantomSet(t);
  const base = { data: dir, targets: ['vessel'] as 'vessel'[], trainSplit: 'all' as const, patch: 32, model: tiny };
  await assert.rejects(trainSegmentation({ ...base, out: join(dir, 'a'), posWeight: 0 }), /posWeight must be > 0, got 0/);
  await assert.rejects(trainSegmentation({ ...base, out: join(dir, 'b'), stepsPerBatch: 0 }), /stepsPerBatch must be an integer >= 1, got 0/);
});
