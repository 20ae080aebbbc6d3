// drgan train grader / eval grader / latent, end to end on a tiny phantom set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { generatePhantomSet } from '../../src/phantom/dataset.js';
import { GradingSpace } from '../../src/latent/grading-space.js';
import { runDrgan } from '../helpers/run-drgan.js';

const drgan = (...args: string[]) => runDrgan(args);

let root = '';
let data = '';
let run = '';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'grader-cli-'));
  data = join(root, 'data');
  run = join(root, 'run');
  await generatePhantomSet({ out: data, n: 24, size: 64, seed: 9, gradeFrequencies: [1, 1, 1, 1, 1] });
  const r = await drgan('train', 'grader', '--data', data, '--out', run, '--epochs', '1', '--batch', '8', '--size', '32', '--width', '16', '--lr', '0.003');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /trained 1 epoch\(s\)/);
});
after(() => rmSync(root, { recursive: true, force: true }));

test('drgan eval grader --json prints one object with accuracy, kappa, tpr and confusion', async () => {
  const r = await drgan('eval', 'grader', '--model', join(run, 'latest.safetensors'), '--data', data, '--split', 'all', '--json');
  assert.equal(r.code, 0, r.err);
  const o = JSON.parse(r.out);
  for (const k of ['accuracy', 'kappa', 'tpr', 'confusion']) assert.ok(k in o, `missing ${k}`);
  assert.equal(o.tpr.length, 5);
  assert.equal(o.confusion.length, 5);
  const total = o.confusion.flat().reduce((a: number, b: number) => a + b, 0);
  assert.equal(total, 24);
  const hits = o.confusion.reduce((a: number, row: number[], i: number) => a + row[i], 0);
  assert.equal(o.accuracy, hits / 24);
  const table = await drgan('eval', 'grader', '--model', join(run, 'latest.safetensors'), '--data', data, '--split', 'all');
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, /kappa\s+-?\d\.\d{4}/);
  assert.match(table.out, /grade 4/);
  const bad = await drgan('eval', 'grader', '--model', join(root, 'missing.safetensors'), '--data', data);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /no such grader file/);
});

test('drgan latent writes the grading space and a PCA plot', async () => {
  const out = join(root, 'space.safetensors');
  const plot = join(root, 'space.png');
  const r = await drgan('latent', '--grader', join(run, 'latest.safetensors'), '--data', data, '--split', 'all', '--out', out, '--plot', plot, '--method', 'pca', '--plot-size', '200');
  assert.equal(r.code, 0, r.err);
  const space = GradingSpace.load(out);
  assert.equal(space.dim, 32); // ResNet-18 at width 64 / 16: 4 * 8
  assert.equal(space.counts.reduce((a, b) => a + b, 0), 24);
  space.dispose();
  assert.ok(existsSync(plot));
  const meta = await sharp(plot).metadata();
  assert.equal(meta.width, 200);
  assert.equal(meta.height, 200);
});

test('drgan train grader refuses bad flags with exit code 2', async () => {
  const r = await drgan('train', 'grader', '--data', data, '--out', run, '--backbone', 'inception');
  assert.equal(r.code, 2);
  assert.match(r.err, /--backbone/);
});
