// The ablation study (method.md section 8; the paper's Tables II and IV): every DR-GAN
// variant is trained from the same data with the same step budget and seed, synthesises the
// same number of images per grade, and is scored by fidelity (FID on a named extractor, SWD)
// and by what its images do for a grader (the augmentation experiment, with the Tr-Real
// graders trained once and shared by all variants). Every variant synthesises from the same
// conditions and seeds (ablation-conditions.ts), so the images differ only by the model.
//
// Files in `out`:
//   <variant>/gan/        the DR-GAN run (losses.jsonl, checkpoints, samples/)
//   <variant>/synth/      its synthetic set (src/synth's batch writer: prepared layout, sidecars)
//   <variant>/augment/    the augmentation experiment on it (results.json, tables.md, plots/)
//   baseline/             the shared Tr-Real graders
//   results.json, tables.md
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../data/manifest.js';
import type { FeatureExtractor } from '../eval/feature-extractors.js';
import { makeConfig, type AblationConfig, type ConfigOverrides, type DrganConfig, type PresetName } from '../gan/config.js';
import type { FeatureExtractor as PerceptualExtractor } from '../gan/vgg19.js';
import type { GradingSpace } from '../latent/grading-space.js';
import { generateSyntheticSet, type SynthJob } from '../synth/batch.js';
import { LesionModel } from '../synth/lesion-sampler.js';
import { loadSynthesisModel, resolveGradingSpace } from '../synth/synthesize.js';
import { LATEST_CHECKPOINT, loadCheckpoint } from '../train/checkpoint.js';
import { GAN_CHECKPOINT_KIND, trainGan, type PerceptualSource } from '../train/gan-trainer.js';
import { ablationConditions } from './ablation-conditions.js';
import { augmentRow, runAugmentExperiment, type AugmentOptions, type AugmentResults } from './augment.js';
import { fidelityPerGrade, type FidelityResult } from './fidelity.js';
import { formatTableII, formatTableIV, jsonSafe } from './summary.js';

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
  /** torchvision VGG-19 weights for the perceptual loss of every variant but noPerceptual. */
  vgg?: string | null;
  /**
   * Without `vgg`: a trained grader whose backbone stands in for VGG-19 in the perceptual loss
   * (gan-trainer.ts, with its loud warning; not the paper's loss, and said so in tables.md).
   */
  grader?: string | null;
  perceptualExtractor?: PerceptualExtractor | null;
  /** Lesion model (drgan fit-lesions): synthesise from sampled lesion layouts instead of real condition maps. */
  lesions?: string | null;
  /** FID extractor (already opened); null: FID is left out, SWD still computed. */
  extractor: FeatureExtractor | null;
  /** Which split of the real set FID/SWD compare against (default all). */
  realSplit?: 'train' | 'val' | 'test' | 'all';
  /** Settings of the augmentation experiment per variant (real, fake, out are set here). */
  augment: Omit<AugmentOptions, 'real' | 'fake' | 'out' | 'baselineDir' | 'label' | 'log'> | null;
  log?: (line: string) => void;
}

export interface VariantResult {
  variant: VariantName;
  label: string;
  config: DrganConfig;
  steps: number;
  /** The perceptual loss's network as the run's checkpoint records it (null: no perceptual loss). */
  perceptual: PerceptualSource | null;
  /** null: trained by an earlier run of the study (this run went straight to synthesis). */
  trainSeconds: number | null;
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
  /** Where every variant's conditions came from (ablation-conditions.ts). */
  conditions: string;
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
  checkPerceptualNetwork(o);
  const trainCount = readManifest(o.data).filter((e) => e.split === 'train' && e.grade !== null).length;
  // One plan of conditions for every variant (the ablation switches leave the resolution alone).
  const conditions = ablationConditions({
    data: o.data, perGrade: o.perGrade, seed, size: variantConfig(o.preset, 'full', o.overrides).resolution,
    lesionModel: o.lesions ? LesionModel.load(o.lesions) : null,
  });
  log(`conditions: ${conditions.describe}`);
  for (const n of conditions.notes) log(`note: ${n}`);
  const results: VariantResult[] = [];
  mkdirSync(o.out, { recursive: true });

