import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findColumn, parseCsv } from '../../src/data/csv.js';
import { sharedData } from './helpers.js';

test('csv: quotes, doubled quotes, embedded commas and newlines', () => {
  const t = parseCsv('image,note\n"a,b","say ""hi"""\n"multi\nline",x\n');
  assert.deepEqual(t.header, ['image', 'note']);
  assert.deepEqual(t.rows, [
    ['a,b', 'say "hi"'],
    ['multi\nline', 'x'],
  ]);
  assert.deepEqual(t.lines, [2, 3]);
});

test('csv: BOM, CRLF, blank and all-empty lines, header names with spaces', () => {
  const t = parseCsv('\ufeffImage name , Retinopathy grade,,\r\nIDRiD_001,3,,\r\n\r\n,,,\r\nIDRiD_002, 2 ,,\r\n');
  assert.equal(findColumn(t, 'image name'), 0);
  assert.equal(findColumn(t, 'Retinopathy_grade'), 1);
  assert.equal(findColumn(t, 'level'), -1);
  assert.deepEqual(t.rows.map((r) => [r[0], r[1]]), [
    ['IDRiD_001', '3'],
    ['IDRiD_002', '2'],
  ]);
  assert.deepEqual(t.lines, [2, 5]);
});

test('csv: no trailing newline and a lone CR line ending', () => {
  const t = parseCsv('image,level\r10_left,0\r10_right,4');
  assert.deepEqual(t.rows, [
    ['10_left', '0'],
    ['10_right', '4'],
  ]);
});

test('csv: the real IDRiD grading CSV (CRLF, trailing empty columns) reads 413 rows', (t) => {
  const p = join(sharedData, 'IDRiD', 'grading_labels', 'a. IDRiD_Disease Grading_Training Labels.csv');
  if (!existsSync(p)) return t.skip(`not found: ${p}`);
  const table = parseCsv(readFileSync(p, 'utf8'));
  const g = findColumn(table, 'Retinopathy grade');
  assert.equal(table.rows.length, 413);
  const counts = [0, 0, 0, 0, 0];
  for (const r of table.rows) counts[Number(r[g])]++;
  assert.deepEqual(counts, [134, 20, 136, 74, 49]); // as stated in its SOURCE.txt
});
