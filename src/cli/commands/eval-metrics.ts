// `drgan eval fid|kid|swd`: distances between a real and a fake image set (method.md
// section 9). FID and KID run on a named feature extractor (eval/feature-extractors.ts) and
// every number carries its name; SWD works on the pixels. Sets are plain folders of images or
// prepared data sets (eval/image-sets.ts); with --per-grade the metric is computed per DR
// grade and averaged, as the paper reports FID.
import { existsSync, statSync } from 'node:fs';
import { FeatureStatsAccumulator, frechetDistance, type FeatureStats } from '../../eval/frechet.js';
import { loadFeatureStats, saveFeatureStats } from '../../eval/feature-stats-io.js';
import { metricLabel, openFeatureExtractor, type FeatureExtractor } from '../../eval/feature-extractors.js';
import { groupByGrade, openImageSet, readImageBatches, type ImageItem, type ImageSet } from '../../eval/image-sets.js';
import { kid } from '../../eval/kid.js';
import { fidPerGrade, pairGrades } from '../../eval/per-grade.js';
import { SeededStream } from '../../eval/seeded.js';
import { SwdDescriptorSet, swdFromDescriptors, type SwdResult } from '../../eval/swd.js';
import type { Split } from '../../data/manifest.js';
import * as torch from '../../torch/index.js';
import type { Command } from '../command.js';
import { progressLines } from '../progress-lines.js';
import { UsageError, type FlagSpecs, type FlagValues } from '../flags.js';

type Tensor = torch.Tensor;
type Grades = Record<string, number>;

const SET_FLAGS: FlagSpecs = {
  real: { kind: 'string', required: true, help: 'real images: a folder of images or a prepared data set (manifest.jsonl)' },
  fake: { kind: 'string', required: true, help: 'generated images: a folder of images or a prepared data set' },
  json: { kind: 'bool', default: false, help: 'print one JSON object instead of a table' },
  'per-grade': { kind: 'bool', default: false, help: 'also compute the metric per DR grade (prepared sets with grades) and average over grades' },
  split: { kind: 'choice', choices: ['all', 'train', 'val', 'test'], default: 'all', help: 'prepared sets: which split to read' },
  size: { kind: 'int', min: 16, max: 8192, help: 'resize every image to N x N on reading (needed when a set mixes sizes)' },
  batch: { kind: 'int', default: 16, min: 1, max: 4096, help: 'images per batch' },
  seed: { kind: 'int', default: 0, min: 0, help: 'seed of the random draws (KID subsets, SWD patches and directions, subsampling)' },
};

const EXTRACTOR_FLAGS: FlagSpecs = {
  extractor: { kind: 'string', help: 'inception-fid (the standard FID; needs the weights file) or grader:CKPT (a grader file; labelled, not the standard FID)' },
  'inception-weights': { kind: 'string', help: 'pt_inception-2015-12-05-6726825d.pth (else $DRGAN_INCEPTION_WEIGHTS)' },
  device: { kind: 'string', default: 'cpu', help: 'where the feature network runs (cpu, cuda, cuda:1)' },
};

function openSets(f: FlagValues, realToo = true): { real?: ImageSet; fake: ImageSet } {
  const split = f.split as Split | 'all';
  return { real: realToo ? openImageSet(f.real as string, { split }) : undefined, fake: openImageSet(f.fake as string, { split }) };
}

async function openExtractor(f: FlagValues): Promise<FeatureExtractor> {
  return openFeatureExtractor(f.extractor as string | undefined, { inceptionWeights: f['inception-weights'] as string | undefined, device: f.device as torch.Device });
}

/** Features of a set's images; `visit` gets each batch's features [B, D] with its items. */
async function forEachFeatureBatch(items: readonly ImageItem[], ex: FeatureExtractor, f: FlagValues, label: string, visit: (feats: Tensor, items: ImageItem[]) => void): Promise<void> {
  const report = progressLines(`${label} features`);
  let done = 0;
  for await (const b of readImageBatches(items, { batchSize: f.batch as number, size: f.size as number | undefined, label })) {
    const feats = ex.features(b.images);
    b.images.dispose();
    try {
      // NaN/Inf would surface much later as an eigensolver failure; name the images instead.
      if (!torch.tidy(() => feats.isfinite().all().item())) {
        throw new Error(`${label}: ${ex.name} gave NaN or infinite features for ${b.items[0].path} .. ${b.items[b.items.length - 1].path} (a broken weights file?)`);
      }
      visit(feats, b.items);
    } finally {
      feats.dispose();
    }
    report((done += b.items.length), items.length);
  }
}

