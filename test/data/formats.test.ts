import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FORMATS } from '../../src/data/formats/index.js';
import { DRIVE_MISSING, driveDir, greyMask, haveDrive, syntheticFundus, tempDir, writeImage } from './helpers.js';

const photo = () => syntheticFundus({ width: 64, height: 56, cx: 32, cy: 28, r: 25 });

test('eyepacs: trainLabels.csv + train/, solution CSV + test/ (BOM, CRLF, Usage); bad rows are problems naming CSV and line', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'train'));
  mkdirSync(join(dir, 'test'));
  for (const n of ['10_left', '10_right', '13_left', 'extra']) await writeImage(join(dir, 'train', `${n}.jpeg`), photo());
  await writeImage(join(dir, 'test', '1_left.jpeg'), photo());
  writeFileSync(join(dir, 'trainLabels.csv'), '\ufeffimage,level\r\n10_left,0\r\n10_right,4\r\n13_left,7\r\n15_left,1\r\n');
  writeFileSync(join(dir, 'retinopathy_solution.csv'), 'image,level,Usage\n1_left,2,Public\n');
  const l = await FORMATS.eyepacs.list(dir);
  assert.deepEqual(
    l.samples.map((s) => [s.id, s.grade, s.meta?.set]),
    [
      ['10_left', 0, 'train'],
      ['10_right', 4, 'train'],
      ['1_left', 2, 'test'],
    ],
  );
  assert.equal(l.samples[2].meta?.usage, 'Public');
  assert.deepEqual(l.samples[0].known, []);
  const msgs = l.problems.map((p) => p.error.message);
  assert.equal(msgs.length, 2);
  assert.match(msgs[0], /trainLabels\.csv:4: grade "7" of "13_left" is outside 0\.\.4/);
  assert.match(msgs[1], /trainLabels\.csv:5: no photo for "15_left"/);
  assert.ok(l.notes.some((n) => /1 photos have no row/.test(n)), 'the unlisted photo is mentioned, not dropped silently');
});

test('idrid: official tree (spaces in folder names, TIF masks, SE file absent = empty SE) and grading CSVs with train/test name clash', async (t) => {
  const dir = tempDir(t);
  const seg = join(dir, 'A. Segmentation');
  const imgs = join(seg, '1. Original Images', 'a. Training Set');
  const gt = join(seg, '2. All Segmentation Groundtruths', 'a. Training Set');
  mkdirSync(imgs, { recursive: true });
  for (const n of ['IDRiD_01', 'IDRiD_02']) await writeImage(join(imgs, `${n}.jpg`), photo());
  const folders: Record<string, string> = { MA: '1. Microaneurysms', HE: '2. Haemorrhages', EX: '3. Hard Exudates', SE: '4. Soft Exudates', OD: '5. Optic Disc' };
  for (const [code, f] of Object.entries(folders)) {
    mkdirSync(join(gt, f), { recursive: true });
    if (code !== 'SE') await writeImage(join(gt, f, `IDRiD_01_${code}.tif`), greyMask(64, 56), 1);
  }
  const grading = join(dir, 'B. Disease Grading');
  for (const set of ['a. Training Set', 'b. Testing Set']) {
    mkdirSync(join(grading, '1. Original Images', set), { recursive: true });
    await writeImage(join(grading, '1. Original Images', set, 'IDRiD_001.jpg'), photo());
  }
  mkdirSync(join(grading, '2. Groundtruths'));
  writeFileSync(join(grading, '2. Groundtruths', 'a. IDRiD_Disease Grading_Training Labels.csv'), 'Image name,Retinopathy grade,Risk of macular edema ,,\r\nIDRiD_001,3,2,,\r\nIDRiD_002,1,0,,\r\n');
  writeFileSync(join(grading, '2. Groundtruths', 'b. IDRiD_Disease Grading_Testing Labels.csv'), 'Image name,Retinopathy grade,Risk of macular edema\r\nIDRiD_001,4,1\r\n');
  const l = await FORMATS.idrid.list(dir);
  const byId = new Map(l.samples.map((s) => [s.id, s]));
  assert.deepEqual([...byId.keys()].sort(), ['IDRiD_001_test', 'IDRiD_001_train', 'IDRiD_01', 'IDRiD_02']);
  assert.equal(byId.get('IDRiD_001_train')!.grade, 3);
  assert.equal(byId.get('IDRiD_001_test')!.grade, 4);
  assert.match(byId.get('IDRiD_001_test')!.image, /Testing Set/);
  assert.equal(byId.get('IDRiD_001_train')!.meta?.dme, 2);
  const s1 = byId.get('IDRiD_01')!;
  assert.deepEqual(s1.known, ['optic_disc', 'MA', 'HE', 'EX', 'SE']);
  assert.deepEqual(Object.keys(s1.masks).sort(), ['EX', 'HE', 'MA', 'optic_disc']);
  assert.deepEqual(byId.get('IDRiD_02')!.known, [], 'a photo without masks has no known channels');
  assert.equal(l.problems.length, 1);
  assert.match(l.problems[0].error.message, /Training Labels\.csv:3: no photo for "IDRiD_002" in the train set/);
});

