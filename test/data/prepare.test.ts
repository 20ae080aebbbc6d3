import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { DataError } from '../../src/data/errors.js';
import { readImage, readMask } from '../../src/data/image-io.js';
import { readManifest, splitForId } from '../../src/data/manifest.js';
import { prepareDataset } from '../../src/data/prepare.js';
import { encodeBmp24, greyMask, paintSquare, syntheticFundus, tempDir, writeImage } from './helpers.js';

const W = 96;
const H = 80;
const fundus = (seed: number) => syntheticFundus({ width: W, height: H, cx: 48, cy: 40, r: 38, seed });

/** A folder-format source with three good photos (PNG, JPEG, BMP), one with a vessel mask. */
async function goodSource(dir: string): Promise<string[]> {
  const a = fundus(1);
  paintSquare(a, 60, 30, 2, [255, 255, 255]);
  const v = greyMask(W, H);
  paintSquare(v, 60, 30, 2, [255]);
  await writeImage(join(dir, 'a.png'), a);
  await writeImage(join(dir, 'a_vessel.png'), v, 1);
  await writeImage(join(dir, 'b.jpeg'), fundus(2));
  writeFileSync(join(dir, 'c.bmp'), encodeBmp24(fundus(3)));
  return ['image,grade,vessel', 'a.png,0,a_vessel.png', 'b.jpeg,2,', 'c.bmp,4,'];
}

test('prepare: writes the manifest layout; masks follow the photo; ids split by hash', async (t) => {
  const src = tempDir(t);
  const out = join(tempDir(t), 'out');
  writeFileSync(join(src, 'labels.csv'), (await goodSource(src)).join('\n'));
  const r = await prepareDataset({ format: 'folder', input: src, output: out, size: 64 });
  assert.equal(r.prepared, 3);
  const m = readManifest(out);
  assert.deepEqual(m.map((e) => [e.id, e.grade, e.known, e.split]), [
    ['a', 0, ['vessel'], splitForId('a')],
    ['b', 2, [], splitForId('b')],
    ['c', 4, [], splitForId('c')],
  ]);
  for (const e of m) {
    const img = await readImage(join(out, e.image));
    assert.equal(img.width, 64);
    assert.equal((await readMask(join(out, e.fov))).width, 64);
    assert.equal(e.size, 64);
  }
  // The white marker and the vessel mask drawn under it coincide after crop and resize.
  const img = await readImage(join(out, 'images/a.png'));
  const ves = await readMask(join(out, m[0].masks.vessel!));
  let both = 0;
  let onlyMask = 0;
  for (let i = 0; i < 64 * 64; i++) {
    if (ves.data[i] !== 255) continue;
    if (img.data[i * 3 + 2] > 200) both++;
    else onlyMask++;
  }
  assert.ok(both >= 4 && onlyMask <= 2, `mask on marker ${both}, off marker ${onlyMask}`);
  const info = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'));
  assert.deepEqual(info.gradeCounts, [1, 0, 1, 0, 1]);
  assert.equal(existsSync(join(out, 'manifest.partial.jsonl')), false);
});

test('prepare: a second run does no work; a touched source is redone; an interrupted run resumes', async (t) => {
  const src = tempDir(t);
  const out = join(tempDir(t), 'out');
  writeFileSync(join(src, 'labels.csv'), (await goodSource(src)).join('\n'));
  const opts = { format: 'folder', input: src, output: out, size: 48, concurrency: 1 };
  await prepareDataset(opts);
  const before = statSync(join(out, 'images/b.png')).mtimeMs;
  const again = await prepareDataset(opts);
  assert.equal(again.prepared, 0);
  assert.equal(again.reused, 3);
  assert.equal(statSync(join(out, 'images/b.png')).mtimeMs, before, 'output not rewritten');

  const future = new Date(Date.now() + 60_000);
  utimesSync(join(src, 'b.jpeg'), future, future);
  const touched = await prepareDataset(opts);
  assert.deepEqual([touched.prepared, touched.reused], [1, 2]);

  const changed = await prepareDataset({ ...opts, graham: true });
  assert.equal(changed.prepared, 3, 'other options: every sample redone');

  // Interrupt a fresh run after its second sample: progress so far survives in the partial log.
  const src2 = tempDir(t);
  writeFileSync(join(src2, 'labels.csv'), (await goodSource(src2)).join('\n'));
  const out2 = join(tempDir(t), 'out2');
  let n = 0;
  await assert.rejects(
    prepareDataset({
      ...opts,
      input: src2,
      output: out2,
      onProgress: () => {
        if (++n === 2) throw new Error('simulated crash');
      },
    }),
    /simulated crash/,
  );
  assert.equal(existsSync(join(out2, 'manifest.jsonl')), false);
  const resumed = await prepareDataset({ ...opts, input: src2, output: out2 });
  assert.deepEqual([resumed.prepared, resumed.reused], [1, 2]);
  assert.equal(readManifest(out2).length, 3);
});

