// The augmentation experiment (method.md section 9; the paper's Tables III and V): the SAME
// grader configuration is trained on the real training split (Tr-Real) and on that split
// plus synthetic images (Tr-Real&Fake), and both are scored on the real test split
// (Te-Real). The real-trained grader also grades the fake set (Tr-Real/Te-Fake): its
// per-grade accuracy there says how well the synthesis obeys the grade it was asked for.
// Every setting is repeated over several seeds and reported as mean and sample std.
//
// Files in `out`:
//   views/real/, views/mixed-seed<S>/   manifests only (paths point into the real and fake
//                                       sets): the training sets each grader sees
//   runs/seed<S>/tr-real/, tr-mixed/    grader training folders (trainGrader's files)
//   results.json                        options, counts, per-run reports, summaries
//   tables.md                           Tables III and V in Markdown (readable as text)
//   plots/*.png                         accuracy/kappa and per-grade TPR bar charts
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { NUM_GRADES, readManifest, writeDatasetInfo, writeManifest, type ManifestEntry, type Split } from '../data/manifest.js';
import { mixSeed, mulberry32, shuffleInPlace } from '../data/rng.js';
import { gradingReport, type GradingReport } from '../eval/grading-metrics.js';
import { Grader, inferDataset, type GraderConfig } from '../models/grader.js';
import { DEFAULT_TRAINING, trainGrader, type GraderTrainingOptions } from '../train/grader-training.js';
import { barChart, encodePng } from '../report/plot.js';
import { formatTableIII, formatTableV, jsonSafe, summarizeReports, SETTINGS, type AugmentRow, type GradingSummary } from './summary.js';

/** Training settings shared by every grader of the experiment (data, out and seed are set per run). */
export type GraderTrainingSettings = Omit<GraderTrainingOptions, 'data' | 'out' | 'grader' | 'seed' | 'log' | 'resume' | 'stopAfter'>;

export interface AugmentOptions {
  /** Prepared real data set: train split trains, val split selects the best epoch, test split scores. */
  real: string;
  /** Prepared synthetic data set (drgan synth): graded images, grade = the target grade. */
  fake: string;
  out: string;
  /**
   * Fake images added per grade: one count for every grade or five counts. Left out together
   * with `mix`: every graded fake image is used.
   */
  fakePerGrade?: number[];
  /** Fake images per grade as a multiple of that grade's real training count (one or five ratios). */
  mix?: number[];
  /**
   * A separate prepared real set to score on (Te-Real) instead of `real`'s test split, e.g. a
   * larger or balanced test set, or another clinic's photos; `testSplit` picks its split.
   */
  test?: string;
  /** Split of `test` that is scored (default all of it). */
  testSplit?: Split | 'all';
  /** Which split of the fake set is used (for training and for Te-Fake); default all. */
  fakeSplit?: Split | 'all';
  /** One grader per seed and setting; the seed drives initialisation, batch order, augmentation and the fake subset. */
  seeds: number[];
  grader: Partial<GraderConfig>;
  training?: Partial<GraderTrainingSettings>;
  /** Reuse Tr-Real graders from this folder (keyed by their settings) instead of out/runs; the ablation shares one. */
  baselineDir?: string;
  /** Row label in the tables (default: the backbone). */
  label?: string;
  /** Write plots (default true). */
  plots?: boolean;
  log?: (line: string) => void;
}

export interface RunResult {
  seed: number;
  /** Fake images added to the training split, per grade. */
  fakeUsed: number[];
  realReal: GradingReport;
  realFake: GradingReport;
  mixedReal: GradingReport;
  /** Which grader file was scored (best val epoch, or the last epoch without val). */
  graders: { real: string; mixed: string };
  seconds: { real: number; mixed: number };
}