interface SetStats {
  all: FeatureStats;
  /** Per grade (only grades with at least 2 images). */
  byGrade: Map<number, FeatureStats>;
  counts: Map<number, number>;
}

async function setStats(set: ImageSet, ex: FeatureExtractor, f: FlagValues, label: string, perGrade: boolean): Promise<SetStats> {
  const all = new FeatureStatsAccumulator(ex.name);
  const grades = perGrade ? groupByGrade(set) : new Map<number, ImageItem[]>();
  const accs = new Map([...grades.keys()].map((g) => [g, new FeatureStatsAccumulator(ex.name)]));
  try {
    await forEachFeatureBatch(set.items, ex, f, label, (feats, items) => {
      all.add(feats);
      for (const [g, acc] of accs) {
        const rows = items.map((it, i) => (it.grade === g ? i : -1)).filter((i) => i >= 0);
        if (rows.length) torch.tidy(() => acc.add(feats.indexSelect(0, torch.tensor(rows, { dtype: 'int64' }))));
      }
    });
    const byGrade = new Map<number, FeatureStats>();
    const counts = new Map<number, number>();
    for (const [g, acc] of accs) {
      counts.set(g, acc.n);
      if (acc.n >= 2) byGrade.set(g, acc.stats());
    }
    return { all: all.stats(), byGrade, counts };
  } finally {
    all.dispose();
    for (const acc of accs.values()) acc.dispose();
  }
}

/** Per-grade statistics files sit beside the overall one: real.safetensors -> real.grade3.safetensors. */
export function gradeStatsPath(path: string, grade: number): string {
  return path.endsWith('.safetensors') ? `${path.slice(0, -'.safetensors'.length)}.grade${grade}.safetensors` : `${path}.grade${grade}`;
}

function loadRealStats(path: string, ex: FeatureExtractor, perGrade: boolean): SetStats {
  const all = loadFeatureStats(path, { extractor: ex.name });
  const byGrade = new Map<number, FeatureStats>();
  const counts = new Map<number, number>();
  if (perGrade) {
    for (let g = 0; g < 5; g++) {
      const p = gradeStatsPath(path, g);
      if (!existsSync(p)) continue;
      const s = loadFeatureStats(p, { extractor: ex.name });
      byGrade.set(g, s);
      counts.set(g, s.n);
    }
    if (byGrade.size === 0) throw new Error(`${path}: --per-grade needs per-grade statistics beside it (${gradeStatsPath(path, 0)} ...); write them with --save-stats and --per-grade`);
  }
  return { all, byGrade, counts };
}

function saveRealStats(path: string, s: SetStats): string[] {
  saveFeatureStats(path, s.all);
  const written = [path];
  for (const [g, st] of s.byGrade) {
    saveFeatureStats(gradeStatsPath(path, g), st);
    written.push(gradeStatsPath(path, g));
  }
  return written;
}

function disposeStats(s: SetStats | undefined): void {
  if (!s) return;
  torch.dispose([s.all.mu, s.all.sigma]);
  for (const st of s.byGrade.values()) torch.dispose([st.mu, st.sigma]);
}

const isStatsFile = (path: string): boolean => existsSync(path) && statSync(path).isFile();

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function fmt(v: number, digits = 4): string {
  return v.toFixed(digits);
}

function printNotes(notes: string[]): void {
  for (const n of notes) console.error(`note: ${n}`);
}

