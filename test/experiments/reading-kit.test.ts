// The reader-study kit: the draw (share of fakes, even split over sets and grades, seeded),
// nothing in the page that tells an image's source, and clear errors for bad inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writePng } from '../../src/data/image-io.js';
import { writeManifest, type ManifestEntry, type Split } from '../../src/data/manifest.js';
import { mulberry32 } from '../../src/data/rng.js';
import { allocateEvenly, drawReadingSet, parseReadingSources, writeReadingKit, type ReadingKey, type SourcePool } from '../../src/experiments/reading-kit.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'reading-kit-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Manifest entries only (no images): `perGrade[g]` entries of grade g, ids that name tag and grade. */
function entries(tag: string, perGrade: (number | null)[] | number[], split: Split = 'test'): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  perGrade.forEach((count, g) => {
    for (let i = 0; i < (count ?? 0); i++) {
      const id = `${tag}-grade${g}-${i}`;
      out.push({ id, image: `images/${id}.png`, fov: `fov/${id}.png`, masks: {}, grade: g, known: [], predicted: [], split, source: `${tag}-source-${id}`, size: 32 });
    }
  });
  return out;
}

const pool = (name: string, truth: 'real' | 'fake', e: ManifestEntry[]): SourcePool => ({ name, truth, dir: `/data/${name}`, split: 'all', entries: e });

/** A prepared set on disk whose ids and file names carry the set's tag and each image's grade. */
async function tinySet(dir: string, tag: string, grades: (number | null)[], size = 24): Promise<string> {
  mkdirSync(join(dir, 'images'), { recursive: true });
  const list: ManifestEntry[] = [];
  for (let i = 0; i < grades.length; i++) {
    const id = `${tag}-grade${grades[i] ?? 'none'}-n${i}`;
    const px = new Uint8Array(size * size * 3);
    const rand = mulberry32(i + 17 * tag.length);
    for (let j = 0; j < px.length; j++) px[j] = Math.floor(rand() * 256);
    await writePng(join(dir, 'images', `${id}.png`), px, size, size, 3);
    list.push({ id, image: `images/${id}.png`, fov: `fov/${id}.png`, masks: {}, grade: grades[i], known: [], predicted: [], split: i % 2 ? 'test' : 'train', source: `${tag}-original-${i}.jpg`, size });
  }
  writeManifest(dir, list);
  return dir;
}

const countBy = <T>(xs: readonly T[], f: (x: T) => string) => xs.reduce<Record<string, number>>((m, x) => ((m[f(x)] = (m[f(x)] ?? 0) + 1), m), {});

test('allocateEvenly splits evenly, respects capacities and hands leftovers to seeded random strata', () => {
  assert.deepEqual(allocateEvenly(10, [100, 100, 100, 100, 100], mulberry32(1)), [2, 2, 2, 2, 2]);
  // 10 over [1, 100, 100]: 3 each, the first is full at 1, the 6 left go 4 + 4, one unit left is random.
  const a = allocateEvenly(10, [1, 100, 100], mulberry32(1));
  assert.equal(a[0], 1);
  assert.deepEqual([a[1], a[2]].sort(), [4, 5]);
  // The leftover unit does not always go to the same stratum.
  const firsts = new Set(Array.from({ length: 20 }, (_, s) => allocateEvenly(7, [5, 5, 5], mulberry32(s)).join(',')));
  assert.ok(firsts.size > 1, `always ${[...firsts]}`);
  for (const c of firsts) assert.equal(c.split(',').map(Number).reduce((x, y) => x + y, 0), 7);
  assert.deepEqual(allocateEvenly(6, [1, 2, 3], mulberry32(0)), [1, 2, 3]);
  assert.throws(() => allocateEvenly(7, [1, 2, 3], mulberry32(0)), /7 wanted, only 6 available/);
});

