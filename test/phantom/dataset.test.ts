import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { CONDITION_CHANNELS, readManifest, splitForId } from '../../src/data/manifest.js';
import { generatePhantomSet, phantomId } from '../../src/phantom/dataset.js';
import { renderPhantom } from '../../src/phantom/render.js';

test('generatePhantomSet writes the prepared layout and resumes without rewriting finished samples', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'phantom-set-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const first = await generatePhantomSet({ out, n: 5, size: 64, seed: 9, gradeFrequencies: [1, 1, 1, 1, 1] });
  assert.equal(first.written, 5);
  assert.equal(first.skipped, 0);

  const entries = readManifest(out);
  assert.deepEqual(entries.map((e) => e.id), [0, 1, 2, 3, 4].map(phantomId));
  assert.equal(phantomId(123), 'phantom-000123');
  for (const [i, e] of entries.entries()) {
    assert.equal(e.source, `phantom:seed=9:index=${i}`);
    assert.equal(e.split, splitForId(e.id));
    assert.deepEqual(e.known, [...CONDITION_CHANNELS]);
    assert.equal(e.size, 64);
    const s = renderPhantom(9, i, 64, { gradeFrequencies: [1, 1, 1, 1, 1] });
    assert.equal(e.grade, s.grade);
    assert.deepEqual((e.meta as { lesions: unknown }).lesions, { MA: s.lesions.MA, HE: s.lesions.HE, EX: s.lesions.EX, SE: s.lesions.SE, LM: s.lesions.LM, PM: s.lesions.PM });
    assert.equal((e.meta as { eye: string }).eye, s.eye);
    const img = await sharp(join(out, e.image)).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([img.info.width, img.info.height, img.info.channels], [64, 64, 3]);
    assert.deepEqual(new Uint8Array(img.data), s.rgb, 'the PNG holds exactly the rendered pixels');
    for (const c of CONDITION_CHANNELS) {
      assert.equal((await sharp(join(out, e.masks[c]!)).metadata()).channels, 1, 'masks are stored as one-channel PNGs');
      const m = await sharp(join(out, e.masks[c]!)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
      assert.equal(m.info.channels, 1);
      assert.deepEqual(new Uint8Array(m.data), s.masks[c]);
    }
    assert.ok(existsSync(join(out, e.fov)));
  }

  // Resume: nothing finished is rewritten; a missing file makes its sample be redone.
  const img0 = join(out, entries[0].image);
  const mtime = statSync(img0).mtimeMs;
  unlinkSync(join(out, entries[3].masks.HE!));
  const second = await generatePhantomSet({ out, n: 7, size: 64, seed: 9, gradeFrequencies: [1, 1, 1, 1, 1] });
  assert.equal(second.skipped, 4);
  assert.equal(second.written, 3);
  assert.equal(statSync(img0).mtimeMs, mtime);
  assert.ok(existsSync(join(out, entries[3].masks.HE!)));
  const again = readManifest(out);
  assert.equal(again.length, 7);
  assert.deepEqual(again.slice(0, 5), entries, 'skipped samples get the same manifest entries');

  await assert.rejects(generatePhantomSet({ out, n: 7, size: 128, seed: 9, gradeFrequencies: [1, 1, 1, 1, 1] }), /other settings \(size 64 -> 128\)/);
});

test('generatePhantomSet refuses bad arguments before writing anything', async () => {
  const out = join(tmpdir(), `phantom-never-${process.pid}`);
  await assert.rejects(generatePhantomSet({ out, n: 0, size: 64, seed: 1 }), /positive integer/);
  await assert.rejects(generatePhantomSet({ out, n: 1, size: 32, seed: 1 }), /64\.\.1280/);
  assert.equal(existsSync(out), false);
});
