import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pngFolder, preparedSet, tempDir, tinyGrader } from '../eval/image-set-fixtures.js';
import { runDrgan } from '../helpers/run-drgan.js';

const run = runDrgan;

test('eval swd --json prints one object with per-level values; a set against itself is 0', async (t) => {
  const root = tempDir(t);
  const a = await pngFolder(join(root, 'a'), 4, { seed: 1, noise: 60 });
  const b = await pngFolder(join(root, 'b'), 5, { seed: 2, noise: 5 });
  let r = await run(['eval', 'swd', '--real', a, '--fake', b, '--json', '--batch', '3']);
  assert.equal(r.code, 0, r.err);
  const o = JSON.parse(r.out);
  assert.equal(o.metric, 'SWD');
  assert.deepEqual(o.levels.map((l: { resolution: number }) => l.resolution), [32, 16]);
  assert.ok(o.levels.every((l: { swd: number }) => l.swd > 0));
  assert.ok(Math.abs(o.avg - (o.levels[0].swd + o.levels[1].swd) / 2) < 1e-9);
  assert.deepEqual([o.n_real, o.n_fake, o.n_used], [4, 5, 4]);
  r = await run(['eval', 'swd', '--real', a, '--fake', a, '--json']);
  assert.equal(JSON.parse(r.out).avg, 0);
  r = await run(['eval', 'swd', '--real', a, '--fake', b]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /SWD x1e3 \(4 images per set of 4 real, 5 fake\)/);
  assert.match(r.out, /^\s+16\s+\d+\.\d{3}$/m);
  assert.match(r.out, /^average\s+\d+\.\d{3}$/m);
});

test('eval fid without Inception weights says where to get them and suggests the labelled grader FID', async (t) => {
  const root = tempDir(t);
  const a = await pngFolder(join(root, 'a'), 2);
  const saved = process.env.DRGAN_INCEPTION_WEIGHTS;
  delete process.env.DRGAN_INCEPTION_WEIGHTS;
  t.after(() => { if (saved !== undefined) process.env.DRGAN_INCEPTION_WEIGHTS = saved; });
  for (const metric of ['fid', 'kid']) {
    const r = await run(['eval', metric, '--real', a, '--fake', a]);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.match(r.err, /standard FID needs the Inception-v3 weights file pt_inception-2015-12-05-6726825d\.pth/);
    assert.match(r.err, /--extractor grader:CKPT/);
  }
});

test('eval fid on a grader extractor: labelled output, --save-stats then --real STATS gives the same FID, per grade too', async (t) => {
  const root = tempDir(t);
  const ckpt = join(root, 'grader.safetensors');
  tinyGrader(ckpt);
  const grades = [0, 0, 0, 1, 1, 1, 2];
  const real = await preparedSet(join(root, 'real'), grades, { seed: 1 });
  const fake = await preparedSet(join(root, 'fake'), [0, 0, 0, 1, 1, null, 3], { seed: 2, noise: 10 });
  const stats = join(root, 'real-stats.safetensors');
  const ex = ['--extractor', `grader:${ckpt}`];
  let r = await run(['eval', 'fid', '--real', real, '--fake', fake, ...ex, '--per-grade', '--save-stats', stats, '--json', '--batch', '4']);
  assert.equal(r.code, 0, r.err);
  const first = JSON.parse(r.out);
  assert.match(first.label, /^FID\[grader:resnet18@[0-9a-f]{12}\]$/);
  assert.equal(first.extractor, first.label.slice(4, -1));
  assert.equal(first.standard, false);
  assert.deepEqual([first.n_real, first.n_fake], [7, 7]);
  assert.ok(first.fid > 0);
  assert.deepEqual(Object.keys(first.per_grade), ['0', '1']);
  assert.ok(Math.abs(first.average_over_grades - (first.per_grade[0] + first.per_grade[1]) / 2) < 1e-12);
  assert.match(first.grades_skipped['2'], /real has 1, fake has 0/);
  assert.match(first.grades_skipped['3'], /real has 0, fake has 1/);
  assert.match(r.err, /not the standard Inception FID/);
  assert.ok(existsSync(stats) && existsSync(join(root, 'real-stats.grade0.safetensors')) && existsSync(join(root, 'real-stats.grade1.safetensors')));

  r = await run(['eval', 'fid', '--real', stats, '--fake', fake, ...ex, '--per-grade', '--json']);
  assert.equal(r.code, 0, r.err);
  const again = JSON.parse(r.out);
  // Equal up to the last bits of the eigensolver (the statistics themselves round-trip exactly).
  const close = (x: number, y: number) => Math.abs(x - y) <= 1e-12 * Math.abs(y);
  assert.ok(close(again.fid, first.fid), `${again.fid} vs ${first.fid}`);
  for (const g of ['0', '1']) assert.ok(close(again.per_grade[g], first.per_grade[g]));
  assert.equal(again.n_real, 7);

  // Statistics from one grader refuse to meet features from another.
  const other = join(root, 'other.safetensors');
  tinyGrader(other, 9);
  r = await run(['eval', 'fid', '--real', stats, '--fake', fake, '--extractor', `grader:${other}`]);
  assert.equal(r.code, 1);
  assert.match(r.err, /statistics come from extractor "grader:resnet18@[0-9a-f]{12}", expected "grader:resnet18@/);

  r = await run(['eval', 'fid', '--real', real, '--fake', fake, ...ex]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^FID\[grader:resnet18@[0-9a-f]{12}\] = \d+\.\d{4}\s+\(7 real, 7 fake\)/);
  assert.match(r.out, /not the standard FID/);

  r = await run(['eval', 'kid', '--real', real, '--fake', fake, ...ex, '--subsets', '3', '--subset-size', '4', '--per-grade', '--json']);
  assert.equal(r.code, 0, r.err);
  const k = JSON.parse(r.out);
  assert.match(k.label, /^KID\[grader:resnet18@/);
  assert.equal(typeof k.kid_mean, 'number');
  assert.equal(typeof k.kid_std, 'number');
  assert.deepEqual([k.subsets, k.subset_size, k.n_real, k.n_fake], [3, 4, 7, 7]);
  assert.deepEqual(Object.keys(k.per_grade), ['0', '1']);
  assert.equal(k.per_grade[0].subset_size, 3);
  assert.ok(Math.abs(k.average_over_grades - (k.per_grade[0].kid_mean + k.per_grade[1].kid_mean) / 2) < 1e-12);
  r = await run(['eval', 'kid', '--real', stats, '--fake', fake, ...ex]);
  assert.equal(r.code, 2);
  assert.match(r.err, /KID needs the real images/);
});
