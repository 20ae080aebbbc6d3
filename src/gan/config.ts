// DR-GAN configuration: every architectural size, loss weight and [decision] of
// docs/method.md (sections 2-8) as one typed object, with its defaults in ONE place
// (DEFAULT_CONFIG) and named presets derived from it. Networks and losses read only this.
import { CONDITION_CHANNELS, NUM_GRADES } from '../data/manifest.js';

export type NormKind = 'batch' | 'instance';
export type AdversarialLossKind = 'bce' | 'lsgan' | 'hinge';
/** What the adversarial loss judges: each image's GAP'd logit (paper) or every patch logit (pix2pixHD). */
export type AdversarialTarget = 'image' | 'patch';
export type FeatureMatchingNorm = 'l1' | 'l2';
export type ChannelAttentionKind = 'plain' | 'danet';
/** How the generator doubles a feature map: transposed conv3x3 s2 (paper), or nearest x2 + conv3x3. */
export type UpsamplingKind = 'transposed' | 'resize';
/** How the condition map is brought down to a synthesis block's scale. */
export type ConditionResize = 'area' | 'bilinear' | 'nearest';
/** What a discriminator's classification head pools: the last layer's output (after norm + activation) or its conv output before the norm. */
export type ClassPooling = 'normalized' | 'preNorm';
/** What a discriminator's classification head is computed from: D_n's full input, or a second pass of D_n with the condition map zeroed. */
export type ClassInput = 'conditionAndImage' | 'imageOnly';

export interface GeneratorConfig {
  /** Width of G_m's first encoder stage; doubles at each of the three downsamplings. */
  ngf: number;
  /** Normalisation after encoder/residual/upsampling convs: paper BatchNorm, pix2pixHD InstanceNorm. */
  norm: NormKind;
  /** Residual blocks at R/16 (paper: 7). */
  residualBlocks: number;
  /** Length of the grading vector z (pooled grader features: 2048 for ResNet-50). */
  gradingVectorDim: number;
  /** Width w of the mapping network's layers (and its output). */
  mappingWidth: number;
  /** Fully connected layers of the mapping network (paper: 4). */
  mappingLayers: number;
  /** AGM concatenates C / noiseChannelDivisor noise channels (paper: a quarter). */
  noiseChannelDivisor: number;
  /** [decision] area keeps one-pixel lesions as soft values where nearest would drop them. */
  conditionResize: ConditionResize;
  /** Residual blocks inside G_l between its down and up path (method.md: none; pix2pixHD: 3). */
  localResidualBlocks: number;
  /**
   * [CPU option, not in method.md; off in the paper and tiny presets] after the last synthesis
   * block, concatenate the encoder stem's feature and the condition map at R/2 and fuse them
   * with conv3x3-norm-ReLU before the output head (and before G_l's sum). Without it the last
   * condition injection is at R/4, where 1-2 px vessels of a small R are averaged away.
   */
  halfScaleFusion: boolean;
  /**
   * [CPU option, not in method.md; 'transposed' in every preset] 'resize' doubles with nearest
   * upsampling + reflect pad + conv3x3 in the synthesis blocks and G_l, instead of a stride-2
   * transposed conv3x3, whose uneven kernel overlap draws a checkerboard (Odena et al. 2016).
   */
  upsampling: UpsamplingKind;
}

export interface AttentionConfig {
  /** Q/K channel reduction d at the synthesis scales R/16, R/8, R/4 (paper: 8, 16, 32). */
  reductions: [number, number, number];
  /** Channel attention: the paper's softmax(I I^T) (plain) or DANet's softmax(max - energy). */
  channel: ChannelAttentionKind;
  /** Average-pool keys and values by this factor before spatial attention (1 = off; CPU option). */
  keyValuePool: number;
  /** Bytes one query block's score matrix may take in the chunked spatial attention. */
  memoryBudgetBytes: number;
}