test('drawReadingSet: fake share as asked, fakes split evenly over sets and each set evenly over its grades', () => {
  const pools = [pool('Real', 'real', entries('realset', [60, 10, 10, 6, 6])), pool('drganA', 'fake', entries('drganA', [20, 20, 20, 20, 20])), pool('tubB', 'fake', entries('tubB', [20, 20, 20, 20, 20]))];
  const d = drawReadingSet(pools, { n: 40, fakeShare: 0.5, seed: 3, stratifyReal: true });
  assert.equal(d.items.length, 40);
  const bySet = countBy(d.items, (i) => i.set);
  assert.deepEqual(bySet, { Real: 20, drganA: 10, tubB: 10 });
  for (const s of ['Real', 'drganA', 'tubB']) {
    const grades = countBy(d.items.filter((i) => i.set === s), (i) => String(i.grade));
    assert.deepEqual(Object.keys(grades).sort(), ['0', '1', '2', '3', '4'], `${s}: ${JSON.stringify(grades)}`);
    const counts = Object.values(grades);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${s} not even: ${JSON.stringify(grades)}`);
  }
  assert.ok(d.items.every((i) => (i.set === 'Real') === (i.truth === 'real')));
  // Ids: unique, anonymous, positions 1..n in page order; no item drawn twice.
  assert.equal(new Set(d.items.map((i) => i.id)).size, 40);
  assert.ok(d.items.every((i, k) => /^[a-z2-9]{6}$/.test(i.id) && i.position === k + 1));
  assert.equal(new Set(d.items.map((i) => `${i.set}/${i.sourceId}`)).size, 40);
  // Shuffled: real and fake interleave (a draw in source order would put 20 real images first).
  assert.ok(d.items.slice(0, 20).some((i) => i.truth === 'fake'));
  assert.deepEqual(d.sets.map((s) => [s.name, s.drawn, s.available]), [['Real', 20, 92], ['drganA', 10, 100], ['tubB', 10, 100]]);
  assert.deepEqual(d.warnings, []);

  // Another share, an odd count: round(25 * 0.4) = 10 fakes, 5 per set.
  const e = drawReadingSet(pools, { n: 25, fakeShare: 0.4, seed: 3, stratifyReal: true });
  assert.deepEqual(countBy(e.items, (i) => i.truth), { real: 15, fake: 10 });
  assert.deepEqual(countBy(e.items.filter((i) => i.truth === 'fake'), (i) => i.set), { drganA: 5, tubB: 5 });
});

test('drawReadingSet is deterministic by seed and independent of manifest order', () => {
  const pools = [pool('Real', 'real', entries('realset', [8, 8, 8, 8, 8])), pool('drganA', 'fake', entries('drganA', [8, 8, 8, 8, 8]))];
  const a = drawReadingSet(pools, { n: 20, fakeShare: 0.5, seed: 7, stratifyReal: true });
  const b = drawReadingSet(pools, { n: 20, fakeShare: 0.5, seed: 7, stratifyReal: true });
  assert.deepEqual(a, b);
  const reversed = pools.map((p) => ({ ...p, entries: [...p.entries].reverse() }));
  assert.deepEqual(drawReadingSet(reversed, { n: 20, fakeShare: 0.5, seed: 7, stratifyReal: true }), a);
  const c = drawReadingSet(pools, { n: 20, fakeShare: 0.5, seed: 8, stratifyReal: true });
  assert.notDeepEqual(c.items.map((i) => i.sourceId), a.items.map((i) => i.sourceId));
  assert.notDeepEqual(c.items.map((i) => i.id), a.items.map((i) => i.id));
});

test('drawReadingSet: a short grade or set is made up by the others, with a warning; natural real draw keeps the real mix', () => {
  // drganA has a single grade-4 image: its other grades make up the share of 4.
  const pools = [pool('Real', 'real', entries('realset', [90, 5, 3, 1, 1])), pool('drganA', 'fake', entries('drganA', [10, 10, 10, 10, 1])), pool('small', 'fake', entries('small', [2]))];
  const d = drawReadingSet(pools, { n: 40, fakeShare: 0.5, seed: 1, stratifyReal: false });
  const fakes = countBy(d.items.filter((i) => i.truth === 'fake'), (i) => i.set);
  assert.deepEqual(fakes, { drganA: 18, small: 2 });
  const a = countBy(d.items.filter((i) => i.set === 'drganA'), (i) => String(i.grade));
  assert.equal(a['4'], 1);
  assert.equal(Object.values(a).reduce((x, y) => x + y, 0), 18);
  assert.ok(d.warnings.some((w) => /drganA: grade\(s\) 4 had fewer images/.test(w)), d.warnings.join('\n'));
  assert.ok(d.warnings.some((w) => /small: 2 image\(s\), fewer than its even share of 10/.test(w)), d.warnings.join('\n'));
  // Natural draw from a real set that is 90% grade 0: far more grade 0 than the even 4 of 20.
  const real = countBy(d.items.filter((i) => i.truth === 'real'), (i) => String(i.grade));
  assert.ok(real['0'] >= 12, JSON.stringify(real));
  const even = drawReadingSet(pools, { n: 40, fakeShare: 0.5, seed: 1, stratifyReal: true });
  assert.ok(countBy(even.items.filter((i) => i.truth === 'real'), (i) => String(i.grade))['0'] <= 10);
});

test('drawReadingSet and parseReadingSources reject bad inputs with the reason', () => {
  const real = pool('Real', 'real', entries('realset', [5]));
  const fake = pool('drganA', 'fake', entries('drganA', [5]));
  const draw = (pools: SourcePool[], n: number, fakeShare: number) => drawReadingSet(pools, { n, fakeShare, seed: 0, stratifyReal: true });
  assert.throws(() => draw([real, fake], 10, 0), /fake share must be strictly between 0 and 1/);
  assert.throws(() => draw([real, fake], 10, 1), /fake share must be strictly between 0 and 1/);
  assert.throws(() => draw([real, fake], 1, 0.5), /n must be an integer >= 2/);
  assert.throws(() => draw([real, fake], 20, 0.5), /\/data\/Real: the data set has 5 image\(s\), the kit needs 10 real images/);
  assert.throws(() => draw([{ ...real, split: 'test' }, fake], 20, 0.5), /test split has 5 image\(s\).*try --real-split all/);
  assert.throws(() => draw([real, fake], 10, 0.9), /synthetic sets hold 5 image\(s\) in all \(drganA: 5\), the kit needs 9/);
  assert.throws(() => draw([real, fake, pool('b', 'fake', entries('b', [5])), pool('c', 'fake', entries('c', [5]))], 4, 0.5), /gives 2 synthetic image\(s\) for 3 synthetic sets/);
  assert.throws(() => draw([real, fake, pool('empty', 'fake', [])], 6, 0.5), /synthetic set "empty" has no images/);
  assert.throws(() => draw([real], 4, 0.5), /at least one synthetic set/);
  assert.throws(() => draw([fake], 4, 0.5), /exactly one real set/);

  assert.deepEqual(parseReadingSources('runs/synth, Tub-sGAN=/data/tub/'), [{ name: 'synth', dir: 'runs/synth' }, { name: 'Tub-sGAN', dir: '/data/tub/' }]);
  assert.deepEqual(parseReadingSources('/data/a=b/set'), [{ name: 'set', dir: '/data/a=b/set' }]);
  assert.throws(() => parseReadingSources('a,,b'), /empty entry/);
  assert.throws(() => parseReadingSources('x=a,x=b'), /two synthetic sets are named "x"/);
  assert.throws(() => parseReadingSources('/data/one/synth,/data/two/synth'), /two synthetic sets are named "synth".*NAME=PATH/);
  assert.throws(() => parseReadingSources('real=/data/s'), /"real" is reserved for the real images/);
  assert.throws(() => parseReadingSources('name='), /needs both a name and a path/);
});

test('writeReadingKit: one page with anonymous embedded images and nothing that tells their source; key apart; same seed, same bytes', async (t) => {
  const dir = tempDir(t);
  const real = await tinySet(join(dir, 'realsetdir'), 'realsrc', [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1], 24);
  const fakeA = await tinySet(join(dir, 'fakesetdir-a'), 'drganfake', [0, 1, 2, 3, 4, 0, 1, 2], 40);
  const fakeB = await tinySet(join(dir, 'fakesetdir-b'), 'tubfake', [null, null, null, null], 40);
  const run = (out: string, seed: number, extra: Partial<Parameters<typeof writeReadingKit>[0]> = {}) =>
    writeReadingKit({ real, fake: [{ name: 'DRGANMETHOD', dir: fakeA }, { name: 'TUBMETHOD', dir: fakeB }], out: join(dir, out), n: 12, fakeShare: 0.5, seed, size: 32, realSplit: 'all', askGrade: true, ...extra });
  const r = await run('kit1', 5);
  const html = readFileSync(r.htmlPath, 'utf8');
  const key = JSON.parse(readFileSync(r.keyPath, 'utf8')) as ReadingKey;
  assert.equal(key.items.length, 12);
  assert.deepEqual(countBy(key.items, (i) => i.set), { Real: 6, DRGANMETHOD: 3, TUBMETHOD: 3 });
  assert.equal(key.kitId, r.key.kitId);

  // What the page holds per image: its anonymous id and a data URI, in key order, nothing else.
  const kit = JSON.parse(/<script type="application\/json" id="kit">([\s\S]*?)<\/script>/.exec(html)![1]) as { kitId: string; askGrade: boolean; images: Record<string, string>[] };
  assert.deepEqual(Object.keys(kit).sort(), ['askGrade', 'images', 'kitId']);
  assert.equal(kit.kitId, key.kitId);
  assert.deepEqual(kit.images.map((im) => im.id), key.items.map((i) => i.id));
  for (const im of kit.images) {
    assert.deepEqual(Object.keys(im).sort(), ['id', 'src']);
    assert.match(im.src, /^data:image\/jpeg;base64,[A-Za-z0-9+/]+=*$/);
    // Every image at the one size asked, whatever size its set has (24 and 40 here).
    const meta = await sharp(Buffer.from(im.src.split(',')[1], 'base64')).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.exif, meta.icc], ['jpeg', 32, 32, undefined, undefined]);
  }
  // No set name, folder, file name, manifest id, source file or tag anywhere in the page.
  const secrets = ['DRGANMETHOD', 'TUBMETHOD', 'realsetdir', 'fakesetdir', 'realsrc', 'drganfake', 'tubfake', 'original', '.png', 'images/', dir, ...key.items.flatMap((i) => [i.sourceId, i.file, i.dir])];
  for (const s of secrets) assert.ok(!html.includes(s), `the page leaks "${s}"`);
  assert.ok(!/"(grade|set|truth|file|source)"\s*:/.test(html), 'a per-image field beyond id and src');
  assert.ok(!html.includes(key.items[0].sourceId) && key.items.every((i) => !html.includes(`grade${i.grade}`)));
  assert.match(html, /id="q-grade"/);

  // Same inputs and seed: byte-identical page and identical key items; another seed: another kit.
  const again = await run('kit2', 5);
  assert.equal(readFileSync(again.htmlPath, 'utf8'), html);
  assert.deepEqual(again.key.items, key.items);
  const other = await run('kit3', 6, { askGrade: false, format: 'png' });
  assert.notEqual(other.key.kitId, key.kitId);
  assert.notDeepEqual(other.key.items.map((i) => i.sourceId), key.items.map((i) => i.sourceId));
  const otherHtml = readFileSync(other.htmlPath, 'utf8');
  assert.ok(!otherHtml.includes('id="q-grade"'));
  assert.match(otherHtml, /"src":"data:image\/png;base64,/);
});

test('writeReadingKit rejects a missing set, the real set given as fake, a set given twice and a missing image file', async (t) => {
  const dir = tempDir(t);
  const real = await tinySet(join(dir, 'r'), 'r', [0, 1, 2, 3], 16);
  const fake = await tinySet(join(dir, 'f'), 'f', [0, 1, 2, 3], 16);
  const base = { real, out: join(dir, 'out'), n: 4, size: 16, realSplit: 'all' as const };
  await assert.rejects(writeReadingKit({ ...base, fake: [{ name: 'x', dir: join(dir, 'nowhere') }] }), /nowhere\/manifest\.jsonl: no manifest\.jsonl/);
  await assert.rejects(writeReadingKit({ ...base, fake: [{ name: 'x', dir: real + '/' }] }), /given both as --real and as the synthetic set "x"/);
  await assert.rejects(writeReadingKit({ ...base, fake: [{ name: 'x', dir: fake }, { name: 'y', dir: fake }] }), /given twice \(as "x" and "y"\)/);
  await assert.rejects(writeReadingKit({ ...base, fake: [{ name: 'x', dir: fake }], size: 8 }), /size must be an integer in 16\.\.4096, got 8/);
  for (const f of ['f-grade0-n0', 'f-grade1-n1', 'f-grade2-n2', 'f-grade3-n3']) unlinkSync(join(fake, 'images', `${f}.png`));
  await assert.rejects(writeReadingKit({ ...base, fake: [{ name: 'x', dir: fake }] }), /f\/images\/f-grade\d-n\d\.png: file not found/);
});
