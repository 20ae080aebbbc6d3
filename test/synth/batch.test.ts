import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest, CONDITION_CHANNELS } from '../../src/data/manifest.js';
import { readImage, readMask } from '../../src/data/image-io.js';
import { readSidecar } from '../../src/synth/batch.js';
import { phantomSet, tinyCheckpoint } from './fixtures.js';
import { runDrgan } from '../helpers/run-drgan.js';

const drgan = (...args: string[]) => runDrgan(args);

let data = '';
let tmp = '';
let ckpt = '';
let lesions = '';
before(async () => {
  data = await phantomSet(15, 64, 2);
  tmp = mkdtempSync(join(tmpdir(), 'synth-batch-'));
  ckpt = tinyCheckpoint(tmp, 1).path;
  lesions = join(tmp, 'lesions.json');
  const r = await drgan('fit-lesions', '--data', data, '--out', lesions);
  assert.equal(r.code, 0, r.err);
});
after(() => {
  rmSync(data, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

test('drgan fit-lesions writes the model and its bank and prints per-grade counts', () => {
  assert.ok(existsSync(lesions) && existsSync(join(tmp, 'lesions.bank.bin')));
  const m = JSON.parse(readFileSync(lesions, 'utf8'));
  assert.equal(m.format, 'drgan-lesion-model');
  assert.equal(m.imagesPerGrade.reduce((a: number, b: number) => a + b, 0), 15);
});

test('drgan synth --sample-lesions writes a prepared data set with sidecars that readManifest reads, and resumes', async () => {
  const out = join(tmp, 'sampled');
  const r = await drgan('synth', '--model', ckpt, '--out', out, '--sample-lesions', '--lesion-model', lesions, '--n', '2', '--seed', '4', '--quiet');
  assert.equal(r.code, 0, r.err);
  const grades = JSON.parse(readFileSync(lesions, 'utf8')).imagesPerGrade.flatMap((n: number, g: number) => (n ? [g] : []));
  const entries = readManifest(out);
  assert.equal(entries.length, 2 * grades.length);
  assert.match(r.out, new RegExp(`${entries.length} written, 0 already there`));
  const info = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'));
  assert.equal(info.format, 'drgan-prepared');
  assert.equal(info.count, entries.length);
  for (const e of entries) {
    assert.equal(e.known.length, 8);
    assert.deepEqual(e.known, [...CONDITION_CHANNELS]);
    const img = await readImage(join(out, e.image));
    assert.equal(img.width, 16, 'stage-1 tiny generator writes R/2');
    assert.equal(e.size, 16);
    for (const ch of e.known) assert.equal((await readMask(join(out, e.masks[ch]!))).width, 16);
    assert.ok(existsSync(join(out, e.fov)));
    const side = readSidecar(join(out, 'images', `${e.id}.json`));
    assert.equal(side.grade, e.grade);
    assert.equal(side.gradeSource, 'given');
    assert.equal(e.meta!.modelId, side.modelId);
    assert.equal(e.meta!.seed, side.seed);
    assert.deepEqual(e.meta!.lesions, side.lesions);
    if (e.grade === 0) assert.deepEqual(Object.values(side.lesions), [0, 0, 0, 0, 0, 0]);
  }
  assert.equal(new Set(entries.map((e) => e.meta!.seed)).size, entries.length, 'one seed per image');
  const before = statSync(join(out, entries[0].image)).mtimeMs;
  const again = await drgan('synth', '--model', ckpt, '--out', out, '--sample-lesions', '--lesion-model', lesions, '--n', '2', '--seed', '4', '--quiet');
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, new RegExp(`0 written, ${entries.length} already there`));
  assert.equal(statSync(join(out, entries[0].image)).mtimeMs, before);
  assert.deepEqual(readManifest(out), entries);
  // A removed image is regenerated, the rest skipped.
  rmSync(join(out, entries[1].image));
  const third = await drgan('synth', '--model', ckpt, '--out', out, '--sample-lesions', '--lesion-model', lesions, '--n', '2', '--seed', '4', '--quiet');
  assert.match(third.out, new RegExp(`1 written, ${entries.length - 1} already there`));
  // Another model into the same folder is refused.
  const other = tinyCheckpoint(tmp, 2).path;
  const refused = await drgan('synth', '--model', other, '--out', out, '--sample-lesions', '--lesion-model', lesions, '--n', '2', '--seed', '4', '--quiet');
  assert.equal(refused.code, 1);
  assert.match(refused.err, /made by model .* not /);
});

test('drgan synth from a data set\'s masks predicts grades when none is given; --grade fixes them; --size resizes', async () => {
  const out = join(tmp, 'given');
  const r = await drgan('synth', '--model', ckpt, '--out', out, '--masks', `dataset:${data}`, '--n', '3', '--quiet', '--size', '24');
  assert.equal(r.code, 0, r.err);
  const entries = readManifest(out);
  assert.equal(entries.length, 3);
  for (const e of entries) {
    assert.equal(e.meta!.gradeSource, 'predicted');
    assert.ok(Number.isInteger(e.grade) && e.grade! >= 0 && e.grade! <= 4);
    assert.equal((await readImage(join(out, e.image))).width, 24);
  }
  const fixed = join(tmp, 'fixed');
  const r2 = await drgan('synth', '--model', ckpt, '--out', fixed, '--masks', data, '--grade', '2', '--n', '2', '--quiet');
  assert.equal(r2.code, 0, r2.err);
  assert.ok(readManifest(fixed).every((e) => e.grade === 2 && e.meta!.gradeSource === 'given'));
  assert.equal(readdirSync(join(fixed, 'images')).filter((f) => f.endsWith('.json')).length, 2);
});

test('drgan synth rejects bad input with clear messages', async () => {
  const out = join(tmp, 'never');
  const cases: [string[], RegExp, number][] = [
    [['--model', ckpt, '--out', out, '--grade', '5', '--masks', data], /--grade must be <= 4/, 2],
    [['--model', ckpt, '--out', out], /give --masks/, 2],
    [['--model', ckpt, '--out', out, '--sample-lesions'], /--sample-lesions needs --lesion-model/, 2],
    [['--model', ckpt, '--out', out, '--masks', join(tmp, 'nothing-here')], /condition source not found/, 1],
    [['--model', join(tmp, 'no.safetensors'), '--out', out, '--masks', data], /checkpoint not found/, 1],
    [['--model', ckpt, '--out', out, '--sample-lesions', '--lesion-model', join(tmp, 'x.json')], /lesion model not found/, 1],
  ];
  for (const [args, message, code] of cases) {
    const r = await drgan('synth', ...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
  }
  const help = await drgan('synth', '--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /--sample-lesions/);
});

test('drgan synth --data-grades re-renders a data set at each sample\'s own grade; it combines with nothing else', async () => {
  const out = join(tmp, 'data-grades');
  let r = await drgan('synth', '--model', ckpt, '--out', out, '--masks', `dataset:${data}`, '--data-grades', '--quiet');
  assert.equal(r.code, 0, r.err);
  const source = new Map(readManifest(data).map((e) => [`synth-${e.id}`, e.grade]));
  const made = readManifest(out);
  assert.equal(made.length, source.size);
  assert.ok(new Set(made.map((e) => e.grade)).size > 1, 'the fixture spans several grades');
  for (const e of made) {
    assert.equal(e.grade, source.get(e.id), e.id);
    assert.equal(readSidecar(join(out, 'images', `${e.id}.json`)).gradeSource, 'given');
  }
  for (const bad of [['--grade', '2'], ['--sample-lesions', '--lesion-model', lesions]]) {
    r = await drgan('synth', '--model', ckpt, '--out', join(tmp, 'x'), '--masks', `dataset:${data}`, '--data-grades', ...bad);
    assert.equal(r.code, 2, bad.join(' '));
    assert.match(r.err, /--data-grades needs --masks dataset:DIR, without --grade or --sample-lesions/);
  }
  r = await drgan('synth', '--model', ckpt, '--out', join(tmp, 'x'), '--data-grades');
  assert.equal(r.code, 2);
});