export interface DiscriminatorConfig {
  /** Width of each discriminator's first layer; doubles per layer up to 8 ndf. */
  ndf: number;
  /** Discriminators at R, R/2, R/4, ... (paper: 3). */
  numD: number;
  /** Strided conv4x4 layers per discriminator (paper: 4); all of them feed feature matching. */
  numLayers: number;
  /**
   * [option, not in method.md; 'normalized' in every preset] what the classification head's
   * global average pool sees: 'normalized' = the last layer's output after InstanceNorm and
   * LeakyReLU; 'preNorm' = that layer's conv output before InstanceNorm. InstanceNorm removes
   * each channel's spatial mean, and the amount of lesion (which sets the grade) is largely
   * such a mean, so after the norm the head sees little of it.
   */
  classPooling: ClassPooling;
  /**
   * [option, not in method.md; 'conditionAndImage' in every preset] what the classification
   * head's pass sees. 'conditionAndImage' = D_n's one pass on concat(c, image). 'imageOnly' =
   * a second pass of the same D_n (same weights) on concat(zeros in c's place, image); the
   * adversarial logits and feature-matching features stay those of the full input. Real and
   * fake share c, so a head that reads the grade from the lesion masks (it does: docs/gan.md)
   * gives G no reason to draw lesions; without c the grade can only come from the image.
   * All of c is zeroed, not only the lesion channels: with vessel and disc kept the head did
   * not learn the grade from the image at all (measured, docs/gan.md).
   */
  classInput: ClassInput;
}

export interface LossConfig {
  adversarial: AdversarialLossKind;
  /**
   * [CPU option, not in method.md; 'image' in every preset] 'patch' applies the adversarial loss
   * to every logit of the head's patch map, as pix2pixHD, instead of to their global average
   * (paper): a fake is then judged patch by patch, lesion by lesion, not by one mean.
   */
  adversarialTarget: AdversarialTarget;
  featureMatching: FeatureMatchingNorm;
  /** lambda1 of Eq. 1 (feature matching). */
  lambdaFeatureMatching: number;
  /** lambda2 of Eq. 1 (perceptual). */
  lambdaPerceptual: number;
  /** lambda3 of Eq. 1 (classification: D heads, and the encoder's grade head). */
  lambdaClassification: number;
  /** Focal loss gamma (0 = cross entropy). */
  focalGamma: number;
  /** Perceptual weights of VGG-19 relu1_1..relu5_1. */
  perceptualWeights: number[];
  /**
   * [CPU option, not in method.md; 0 in every preset] weight of an L1 loss between G(c) and the
   * real photo of c (pix2pix), weighted per pixel by reconstructionLesionWeight. Eq. 1 pairs the
   * two only through D's features (feature matching) and VGG-19; without VGG weights and with a
   * D that stays near chance for a short CPU run, that pull is too weak to draw small lesions.
   */
  lambdaReconstruction: number;
  /**
   * Pixel weight of the reconstruction loss is 1 + this x (the largest lesion mask value there,
   * channels MA..PM): lesions cover ~1 % of a photo, so an unweighted L1 is spent on background.
   */
  reconstructionLesionWeight: number;
}

/** The ablations of Tables II and IV, each a switch. */
export interface AblationConfig {
  /** Only vessel + optic disc as condition channels (grade via AGM alone). */
  noLesionMasks: boolean;
  /** No AGM blocks and no mapping network: the grading vector is not used. */
  noAGM: boolean;
  /** No spatial/channel attention in the synthesis blocks. */
  noSCA: boolean;
  /** No VGG perceptual loss. */
  noPerceptual: boolean;
  /** No classification loss (and no classification heads) in D. */
  noClsLoss: boolean;
}

export interface TrainingConfig {
  batchSize: number;
  lr: number;
  betas: [number, number];
  /** Epochs of G_m alone (paper: 10). */
  stage1Epochs: number;
  /** Epochs of G_m + G_l fine-tuning (paper: 10). */
  stage2Epochs: number;
  /** [option, pix2pixHD] keep G_m frozen for the first N epochs of stage 2 (0 = never). */
  freezeGlobalEpochs: number;
}

export interface DrganConfig {
  /** Full output resolution R (paper 1280); G_m works at R/2. */
  resolution: number;
  numGrades: number;
  generator: GeneratorConfig;
  attention: AttentionConfig;
  discriminator: DiscriminatorConfig;
  loss: LossConfig;
  ablation: AblationConfig;
  train: TrainingConfig;
}

/** The paper's settings (method.md); every preset is this with a few fields changed. */
export const DEFAULT_CONFIG: DrganConfig = {
  resolution: 1280,
  numGrades: NUM_GRADES,
  generator: {
    ngf: 64, norm: 'batch', residualBlocks: 7, gradingVectorDim: 2048, mappingWidth: 512, mappingLayers: 4,
    noiseChannelDivisor: 4, conditionResize: 'area', localResidualBlocks: 0, halfScaleFusion: false, upsampling: 'transposed',
  },
  attention: { reductions: [8, 16, 32], channel: 'plain', keyValuePool: 1, memoryBudgetBytes: 128 * 1024 * 1024 },
  discriminator: { ndf: 64, numD: 3, numLayers: 4, classPooling: 'normalized', classInput: 'conditionAndImage' },
  loss: {
    adversarial: 'bce', adversarialTarget: 'image', featureMatching: 'l1', lambdaFeatureMatching: 10, lambdaPerceptual: 10, lambdaClassification: 1,
    focalGamma: 2, perceptualWeights: [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1], lambdaReconstruction: 0, reconstructionLesionWeight: 0,
  },
  ablation: { noLesionMasks: false, noAGM: false, noSCA: false, noPerceptual: false, noClsLoss: false },
  train: { batchSize: 16, lr: 1e-4, betas: [0.5, 0.999], stage1Epochs: 10, stage2Epochs: 10, freezeGlobalEpochs: 0 },
};