export interface AugmentResults {
  experiment: 'augment';
  created: string;
  label: string;
  real: { dir: string; counts: Record<Split, number[]> };
  /** Where Te-Real came from: `real`'s test split, or a separate set. */
  test: { dir: string; split: Split | 'all'; counts: number[] };
  fake: { dir: string; split: Split | 'all'; counts: number[] };
  grader: GraderConfig;
  training: GraderTrainingSettings;
  selection: { fakePerGrade: number[] | null; mix: number[] | null };
  seeds: number[];
  runs: RunResult[];
  summary: { realFake: GradingSummary; realReal: GradingSummary; mixedReal: GradingSummary };
  /** Mean over seeds of (Tr-Real&Fake - Tr-Real) on Te-Real, paired by seed. */
  gain: { accuracy: number; kappa: number; tpr: number[] };
  warnings: string[];
  seconds: number;
}

const G = NUM_GRADES;

/** One value or one per grade, checked. */
export function perGradeList(values: readonly number[], what: string, integer: boolean): number[] {
  if (values.length !== 1 && values.length !== G) throw new Error(`${what}: give one value or ${G} (one per grade 0..4), got ${values.length}`);
  for (const v of values) {
    if (!Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) throw new Error(`${what}: ${v} is not a ${integer ? 'non-negative integer' : 'non-negative number'}`);
  }
  return values.length === 1 ? new Array<number>(G).fill(values[0]) : [...values];
}

export function gradeCounts(entries: readonly ManifestEntry[]): number[] {
  const c = new Array<number>(G).fill(0);
  for (const e of entries) if (e.grade !== null) c[e.grade]++;
  return c;
}

/** How many fake images of each grade are wanted. */
export function fakeTargets(o: Pick<AugmentOptions, 'fakePerGrade' | 'mix'>, realTrain: readonly number[], available: readonly number[]): number[] {
  if (o.fakePerGrade && o.mix) throw new Error('augment: give either fakePerGrade (--fake-per-grade) or mix (--mix), not both');
  if (o.fakePerGrade) return perGradeList(o.fakePerGrade, 'fake-per-grade', true);
  if (o.mix) return perGradeList(o.mix, 'mix', false).map((r, g) => Math.round(r * realTrain[g]));
  return [...available];
}

/** A seeded subset of the fake entries with the wanted count per grade (capped by what exists). */
export function pickFake(entries: readonly ManifestEntry[], wanted: readonly number[], seed: number): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (let g = 0; g < G; g++) {
    const pool = entries.filter((e) => e.grade === g);
    out.push(...shuffleInPlace([...pool], mulberry32(mixSeed(seed, g, 0xfa4e))).slice(0, wanted[g]));
  }
  return out;
}

/**
 * Entries of `srcDir` re-pointed from `viewDir` (relative paths), without masks (a grader
 * reads only the photo and FOV, and this keeps loading cheap).
 */
function viewEntries(srcDir: string, viewDir: string, entries: readonly ManifestEntry[], o: { idPrefix?: string; split?: Split } = {}): ManifestEntry[] {
  const rel = (p: string) => relative(viewDir, resolve(srcDir, p));
  return entries.map((e) => ({ ...e, id: (o.idPrefix ?? '') + e.id, image: rel(e.image), fov: rel(e.fov), masks: {}, known: [], predicted: [], split: o.split ?? e.split }));
}

function writeView(dir: string, entries: ManifestEntry[], format: string, extra: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  writeManifest(dir, entries);
  writeDatasetInfo(dir, { format, size: entries[0]?.size ?? 0, channels: [], count: entries.length, gradeCounts: gradeCounts(entries), created: new Date().toISOString(), ...extra });
}

async function score(graderPath: string, dir: string, split: Split | 'all'): Promise<GradingReport> {
  const grader = Grader.load(graderPath);
  try {
    const r = await inferDataset(grader, { dir, split, batchSize: 32 });
    const keep = r.truth.map((t, i) => (t >= 0 ? i : -1)).filter((i) => i >= 0);
    if (keep.length === 0) throw new Error(`${dir}: split "${split}" has no graded samples to score`);
    return gradingReport(keep.map((i) => r.truth[i]), keep.map((i) => r.pred[i]), grader.config.numClasses);
  } finally {
    grader.dispose();
  }
}

