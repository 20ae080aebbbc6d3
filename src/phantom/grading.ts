// ICDR grading of a phantom from the lesions actually drawn, and the grade prior.
import type { Rng } from './random.js';

/** What was drawn in one phantom sample: instance counts per lesion type and the severe signs. */
export interface LesionSummary {
  MA: number;
  HE: number;
  EX: number;
  SE: number;
  /** Laser scars (spots). */
  LM: number;
  /** Proliferative regions (new vessels with fibrous tissue). */
  PM: number;
  /** Haemorrhages per quadrant, in anatomy.ts QUADRANTS order. */
  heQuadrants: [number, number, number, number];
  /** Number of quadrants whose main vein is beaded. */
  beadedQuadrants: number;
}

/** Haemorrhages needed in every one of the four quadrants for severe NPDR (ICDR says >20 at
 * 45 degrees; a phantom haemorrhage is several times larger than a typical real one, so fewer). */
export const SEVERE_HE_PER_QUADRANT = 5;
/** Quadrants with venous beading that make NPDR severe (ICDR: 2 or more). */
export const SEVERE_BEADED_QUADRANTS = 2;

/**
 * The phantom's grading rules: the international clinical DR scale (ICDR) applied to the
 * lesions drawn, first rule that matches wins.
 *
 *   4 PDR       - any proliferative membrane / new vessels (PM > 0), or any laser scars
 *                 (LM > 0: panretinal photocoagulation is the treatment of PDR).
 *   3 severe    - no PDR signs, and either at least SEVERE_HE_PER_QUADRANT haemorrhages in
 *                 each of the four quadrants, or venous beading in at least
 *                 SEVERE_BEADED_QUADRANTS quadrants (the "4-2-1 rule"; IRMA is not modelled).
 *   2 moderate  - any haemorrhage, hard exudate or cotton-wool spot (more than MAs only),
 *                 venous beading in one quadrant included, short of severe.
 *   1 mild      - microaneurysms only (MA > 0).
 *   0 none      - no lesion at all.
 */
export function gradeFromLesions(s: LesionSummary): number {
  if (s.PM > 0 || s.LM > 0) return 4;
  const heEverywhere = s.heQuadrants.every((n) => n >= SEVERE_HE_PER_QUADRANT);
  if (heEverywhere || s.beadedQuadrants >= SEVERE_BEADED_QUADRANTS) return 3;
  if (s.HE > 0 || s.EX > 0 || s.SE > 0 || s.beadedQuadrants > 0) return 2;
  if (s.MA > 0) return 1;
  return 0;
}

/** Grade frequencies of EyePACS (Kaggle training set, percent), as quoted by the paper. */
export const EYEPACS_GRADE_FREQUENCIES: readonly number[] = [73.7, 6.9, 15.1, 2.4, 2.2];

/** Parses "73.7,6.9,15.1,2.4,2.2": five non-negative weights, not all zero (any scale). */
export function parseGradeFrequencies(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length !== 5) throw new Error(`grade frequencies need 5 comma-separated numbers (grades 0..4), got ${parts.length} in "${text}"`);
  const values = parts.map((p, g) => {
    const v = Number(p);
    if (p === '' || !Number.isFinite(v) || v < 0) throw new Error(`grade frequency of grade ${g} must be a non-negative number, got "${p}"`);
    return v;
  });
  if (values.every((v) => v === 0)) throw new Error('grade frequencies are all zero');
  return values;
}

export function sampleGrade(rng: Rng, frequencies: readonly number[]): number {
  return rng.weighted(frequencies);
}