export const evalFidCommand: Command = {
  name: 'eval fid',
  summary: 'Fréchet Inception Distance between real and generated images (labelled with its feature extractor)',
  usage: 'drgan eval fid --real DIR|STATS --fake DIR [--per-grade] [--save-stats FILE] [--extractor inception-fid|grader:CKPT] [--inception-weights PATH] [--json]',
  flags: {
    ...SET_FLAGS,
    ...EXTRACTOR_FLAGS,
    real: { kind: 'string', required: true, help: 'real images (folder or prepared set), or a statistics file written by --save-stats' },
    'save-stats': { kind: 'string', help: 'write the real set\'s statistics to FILE (safetensors; per grade beside it with --per-grade), to pass later as --real' },
  },
  async run(f) {
    const realPath = f.real as string;
    const perGrade = f['per-grade'] as boolean;
    const fromStats = isStatsFile(realPath);
    if (fromStats && f['save-stats'] !== undefined) throw new UsageError('drgan eval fid: --save-stats saves the statistics of a real image set; --real is already a statistics file');
    const { real: realSet, fake } = openSets(f, !fromStats);
    if (perGrade) for (const set of [realSet, fake]) if (set) groupByGrade(set); // fail before loading a network
    const ex = await openExtractor(f);
    let real: SetStats | undefined;
    let gen: SetStats | undefined;
    try {
      printNotes(ex.notes);
      real = fromStats ? loadRealStats(realPath, ex, perGrade) : await setStats(realSet!, ex, f, 'real', perGrade);
      const saved = f['save-stats'] !== undefined ? saveRealStats(f['save-stats'] as string, real) : [];
      gen = await setStats(fake, ex, f, 'fake', perGrade);
      const label = metricLabel('FID', ex.name);
      const out: Record<string, unknown> = { metric: 'FID', label, fid: frechetDistance(real.all, gen.all), extractor: ex.name, standard: ex.standard, n_real: real.all.n, n_fake: gen.all.n };
      if (perGrade) {
        const { perGrade: per, average, skipped } = fidPerGrade(real, gen);
        const n: Record<string, { real: number; fake: number }> = {};
        for (const g of Object.keys(per)) n[g] = { real: real.counts.get(Number(g))!, fake: gen.counts.get(Number(g))! };
        Object.assign(out, { per_grade: per, n_per_grade: n, average_over_grades: average });
        if (Object.keys(skipped).length) out.grades_skipped = skipped;
      }
      if (saved.length) out.saved_stats = saved;
      if (f.json) {
        console.log(JSON.stringify(out));
        return 0;
      }
      const lines = [`${label} = ${fmt(out.fid as number)}   (${out.n_real} real, ${out.n_fake} fake)`];
      if (!ex.standard) lines.push(`  not the standard FID: features of ${ex.name}`);
      if (out.per_grade) {
        lines.push('', 'grade   real   fake        FID');
        for (const [g, v] of Object.entries(out.per_grade as Grades)) {
          const c = (out.n_per_grade as Record<string, { real: number; fake: number }>)[g];
          lines.push(`${g.padStart(5)}${String(c.real).padStart(7)}${String(c.fake).padStart(7)}${fmt(v).padStart(11)}`);
        }
        lines.push(`average over grades: ${fmt(out.average_over_grades as number)}`);
        for (const [g, why] of Object.entries((out.grades_skipped ?? {}) as Record<string, string>)) lines.push(`grade ${g} skipped: ${why}`);
      }
      if (saved.length) lines.push(`real statistics saved: ${saved.join(', ')}`);
      console.log(lines.join('\n'));
      return 0;
    } finally {
      disposeStats(real);
      disposeStats(gen);
      ex.dispose();
    }
  },
};