/** Trains one grader into `out` (or finds it there, trained with the same settings) and returns the file to score. */
async function trainOrReuse(key: unknown, o: GraderTrainingOptions): Promise<{ path: string; seconds: number; reused: boolean }> {
  const keyPath = join(o.out, 'experiment-key.json');
  const keyText = JSON.stringify(key);
  const pick = () => (existsSync(join(o.out, 'best.safetensors')) ? join(o.out, 'best.safetensors') : join(o.out, 'latest.safetensors'));
  if (existsSync(keyPath) && readFileSync(keyPath, 'utf8') === keyText && existsSync(join(o.out, 'latest.safetensors'))) {
    return { path: pick(), seconds: 0, reused: true };
  }
  if (existsSync(join(o.out, 'latest.safetensors'))) throw new Error(`${o.out} holds a grader trained with other settings (or by something else); remove it or choose another --out`);
  const t0 = Date.now();
  await trainGrader(o);
  writeFileSync(keyPath, keyText);
  return { path: pick(), seconds: (Date.now() - t0) / 1000, reused: false };
}

export async function runAugmentExperiment(o: AugmentOptions): Promise<AugmentResults> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  if (o.seeds.length === 0) throw new Error('augment: at least one seed is needed');
  if (new Set(o.seeds).size !== o.seeds.length) throw new Error(`augment: seeds must differ, got ${o.seeds.join(', ')}`);
  const fakeSplit = o.fakeSplit ?? 'all';
  const training: GraderTrainingSettings = { ...stripRunFields(DEFAULT_TRAINING), ...(o.training ?? {}) };
  const graderCfg = new Grader(o.grader).config; // checked and completed with defaults
  const label = o.label ?? graderCfg.backbone;
  const warnings: string[] = [];
  const warn = (m: string) => { warnings.push(m); log(`warning: ${m}`); };

  // ---- data: the real splits, and the graded fake images
  const real = readManifest(o.real);
  const bySplit = (s: Split) => real.filter((e) => e.split === s && e.grade !== null);
  const counts = { train: gradeCounts(bySplit('train')), val: gradeCounts(bySplit('val')), test: gradeCounts(bySplit('test')) };
  if (bySplit('train').length === 0) throw new Error(`${o.real}: the train split has no graded samples (Tr-Real needs them)`);
  const testDir = o.test ?? o.real;
  const testSplit: Split | 'all' = o.test ? (o.testSplit ?? 'all') : 'test';
  const testEntries = (o.test ? readManifest(o.test) : real).filter((e) => (testSplit === 'all' || e.split === testSplit) && e.grade !== null);
  if (testEntries.length === 0) throw new Error(`${testDir}: the ${testSplit === 'all' ? 'set' : `${testSplit} split`} has no graded samples (Te-Real needs them)`);
  if (bySplit('val').length === 0) warn(`${o.real} has no graded val samples: every grader is scored after its last epoch (no best-epoch selection)`);
  const fakeAll = readManifest(o.fake).filter((e) => (fakeSplit === 'all' || e.split === fakeSplit) && e.grade !== null);
  if (fakeAll.length === 0) throw new Error(`${o.fake}: no graded samples in split "${fakeSplit}" (a synthetic set records each image's target grade)`);
  const available = gradeCounts(fakeAll);
  const wanted = fakeTargets(o, counts.train, available);
  wanted.forEach((w, g) => { if (w > available[g]) warn(`grade ${g}: ${w} fake images wanted, the fake set has ${available[g]}; all of them are used`); });
  const testCounts = gradeCounts(testEntries);
  log(`real train per grade ${counts.train.join('/')}, Te-Real per grade ${testCounts.join('/')}${o.test ? ` (${testDir}, ${testSplit})` : ''}; fake per grade available ${available.join('/')}, adding ${wanted.map((w, g) => Math.min(w, available[g])).join('/')}`);

  const realView = join(o.out, 'views', 'real');
  writeView(realView, viewEntries(o.real, realView, real), 'experiment-view', { sources: [resolve(o.real)] });
  const baselineRoot = o.baselineDir ?? join(o.out, 'runs');

  const runs: RunResult[] = [];
  for (const seed of o.seeds) {
    const chosen = pickFake(fakeAll, wanted, seed);
    const mixedView = join(o.out, 'views', `mixed-seed${seed}`);
    writeView(mixedView, [...viewEntries(o.real, mixedView, real), ...viewEntries(o.fake, mixedView, chosen, { idPrefix: 'fake:', split: 'train' })],
      'experiment-view', { sources: [resolve(o.real), resolve(o.fake)] });
    const base = (data: string, out: string): GraderTrainingOptions => ({ ...training, data, out, grader: graderCfg, seed, resume: false, log: (l) => log(`  ${l}`) });

    log(`seed ${seed}: ${SETTINGS.realReal}`);
    const realKey = { real: resolve(o.real), grader: graderCfg, training, seed };
    const realRun = await trainOrReuse(realKey, base(realView, join(baselineRoot, `seed${seed}`, 'tr-real')));
    if (realRun.reused) log(`  reusing the Tr-Real grader in ${join(baselineRoot, `seed${seed}`, 'tr-real')}`);
    const realReal = await score(realRun.path, o.test ? testDir : realView, testSplit);
    const realFake = await score(realRun.path, o.fake, fakeSplit);

    log(`seed ${seed}: ${SETTINGS.mixedReal} (+${chosen.length} fake)`);
    const mixedKey = { ...realKey, fake: resolve(o.fake), fakeIds: chosen.map((e) => e.id) };
    const mixedRun = await trainOrReuse(mixedKey, base(mixedView, join(o.out, 'runs', `seed${seed}`, 'tr-mixed')));
    const mixedReal = await score(mixedRun.path, o.test ? testDir : realView, testSplit);
    log(`seed ${seed}: kappa Tr-Real ${realReal.kappa.toFixed(4)}, Tr-Real&Fake ${mixedReal.kappa.toFixed(4)}, Te-Fake ${realFake.kappa.toFixed(4)}`);
    runs.push({
      seed, fakeUsed: gradeCounts(chosen), realReal, realFake, mixedReal,
      graders: { real: realRun.path, mixed: mixedRun.path }, seconds: { real: realRun.seconds, mixed: mixedRun.seconds },
    });
  }

  const summary = {
    realFake: summarizeReports(runs.map((r) => r.realFake)),
    realReal: summarizeReports(runs.map((r) => r.realReal)),
    mixedReal: summarizeReports(runs.map((r) => r.mixedReal)),
  };
  const meanOf = (f: (r: RunResult) => number) => {
    const v = runs.map(f).filter(Number.isFinite);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN;
  };
  const gain = {
    accuracy: meanOf((r) => r.mixedReal.accuracy - r.realReal.accuracy),
    kappa: meanOf((r) => r.mixedReal.kappa - r.realReal.kappa),
    tpr: Array.from({ length: graderCfg.numClasses }, (_, g) => meanOf((r) => r.mixedReal.tpr[g] - r.realReal.tpr[g])),
  };
  const results: AugmentResults = {
    experiment: 'augment', created: new Date().toISOString(), label,
    real: { dir: resolve(o.real), counts }, test: { dir: resolve(testDir), split: testSplit, counts: testCounts }, fake: { dir: resolve(o.fake), split: fakeSplit, counts: available },
    grader: graderCfg, training, selection: { fakePerGrade: o.fakePerGrade ?? null, mix: o.mix ?? null },
    seeds: [...o.seeds], runs, summary, gain, warnings, seconds: (Date.now() - t0) / 1000,
  };
  writeAugmentOutputs(o.out, results);
  if (o.plots ?? true) await writeAugmentPlots(join(o.out, 'plots'), results);
  return results;
}

