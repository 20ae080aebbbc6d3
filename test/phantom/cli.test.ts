import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest } from '../../src/data/manifest.js';
import { runDrgan } from '../helpers/run-drgan.js';

const drgan = (...args: string[]) => runDrgan(args);

test('drgan phantom writes a readable data set and resumes on a second run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'phantom-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = await drgan('phantom', '--n', '4', '--size', '64', '--seed', '2', '--out', dir, '--grades', '0,0,0,1,1');
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /4 written, 0 already there/);
  const entries = readManifest(dir);
  assert.equal(entries.length, 4);
  assert.ok(entries.every((e) => e.grade === 3 || e.grade === 4));
  const second = await drgan('phantom', '--n', '4', '--size', '64', '--seed', '2', '--out', dir, '--grades', '0,0,0,1,1');
  assert.equal(second.code, 0, second.err);
  assert.match(second.out, /0 written, 4 already there/);
  assert.deepEqual(readManifest(dir), entries);
});

test('drgan phantom rejects bad flags with a clear message and exit code 2', async () => {
  const dir = join(tmpdir(), `phantom-cli-never-${process.pid}`);
  const cases: [string[], RegExp][] = [
    [['--size', '32', '--out', dir], /--size must be >= 64/],
    [['--size', '2000', '--out', dir], /--size must be <= 1280/],
    [['--n', 'many', '--out', dir], /--n must be an integer/],
    [['--n', '0', '--out', dir], /--n must be >= 1/],
    [['--seed', '-1', '--out', dir], /--seed must be >= 0/],
    [['--grades', '1,2,3', '--out', dir], /--grades: .*5 comma-separated/],
    [['--grades', '0,0,0,0,0', '--out', dir], /--grades: .*all zero/],
    [['--n', '3'], /--out is required/],
    [['--out', dir, '--colour', 'red'], /unknown flag --colour/],
  ];
  for (const [args, message] of cases) {
    const r = await drgan('phantom', ...args);
    assert.equal(r.code, 2, `${args.join(' ')} should fail`);
    assert.match(r.err, message);
  }
  const help = await drgan('phantom', '--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /--grades/);
});

test('drgan phantom --jobs 3 writes the same files and manifest as one process', async (t) => {
  const one = mkdtempSync(join(tmpdir(), 'phantom-jobs1-'));
  const three = mkdtempSync(join(tmpdir(), 'phantom-jobs3-'));
  t.after(() => { rmSync(one, { recursive: true, force: true }); rmSync(three, { recursive: true, force: true }); });
  const common = ['--n', '5', '--size', '64', '--seed', '9'];
  const a = await drgan('phantom', ...common, '--out', one);
  const b = await drgan('phantom', ...common, '--out', three, '--jobs', '3');
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  // The shards rendered everything; the final pass only planned it.
  assert.match(b.out, /0 written, 5 already there/);
  const ea = readManifest(one), eb = readManifest(three);
  assert.deepEqual(eb, ea);
  for (const e of ea) {
    for (const rel of [e.image, e.fov, ...Object.values(e.masks)]) {
      assert.ok(readFileSync(join(one, rel!)).equals(readFileSync(join(three, rel!))), `${rel} differs`);
    }
  }
  const bad = await drgan('phantom', ...common, '--out', three, '--shard', '3/3');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--shard 3\/3: expected I\/N/);
});
