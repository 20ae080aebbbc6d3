// Batched synthesis: several images per generator pass, each with the z and AGM noise its seed
// gives alone; the batch writer's fixed groups make a resumed run write the same pixels.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { makeConfig } from '../../src/gan/config.js';
import { Generator } from '../../src/gan/generator.js';
import { GradingSpaceAccumulator, type GradingSpace } from '../../src/latent/grading-space.js';
import { renderPhantom } from '../../src/phantom/render.js';
import { resizeCondition, type ConditionMasks } from '../../src/synth/condition-io.js';
import { defaultSynthesisBatch, generateSyntheticSet, readSidecar, type SynthJob } from '../../src/synth/batch.js';
import { loadSynthesisModel, synthesize, synthesizeBatch } from '../../src/synth/synthesize.js';
import { tinyCheckpoint } from './fixtures.js';
import { runDrgan } from '../helpers/run-drgan.js';

let dir = '';
before(() => { dir = mkdtempSync(join(tmpdir(), 'synth-batched-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

function condition(index: number, grade: number, size = 32): ConditionMasks {
  const s = renderPhantom(6, index, 64, { grade, photographic: false });
  return resizeCondition({ size: 64, channels: { ...s.masks }, fov: s.fov, source: `phantom:${index}` }, size);
}

function space(dim: number): GradingSpace {
  torch.manualSeed(2);
  const acc = new GradingSpaceAccumulator(dim, 5);
  acc.add(torch.randn([20, dim]).add(torch.arange(0, 20).remainder(5).reshape([20, 1]).mul(2)), Array.from({ length: 20 }, (_, i) => i % 5));
  return acc.finish();
}

/** Values that differ, and the largest difference, between two uint8 images. */
function compare(a: Uint8Array, b: Uint8Array): { differing: number; max: number } {
  assert.equal(a.length, b.length);
  let differing = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d) differing++;
    max = Math.max(max, d);
  }
  return { differing, max };
}

test('drawNoiseForSeeds stacks each seed\'s own draw; given noise of the wrong shape is named', () => {
  torch.manualSeed(0);
  const G = new Generator(makeConfig('tiny'), 1);
  const stacked = G.drawNoiseForSeeds([5, 9, 5]);
  const alone = [5, 9, 5].map((s) => G.drawNoise(1, s));
  stacked.forEach((t, k) => {
    assert.equal(t.shape[0], 3);
    for (let i = 0; i < 3; i++) assert.equal(t.narrow(0, i, 1).sub(alone[i][k]).abs().max().item(), 0, `noise ${k}, sample ${i}`);
  });
  const R = G.cfg.resolution;
  const c = torch.rand([1, 8, R, R]);
  const z = torch.randn([1, G.cfg.generator.gradingVectorDim]);
  torch.noGrad(() => {
    const bySeed = G.forward(c, z, 5).image;
    const byNoise = G.forward(c, z, G.drawNoiseForSeeds([5])).image;
    assert.equal(bySeed.sub(byNoise).abs().max().item(), 0);
    assert.throws(() => G.forward(c, z, stacked), /Generator: AGM noise must be \d+ tensors of shapes \[1, /);
  });
});

test('synthesizeBatch: each image as synthesize makes it alone, up to the rounding of batched kernels; a batch of one exactly', async () => {
  const { path } = tinyCheckpoint(dir, 4, 2);
  const { generator } = await loadSynthesisModel(path);
  const gs = space(generator.cfg.generator.gradingVectorDim);
  const items = [
    { grade: 0, condition: condition(0, 0), seed: 3 }, { grade: 4, condition: condition(1, 4), seed: 3 },
    { condition: condition(2, 2), seed: 11 }, { grade: 2, condition: condition(3, 2), seed: 12 }, { grade: 1, condition: condition(4, 1), seed: 0 },
  ];
  const batched = synthesizeBatch({ generator, gradingSpace: gs, items });
  assert.equal(batched.length, items.length);
  items.forEach((it, i) => {
    const alone = synthesize({ generator, gradingSpace: gs, ...it });
    assert.equal(batched[i].grade, alone.grade, `grade of ${i}`);
    assert.equal(batched[i].gradeSource, it.grade === undefined ? 'predicted' : 'given');
    batched[i].gradeProbabilities.forEach((p, g) => assert.ok(Math.abs(p - alone.gradeProbabilities[g]) < 1e-5, `probability ${g} of ${i}`));
    const d = compare(batched[i].image.data, alone.image.data);
    assert.ok(d.max <= 1 && d.differing <= alone.image.data.length / 1000, `image ${i}: ${d.differing} values differ, by at most ${d.max}`);
    const one = synthesizeBatch({ generator, gradingSpace: gs, items: [it] })[0];
    assert.deepEqual(one.image.data, alone.image.data);
  });
  // Images of one batch are not copies of each other (each its own z, noise and masks).
  assert.ok(compare(batched[0].image.data, batched[1].image.data).differing > 0);
  assert.throws(() => synthesizeBatch({ generator, gradingSpace: gs, items: [items[0], { ...items[1], grade: 7 }] }), /grade \(item 1\) must be an integer in 0\.\.4, got 7/);
  assert.throws(() => synthesizeBatch({ generator, gradingSpace: gs, items: [items[0], { ...items[1], seed: -1 }] }), /seed \(item 1\) must be a non-negative integer, got -1/);
  assert.throws(() => synthesizeBatch({ generator, gradingSpace: gs, items: [] }), /no items/);
  gs.dispose();
});

test('the batch writer runs fixed groups: a resumed run rewrites a removed image byte for byte, and sidecars record the batch', async () => {
  const { path } = tinyCheckpoint(dir, 6, 1);
  const model = await loadSynthesisModel(path);
  const jobs = (): SynthJob[] => Array.from({ length: 7 }, (_, i) => ({
    id: `b-${i}`, grade: i % 5, seed: 40 + i, condition: async () => condition(10 + i, i % 5, 64),
  }));
  const out = join(dir, 'grouped');
  const first = await generateSyntheticSet({ model, gradingSpace: null, out, jobs: jobs(), batchSize: 3, progress: false });
  assert.equal(first.written, 7);
  assert.equal(readSidecar(join(out, 'images', 'b-4.json')).batch, 3);
  const original = readFileSync(join(out, 'images', 'b-4.png'));
  // b-4 sits in the group b-3, b-4, b-5: the resume runs that group whole and writes b-4 alone.
  const copy = join(dir, 'grouped-copy');
  cpSync(out, copy, { recursive: true });
  unlinkSync(join(copy, 'images', 'b-4.png'));
  // Which batch sizes reach the generator (groups of 3, 3, 1 on the first run).
  const passes: number[] = [];
  const forward = model.generator.forward.bind(model.generator);
  model.generator.forward = (c, z, noise) => { passes.push(c.shape[0]); return forward(c, z, noise); };
  const again = await generateSyntheticSet({ model, gradingSpace: null, out: copy, jobs: jobs(), batchSize: 3, progress: false });
  assert.deepEqual(passes, [3], 'one pass, over the whole group of the missing image');
  assert.equal(again.written, 1);
  assert.equal(again.skipped, 6);
  assert.deepEqual(readFileSync(join(copy, 'images', 'b-4.png')), original);
  assert.deepEqual(again.entries.map((e) => e.id), first.entries.map((e) => e.id));
  // Batch 1 is the one-image library call, exactly.
  const single = join(dir, 'single');
  await generateSyntheticSet({ model, gradingSpace: null, out: single, jobs: jobs().slice(0, 2), batchSize: 1, progress: false });
  const alone = synthesize({ generator: model.generator, grade: 1, condition: condition(11, 1, 64), gradingSpace: null, seed: 41 });
  const { readImage } = await import('../../src/data/image-io.js');
  const written = await readImage(join(single, 'images', 'b-1.png'));
  assert.deepEqual(Uint8Array.from(written.data), alone.image.data);
  await assert.rejects(generateSyntheticSet({ model, gradingSpace: null, out: join(dir, 'bad'), jobs: jobs(), batchSize: 0, progress: false }), /batch size must be a positive integer, got 0/);
});

test('the default batch holds the pixels of 8 images at 256; --batch is checked', async () => {
  assert.deepEqual([64, 128, 256, 384, 512, 1024, 1280].map(defaultSynthesisBatch), [8, 8, 8, 3, 2, 1, 1]);
  const r = await runDrgan(['synth', '--model', join(dir, 'none.safetensors'), '--out', join(dir, 'x'), '--masks', 'dataset:/nowhere', '--batch', '0']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--batch/);
});