function stripRunFields(t: typeof DEFAULT_TRAINING): GraderTrainingSettings {
  const { seed: _s, resume: _r, stopAfter: _a, log: _l, ...rest } = t;
  return rest;
}

export function augmentRow(r: Pick<AugmentResults, 'label' | 'summary'>): AugmentRow {
  return { label: r.label, realFake: r.summary.realFake, realReal: r.summary.realReal, mixedReal: r.summary.mixedReal };
}

/** The Markdown page of Tables III and V for one augmentation run. */
export function augmentTables(r: AugmentResults): string {
  const row = augmentRow(r);
  const runs = r.runs.length;
  return [
    `# Augmentation by synthesised data (${r.label}, ${runs} seed${runs === 1 ? '' : 's'}: ${r.seeds.join(', ')})`,
    '',
    `Real: ${r.real.dir} (train per grade ${r.real.counts.train.join('/')}). Te-Real: ${r.test.dir}` +
      `${r.test.split === 'all' ? '' : ` (${r.test.split} split)`}, per grade ${r.test.counts.join('/')}. ` +
      `Fake: ${r.fake.dir} (split ${r.fake.split}; added per grade ${r.runs[0]?.fakeUsed.join('/') ?? '-'}). Values: mean ± sample std over seeds.`,
    '',
    '## Table III layout: accuracy and quadratic weighted kappa (%)',
    '',
    formatTableIII([row]),
    '',
    '## Table V layout: true positive rate per grade',
    '',
    formatTableV(row),
    '',
    `Gain of Tr-Real&Fake over Tr-Real on Te-Real (paired by seed): accuracy ${(100 * r.gain.accuracy).toFixed(2)} points, kappa ${(100 * r.gain.kappa).toFixed(2)} points; ` +
      `TPR per grade ${r.gain.tpr.map((v) => (Number.isFinite(v) ? (v >= 0 ? '+' : '') + v.toFixed(4) : '-')).join(' / ')}.`,
    ...(r.warnings.length ? ['', 'Warnings:', ...r.warnings.map((w) => `- ${w}`)] : []),
    '',
  ].join('\n');
}

