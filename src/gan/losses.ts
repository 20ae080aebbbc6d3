// DR-GAN's losses (method.md section 7, Eq. 1 of the paper): adversarial (bce / lsgan /
// hinge), discriminator feature matching, VGG-19 perceptual, focal classification, and
// their weighted sums for G and D.
import * as torch from '../torch/index.js';
import type { AdversarialLossKind, DrganConfig, FeatureMatchingNorm } from './config.js';
import type { DiscriminatorOutput } from './discriminator.js';
import type { FeatureExtractor } from './vgg19.js';

type T = torch.Tensor;

function checkKind(kind: AdversarialLossKind): void {
  if (kind !== 'bce' && kind !== 'lsgan' && kind !== 'hinge') throw new Error(`adversarial loss must be bce|lsgan|hinge, got "${kind as string}"`);
}

/** D's loss on one discriminator's logits: push real up, fake down. */
export function discriminatorAdversarialLoss(kind: AdversarialLossKind, realLogits: T, fakeLogits: T): T {
  checkKind(kind);
  return torch.tidy(() => {
    if (kind === 'bce') {
      const real = torch.F.binaryCrossEntropyWithLogits(realLogits, torch.onesLike(realLogits));
      return real.add(torch.F.binaryCrossEntropyWithLogits(fakeLogits, torch.zerosLike(fakeLogits)));
    }
    if (kind === 'lsgan') return realLogits.sub(1).square().mean().add(fakeLogits.square().mean());
    return realLogits.rsub(1).relu().mean().add(fakeLogits.add(1).relu().mean());
  });
}

/** G's loss on one discriminator's logits for fakes (bce: the non-saturating -log D(G(c))). */
export function generatorAdversarialLoss(kind: AdversarialLossKind, fakeLogits: T): T {
  checkKind(kind);
  return torch.tidy(() => {
    if (kind === 'bce') return torch.F.binaryCrossEntropyWithLogits(fakeLogits, torch.onesLike(fakeLogits));
    if (kind === 'lsgan') return fakeLogits.sub(1).square().mean();
    return fakeLogits.mean().neg();
  });
}

/**
 * sum over D_n and layers p of (1/numD)(1/numLayers) * mean |D_n^p(real) - D_n^p(fake)|
 * (L1; l2 uses the mean squared difference). Real features are detached: only G learns here.
 */
export function featureMatchingLoss(realFeatures: T[][], fakeFeatures: T[][], norm: FeatureMatchingNorm = 'l1'): T {
  if (norm !== 'l1' && norm !== 'l2') throw new Error(`feature matching norm must be l1|l2, got "${norm as string}"`);
  if (realFeatures.length !== fakeFeatures.length || realFeatures.length === 0) {
    throw new Error(`featureMatchingLoss: need the same number (> 0) of discriminators for real and fake, got ${realFeatures.length} and ${fakeFeatures.length}`);
  }
  return torch.tidy(() => {
    const numD = realFeatures.length;
    let total: T | null = null;
    realFeatures.forEach((real, n) => {
      const fake = fakeFeatures[n];
      if (real.length !== fake.length) throw new Error(`featureMatchingLoss: D${n + 1} has ${real.length} real and ${fake.length} fake feature maps`);
      real.forEach((r, p) => {
        const target = r.detach();
        const d = norm === 'l1' ? torch.F.l1Loss(fake[p], target) : torch.F.mseLoss(fake[p], target);
        const term = d.mul(1 / (numD * real.length));
        total = total ? total.add(term) : term;
      });
    });
    return total!;
  });
}

/** sum_q w_q * mean |F^q(real) - F^q(fake)| on a frozen feature extractor (real side detached). */
export class PerceptualLoss {
  readonly weights: number[];

  constructor(readonly extractor: FeatureExtractor, weights?: number[]) {
    this.weights = weights ?? [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1];
  }

