// Table II's fidelity numbers for one synthetic set against a real one: FID (on a named
// feature extractor) and SWD x1e3, each computed per DR grade and averaged over the grades
// present in both sets, as the paper reports them (method.md section 9).
import { FeatureStatsAccumulator, type FeatureStats } from '../eval/frechet.js';
import type { FeatureExtractor } from '../eval/feature-extractors.js';
import { groupByGrade, openImageSet, readImageBatches, type ImageItem } from '../eval/image-sets.js';
import { fidPerGrade, pairGrades } from '../eval/per-grade.js';
import { SwdDescriptorSet, swdFromDescriptors } from '../eval/swd.js';
import type { Split } from '../data/manifest.js';
import { mixSeed, mulberry32, shuffleInPlace } from '../data/rng.js';
import * as torch from '../torch/index.js';

export interface FidelityOptions {
  real: string;
  fake: string;
  realSplit?: Split | 'all';
  /** Both sets are resized to size x size on reading (SWD needs one size). */
  size: number;
  /** null: no FID (no extractor available); SWD is still computed. */
  extractor: FeatureExtractor | null;
  seed?: number;
  batchSize?: number;
}

export interface FidelityResult {
  /** e.g. "FID[grader:resnet18@0123abcd]"; null without an extractor. */
  fidLabel: string | null;
  fidPerGrade: Record<string, number>;
  fidAverage: number | null;
  swdPerGrade: Record<string, number>;
  swdAverage: number;
  /** Grades left out and why (too few images in a set). */
  skipped: Record<string, string>;
}

async function features(items: ImageItem[], ex: FeatureExtractor, size: number, batchSize: number): Promise<FeatureStats> {
  const acc = new FeatureStatsAccumulator(ex.name);
  try {
    for await (const b of readImageBatches(items, { batchSize, size })) {
      const f = ex.features(b.images);
      b.images.dispose();
      acc.add(f);
      f.dispose();
    }
    return acc.stats();
  } finally {
    acc.dispose();
  }
}

async function swdOf(a: ImageItem[], b: ImageItem[], size: number, seed: number, batchSize: number): Promise<number> {
  // Equally many images per set: the larger one is subsampled with a seeded shuffle.
  const n = Math.min(a.length, b.length);
  const take = (items: ImageItem[], k: number) => (items.length === n ? items : shuffleInPlace([...items], mulberry32(mixSeed(seed, k, 0x5d))).slice(0, n));
  const sets: torch.Tensor[][] = [];
  let resolutions: number[] = [];
  try {
    for (const [k, items] of [take(a, 1), take(b, 2)].entries()) {
      const set = new SwdDescriptorSet({ seed });
      try {
        for await (const batch of readImageBatches(items, { batchSize, size })) {
          set.add(batch.images);
          batch.images.dispose();
        }
        resolutions = set.resolutions;
        sets.push(set.finish());
      } finally {
        set.dispose();
      }
      void k;
    }
    return swdFromDescriptors(sets[0], sets[1], resolutions, { seed }).average;
  } finally {
    for (const s of sets) torch.dispose(s);
  }
}

export async function fidelityPerGrade(o: FidelityOptions): Promise<FidelityResult> {
  const seed = o.seed ?? 0;
  const batch = o.batchSize ?? 16;
  const realGroups = groupByGrade(openImageSet(o.real, { split: o.realSplit ?? 'all' }));
  const fakeGroups = groupByGrade(openImageSet(o.fake));
  const out: FidelityResult = { fidLabel: o.extractor ? `FID[${o.extractor.name}]` : null, fidPerGrade: {}, fidAverage: null, swdPerGrade: {}, swdAverage: Number.NaN, skipped: {} };
  const counts = (m: Map<number, ImageItem[]>) => new Map([...m].map(([g, v]) => [g, v.length]));
  // A covariance needs two images; SWD one (the same rule keeps both on the same grades).
  const { used, skipped } = pairGrades(counts(realGroups), counts(fakeGroups), 2);
  out.skipped = skipped;
  if (used.length === 0) throw new Error(`no grade has at least 2 images in both ${o.real} and ${o.fake} (${JSON.stringify(skipped)})`);
  const realStats = new Map<number, FeatureStats>(), fakeStats = new Map<number, FeatureStats>();
  try {
    for (const g of used) {
      const r = realGroups.get(g)!, f = fakeGroups.get(g)!;
      out.swdPerGrade[g] = await swdOf(r, f, o.size, seed, batch);
      if (o.extractor) {
        realStats.set(g, await features(r, o.extractor, o.size, batch));
        fakeStats.set(g, await features(f, o.extractor, o.size, batch));
      }
    }
    if (o.extractor) {
      const fid = fidPerGrade({ byGrade: realStats, counts: counts(realGroups) }, { byGrade: fakeStats, counts: counts(fakeGroups) }, `both ${o.real} and ${o.fake}`);
      out.fidPerGrade = fid.perGrade;
      out.fidAverage = fid.average;
    }
  } finally {
    for (const st of [...realStats.values(), ...fakeStats.values()]) torch.dispose([st.mu, st.sigma]);
  }
  const avg = (m: Record<string, number>) => {
    const v = Object.values(m);
    return v.length ? v.reduce((x, y) => x + y, 0) / v.length : Number.NaN;
  };
  out.swdAverage = avg(out.swdPerGrade);
  return out;
}