export function writeAugmentOutputs(out: string, r: AugmentResults): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), JSON.stringify(jsonSafe(r), null, 2) + '\n');
  writeFileSync(join(out, 'tables.md'), augmentTables(r));
}

const nullIfNaN = (v: number) => (Number.isFinite(v) ? v : null);

export async function writeAugmentPlots(dir: string, r: AugmentResults): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const s = r.summary;
  const settings: [string, GradingSummary][] = [[SETTINGS.realReal, s.realReal], [SETTINGS.mixedReal, s.mixedReal], [SETTINGS.realFake, s.realFake]];
  const kappa = barChart({
    title: `Accuracy and kappa (${r.label}, ${r.runs.length} seeds)`, yLabel: 'value', categories: ['accuracy', 'kappa'], yMax: 1,
    series: settings.map(([name, m]) => ({ name, values: [nullIfNaN(m.accuracy.mean), nullIfNaN(m.kappa.mean)], errors: [nullIfNaN(m.accuracy.std), nullIfNaN(m.kappa.std)] })),
  });
  const K = s.realReal.tpr.length;
  const tpr = barChart({
    title: 'TPR per grade', yLabel: 'true positive rate', xLabel: 'grade', categories: Array.from({ length: K }, (_, g) => String(g)), yMin: 0, yMax: 1,
    series: settings.map(([name, m]) => ({ name, values: m.tpr.map((t) => nullIfNaN(t.mean)), errors: m.tpr.map((t) => nullIfNaN(t.std)) })),
  });
  const files = [join(dir, 'accuracy-kappa.png'), join(dir, 'tpr-per-grade.png')];
  writeFileSync(files[0], await encodePng(kappa.image));
  writeFileSync(files[1], await encodePng(tpr.image));
  return files;
}