  forward(fake: T, real: T): T {
    return torch.tidy(() => {
      const ff = this.extractor.extract(fake);
      const rf = torch.noGrad(() => this.extractor.extract(real));
      if (ff.length !== this.weights.length) {
        throw new Error(`PerceptualLoss: "${this.extractor.name}" gives ${ff.length} feature maps but ${this.weights.length} weights were set`);
      }
      let total: T | null = null;
      ff.forEach((f, q) => {
        const term = torch.F.l1Loss(f, rf[q]).mul(this.weights[q]);
        total = total ? total.add(term) : term;
      });
      return total!;
    });
  }
}

/** Condition channels before this index are structure (vessel, optic disc); the rest are lesions (CONDITION_CHANNELS). */
const FIRST_LESION_CHANNEL = 2;

/**
 * Lesion-weighted L1 between G(c) and the real photo of c (loss.lambdaReconstruction):
 * sum_p w_p |fake_p - real_p| / (3 sum_p w_p), w_p = 1 + lesionWeight * max_lesion c_p, the
 * max taken over the lesion channels of the condition map [N, C, H, W] at the images' size. A
 * weighted mean, so its scale does not depend on how much lesion a batch holds. Real detached.
 */
export function reconstructionLoss(fake: T, real: T, condition: T, lesionWeight: number): T {
  const [f, r, c] = [fake.shape, real.shape, condition.shape];
  if (f.length !== 4 || f.join() !== r.join() || c.length !== 4 || c[0] !== f[0] || c[2] !== f[2] || c[3] !== f[3]) {
    throw new Error(`reconstructionLoss: expected fake and real [N, 3, H, W] and condition [N, C, H, W], got [${f.join(', ')}], [${r.join(', ')}] and [${c.join(', ')}]`);
  }
  return torch.tidy(() => {
    const diff = fake.sub(real.detach()).abs();
    if (c[1] <= FIRST_LESION_CHANNEL || lesionWeight === 0) return diff.mean();
    const w = condition.narrow(1, FIRST_LESION_CHANNEL, c[1] - FIRST_LESION_CHANNEL).amax(1, true).mul(lesionWeight).add(1);
    return diff.mul(w).sum().div(w.sum().mul(f[1]));
  });
}

/** Focal loss of grade logits [N, numGrades] against int64 grades [N] (gamma 0 = cross entropy). */
export function classificationLoss(logits: T, grades: T, gamma = 2): T {
  const s = logits.shape;
  if (s.length !== 2 || grades.shape.length !== 1 || grades.shape[0] !== s[0]) {
    throw new Error(`classificationLoss: expected logits [N, K] and grades [N], got [${s.join(', ')}] and [${grades.shape.join(', ')}]`);
  }
  if (grades.dtype !== 'int64') throw new Error(`classificationLoss: grades must be int64, got ${grades.dtype}`);
  return torch.F.focalLoss(logits, grades, { gamma });
}

export interface LossTerms {
  total: T;
  /** Each weighted term's value (already multiplied by its lambda), for logging. */
  terms: Record<string, number>;
}

export interface GeneratorLossInputs {
  /** D outputs on (c, G(c)), not detached. */
  fakeOut: DiscriminatorOutput[];
  /** D outputs on (c, x); their features are detached here. */
  realOut: DiscriminatorOutput[];
  fakeImage: T;
  realImage: T;
  /** int64 [N] grades the fake must show (the sample's true grade in training). */
  grades: T;
  /** The encoder's grade head logits [N, numGrades]. */
  gradeLogits: T;
  /** Required unless ablation.noPerceptual. */
  perceptual?: PerceptualLoss | null;
  /** The condition map at the images' size; required when loss.lambdaReconstruction > 0. */
  condition?: T;
}

/** The logits the adversarial loss judges: one per image (paper), or every patch of the map (loss.adversarialTarget). */
function adversarialLogits(o: DiscriminatorOutput, cfg: DrganConfig): T {
  return cfg.loss.adversarialTarget === 'patch' ? o.patchLogits.flatten(1) : o.logit;
}

function sum(ts: T[]): T {
  return ts.slice(1).reduce((a, b) => a.add(b), ts[0]);
}

