// The ablation study (method.md section 8; the paper's Tables II and IV): every DR-GAN
// variant is trained from the same data with the same step budget and seed, synthesises the
// same number of images per grade, and is scored by fidelity (FID on a named extractor, SWD)
// and by what its images do for a grader (the augmentation experiment, with the Tr-Real
// graders trained once and shared by all variants).
//
// Files in `out`:
//   <variant>/gan/        the DR-GAN run (losses.jsonl, checkpoints, samples/)
//   <variant>/synth/      its synthetic set (prepared layout)
//   <variant>/augment/    the augmentation experiment on it (results.json, tables.md, plots/)
//   baseline/             the shared Tr-Real graders
//   results.json, tables.md
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../data/manifest.js';
import type { FeatureExtractor } from '../eval/feature-extractors.js';
import { makeConfig, type AblationConfig, type ConfigOverrides, type DrganConfig, type PresetName } from '../gan/config.js';
import type { FeatureExtractor as PerceptualExtractor } from '../gan/vgg19.js';
import { LATEST_CHECKPOINT } from '../train/checkpoint.js';
import { trainGan } from '../train/gan-trainer.js';
import { augmentRow, runAugmentExperiment, type AugmentOptions, type AugmentResults } from './augment.js';
import { fidelityPerGrade, type FidelityResult } from './fidelity.js';
import { formatTableII, formatTableIV, jsonSafe } from './summary.js';
import { synthesizeFromRealMasks } from './variant-synthesis.js';

export const VARIANTS = ['full', 'noSCA', 'noLesionMasks', 'noAGM', 'noPerceptual', 'noClsLoss'] as const;
export type VariantName = (typeof VARIANTS)[number];

/** Row labels as in the paper's tables (our full model has SCA). */
export const VARIANT_LABELS: Record<VariantName, string> = {
  full: 'DR-GAN w SCA', noSCA: 'DR-GAN (w/o SCA)', noLesionMasks: 'w/o Lesion Masks', noAGM: 'w/o AGM', noPerceptual: 'w/o L_Perceptual', noClsLoss: 'w/o L_Cls in D',
};

export function parseVariants(text: string): VariantName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error(`--variants: give at least one of ${VARIANTS.join(', ')}`);
  for (const n of names) if (!(VARIANTS as readonly string[]).includes(n)) throw new Error(`--variants: unknown variant "${n}" (known: ${VARIANTS.join(', ')})`);
  if (new Set(names).size !== names.length) throw new Error(`--variants: "${text}" names a variant twice`);
  return names as VariantName[];
}

/** The config of a variant: the preset with one ablation switch on (none for "full"). */
export function variantConfig(preset: PresetName, v: VariantName, overrides: ConfigOverrides = {}): DrganConfig {
  const ablation: Partial<AblationConfig> = { ...(overrides.ablation ?? {}) };
  if (v !== 'full') ablation[v] = true;
  return makeConfig(preset, { ...overrides, ablation });
}

export type Synthesize = (o: { checkpoint: string; data: string; out: string; perGrade: number; seed: number }) => Promise<unknown>;

export interface AblationOptions {
  data: string;
  out: string;
  variants: VariantName[];
  preset: PresetName;
  /** Extra config fields for every variant (e.g. from tests). */
  overrides?: ConfigOverrides;
  /** Training steps of every variant. */
  budgetSteps: number;
  /** Images synthesised per grade by every variant. */
  perGrade: number;
  seed?: number;
  gradingSpace?: string | null;
  vgg?: string | null;
  perceptualExtractor?: PerceptualExtractor | null;
  /** FID extractor (already opened); null: FID is left out, SWD still computed. */
  extractor: FeatureExtractor | null;
  /** Which split of the real set FID/SWD compare against (default all). */
  realSplit?: 'train' | 'val' | 'test' | 'all';
  /** Settings of the augmentation experiment per variant (real, fake, out are set here). */
  augment: Omit<AugmentOptions, 'real' | 'fake' | 'out' | 'baselineDir' | 'label' | 'log'> | null;
  synthesize?: Synthesize;
  log?: (line: string) => void;
}

export interface VariantResult {
  variant: VariantName;
  label: string;
  config: DrganConfig;
  steps: number;
  trainSeconds: number;
  synthSeconds: number;
  synthDir: string;
  fidelity: FidelityResult;
  augment: AugmentResults | null;
}

export interface AblationResults {
  experiment: 'ablation';
  created: string;
  data: string;
  preset: PresetName;
  budgetSteps: number;
  perGrade: number;
  fidLabel: string;
  variants: VariantResult[];
  seconds: number;
}

/**
 * Stage epochs that cover the budget: the preset's split between G_m alone and G_m + G_l is
 * kept in proportion, and training stops at exactly `budgetSteps` (maxSteps).
 */
export function budgetEpochs(cfg: DrganConfig, budgetSteps: number, stepsPerEpoch: number): { stage1Epochs: number; stage2Epochs: number } {
  const epochs = Math.max(1, Math.ceil(budgetSteps / Math.max(1, stepsPerEpoch)));
  const { stage1Epochs: s1, stage2Epochs: s2 } = cfg.train;
  const share = s1 + s2 > 0 ? s1 / (s1 + s2) : 1;
  const stage1 = Math.max(1, Math.min(epochs, Math.round(epochs * share)));
  return { stage1Epochs: stage1, stage2Epochs: epochs - stage1 };
}

