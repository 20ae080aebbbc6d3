// End to end on tiny phantom sets: `drgan experiment reading` writes the page and key, two
// readers answer in the page itself (its script driven in a stub DOM) and export, and
// `drgan experiment reading-score` scores them; bad flags and bad answers fail clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadingKey } from '../../src/experiments/reading-kit.js';
import { runDrgan } from '../helpers/run-drgan.js';
import { openReadingPage } from './reading-fake-browser.js';

const drgan = (...args: string[]) => runDrgan(args);

test('drgan experiment reading and reading-score: page, key, answers from the page, Table I', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'reading-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, seed] of [['real', '1'], ['drgan-synth', '2'], ['tub', '3']]) {
    const r = await drgan('phantom', '--n', '12', '--size', '64', '--seed', seed, '--out', join(dir, name), '--quiet');
    assert.equal(r.code, 0, r.err);
  }
  const kit = join(dir, 'kit');
  const made = await drgan('experiment', 'reading', '--real', join(dir, 'real'), '--fake', `${join(dir, 'drgan-synth')},Tub-sGAN=${join(dir, 'tub')}`,
    '--out', kit, '--n', '12', '--size', '32', '--real-split', 'all', '--grade', '--seed', '4');
  assert.equal(made.code, 0, made.err);
  const key = JSON.parse(readFileSync(join(kit, 'key.json'), 'utf8')) as ReadingKey;
  assert.match(made.out, new RegExp(`kit ${key.kitId}: 12 images`));
  assert.match(made.out, /synthetic "drgan-synth": 3 of 12/);
  assert.deepEqual(key.sets.map((s) => [s.name, s.drawn]), [['Real', 6], ['drgan-synth', 3], ['Tub-sGAN', 3]]);
  const html = readFileSync(join(kit, 'reading.html'), 'utf8');
  for (const secret of ['drgan-synth', 'Tub-sGAN', 'phantom-', dir]) assert.ok(!html.includes(secret), `page leaks ${secret}`);

  // Reader A knows the truth and the grade; reader B calls everything synthetic, grade 0, score 3.
  const answer = (reader: string, pick: (i: ReadingKey['items'][number]) => string[]) => {
    const page = openReadingPage(html);
    page.typeReader(reader);
    for (const item of key.items) for (const k of [...pick(item), 'Enter']) page.key(k);
    page.click({ id: 'export' });
    assert.equal(page.downloads.length, 1);
    return page.downloads[0].text;
  };
  writeFileSync(join(dir, 'a.json'), answer('A', (i) => [i.truth === 'real' ? '9' : '2', String(i.grade ?? 0), i.truth === 'real' ? 'r' : 'f']));
  writeFileSync(join(dir, 'b.json'), answer('B', () => ['3', '0', 'f']));

  const scored = await drgan('experiment', 'reading-score', '--key', join(kit, 'key.json'), '--answers', join(dir, 'a.json'), join(dir, 'b.json'));
  assert.equal(scored.code, 0, scored.err);
  assert.match(scored.out, /## Table I: human evaluation of the fidelity \(all 2 readers, 12 images: 6 real, 3 drgan-synth, 3 Tub-sGAN\)/);
  assert.match(scored.out, /\| Real\s+\| 6\.00 ± 3\.13 \| -/);
  const results = JSON.parse(readFileSync(join(kit, 'results.json'), 'utf8'));
  const [a, b] = results.readers;
  assert.deepEqual([a.accuracy.k, a.accuracy.n, a.score.Real.mean, a.score['Tub-sGAN'].mean], [12, 12, 9, 2]);
  assert.equal(a.grading.real.kappa, 1);
  assert.equal(a.grading.fake.accuracy, 1);
  assert.deepEqual([b.sensitivity.k, b.specificity.k, b.accuracyPerSet['drgan-synth'].k, b.accuracyPerSet['drgan-synth'].n], [6, 0, 3, 9]);
  // The readers agree on the 6 synthetic images only: P-bar 0.5, 18 of 24 calls "fake" -> chance 0.625, kappa -1/3.
  assert.ok(Math.abs(results.interReader.kappa - (0.5 - 0.625) / 0.375) < 1e-12, String(results.interReader.kappa));
  assert.ok(readFileSync(join(kit, 'tables.md'), 'utf8').includes('Fleiss'));

  const asJson = await drgan('experiment', 'reading-score', '--key', join(kit, 'key.json'), '--answers', `${join(dir, 'a.json')},${join(dir, 'b.json')}`, '--out', join(dir, 'scores'), '--json');
  assert.equal(asJson.code, 0, asJson.err);
  assert.equal(JSON.parse(asJson.out).pooled.accuracy.n, 24);

  // An answers file with an image left out: exit 1, the file and the image named.
  const partial = JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8'));
  const dropped = partial.answers.pop();
  writeFileSync(join(dir, 'partial.json'), JSON.stringify(partial));
  const bad = await drgan('experiment', 'reading-score', '--key', join(kit, 'key.json'), '--answers', join(dir, 'partial.json'));
  assert.equal(bad.code, 1);
  assert.ok(bad.err.includes(`${join(dir, 'partial.json')}: no answer for 1 of 12 images: "${dropped.id}" (image 12)`), bad.err);
});

test('drgan experiment reading rejects bad flags and inputs with a clear message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'reading-cli-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const base = ['experiment', 'reading', '--real', join(dir, 'real'), '--out', join(dir, 'kit')];
  const cases: [string[], number, RegExp][] = [
    [[...base, '--fake', 'x=/a,x=/b'], 2, /two synthetic sets are named "x"/],
    [[...base, '--fake', '/a', '--fake-share', '1'], 2, /--fake-share must be strictly between 0 and 1/],
    [[...base, '--fake', '/a', '--n', '1'], 2, /--n must be >= 2/],
    [[...base, '--fake', '/a', '--size', '8'], 2, /--size must be >= 16/],
    [[...base, '--fake', '/a', '--real-split', 'holdout'], 2, /--real-split must be one of all\|train\|val\|test/],
    [['experiment', 'reading', '--real', join(dir, 'real'), '--fake', '/a'], 2, /--out is required/],
    [[...base, '--fake', join(dir, 'fake')], 1, /real\/manifest\.jsonl: no manifest\.jsonl/],
    [['experiment', 'reading-score', '--key', join(dir, 'key.json'), '--answers', ','], 2, /needs at least one answers file/],
    [['experiment', 'reading-score', '--key', join(dir, 'key.json'), '--answers', join(dir, 'a.json')], 1, /key\.json: cannot read \(ENOENT\)/],
  ];
  for (const [args, code, message] of cases) {
    const r = await drgan(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
  }
  const help = await drgan('--help');
  assert.match(help.out, /experiment ablation[\s\S]*experiment reading [\s\S]*experiment reading-score/);
});