/**
 * Eq. 1 for G: sum_n L_adv + lambda1 L_FM + lambda2 L_perc
 * + lambda3 (sum_n focal(D_n(G(c)), y) + focal(gradeHead, y)), plus the CPU option's
 * lesion-weighted L1 (loss.lambdaReconstruction, 0 in every preset).
 * [decision] G is also pushed by D's classifier (AC-GAN style) so that it obeys the grade;
 * ablation.noClsLoss drops the D part, the encoder's grade head keeps its loss.
 */
export function generatorLoss(inp: GeneratorLossInputs, cfg: DrganConfig): LossTerms {
  const l = cfg.loss, ab = cfg.ablation;
  if (!ab.noPerceptual && !inp.perceptual) throw new Error('generatorLoss: ablation.noPerceptual is off but no PerceptualLoss was given');
  return torch.tidy(() => {
    const parts: Record<string, T> = {};
    parts.adversarial = sum(inp.fakeOut.map((o) => generatorAdversarialLoss(l.adversarial, adversarialLogits(o, cfg))));
    parts.featureMatching = featureMatchingLoss(inp.realOut.map((o) => o.features), inp.fakeOut.map((o) => o.features), l.featureMatching).mul(l.lambdaFeatureMatching);
    if (!ab.noPerceptual) parts.perceptual = inp.perceptual!.forward(inp.fakeImage, inp.realImage).mul(l.lambdaPerceptual);
    if ((l.lambdaReconstruction ?? 0) > 0) {
      if (!inp.condition) throw new Error('generatorLoss: loss.lambdaReconstruction > 0 needs the condition map');
      parts.reconstruction = reconstructionLoss(inp.fakeImage, inp.realImage, inp.condition, l.reconstructionLesionWeight ?? 0).mul(l.lambdaReconstruction);
    }
    if (!ab.noClsLoss) {
      parts.classification = sum(inp.fakeOut.map((o, n) => {
        if (!o.classLogits) throw new Error(`generatorLoss: D${n + 1} has no classification head but ablation.noClsLoss is off`);
        return classificationLoss(o.classLogits, inp.grades, l.focalGamma);
      })).mul(l.lambdaClassification);
    }
    parts.gradeHead = classificationLoss(inp.gradeLogits, inp.grades, l.focalGamma).mul(l.lambdaClassification);
    return finish(parts);
  });
}

export interface DiscriminatorLossInputs {
  realOut: DiscriminatorOutput[];
  /** D outputs on (c, G(c).detach()). */
  fakeOut: DiscriminatorOutput[];
  /** int64 [N] true grades of the real images (= the grades the fakes were made for). */
  grades: T;
}

/** Eq. 1 for D: sum_n [L_adv(real, fake) + lambda3 (focal(D_n(x), y) + focal(D_n(G(c)), y))]. */
export function discriminatorLoss(inp: DiscriminatorLossInputs, cfg: DrganConfig): LossTerms {
  const l = cfg.loss;
  return torch.tidy(() => {
    const parts: Record<string, T> = {};
    parts.adversarial = sum(inp.realOut.map((r, n) => discriminatorAdversarialLoss(l.adversarial, adversarialLogits(r, cfg), adversarialLogits(inp.fakeOut[n], cfg))));
    if (!cfg.ablation.noClsLoss) {
      parts.classification = sum(inp.realOut.map((r, n) => {
        const f = inp.fakeOut[n];
        if (!r.classLogits || !f.classLogits) throw new Error(`discriminatorLoss: D${n + 1} has no classification head but ablation.noClsLoss is off`);
        return classificationLoss(r.classLogits, inp.grades, l.focalGamma).add(classificationLoss(f.classLogits, inp.grades, l.focalGamma));
      })).mul(l.lambdaClassification);
    }
    return finish(parts);
  });
}

function finish(parts: Record<string, T>): LossTerms {
  const total = sum(Object.values(parts));
  const terms: Record<string, number> = {};
  for (const [k, v] of Object.entries(parts)) terms[k] = v.item();
  return { total, terms };
}