  for (const v of o.variants) {
    const dir = join(o.out, v);
    const base = variantConfig(o.preset, v, o.overrides);
    const stepsPerEpoch = Math.floor(trainCount / base.train.batchSize);
    if (stepsPerEpoch < 1) throw new Error(`${o.data}: ${trainCount} graded training samples, fewer than one batch of ${base.train.batchSize}`);
    const config = variantConfig(o.preset, v, { ...o.overrides, train: { ...(o.overrides?.train ?? {}), ...budgetEpochs(base, o.budgetSteps, stepsPerEpoch) } });

    const ganDir = join(dir, 'gan');
    const latest = join(ganDir, LATEST_CHECKPOINT);
    const earlier = existsSync(latest) ? recordedRun(latest) : null;
    let trainSeconds: number | null = null;
    if (earlier && earlier.step >= o.budgetSteps) {
      // Training on would change the model its synthetic set was (or is being) made with.
      log(`[${v}] already trained for ${earlier.step} steps by an earlier run: ${latest}`);
    } else {
      log(`[${v}] training ${o.budgetSteps} steps (${VARIANT_LABELS[v]})`);
      const t1 = Date.now();
      await trainGan({
        data: o.data, out: ganDir, config: earlier ? undefined : config, resume: earlier !== null, seed, maxSteps: o.budgetSteps,
        gradingSpace: o.gradingSpace ?? null, vgg: o.vgg ?? null, grader: o.grader ?? null, perceptualExtractor: o.perceptualExtractor ?? null,
        progress: false, log: (m) => { for (const line of m.split('\n')) log(`  ${line}`); },
      });
      trainSeconds = (Date.now() - t1) / 1000;
    }
    const run = recordedRun(latest);

    log(`[${v}] synthesising ${o.perGrade} per grade`);
    const synthDir = join(dir, 'synth');
    const t2 = Date.now();
    await synthesizeVariant(latest, conditions.jobs, synthDir, o.gradingSpace ?? null, (m) => log(`  ${m}`));
    const synthSeconds = (Date.now() - t2) / 1000;
    const size = readManifest(synthDir)[0]?.size ?? config.resolution;

    log(`[${v}] fidelity`);
    const fidelity = await fidelityPerGrade({ real: o.data, fake: synthDir, realSplit: o.realSplit ?? 'all', size, extractor: o.extractor, seed });
    let augment: AugmentResults | null = null;
    if (o.augment) {
      log(`[${v}] augmentation experiment`);
      augment = await runAugmentExperiment({ ...o.augment, real: o.data, fake: synthDir, out: join(dir, 'augment'), baselineDir: join(o.out, 'baseline'), label: VARIANT_LABELS[v], log: (l) => log(`  ${l}`) });
    }
    results.push({ variant: v, label: VARIANT_LABELS[v], config, steps: run.step, perceptual: run.perceptual, trainSeconds, synthSeconds, synthDir, fidelity, augment });
    // Written after every variant, so a long study can be read while it runs.
    writeAblationOutputs(o.out, finish());
  }
  return finish();

  function finish(): AblationResults {
    return {
      experiment: 'ablation', created: new Date().toISOString(), data: o.data, preset: o.preset, budgetSteps: o.budgetSteps, perGrade: o.perGrade,
      conditions: conditions.describe, fidLabel: o.extractor ? `FID[${o.extractor.name}]` : 'FID (not computed: no extractor)', variants: results, seconds: (Date.now() - t0) / 1000,
    };
  }
}

/**
 * Before any training: every variant that keeps the perceptual loss and starts afresh needs
 * its network (a resumed run reopens the file its checkpoint names), and the files given exist.
 */
function checkPerceptualNetwork(o: AblationOptions): void {
  for (const [flag, file] of [['--vgg', o.vgg], ['--grader', o.grader]] as const) {
    if (file && !existsSync(file)) throw new Error(`${file}: ${flag === '--vgg' ? 'VGG-19 weights' : 'grader for the perceptual loss'} not found (${flag})`);
  }
  if (o.vgg || o.grader || o.perceptualExtractor) return;
  const need = o.variants.filter((v) => !variantConfig(o.preset, v, o.overrides).ablation.noPerceptual && !existsSync(join(o.out, v, 'gan', LATEST_CHECKPOINT)));
  if (need.length) {
    throw new Error(`ablation: ${need.join(', ')} keep${need.length === 1 ? 's' : ''} the perceptual loss and no network is given for it: pass VGG-19 weights (--vgg FILE), ` +
      'or a trained grader whose backbone stands in for VGG-19 with a warning (--grader FILE)');
  }
}

/** Steps done and the perceptual network, as a run's checkpoint records them. */
function recordedRun(latest: string): { step: number; perceptual: PerceptualSource | null } {
  const ck = loadCheckpoint(latest, GAN_CHECKPOINT_KIND);
  try {
    return { step: ck.state.step as number, perceptual: (ck.state.perceptual as PerceptualSource | null | undefined) ?? null };
  } finally {
    ck.dispose();
  }
}

/** A variant's synthetic set: src/synth's batch writer on the shared jobs (a partial set of the same checkpoint is resumed). */
async function synthesizeVariant(checkpoint: string, jobs: SynthJob[], out: string, gradingSpace: string | null, log: (m: string) => void): Promise<void> {
  const model = await loadSynthesisModel(checkpoint);
  let space: GradingSpace | null = null;
  try {
    space = resolveGradingSpace(model, gradingSpace, log);
    await generateSyntheticSet({ model, gradingSpace: space, out, jobs, progress: false });
  } finally {
    space?.dispose();
    model.generator.dispose();
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
  const fallback = r.variants.filter((v) => v.perceptual?.kind === 'grader');
  if (fallback.length) {
    lines.push('', `Perceptual loss of ${fallback.map((v) => v.variant).join(', ')}: ${fallback[0].perceptual!.extractor} (${fallback[0].perceptual!.file}) ` +
      'in place of VGG-19: not the paper\'s loss, so these numbers are not comparable with its tables.');
  }
  lines.push('', `Conditions of every variant: ${r.conditions}.`);
  lines.push('', `Training time per variant (s): ${r.variants.map((v) => `${v.variant} ${v.trainSeconds === null ? 'earlier run' : v.trainSeconds.toFixed(0)}`).join(', ')}`, '');
  return lines.join('\n');
}

export function writeAblationOutputs(out: string, r: AblationResults): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), JSON.stringify(jsonSafe(r), null, 2) + '\n');
  writeFileSync(join(out, 'tables.md'), ablationTables(r));
}
