import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { measureLesionContrast } from '../../src/eval/lesion-contrast-set.js';
import { tempDir } from '../eval/image-set-fixtures.js';
import { writeLesionSet } from '../eval/lesion-set-fixtures.js';
import { runDrgan as run } from '../helpers/run-drgan.js';

test('eval lesions with both sets prints each set\'s per-channel contrast and the fake/real ratio', async (t) => {
  const root = tempDir(t, 'drgan-lesion-cli-');
  const real = join(root, 'real');
  const fake = join(root, 'fake');
  await writeLesionSet(real);
  await writeLesionSet(fake, 0.5);
  let r = await run(['eval', 'lesions', '--real', real, '--fake', fake, '--json']);
  assert.equal(r.code, 0, r.err);
  const o = JSON.parse(r.out);
  assert.equal(o.metric, 'lesion-contrast');
  assert.deepEqual(o.real, await measureLesionContrast(real));
  assert.deepEqual(o.fake, await measureLesionContrast(fake));
  assert.deepEqual(Object.keys(o.ratio), ['vessel', 'optic_disc', 'HE', 'EX']);
  for (const v of Object.values(o.ratio)) assert.ok(Math.abs((v as number) - 0.5) < 1e-12);

  r = await run(['eval', 'lesions', '--real', real, '--fake', fake]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^real: .*real \(3 images, split all\)$/m);
  assert.match(r.out, /^channel\s+real\s+fake\s+fake\/real$/m);
  const v = o.real.channels.vessel;
  assert.match(r.out, new RegExp(`^vessel\\s+${v.mean.toFixed(2)} ± ${v.se.toFixed(2)} \\(3\\)\\s+-?\\d+\\.\\d\\d ± \\d+\\.\\d\\d \\(3\\)\\s+0\\.50$`, 'm'));
  assert.match(r.out, /^HE\s+-\d+\.\d\d ± 0\.00 \(1\)\s+-\d+\.\d\d ± 0\.00 \(1\)\s+0\.50$/m);
  assert.doesNotMatch(r.out, /^(MA|SE|LM|PM)\b/m);
});

test('eval lesions with one set, split and limit; neither set is a usage error', async (t) => {
  const real = join(tempDir(t, 'drgan-lesion-cli-'), 'real');
  await writeLesionSet(real);
  let r = await run(['eval', 'lesions', '--real', real, '--split', 'train', '--limit', '1', '--json']);
  assert.equal(r.code, 0, r.err);
  const o = JSON.parse(r.out);
  assert.deepEqual(Object.keys(o), ['metric', 'real']);
  assert.equal(o.real.images, 1);
  assert.deepEqual(Object.keys(o.real.channels), ['vessel', 'EX']);
  r = await run(['eval', 'lesions', '--fake', real, '--size', '64']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^fake: .* \(3 images at 64 px, split all\)$/m);
  assert.match(r.out, /^channel\s+fake$/m);
  r = await run(['eval', 'lesions', '--json']);
  assert.equal(r.code, 2);
  assert.match(r.err, /give --real DIR, --fake DIR or both/);
});

test('eval lesions stops on a missing image, naming the file', async (t) => {
  const root = tempDir(t, 'drgan-lesion-cli-');
  const real = join(root, 'real');
  await writeLesionSet(real);
  await writeLesionSet(join(root, 'fake'));
  rmSync(join(root, 'fake', 'images', 's1.png'));
  const r = await run(['eval', 'lesions', '--real', real, '--fake', join(root, 'fake')]);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.match(r.err, /^drgan eval lesions: .*fake\/images\/s1\.png: file not found$/);
});