/** The bad inputs: each case adds files to `dir` and returns its CSV row, the file and reason expected. */
const BAD: Record<string, (dir: string) => Promise<{ row: string; file: RegExp; reason: RegExp }>> = {
  corrupt: async (dir) => {
    writeFileSync(join(dir, 'corrupt.png'), 'not a png at all');
    return { row: 'corrupt.png,1,', file: /corrupt\.png$/, reason: /not a readable image|corrupt/ };
  },
  truncated: async (dir) => {
    await writeImage(join(dir, 'full.jpeg'), fundus(9));
    const bytes = readFileSync(join(dir, 'full.jpeg'));
    writeFileSync(join(dir, 'trunc.jpeg'), bytes.subarray(0, bytes.length >> 1));
    return { row: 'trunc.jpeg,1,', file: /trunc\.jpeg$/, reason: /truncated|corrupt/ };
  },
  maskSize: async (dir) => {
    await writeImage(join(dir, 'm.png'), fundus(5));
    await writeImage(join(dir, 'm_vessel.png'), greyMask(W / 2, H / 2), 1);
    return { row: 'm.png,1,m_vessel.png', file: /m_vessel\.png$/, reason: /mask is 48x40 but its image .*m\.png is 96x80/ };
  },
  grade: async (dir) => {
    await writeImage(join(dir, 'g.png'), fundus(6));
    return { row: 'g.png,5,', file: /labels\.csv:3$/, reason: /grade "5" of "g\.png" is outside 0\.\.4/ };
  },
  noFile: async () => ({ row: 'ghost.png,1,', file: /labels\.csv:3$/, reason: /no file ghost\.png/ }),
  noFov: async (dir) => {
    await writeImage(join(dir, 'flat.png'), { data: new Uint8Array(W * H * 3).fill(120), width: W, height: H });
    return { row: 'flat.png,1,', file: /flat\.png$/, reason: /no field of view/ };
  },
};

test('prepare --on-error fail: each bad input stops the run with an error naming the file and the reason', async (t) => {
  for (const [name, make] of Object.entries(BAD)) {
    const src = tempDir(t);
    await writeImage(join(src, 'ok.png'), fundus(1));
    const bad = await make(src);
    writeFileSync(join(src, 'labels.csv'), ['image,grade,vessel', 'ok.png,0,', bad.row].join('\n'));
    const out = join(src, 'out');
    await assert.rejects(prepareDataset({ format: 'folder', input: src, output: out, size: 32 }), (err: unknown) => {
      assert.ok(err instanceof DataError, `${name}: ${err}`);
      assert.match(err.file, bad.file, name);
      assert.match(err.reason, bad.reason, name);
      return true;
    });
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(log.at(-1).action, 'stopped', name);
  }
});

test('prepare --on-error skip: every bad input is skipped, listed in log.jsonl and the report; good ones prepared', async (t) => {
  const src = tempDir(t);
  const rows = await goodSource(src);
  const expect = [];
  for (const make of Object.values(BAD)) {
    const bad = await make(src);
    rows.push(bad.row);
    expect.push(bad);
  }
  // The CSV lines move: rows of CSV-level problems are at lines 8 and 9 here.
  writeFileSync(join(src, 'labels.csv'), rows.join('\n'));
  const out = join(src, 'out');
  const r = await prepareDataset({ format: 'folder', input: src, output: out, size: 32, onError: 'skip', concurrency: 3 });
  assert.deepEqual(readManifest(out).map((e) => e.id), ['a', 'b', 'c']);
  assert.equal(r.skipped.length, Object.keys(BAD).length);
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(log.length, Object.keys(BAD).length);
  for (const bad of expect) {
    const hit = log.find((l) => bad.reason.test(l.reason));
    assert.ok(hit, `log has ${bad.reason}`);
    assert.equal(hit.action, 'skipped');
    assert.ok(hit.file.length > 0);
  }
});

test('drgan prepare (CLI): prints the summary with skipped files; usage errors exit 2', async (t) => {
  const src = tempDir(t);
  const rows = await goodSource(src);
  writeFileSync(join(src, 'broken.jpeg'), 'xx');
  rows.push('broken.jpeg,1,');
  writeFileSync(join(src, 'labels.csv'), rows.join('\n'));
  const out = join(src, 'out');
  const lines: string[] = [];
  const log = console.log;
  const err = console.error;
  const stderrWrite = process.stderr.write;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  console.error = (...a: unknown[]) => void lines.push(a.join(' '));
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(await main(['prepare', '--format', 'folder', '--in', src, '--out', out, '--size', '32', '--on-error', 'skip']), 0);
    assert.equal(await main(['prepare', '--format', 'nope', '--in', src, '--out', out]), 2);
    assert.equal(await main(['prepare', '--format', 'folder', '--in', src, '--out', out, '--size', '32']), 1);
  } finally {
    console.log = log;
    console.error = err;
    process.stderr.write = stderrWrite;
  }
  const text = lines.join('\n');
  assert.match(text, /prepared 3, reused 0 .* skipped 1/);
  assert.match(text, /broken\.jpeg: not a readable image/);
  assert.match(text, /--format must be one of eyepacs\|idrid\|drive\|folder/);
  assert.match(text, /drgan prepare: .*broken\.jpeg: not a readable image/);
});