/** A partial config: any field at any depth may be left out. */
export type ConfigOverrides = {
  [K in keyof DrganConfig]?: DrganConfig[K] extends unknown[] ? DrganConfig[K] : DrganConfig[K] extends object ? Partial<DrganConfig[K]> : DrganConfig[K];
};

export const PRESETS = {
  paper: {},
  cpu128: { resolution: 128, generator: { ngf: 32 }, discriminator: { ndf: 32 }, train: { batchSize: 4 } },
  cpu256: { resolution: 256, generator: { ngf: 32 }, discriminator: { ndf: 32 }, train: { batchSize: 4 } },
  /** For tests: seconds on two cores. */
  tiny: {
    resolution: 32, generator: { ngf: 4, residualBlocks: 2, gradingVectorDim: 16, mappingWidth: 16 },
    discriminator: { ndf: 4 }, attention: { reductions: [2, 2, 2] }, train: { batchSize: 2 },
  },
} satisfies Record<string, ConfigOverrides>;
export type PresetName = keyof typeof PRESETS;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    if (!(k in base)) throw new Error(`config: unknown field "${path}${k}" (known: ${Object.keys(base).join(', ')})`);
    out[k] = isPlainObject(base[k]) ? merge(base[k] as Record<string, unknown>, isPlainObject(v) ? v : fail(`${path}${k}`, 'an object', v), `${path}${k}.`) : v;
  }
  return out;
}

function fail(field: string, expected: string, got: unknown): never {
  throw new Error(`config: "${field}" must be ${expected}, got ${JSON.stringify(got)}`);
}

/** A preset with overrides applied on top, checked. Unknown fields are errors, not ignored. */
export function makeConfig(preset: PresetName = 'paper', overrides: ConfigOverrides = {}): DrganConfig {
  if (!(preset in PRESETS)) throw new Error(`config: unknown preset "${preset}" (known: ${Object.keys(PRESETS).join(', ')})`);
  const withPreset = merge(DEFAULT_CONFIG as unknown as Record<string, unknown>, PRESETS[preset] as Record<string, unknown>, '');
  const cfg = merge(withPreset, overrides as Record<string, unknown>, '') as unknown as DrganConfig;
  validateConfig(cfg);
  return structuredClone(cfg);
}

const posInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;

