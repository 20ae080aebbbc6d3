// The HTML report: one self-contained page (no http(s) src/href; images as data URIs that
// decode to PNGs of the right size), with a section for each part a run folder holds and none
// for the parts it lacks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { generatePhantomSet } from '../../src/phantom/dataset.js';
import { buildHtmlReport, markdownToHtml } from '../../src/report/html-report.js';
import { barChart, encodePng } from '../../src/report/plot.js';

function tmp(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'report-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function dataUriSizes(html: string): Promise<{ width: number; height: number }[]> {
  const out: { width: number; height: number }[] = [];
  for (const m of html.matchAll(/src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)) {
    const meta = await sharp(Buffer.from(m[1], 'base64')).metadata();
    assert.equal(meta.format, 'png');
    out.push({ width: meta.width!, height: meta.height! });
  }
  return out;
}

test('a full run folder gives every section, self-contained, with decodable inline PNGs', async (t) => {
  const run = tmp(t);
  writeFileSync(join(run, 'tables.md'), '# Title\n\n| Backbone | Acc. |\n| --- | --- |\n| resnet18 | 86.24 ± 0.31 |\n\n- a warning\n');
  mkdirSync(join(run, 'plots'));
  writeFileSync(join(run, 'plots', 'tpr.png'), await encodePng(barChart({ categories: ['0'], series: [{ name: 's', values: [0.5] }], width: 200, height: 120 }).image));
  mkdirSync(join(run, 'gan', 'samples'), { recursive: true });
  writeFileSync(join(run, 'gan', 'losses.jsonl'), [1, 2, 3, 4].map((s) => JSON.stringify({ step: s, G: { adv: 1 / s, fm: 2 }, D: { real: 0.5 } })).join('\n') + '\n{"step": 5, "G": {"adv"');
  await sharp({ create: { width: 36, height: 12, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toFile(join(run, 'gan', 'samples', 'step-00000002.png'));
  await sharp({ create: { width: 30, height: 10, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toFile(join(run, 'gan', 'samples', 'step-00000004.png'));
  await sharp({ create: { width: 50, height: 50, channels: 3, background: { r: 200, g: 0, b: 0 } } }).png().toFile(join(run, 'latent-tsne.png'));
  await generatePhantomSet({ out: join(run, 'synth'), n: 6, size: 64, seed: 2, gradeFrequencies: [1, 1, 1, 1, 1], photographic: false });

  const html = await buildHtmlReport(run);
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?\s*(https?:)?\/\//i, 'no external assets');
  for (const id of ['tables', 'metrics', 'losses', 'latent', 'samples']) assert.match(html, new RegExp(`<section id="${id}">`), `section ${id}`);
  assert.match(html, /<td>86\.24 ± 0\.31<\/td>/);
  for (const term of ['G/adv', 'G/fm', 'D/real']) assert.ok(html.includes(`<figcaption>${term}</figcaption>`), `loss curve ${term}`);
  const sizes = await dataUriSizes(html);
  // 1 metric plot + 3 loss curves + 1 t-SNE + the latest sample grid + 1 synthetic grid.
  assert.equal(sizes.length, 7);
  assert.ok(sizes.some((s) => s.width === 200 && s.height === 120), 'the metric plot keeps its size');
  assert.equal(sizes.filter((s) => s.width === 420 && s.height === 260).length, 3, 'loss curves');
  assert.ok(sizes.some((s) => s.width === 30 && s.height === 10), 'the LAST sample grid is shown');
  assert.ok(!sizes.some((s) => s.width === 36), 'older sample grids are not');
  assert.ok(sizes.some((s) => s.width === 14 + 8 * 98 && s.height === 5 * 98), 'per-grade synthetic grid');
});

test('a folder with only losses renders just that section; an empty folder says so', async (t) => {
  const run = tmp(t);
  writeFileSync(join(run, 'losses.jsonl'), JSON.stringify({ step: 1, G: { adv: 1 }, D: { fake: 2 } }) + '\n');
  const html = await buildHtmlReport(run);
  assert.match(html, /<section id="losses">/);
  for (const id of ['tables', 'metrics', 'latent', 'samples']) assert.doesNotMatch(html, new RegExp(`<section id="${id}">`));
  const empty = await buildHtmlReport(tmp(t));
  assert.match(empty, /No report material found/);
  await assert.rejects(buildHtmlReport(join(run, 'nope')), /no such run folder/);
  assert.equal(markdownToHtml('a <b>'), '<p>a &lt;b&gt;</p>');
});
