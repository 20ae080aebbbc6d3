import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradeFromLesions, parseGradeFrequencies, SEVERE_HE_PER_QUADRANT, type LesionSummary } from '../../src/phantom/grading.js';
import { planPhantom } from '../../src/phantom/render.js';

const none: LesionSummary = { MA: 0, HE: 0, EX: 0, SE: 0, LM: 0, PM: 0, heQuadrants: [0, 0, 0, 0], beadedQuadrants: 0 };
const S = SEVERE_HE_PER_QUADRANT;

test('gradeFromLesions applies the documented ICDR rules', () => {
  assert.equal(gradeFromLesions(none), 0);
  assert.equal(gradeFromLesions({ ...none, MA: 3 }), 1);
  assert.equal(gradeFromLesions({ ...none, MA: 3, EX: 1 }), 2);
  assert.equal(gradeFromLesions({ ...none, SE: 1 }), 2);
  assert.equal(gradeFromLesions({ ...none, beadedQuadrants: 1 }), 2);
  // Many haemorrhages, but one quadrant short: still moderate.
  assert.equal(gradeFromLesions({ ...none, HE: 40, heQuadrants: [S + 9, S + 9, S + 9, S - 1] }), 2);
  assert.equal(gradeFromLesions({ ...none, HE: 4 * S, heQuadrants: [S, S, S, S] }), 3);
  assert.equal(gradeFromLesions({ ...none, HE: 1, heQuadrants: [1, 0, 0, 0], beadedQuadrants: 2 }), 3);
  assert.equal(gradeFromLesions({ ...none, PM: 1 }), 4);
  assert.equal(gradeFromLesions({ ...none, LM: 50, HE: 4 * S, heQuadrants: [S, S, S, S] }), 4);
});

test('the recorded grade equals the rules applied to the drawn lesions, for every grade', () => {
  for (let grade = 0; grade <= 4; grade++) {
    for (let i = 0; i < 40; i++) {
      const p = planPhantom(11, i, { grade });
      assert.equal(p.grade, grade);
      assert.equal(gradeFromLesions(p.summary), grade, `seed 11 index ${i} grade ${grade}: ${JSON.stringify(p.summary)}`);
      const s = p.summary;
      const counted = { MA: 0, HE: 0, EX: 0, SE: 0, LM: 0, PM: 0 };
      for (const l of p.lesions) counted[l.kind]++;
      assert.deepEqual(counted, { MA: s.MA, HE: s.HE, EX: s.EX, SE: s.SE, LM: s.LM, PM: s.PM });
      assert.equal(s.heQuadrants.reduce((a, b) => a + b, 0), s.HE);
      if (grade === 0) assert.equal(p.lesions.length, 0);
      if (grade === 1) assert.ok(s.MA > 0 && p.lesions.every((l) => l.kind === 'MA'));
      if (grade <= 3) assert.equal(s.PM + s.LM, 0);
      if (grade === 4) assert.ok(s.PM > 0 || s.LM > 0);
    }
  }
});

test('sampled grades follow the configured frequencies', () => {
  const n = 600;
  const check = (freqs: number[] | undefined, expected: number[], seed: number) => {
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      const p = planPhantom(seed, i, freqs ? { gradeFrequencies: freqs } : {});
      assert.equal(gradeFromLesions(p.summary), p.grade);
      counts[p.grade]++;
    }
    const total = expected.reduce((a, b) => a + b, 0);
    counts.forEach((c, g) => {
      const p = expected[g] / total;
      const sd = Math.sqrt((p * (1 - p)) / n);
      assert.ok(Math.abs(c / n - p) <= 4 * sd + 0.005, `grade ${g}: ${c}/${n} vs expected ${p.toFixed(3)} (counts ${counts})`);
    });
  };
  check(undefined, [73.7, 6.9, 15.1, 2.4, 2.2], 5);
  check([0, 1, 1, 0, 2], [0, 1, 1, 0, 2], 6);
});

test('parseGradeFrequencies accepts five weights and rejects anything else clearly', () => {
  assert.deepEqual(parseGradeFrequencies('73.7, 6.9,15.1,2.4,2.2'), [73.7, 6.9, 15.1, 2.4, 2.2]);
  assert.throws(() => parseGradeFrequencies('1,2,3'), /5 comma-separated numbers/);
  assert.throws(() => parseGradeFrequencies('1,2,x,4,5'), /grade 2 .*"x"/);
  assert.throws(() => parseGradeFrequencies('1,-2,3,4,5'), /grade 1/);
  assert.throws(() => parseGradeFrequencies('0,0,0,0,0'), /all zero/);
});
