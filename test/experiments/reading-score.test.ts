// Scoring a reader study against hand-worked numbers: realness means, accuracy with Wilson
// interval and binomial p, sensitivity / specificity, grade agreement, Fleiss' kappa; and the
// answers files' validation (every problem names the file and the image).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wilsonInterval } from '../../src/eval/binomial.js';
import { quadraticWeightedKappa } from '../../src/eval/grading-metrics.js';
import type { KeyItem, ReadingKey } from '../../src/experiments/reading-kit.js';
import { parseAnswers, parseReadingKey, readingTables, runReadingScore, scoreReading } from '../../src/experiments/reading-score.js';

const close = (a: number, b: number, what: string, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

// 4 real (one ungraded), 4 of set A, 2 of set B.
const SPEC: [string, 'real' | 'fake', string, number | null][] = [
  ['r1', 'real', 'Real', 0], ['r2', 'real', 'Real', 1], ['r3', 'real', 'Real', 2], ['r4', 'real', 'Real', null],
  ['a1', 'fake', 'DR-GAN', 0], ['a2', 'fake', 'DR-GAN', 2], ['a3', 'fake', 'DR-GAN', 3], ['a4', 'fake', 'DR-GAN', 4],
  ['b1', 'fake', 'Tub-sGAN', 1], ['b2', 'fake', 'Tub-sGAN', 4],
];

function makeKey(askGrade: boolean): ReadingKey {
  const items: KeyItem[] = SPEC.map(([id, truth, set, grade], i) => ({ id, position: i + 1, truth, set, dir: `/d/${set}`, file: `images/${id}.png`, sourceId: id, grade }));
  return {
    format: 'drgan-reading-key', version: 1, kitId: 'kit-hand', created: 'T', askGrade,
    options: { n: 10, fakeShare: 0.6, seed: 0, size: 64, realSplit: 'all', fakeSplit: 'all', stratifyReal: true, format: 'jpeg', quality: 90 },
    sets: [], warnings: [], items,
  };
}

// Reader X: real calls right on r1, r2, r4 (3/4); DR-GAN fakes spotted 3/4; Tub-sGAN 1/2: 7 of 10.
const X: Record<string, [number, 'real' | 'fake', number]> = {
  r1: [9, 'real', 0], r2: [8, 'real', 1], r3: [6, 'fake', 2], r4: [7, 'real', 3],
  a1: [3, 'fake', 0], a2: [5, 'real', 1], a3: [2, 'fake', 3], a4: [4, 'fake', 4],
  b1: [8, 'real', 1], b2: [1, 'fake', 4],
};
// Reader Y calls everything synthetic except r1, scores everything 5: also 7 of 10.
const Y = Object.fromEntries(SPEC.map(([id]) => [id, [5, id === 'r1' ? 'real' : 'fake', 2]])) as typeof X;

function answersText(reader: string, a: typeof X, o: { kitId?: string; grade?: boolean; drop?: string[]; extra?: object[] } = {}): string {
  const rows: object[] = Object.entries(a).filter(([id]) => !o.drop?.includes(id)).map(([id, [score, call, grade]]) => (o.grade === false ? { id, score, call } : { id, score, call, grade }));
  return JSON.stringify({ format: 'drgan-reading-answers', version: 1, kitId: o.kitId ?? 'kit-hand', reader, started: 'S', exported: 'E', answers: [...rows, ...(o.extra ?? [])] });
}

test('one reader: scores, accuracy, Wilson CI and binomial p, sensitivity/specificity and grade kappa match hand numbers', () => {
  const key = makeKey(true);
  const r = scoreReading(key, [parseAnswers(answersText('X', X), 'x.json', key)]);
  const x = r.readers[0];
  assert.deepEqual(r.fakeSets, ['DR-GAN', 'Tub-sGAN']);
  assert.deepEqual(r.images, { total: 10, real: 4, fake: { 'DR-GAN': 4, 'Tub-sGAN': 2 } });
  // Realness: real 9,8,6,7; DR-GAN 3,5,2,4; Tub-sGAN 8,1 (sample sd).
  close(x.score.Real.mean, 7.5, 'real mean');
  close(x.score.Real.std, Math.sqrt(5 / 3), 'real sd');
  close(x.score['DR-GAN'].mean, 3.5, 'A mean');
  close(x.score['Tub-sGAN'].mean, 4.5, 'B mean');
  close(x.score['Tub-sGAN'].std, Math.sqrt(24.5), 'B sd');
  // 7 of 10: two-sided p = 2 * 176 / 1024 by hand.
  assert.deepEqual([x.accuracy.k, x.accuracy.n], [7, 10]);
  close(x.accuracy.pValue, 0.34375, 'p', 1e-13);
  assert.deepEqual(x.accuracy.ci95, wilsonInterval(7, 10));
  // Table I's per-method accuracy: the real images plus that method's: 6 of 8 and 4 of 6.
  assert.deepEqual([x.accuracyPerSet['DR-GAN'].k, x.accuracyPerSet['DR-GAN'].n], [6, 8]);
  assert.deepEqual([x.accuracyPerSet['Tub-sGAN'].k, x.accuracyPerSet['Tub-sGAN'].n], [4, 6]);
  assert.deepEqual([x.sensitivity.k, x.sensitivity.n, x.specificity.k, x.specificity.n], [4, 6, 3, 4]);
  assert.deepEqual([x.sensitivityPerSet['DR-GAN'].k, x.sensitivityPerSet['Tub-sGAN'].k], [3, 1]);
  close(x.balancedAccuracy, (4 / 6 + 3 / 4) / 2, 'balanced');
  // Grades: the ungraded real image is left out; fakes against their target grade.
  assert.equal(x.grading!.real!.n, 3);
  assert.equal(x.grading!.real!.kappa, 1);
  close(x.grading!.fake!.kappa, quadraticWeightedKappa([0, 2, 3, 4, 1, 4], [0, 1, 3, 4, 1, 4]), 'fake kappa');
  close(x.grading!.fake!.accuracy, 5 / 6, 'fake grade acc');
  assert.equal(x.grading!.fakePerSet['Tub-sGAN']!.accuracy, 1);
  assert.equal(r.interReader, null);
  assert.equal(r.pooled.accuracy.k, 7);
  // Sets are listed in the key's (command-line) order, not the order of the shuffled page.
  const ordered = { ...key, sets: [{ name: 'Real', truth: 'real' }, { name: 'Tub-sGAN', truth: 'fake' }, { name: 'DR-GAN', truth: 'fake' }] } as ReadingKey;
  assert.deepEqual(scoreReading(ordered, [parseAnswers(answersText('X', X), 'x.json', ordered)]).fakeSets, ['Tub-sGAN', 'DR-GAN']);
});

test('two readers: pooled counts add up and Fleiss\' kappa on real/fake is the hand value 1/21', () => {
  const key = makeKey(false);
  const r = scoreReading(key, [parseAnswers(answersText('X', X, { grade: false }), 'x.json', key), parseAnswers(answersText('Y', Y, { grade: false }), 'y.json', key)]);
  assert.equal(r.readers[1].specificity.k, 1);
  assert.equal(r.readers[1].sensitivity.k, 6);
  assert.equal(r.readers[0].grading, null);
  const p = r.pooled;
  assert.equal(p.reader, 'all 2 readers');
  assert.equal(p.ratings, 20);
  assert.deepEqual([p.accuracy.k, p.accuracy.n], [14, 20]);
  // P(X >= 14 | 20, 1/2) = 60460 / 2^20 by hand; two-sided doubles it.
  close(p.accuracy.pValue, 120920 / 1048576, 'pooled p', 1e-13);
  assert.deepEqual([p.accuracyPerSet['DR-GAN'].k, p.accuracyPerSet['DR-GAN'].n], [11, 16]);
  close(p.score.Real.mean, 6.25, 'pooled real mean');
  // Agree on 6 of 10 images (P-bar 0.6); 6 of 20 calls "real" (chance 0.3^2 + 0.7^2 = 0.58): (0.6 - 0.58) / 0.42.
  close(r.interReader!.kappa, 1 / 21, 'fleiss');
  assert.equal(r.interReader!.raters, 2);

  const t = readingTables(r);
  const lines = t.split('\n');
  const table1 = lines.findIndex((l) => l.startsWith('| Method'));
  assert.match(lines[table1], /\| Method\s+\| Score\s+\| Accuracy/);
  // Real: 9,8,6,7,5,5,5,5 -> sd sqrt(17.5 / 7); DR-GAN: 3,5,2,4,5,5,5,5 -> sd sqrt(9.5 / 7).
  assert.match(lines[table1 + 2], /^\| Real\s+\| 6\.25 ± 1\.58\s+\| -/);
  assert.match(lines[table1 + 3], /^\| DR-GAN\s+\| 4\.25 ± 1\.16\s+\| 68\.8% \(\d+\.\d-\d+\.\d; p 0\.\d{3}\)/);
  assert.match(lines[table1 + 4], /^\| Tub-sGAN /);
  assert.match(t, /Fleiss' kappa on real\/synthetic: 0\.048 \(2 readers, 10 images/);
  assert.ok(!t.includes('grades (quadratic'), 'no grade table without grades');
  assert.match(t, /\| all 2 readers /);
});

test('answers files are checked: every problem names the file and the image', () => {
  const key = makeKey(true);
  const parse = (text: string) => () => parseAnswers(text, 'reader-x.json', key);
  assert.throws(parse('{"format": '), /^Error: reader-x\.json: not valid JSON/);
  assert.throws(parse('[]'), /reader-x\.json: expected a JSON object/);
  assert.throws(parse(JSON.stringify({ format: 'drgan-reading-key' })), /reader-x\.json: not a reading answers file/);
  assert.throws(parse(answersText('X', X, { kitId: 'other' })), /reader-x\.json: answers are for kit "other", the key is for kit "kit-hand"/);
  assert.throws(parse(answersText('  ', X)), /reader-x\.json: no reader name/);
  assert.throws(parse(answersText('X', X, { drop: ['a3', 'r2'] })), /reader-x\.json: no answer for 2 of 10 images: "r2" \(image 2\), "a3" \(image 7\)/);
  assert.throws(parse(answersText('X', X, { extra: [{ id: 'zzzzzz', score: 5, call: 'real', grade: 0 }] })), /reader-x\.json: image "zzzzzz": unknown id/);
  assert.throws(parse(answersText('X', X, { extra: [{ id: 'r1', score: 5, call: 'real', grade: 0 }] })), /reader-x\.json: image "r1": answered twice/);
  const bad = { ...X, r1: [11, 'real', 0], a1: [0, 'maybe', 5], b2: [2.5, 'fake', 1] } as unknown as typeof X;
  const err = (() => { try { parse(answersText('X', bad))(); } catch (e) { return (e as Error).message; } return ''; })();
  assert.match(err, /^reader-x\.json: 3 problems:/);
  assert.match(err, /image "r1": score 11 is not an integer in 1\.\.10/);
  assert.match(err, /image "a1": score 0 is not an integer in 1\.\.10; call "maybe" is not "real" or "fake"; grade 5 is not an integer in 0\.\.4/);
  assert.match(err, /image "b2": score 2\.5 is not an integer/);
  // A kit that asked for grades needs them.
  assert.throws(parse(answersText('X', X, { grade: false })), /image "r1": no grade/);
  // One answers file per reader.
  const a = parseAnswers(answersText('Dr X', X), 'a.json', key);
  const b = parseAnswers(answersText('dr x', X), 'b.json', key);
  assert.throws(() => scoreReading(key, [a, b]), /b\.json: reader "dr x" already answered in a\.json/);
  assert.throws(() => scoreReading(key, []), /no answers files/);
});

test('the key is checked too, and runReadingScore writes results.json and tables.md', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'reading-score-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => parseReadingKey(answersText('X', X), 'k.json'), /k\.json: not a reading key .*answers files go to --answers/);
  const broken = makeKey(true);
  (broken.items[2] as unknown as Record<string, unknown>).truth = 'maybe';
  broken.items[3].id = 'r1';
  assert.throws(() => parseReadingKey(JSON.stringify(broken), 'k.json'), /k\.json: 2 problems:\n.*items\[2\] \("r3"\): truth "maybe".*\n.*items\[3\]: id "r1" appears twice/);

  writeFileSync(join(dir, 'key.json'), JSON.stringify(makeKey(true)));
  writeFileSync(join(dir, 'x.json'), answersText('X', X));
  writeFileSync(join(dir, 'y.json'), answersText('Y', Y));
  const r = runReadingScore({ key: join(dir, 'key.json'), answers: [join(dir, 'x.json'), join(dir, 'y.json')], out: join(dir, 'scores') });
  const saved = JSON.parse(readFileSync(join(dir, 'scores', 'results.json'), 'utf8'));
  assert.equal(saved.format, 'drgan-reading-results');
  assert.deepEqual(saved.answers.map((a: { reader: string }) => a.reader), ['X', 'Y']);
  assert.equal(saved.pooled.accuracy.k, 14);
  // NaN (the TPR of a grade nobody had) is written as null, so the file stays valid JSON.
  assert.equal(saved.readers[0].grading.real.tpr[3], null);
  const md = readFileSync(join(dir, 'scores', 'tables.md'), 'utf8');
  assert.ok(md.startsWith('# Human reading (Table I)'));
  assert.ok(md.includes(r.tables));
  assert.match(md, /Readers' grades \(quadratic weighted kappa \/ accuracy\)/);
  assert.throws(() => runReadingScore({ key: join(dir, 'nokey.json'), answers: [] }), /nokey\.json: cannot read \(ENOENT\)/);
});
