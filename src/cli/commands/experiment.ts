// `drgan experiment augment|ablation`: the paper's Tables II-V (method.md section 9). Each
// writes results.json, tables.md and plots into --out; `drgan report` turns that into HTML.
import { BACKBONES, type BackboneName } from '../../models/grader.js';
import { DEFAULT_TRAINING } from '../../train/grader-training.js';
import { PRESETS, type PresetName } from '../../gan/config.js';
import { openFeatureExtractor } from '../../eval/feature-extractors.js';
import { augmentTables, runAugmentExperiment, type AugmentOptions } from '../../experiments/augment.js';
import { ablationTables, parseVariants, runAblation, VARIANTS } from '../../experiments/ablation.js';
import type { Command } from '../command.js';
import { UsageError, type FlagSpecs, type FlagValues } from '../flags.js';

const D = DEFAULT_TRAINING;

const GRADER_FLAGS: FlagSpecs = {
  seeds: { kind: 'int', default: 3, min: 1, max: 100, help: 'graders per setting (seeds seed-base .. seed-base + N - 1)' },
  'seed-base': { kind: 'int', default: 0, min: 0, help: 'first seed' },
  backbone: { kind: 'choice', choices: BACKBONES, default: 'resnet18', help: 'grader network' },
  epochs: { kind: 'int', default: D.epochs, min: 1, max: 100000, help: 'grader epochs' },
  batch: { kind: 'int', default: D.batchSize, min: 2, max: 4096, help: 'grader batch size' },
  size: { kind: 'int', default: 224, min: 32, max: 2048, help: 'grader input side in pixels' },
  width: { kind: 'int', default: 1, min: 1, max: 64, help: 'divide every grader layer width by this (1 = published network)' },
  lr: { kind: 'number', default: D.lr, min: 0, help: 'grader learning rate' },
  balanced: { kind: 'bool', default: false, help: 'class-balanced sampling in grader training' },
  'no-augment': { kind: 'bool', default: false, help: 'no flips/rotation/colour jitter in grader training' },
  pretrained: { kind: 'string', help: 'torchvision ImageNet weights for the grader backbone' },
  'fake-per-grade': { kind: 'string', help: 'fake images added per grade: N, or N0,N1,N2,N3,N4 (default: all)' },
  mix: { kind: 'string', help: 'fake images per grade as a ratio of the real training count: R, or R0,..,R4' },
  'fake-split': { kind: 'choice', choices: ['all', 'train', 'val', 'test'], default: 'all', help: 'split of the fake set used' },
  'class-weights': { kind: 'bool', default: false, help: 'weight the grader loss by inverse grade frequency of its training set' },
  test: { kind: 'string', help: 'a separate prepared real set to score on (Te-Real) instead of the test split of --real' },
  'test-split': { kind: 'choice', choices: ['all', 'train', 'val', 'test'], default: 'all', help: 'split of --test that is scored' },
};

function numbers(text: string | undefined, flag: string): number[] | undefined {
  if (text === undefined) return undefined;
  const v = text.split(',').map((s) => Number(s.trim()));
  if (v.some((x) => !Number.isFinite(x))) throw new UsageError(`--${flag}: expected a number or five comma-separated numbers, got "${text}"`);
  return v;
}

function augmentSettings(f: FlagValues): Omit<AugmentOptions, 'real' | 'fake' | 'out' | 'log'> {
  if (f['fake-per-grade'] !== undefined && f.mix !== undefined) throw new UsageError('give --fake-per-grade or --mix, not both');
  const n = f.seeds as number, base = f['seed-base'] as number;
  return {
    fakePerGrade: numbers(f['fake-per-grade'] as string | undefined, 'fake-per-grade'),
    mix: numbers(f.mix as string | undefined, 'mix'),
    fakeSplit: f['fake-split'] as AugmentOptions['fakeSplit'],
    test: f.test as string | undefined,
    testSplit: f['test-split'] as AugmentOptions['testSplit'],
    seeds: Array.from({ length: n }, (_, i) => base + i),
    grader: { backbone: f.backbone as BackboneName, inputSize: f.size as number, widthDivisor: f.width as number, numClasses: 5 },
    training: {
      epochs: f.epochs as number, batchSize: f.batch as number, lr: f.lr as number, balanced: f.balanced as boolean,
      classWeights: f['class-weights'] as boolean, augment: !(f['no-augment'] as boolean), pretrained: f.pretrained as string | undefined,
    },
  };
}

const log = (line: string) => console.error(line);