export const evalKidCommand: Command = {
  name: 'eval kid',
  summary: 'Kernel Inception Distance (unbiased MMD^2, cubic kernel) between real and generated images',
  usage: 'drgan eval kid --real DIR --fake DIR [--per-grade] [--extractor inception-fid|grader:CKPT] [--inception-weights PATH] [--subsets N] [--subset-size M] [--json]',
  flags: {
    ...SET_FLAGS,
    ...EXTRACTOR_FLAGS,
    subsets: { kind: 'int', default: 100, min: 1, max: 100000, help: 'random subset pairs' },
    'subset-size': { kind: 'int', default: 1000, min: 2, help: 'images per subset (clamped to the smaller set)' },
  },
  async run(f) {
    if (isStatsFile(f.real as string)) throw new UsageError('drgan eval kid: KID needs the real images\' features, not statistics; give --real a folder or data set');
    const { real, fake } = openSets(f);
    const perGrade = f['per-grade'] as boolean;
    const realGroups = perGrade ? groupByGrade(real!) : undefined;
    const fakeGroups = perGrade ? groupByGrade(fake) : undefined;
    const ex = await openExtractor(f);
    const feats: Record<'real' | 'fake', { t: Tensor; grades: (number | null)[] }> = {} as never;
    try {
      printNotes(ex.notes);
      for (const [which, set] of [['real', real!], ['fake', fake]] as const) {
        const parts: Tensor[] = [];
        const grades: (number | null)[] = [];
        await forEachFeatureBatch(set.items, ex, f, which, (x, items) => {
          parts.push(torch.keep(x.clone()));
          grades.push(...items.map((i) => i.grade));
        });
        feats[which] = { t: torch.keep(torch.cat(parts, 0)), grades };
        torch.dispose(parts);
      }
      const opts = { subsets: f.subsets as number, subsetSize: f['subset-size'] as number, seed: f.seed as number };
      const all = kid(feats.real.t, feats.fake.t, opts);
      const label = metricLabel('KID', ex.name);
      const out: Record<string, unknown> = { metric: 'KID', label, kid_mean: all.mean, kid_std: all.std, extractor: ex.name, standard: ex.standard, n_real: real!.items.length, n_fake: fake.items.length, subsets: opts.subsets, subset_size: all.subsetSize };
      if (realGroups && fakeGroups) {
        const count = (m: Map<number, ImageItem[]>) => new Map([...m].map(([g, v]) => [g, v.length]));
        const { used, skipped } = pairGrades(count(realGroups), count(fakeGroups), 2);
        if (used.length === 0) throw new Error(`no grade has at least 2 images in both sets (${JSON.stringify(skipped)})`);
        const per: Record<string, { kid_mean: number; kid_std: number; subset_size: number }> = {};
        for (const g of used) {
          per[g] = torch.tidy(() => {
            const rows = (gr: (number | null)[]) => torch.tensor(gr.flatMap((v, i) => (v === g ? [i] : [])), { dtype: 'int64' });
            const r = kid(feats.real.t.indexSelect(0, rows(feats.real.grades)), feats.fake.t.indexSelect(0, rows(feats.fake.grades)), opts);
            return { kid_mean: r.mean, kid_std: r.std, subset_size: r.subsetSize };
          });
        }
        Object.assign(out, { per_grade: per, average_over_grades: mean(Object.values(per).map((v) => v.kid_mean)) });
        if (Object.keys(skipped).length) out.grades_skipped = skipped;
      }
      if (f.json) {
        console.log(JSON.stringify(out));
        return 0;
      }
      const lines = [`${label} = ${fmt(all.mean, 6)} ± ${fmt(all.std, 6)}   (${out.n_real} real, ${out.n_fake} fake; ${opts.subsets} subsets of ${all.subsetSize})`];
      if (out.per_grade) {
        lines.push('', 'grade         KID        std');
        for (const [g, v] of Object.entries(out.per_grade as Record<string, { kid_mean: number; kid_std: number }>)) lines.push(`${g.padStart(5)}${fmt(v.kid_mean, 6).padStart(12)}${fmt(v.kid_std, 6).padStart(11)}`);
        lines.push(`average over grades: ${fmt(out.average_over_grades as number, 6)}`);
      }
      console.log(lines.join('\n'));
      return 0;
    } finally {
      if (feats.real) feats.real.t.dispose();
      if (feats.fake) feats.fake.t.dispose();
      ex.dispose();
    }
  },
};

/**
 * SWD compares equally many images; the larger set is subsampled to the smaller one's size
 * with a seeded permutation (reported as n_used), never truncated by file order.
 */
function equalise(real: ImageItem[], fake: ImageItem[], seed: number): [ImageItem[], ImageItem[]] {
  const n = Math.min(real.length, fake.length);
  const pick = (items: ImageItem[]): ImageItem[] => {
    if (items.length === n) return items;
    const stream = new SeededStream(seed * 7919 + 5);
    try {
      const perm = stream.draw(() => torch.randperm(items.length));
      const idx = (perm.narrow(0, 0, n).toArray() as number[]).map(Number).sort((a, b) => a - b);
      perm.dispose();
      return idx.map((i) => items[i]);
    } finally {
      stream.dispose();
    }
  };
  return [pick(real), pick(fake)];
}

