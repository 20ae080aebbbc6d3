import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { DemoResult } from '../../src/demo/demo.js';
import { runDrgan } from '../helpers/run-drgan.js';

const run = runDrgan;

test('drgan demo --quick runs every phase and writes a self-contained report with the promised sections', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drgan-demo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'demo');
  const r = await run(['demo', '--quick', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.err);
  for (const phase of ['phantom', 'grader', 'latent', 'lesions', 'gan', 'synthesis', 'evaluation', 'report']) {
    assert.match(r.out, new RegExp(`\\] ${phase}: `), `progress line of phase ${phase}`);
    assert.match(r.out, new RegExp(`${phase} done in \\d+\\.\\d s`), `timing of phase ${phase}`);
  }

  const html = readFileSync(join(out, 'report.html'), 'utf8');
  // Self-contained: nothing fetched from the network or from files next to it.
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
  for (const m of html.matchAll(/\bsrc="([^"]*)"/g)) assert.match(m[1], /^data:image\/png;base64,/);
  for (const id of ['run', 'numbers', 'losses', 'real-vs-synthetic', 'five-grades']) assert.match(html, new RegExp(`<section id="${id}">`), `section ${id}`);
  assert.match(html, /Loss curves/);
  assert.match(html, /Real vs synthetic, per grade/);
  assert.match(html, /The same vessel tree at all five grades/);
  assert.match(html, /perceptual: off/);
  assert.match(html, /CPU options \(not in the paper\): half-scale fusion on, upsampling resize, adversarial loss per patch/);

  const pngs = [...html.matchAll(/src="data:image\/png;base64,([^"]+)"/g)].map((m) => Buffer.from(m[1], 'base64'));
  assert.ok(pngs.length >= 6, `${pngs.length} inlined images`);
  for (const png of pngs) {
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.width! >= 16 && meta.height! >= 16);
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.ok(data.length > 0);
  }

  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as DemoResult;
  const R = res.gan.config.resolution;
  assert.equal(R, 64);
  assert.equal(res.phases.length, 8);
  assert.equal(res.gan.config.ablation.noPerceptual, true);
  // The demo's CPU options reach the trained model's config (the tiny preset keeps them off).
  const g = res.gan.config;
  assert.deepEqual([g.generator.halfScaleFusion, g.generator.upsampling, g.loss.adversarialTarget], [true, 'resize', 'patch']);
  assert.deepEqual([g.discriminator.classPooling, g.discriminator.classInput], ['preNorm', 'imageOnly']);
  assert.deepEqual([g.loss.lambdaReconstruction, g.loss.reconstructionLesionWeight], [10, 20]);
  assert.ok(res.gan.steps > 0);
  // The GAN trains on the first phantoms' train split only; the grader on the whole set.
  const firstTrain = res.gan.trainSamples;
  assert.ok(firstTrain > 0 && firstTrain < res.dataset.splitCounts.train, `GAN ${firstTrain} of ${res.dataset.splitCounts.train} training phantoms`);
  // Controllability: every synthetic image graded, per target grade.
  const n = res.settings.evaluation.controlPerGrade;
  assert.deepEqual(res.controllability.confusion.map((row) => row.reduce((a, b) => a + b, 0)), [n, n, n, n, n]);
  assert.ok(Number.isFinite(res.grader.test.kappa));
  // SWD: synthetic images are not the real ones; real against real is a different, finite number.
  assert.ok(res.swd.fake.average > 0 && Number.isFinite(res.swd.fake.average));
  assert.ok(res.swd.realReference.average > 0 && res.swd.realReference.average !== res.swd.fake.average);
  // Lesion visibility: the held-out photos' vessels are darker than their surroundings, measured on
  // the same pairs for the synthetic images; the report shows the table.
  const lv = res.lesionVisibility;
  assert.equal(lv.real.images, res.swd.images);
  assert.equal(lv.fake.images, res.swd.images);
  assert.ok(lv.real.channels.vessel!.mean < 0, `real vessel contrast ${lv.real.channels.vessel!.mean}`);
  assert.ok(Number.isFinite(lv.fake.channels.vessel!.mean));
  const report = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(report, /Lesion visibility[\s\S]*synthetic \/ real/);
  // Per-grade recall on real test images next to synthetic ones (the grader caps controllability).
  assert.match(report, /Tr-Real \/ Te-Real[\s\S]*<td>real<\/td>[\s\S]*<td>synthetic<\/td>/);
  // The SWD's held-out photos and G's images from their own masks, graded: one verdict per pair,
  // the same true grades on both sides, and a table in the report.
  const rr = res.rerendered;
  assert.equal(rr.images, res.swd.images);
  const perGrade = (r: typeof rr.photos) => r.confusion.map((row) => row.reduce((a, b) => a + b, 0));
  assert.equal(perGrade(rr.photos).reduce((a, b) => a + b, 0), rr.images);
  assert.deepEqual(perGrade(rr.synthetic), perGrade(rr.photos));
  assert.match(report, /The same photos, re-rendered[\s\S]*held-out photos[\s\S]*DR-GAN from their masks/);
  // Five grades figure: labels, then 5 tiles of R per row; two rows (image, masks) per tree.
  const five = await sharp(res.figures.fiveGrades).metadata();
  assert.ok(five.width! > 5 * R && five.width! < 5 * (R + 20) + 200, `five-grades width ${five.width}`);
  assert.ok(five.height! > 2 * R * res.settings.evaluation.trees);
  const rvs = await sharp(res.figures.realVsSynthetic).metadata();
  assert.ok(rvs.height! > 5 * R, 'one row per grade');
  assert.ok(existsSync(join(out, 'gan', 'latest.safetensors')));

  // A second run resumes: the GAN is not trained again, the report is rewritten.
  const again = await run(['demo', '--quick', '--out', out, '--quiet']);
  assert.equal(again.code, 0, again.err);
  const res2 = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as DemoResult;
  assert.equal(res2.gan.steps, res.gan.steps);
  assert.deepEqual(res2.grader.test, res.grader.test);
});

test('drgan demo refuses a size DR-GAN cannot use, naming the flag', async () => {
  const r = await run(['demo', '--quick', '--size', '100', '--out', join(tmpdir(), 'drgan-demo-never-written')]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /size must be a multiple of 32/);
  assert.ok(!existsSync(join(tmpdir(), 'drgan-demo-never-written')));
});