export async function runAblation(o: AblationOptions): Promise<AblationResults> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  if (!Number.isInteger(o.budgetSteps) || o.budgetSteps < 1) throw new Error(`ablation: budget steps must be a positive integer, got ${o.budgetSteps}`);
  if (!Number.isInteger(o.perGrade) || o.perGrade < 1) throw new Error(`ablation: images per grade must be a positive integer, got ${o.perGrade}`);
  const seed = o.seed ?? 0;
  const synthesize = o.synthesize ?? synthesizeFromRealMasks;
  const trainCount = readManifest(o.data).filter((e) => e.split === 'train' && e.grade !== null).length;
  const results: VariantResult[] = [];
  mkdirSync(o.out, { recursive: true });

  for (const v of o.variants) {
    const dir = join(o.out, v);
    const base = variantConfig(o.preset, v, o.overrides);
    const stepsPerEpoch = Math.floor(trainCount / base.train.batchSize);
    if (stepsPerEpoch < 1) throw new Error(`${o.data}: ${trainCount} graded training samples, fewer than one batch of ${base.train.batchSize}`);
    const config = variantConfig(o.preset, v, { ...o.overrides, train: { ...(o.overrides?.train ?? {}), ...budgetEpochs(base, o.budgetSteps, stepsPerEpoch) } });

    log(`[${v}] training ${o.budgetSteps} steps (${VARIANT_LABELS[v]})`);
    const ganDir = join(dir, 'gan');
    const t1 = Date.now();
    const resume = existsSync(join(ganDir, LATEST_CHECKPOINT));
    const tr = await trainGan({
      data: o.data, out: ganDir, config: resume ? undefined : config, resume, seed, maxSteps: o.budgetSteps,
      gradingSpace: o.gradingSpace ?? null, vgg: o.vgg ?? null, perceptualExtractor: o.perceptualExtractor ?? null,
      progress: false, log: (m) => log(`  ${m.split('\n').filter((l) => !/^!+$/.test(l)).join(' ')}`),
    });
    const trainSeconds = (Date.now() - t1) / 1000;

    log(`[${v}] synthesising ${o.perGrade} per grade`);
    const synthDir = join(dir, 'synth');
    const t2 = Date.now();
    await synthesize({ checkpoint: join(ganDir, LATEST_CHECKPOINT), data: o.data, out: synthDir, perGrade: o.perGrade, seed });
    const synthSeconds = (Date.now() - t2) / 1000;
    const size = readManifest(synthDir)[0]?.size ?? config.resolution;

    log(`[${v}] fidelity`);
    const fidelity = await fidelityPerGrade({ real: o.data, fake: synthDir, realSplit: o.realSplit ?? 'all', size, extractor: o.extractor, seed });
    let augment: AugmentResults | null = null;
    if (o.augment) {
      log(`[${v}] augmentation experiment`);
      augment = await runAugmentExperiment({ ...o.augment, real: o.data, fake: synthDir, out: join(dir, 'augment'), baselineDir: join(o.out, 'baseline'), label: VARIANT_LABELS[v], log: (l) => log(`  ${l}`) });
    }
    results.push({ variant: v, label: VARIANT_LABELS[v], config, steps: tr.step, trainSeconds, synthSeconds, synthDir, fidelity, augment });
    // Written after every variant, so a long study can be read while it runs.
    writeAblationOutputs(o.out, finish());
  }
  return finish();

  function finish(): AblationResults {
    return {
      experiment: 'ablation', created: new Date().toISOString(), data: o.data, preset: o.preset, budgetSteps: o.budgetSteps, perGrade: o.perGrade,
      fidLabel: o.extractor ? `FID[${o.extractor.name}]` : 'FID (not computed: no extractor)', variants: results, seconds: (Date.now() - t0) / 1000,
    };
  }
}

export function ablationTables(r: AblationResults): string {
  const withAug = r.variants.filter((v) => v.augment);
  const lines = [
    `# Ablation (${r.preset}, ${r.budgetSteps} steps per variant, ${r.perGrade} images per grade)`,
    '',
    '## Table II layout: fidelity (averaged over grades)',
    '',
    formatTableII(r.variants.map((v) => ({ label: v.label, fid: v.fidelity.fidAverage, swd: v.fidelity.swdAverage })), r.fidLabel),
  ];
  if (withAug.length) {
    lines.push('', '## Table IV layout: grading with each variant\'s images (%)', '',
      formatTableIV(withAug.map((v) => augmentRow(v.augment!)), withAug[0].augment!.summary.realReal),
      '', 'Augmentation gain (Tr-Real&Fake minus Tr-Real on Te-Real, mean over seeds, points):', '',
      ...withAug.map((v) => `- ${v.label}: accuracy ${(100 * v.augment!.gain.accuracy).toFixed(2)}, kappa ${(100 * v.augment!.gain.kappa).toFixed(2)}`));
  }
  lines.push('', `Training time per variant (s): ${r.variants.map((v) => `${v.variant} ${v.trainSeconds.toFixed(0)}`).join(', ')}`, '');
  return lines.join('\n');
}

export function writeAblationOutputs(out: string, r: AblationResults): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), JSON.stringify(jsonSafe(r), null, 2) + '\n');
  writeFileSync(join(out, 'tables.md'), ablationTables(r));
}