async function swdOfItems(real: ImageItem[], fake: ImageItem[], f: FlagValues, what: string): Promise<SwdResult & { n_used: number }> {
  const [a, b] = equalise(real, fake, f.seed as number);
  const opts = { seed: f.seed as number };
  const sets: Tensor[][] = [];
  let resolutions: number[] = [];
  let size: string | undefined;
  try {
    for (const [which, items] of [['real', a], ['fake', b]] as const) {
      const set = new SwdDescriptorSet(opts);
      const report = progressLines(`${what}${which} patches`);
      let done = 0;
      try {
        for await (const batch of readImageBatches(items, { batchSize: f.batch as number, size: f.size as number | undefined, label: which })) {
          const s = `${batch.images.shape[2]}x${batch.images.shape[3]}`;
          if (size !== undefined && s !== size) throw new Error(`SWD needs images of one size in both sets: real images are ${size}, fake images ${s}; pass --size N`);
          size = s;
          try {
            set.add(batch.images);
          } finally {
            batch.images.dispose();
          }
          report((done += batch.items.length), items.length);
        }
        resolutions = set.resolutions;
        sets.push(set.finish());
      } finally {
        set.dispose();
      }
    }
    return { ...swdFromDescriptors(sets[0], sets[1], resolutions, opts), n_used: a.length };
  } finally {
    for (const s of sets) torch.dispose(s);
  }
}

function swdJson(r: SwdResult): { levels: { resolution: number; swd: number }[]; avg: number } {
  return { levels: r.resolutions.map((resolution, i) => ({ resolution, swd: r.perLevel[i] })), avg: r.average };
}

export const evalSwdCommand: Command = {
  name: 'eval swd',
  summary: 'sliced Wasserstein distance (x1e3) on Laplacian-pyramid patches between real and generated images',
  usage: 'drgan eval swd --real DIR --fake DIR [--per-grade] [--size N] [--seed K] [--json]',
  flags: { ...SET_FLAGS },
  async run(f) {
    const { real, fake } = openSets(f);
    const perGrade = f['per-grade'] as boolean;
    const realGroups = perGrade ? groupByGrade(real!) : undefined;
    const fakeGroups = perGrade ? groupByGrade(fake) : undefined;
    const all = await swdOfItems(real!.items, fake.items, f, '');
    const out: Record<string, unknown> = { metric: 'SWD', ...swdJson(all), n_real: real!.items.length, n_fake: fake.items.length, n_used: all.n_used };
    if (realGroups && fakeGroups) {
      const count = (m: Map<number, ImageItem[]>) => new Map([...m].map(([g, v]) => [g, v.length]));
      const { used, skipped } = pairGrades(count(realGroups), count(fakeGroups), 1);
      if (used.length === 0) throw new Error(`no grade has images in both sets (${JSON.stringify(skipped)})`);
      const per: Record<string, ReturnType<typeof swdJson> & { n_used: number }> = {};
      for (const g of used) {
        const r = await swdOfItems(realGroups.get(g)!, fakeGroups.get(g)!, f, `grade ${g} `);
        per[g] = { ...swdJson(r), n_used: r.n_used };
      }
      Object.assign(out, { per_grade: per, average_over_grades: mean(Object.values(per).map((v) => v.avg)) });
      if (Object.keys(skipped).length) out.grades_skipped = skipped;
    }
    if (f.json) {
      console.log(JSON.stringify(out));
      return 0;
    }
    const lines = [`SWD x1e3 (${out.n_used} images per set of ${out.n_real} real, ${out.n_fake} fake)`, 'resolution      SWD'];
    for (const l of (out.levels as { resolution: number; swd: number }[])) lines.push(`${String(l.resolution).padStart(10)}${fmt(l.swd, 3).padStart(9)}`);
    lines.push(`average   ${fmt(all.average, 3).padStart(9)}`);
    if (out.per_grade) {
      lines.push('', 'grade  images  SWD avg');
      for (const [g, v] of Object.entries(out.per_grade as Record<string, { avg: number; n_used: number }>)) lines.push(`${g.padStart(5)}${String(v.n_used).padStart(8)}${fmt(v.avg, 3).padStart(9)}`);
      lines.push(`average over grades: ${fmt(out.average_over_grades as number, 3)}`);
    }
    console.log(lines.join('\n'));
    return 0;
  },
};
