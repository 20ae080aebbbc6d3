// Metrics per DR grade, as the paper reports FID (method.md section 9): a grade counts when
// both sets hold enough images of it; the others are named with the reason, and the result
// is the mean over the grades that count.
import { perGradeAverage, type FeatureStats } from './frechet.js';
import { NUM_GRADES } from './grading-metrics.js';

export interface GradePairing {
  /** Grades with at least `minimum` images in both sets, ascending. */
  used: number[];
  /** Grade -> why it was left out (grades absent from both sets are not listed). */
  skipped: Record<string, string>;
}

/** Which grades both sets have enough images of, from per-grade image counts. */
export function pairGrades(real: ReadonlyMap<number, number>, fake: ReadonlyMap<number, number>, minimum = 2): GradePairing {
  const used: number[] = [];
  const skipped: Record<string, string> = {};
  for (let g = 0; g < NUM_GRADES; g++) {
    const r = real.get(g) ?? 0;
    const k = fake.get(g) ?? 0;
    if (r === 0 && k === 0) continue;
    if (r < minimum || k < minimum) skipped[g] = `needs at least ${minimum} images per set, real has ${r}, fake has ${k}`;
    else used.push(g);
  }
  return { used, skipped };
}

/** One set's feature statistics per grade, with the image count of every grade present. */
export interface GradeFeatureStats {
  /** At least every grade with 2 or more images. */
  byGrade: ReadonlyMap<number, FeatureStats>;
  counts: ReadonlyMap<number, number>;
}

export interface PerGradeFidResult {
  /** Grade -> FID, for the grades with at least 2 images in both sets. */
  perGrade: Record<string, number>;
  /** Mean of perGrade. */
  average: number;
  skipped: Record<string, string>;
}

/** FID per grade (a covariance needs 2 images) and its mean; throws when no grade qualifies. */
export function fidPerGrade(real: GradeFeatureStats, fake: GradeFeatureStats, what = 'both sets'): PerGradeFidResult {
  const { used, skipped } = pairGrades(real.counts, fake.counts, 2);
  if (used.length === 0) throw new Error(`no grade has at least 2 images in ${what} (${JSON.stringify(skipped)})`);
  const stats = (s: GradeFeatureStats, which: string) => used.map((g) => {
    const st = s.byGrade.get(g);
    if (!st) throw new Error(`fidPerGrade: ${which} set counts ${s.counts.get(g)} images of grade ${g} but has no statistics for it`);
    return st;
  });
  const r = perGradeAverage(stats(real, 'real'), stats(fake, 'fake'));
  return { perGrade: Object.fromEntries(used.map((g, i) => [String(g), r.perGrade[i]])), average: r.average, skipped };
}