test('drive: original layout, vessel masks and shipped FOV masks paired by number', async (t) => {
  const dir = tempDir(t);
  for (const [set, n] of [
    ['training', '21'],
    ['test', '01'],
  ]) {
    for (const d of ['images', '1st_manual', 'mask']) mkdirSync(join(dir, set, d), { recursive: true });
    await writeImage(join(dir, set, 'images', `${n}_${set}.tif`), photo());
    await writeImage(join(dir, set, '1st_manual', `${n}_manual1.gif`), greyMask(64, 56), 1);
    await writeImage(join(dir, set, 'mask', `${n}_${set}_mask.gif`), greyMask(64, 56), 1);
  }
  const l = await FORMATS.drive.list(dir);
  assert.deepEqual(l.samples.map((s) => s.id), ['21_training', '01_test']);
  assert.deepEqual(l.samples[0].known, ['vessel']);
  assert.match(l.samples[0].masks.vessel!, /21_manual1\.gif$/);
  assert.match(l.samples[1].fov!, /01_test_mask\.gif$/);
  const one = await FORMATS.drive.list(join(dir, 'test'));
  assert.deepEqual(one.samples.map((s) => s.id), ['01_test']);
});

test('drive: the real DRIVE copy lists 40 photos, all with vessel and FOV masks', { skip: haveDrive ? false : DRIVE_MISSING }, async () => {
  const l = await FORMATS.drive.list(driveDir);
  assert.equal(l.samples.length, 40);
  assert.ok(l.samples.every((s) => s.masks.vessel && s.fov));
});

test('folder: CSV with image, grade, mask columns named like channels; empty cells unknown; missing files are problems', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'img'));
  await writeImage(join(dir, 'img', 'a.png'), photo());
  await writeImage(join(dir, 'img', 'b.png'), photo());
  await writeImage(join(dir, 'img', 'a_v.png'), greyMask(64, 56), 1);
  writeFileSync(join(dir, 'labels.csv'), 'Image,Grade,Vessel,Optic Disc,MA\n"img/a.png",2,img/a_v.png,,\nimg/b.png,,,,\nimg/c.png,1,,,\nimg/b.png,0,img/nope.png,,\n');
  const l = await FORMATS.folder.list(dir);
  assert.deepEqual(l.samples.map((s) => [s.id, s.grade, s.known]), [
    ['img_a', 2, ['vessel']],
    ['img_b', null, []],
  ]);
  assert.equal(l.problems.length, 2);
  assert.match(l.problems[0].error.message, /labels\.csv:4: no file img\/c\.png/);
  assert.match(l.problems[1].error.message, /labels\.csv:5: no vessel mask file img\/nope\.png/);
});