export const experimentAugmentCommand: Command = {
  name: 'experiment augment',
  summary: 'Tables III/V: grader trained on real vs real + synthetic images, scored on the real test split; Te-Fake per-grade accuracy',
  usage: 'drgan experiment augment --real DIR --fake DIR --out DIR [--fake-per-grade N | --mix R] [--seeds 3] [--backbone resnet18] [--epochs N]',
  flags: {
    real: { kind: 'string', required: true, help: 'prepared real data set (train/val/test splits)' },
    fake: { kind: 'string', required: true, help: 'prepared synthetic data set (drgan synth), graded by target grade' },
    out: { kind: 'string', required: true, help: 'output folder: results.json, tables.md, plots/, runs/' },
    ...GRADER_FLAGS,
  },
  async run(f) {
    const t0 = Date.now();
    const r = await runAugmentExperiment({ ...augmentSettings(f), real: f.real as string, fake: f.fake as string, out: f.out as string, log });
    console.log(augmentTables(r));
    console.log(`results: ${f.out as string}/results.json (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return 0;
  },
};

export const experimentAblationCommand: Command = {
  name: 'experiment ablation',
  summary: 'Tables II/IV: each DR-GAN variant trained with the same budget, FID/SWD of its images and their augmentation gain',
  usage: 'drgan experiment ablation --data DIR --out DIR [--variants full,noSCA,...] [--preset cpu128] [--budget-steps N] [--per-grade N] [--vgg FILE | --grader FILE] [--lesions FILE] [--extractor grader:CKPT]',
  flags: {
    data: { kind: 'string', required: true, help: 'prepared real data set with masks and grades' },
    out: { kind: 'string', required: true, help: 'output folder (one subfolder per variant)' },
    variants: { kind: 'string', default: VARIANTS.join(','), help: `comma-separated subset of ${VARIANTS.join(',')}` },
    preset: { kind: 'choice', choices: Object.keys(PRESETS), default: 'cpu128', help: 'DR-GAN preset for every variant' },
    'budget-steps': { kind: 'int', default: 1000, min: 1, help: 'training steps per variant' },
    'per-grade': { kind: 'int', default: 100, min: 1, help: 'images synthesised per grade by each variant' },
    'grading-space': { kind: 'string', help: 'grading space file (drgan latent) for the AGM' },
    vgg: { kind: 'string', help: 'torchvision VGG-19 weights for the perceptual loss (needed by every variant but noPerceptual)' },
    grader: { kind: 'string', help: 'without --vgg: a trained grader (drgan train grader) whose backbone stands in for VGG-19 in the perceptual loss (with a warning; not the paper\'s loss)' },
    lesions: { kind: 'string', help: 'lesion model (drgan fit-lesions): synthesise from lesion layouts sampled per grade instead of real condition maps of the grade' },
    extractor: { kind: 'string', help: 'FID features: inception-fid (needs --inception-weights) or grader:CKPT; without it FID is skipped' },
    'inception-weights': { kind: 'string', help: 'pt_inception-2015-12-05-6726825d.pth' },
    'real-split': { kind: 'choice', choices: ['all', 'train', 'val', 'test'], default: 'all', help: 'real images FID/SWD compare against' },
    'no-augment-experiment': { kind: 'bool', default: false, help: 'skip the grading experiment (Table IV): fidelity only' },
    seed: { kind: 'int', default: 0, min: 0, help: 'seed of DR-GAN training and synthesis' },
    ...GRADER_FLAGS,
  },
  async run(f) {
    const t0 = Date.now();
    const spec = f.extractor as string | undefined;
    const extractor = spec || f['inception-weights'] ? await openFeatureExtractor(spec, { inceptionWeights: f['inception-weights'] as string | undefined }) : null;
    if (!extractor) log('note: no --extractor: FID is not computed (SWD is); pass --extractor grader:CKPT or --inception-weights FILE');
    try {
      for (const n of extractor?.notes ?? []) log(`note: ${n}`);
      const r = await runAblation({
        data: f.data as string, out: f.out as string, variants: parseVariants(f.variants as string), preset: f.preset as PresetName,
        budgetSteps: f['budget-steps'] as number, perGrade: f['per-grade'] as number, seed: f.seed as number,
        gradingSpace: (f['grading-space'] as string | undefined) ?? null, vgg: (f.vgg as string | undefined) ?? null,
        grader: (f.grader as string | undefined) ?? null, lesions: (f.lesions as string | undefined) ?? null, extractor,
        realSplit: f['real-split'] as 'all', augment: f['no-augment-experiment'] ? null : augmentSettings(f), log,
      });
      console.log(ablationTables(r));
      console.log(`results: ${f.out as string}/results.json (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return 0;
    } finally {
      extractor?.dispose();
    }
  },
};