/** Throws naming the first field that is out of range or inconsistent with another. */
export function validateConfig(cfg: DrganConfig): void {
  const { generator: g, attention: a, discriminator: d, loss: l, train: t } = cfg;
  const oneOf = (field: string, v: unknown, allowed: readonly string[]) => { if (!allowed.includes(v as string)) fail(field, allowed.join('|'), v); };
  for (const [field, v] of [['resolution', cfg.resolution], ['numGrades', cfg.numGrades], ['generator.ngf', g.ngf], ['generator.gradingVectorDim', g.gradingVectorDim],
    ['generator.mappingWidth', g.mappingWidth], ['generator.mappingLayers', g.mappingLayers], ['generator.noiseChannelDivisor', g.noiseChannelDivisor],
    ['attention.keyValuePool', a.keyValuePool], ['attention.memoryBudgetBytes', a.memoryBudgetBytes], ['discriminator.ndf', d.ndf],
    ['discriminator.numD', d.numD], ['discriminator.numLayers', d.numLayers], ['train.batchSize', t.batchSize]] as const) {
    if (!posInt(v)) fail(field, 'a positive integer', v);
  }
  for (const [field, v] of [['generator.residualBlocks', g.residualBlocks], ['generator.localResidualBlocks', g.localResidualBlocks],
    ['train.stage1Epochs', t.stage1Epochs], ['train.stage2Epochs', t.stage2Epochs], ['train.freezeGlobalEpochs', t.freezeGlobalEpochs]] as const) {
    if (!Number.isInteger(v) || (v as number) < 0) fail(field, 'a non-negative integer', v);
  }
  // G_m runs at R/2 and halves it three times; each transposed conv must land exactly on the encoder's size.
  if (cfg.resolution % 32 !== 0) fail('resolution', 'a multiple of 32 (G_m works at R/2 and downsamples by 16)', cfg.resolution);
  if (g.ngf % 2 !== 0) fail('generator.ngf', 'even (G_l uses ngf/2 channels)', g.ngf);
  oneOf('generator.norm', g.norm, ['batch', 'instance']);
  oneOf('generator.conditionResize', g.conditionResize, ['area', 'bilinear', 'nearest']);
  // Absent in checkpoints written before the option existed: read as 'transposed'.
  if (g.upsampling !== undefined) oneOf('generator.upsampling', g.upsampling, ['transposed', 'resize']);
  const blockChannels = [8 * g.ngf, 4 * g.ngf, 2 * g.ngf];
  blockChannels.forEach((c, i) => {
    if (c % g.noiseChannelDivisor !== 0) fail('generator.noiseChannelDivisor', `a divisor of the block widths [${blockChannels}]`, g.noiseChannelDivisor);
    if (!posInt(a.reductions[i]) || c % a.reductions[i] !== 0) fail(`attention.reductions[${i}]`, `a positive divisor of ${c} (block width at that scale)`, a.reductions[i]);
  });
  if (a.reductions.length !== 3) fail('attention.reductions', 'three numbers (one per synthesis scale)', a.reductions);
  oneOf('attention.channel', a.channel, ['plain', 'danet']);
  const smallest = cfg.resolution / 16;
  if (a.keyValuePool > 1 && smallest % a.keyValuePool !== 0) fail('attention.keyValuePool', `a divisor of the smallest attention size ${smallest}`, a.keyValuePool);
  // Absent in checkpoints written before the option existed: read as 'normalized'.
  if (d.classPooling !== undefined) oneOf('discriminator.classPooling', d.classPooling, ['normalized', 'preNorm']);
  // Absent in checkpoints written before the option existed: read as 'conditionAndImage'.
  if (d.classInput !== undefined) oneOf('discriminator.classInput', d.classInput, ['conditionAndImage', 'imageOnly']);
  if (cfg.resolution / 2 ** (d.numD - 1) < 8) fail('discriminator.numD', `small enough that the coarsest input (R / 2^(numD-1)) keeps 8 pixels at R=${cfg.resolution}`, d.numD);
  oneOf('loss.adversarial', l.adversarial, ['bce', 'lsgan', 'hinge']);
  // Absent in checkpoints written before the option existed: read as 'image'.
  if (l.adversarialTarget !== undefined) oneOf('loss.adversarialTarget', l.adversarialTarget, ['image', 'patch']);
  oneOf('loss.featureMatching', l.featureMatching, ['l1', 'l2']);
  for (const k of ['lambdaFeatureMatching', 'lambdaPerceptual', 'lambdaClassification', 'focalGamma'] as const) {
    if (!(Number.isFinite(l[k]) && l[k] >= 0)) fail(`loss.${k}`, 'a finite number >= 0', l[k]);
  }
  // Absent in checkpoints written before the option existed: read as 0 (off).
  for (const k of ['lambdaReconstruction', 'reconstructionLesionWeight'] as const) {
    if (l[k] !== undefined && !(Number.isFinite(l[k]) && l[k] >= 0)) fail(`loss.${k}`, 'a finite number >= 0', l[k]);
  }
  if (!Array.isArray(l.perceptualWeights) || l.perceptualWeights.length !== 5) fail('loss.perceptualWeights', 'five weights (relu1_1..relu5_1)', l.perceptualWeights);
  if (!(t.lr > 0)) fail('train.lr', 'a positive number', t.lr);
  // Absent in checkpoints written before the option existed: read as off.
  if (g.halfScaleFusion !== undefined && typeof g.halfScaleFusion !== 'boolean') fail('generator.halfScaleFusion', 'true or false', g.halfScaleFusion);
  for (const k of Object.keys(cfg.ablation) as (keyof AblationConfig)[]) {
    if (typeof cfg.ablation[k] !== 'boolean') fail(`ablation.${k}`, 'true or false', cfg.ablation[k]);
  }
}

/** The condition channels the networks see, in order (method.md section 0 / ablation). */
export function conditionChannels(cfg: DrganConfig): readonly string[] {
  return cfg.ablation.noLesionMasks ? CONDITION_CHANNELS.slice(0, 2) : CONDITION_CHANNELS;
}
