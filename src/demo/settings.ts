// The demo's two named configurations: `full` (the README's first command; sized so the whole
// run takes about 15 minutes on a 2-core machine) and `quick` (the same story in under a
// minute, for tests and CI smoke runs). Every size the demo uses is here, nowhere else.
import { makeConfig, type AdversarialTarget, type DrganConfig, type UpsamplingKind } from '../gan/config.js';

export interface DemoSettings {
  name: 'full' | 'quick';
  seed: number;
  /** libtorch intra-op threads. */
  threads: number;
  phantom: { n: number; size: number; gradeFrequencies: number[] };
  grader: { widthDivisor: number; inputSize: number; epochs: number; batchSize: number; lr: number; augment: boolean };
  gan: {
    /** Generator width, discriminator width, batch, learning rate of the DR-GAN preset below. */
    ngf: number; ndf: number; batchSize: number; lr: number;
    /** About this many steps in all, in whole epochs (each stage at least one). */
    steps: number;
    /** Share of the steps that stage 2 (G_m + G_l at R) gets. */
    stage2Share: number;
    /** The rest of the preset (residual blocks, attention reductions...). */
    preset: 'cpu128' | 'tiny';
    /** generator.halfScaleFusion: the condition map and stem feature fused at R/2 (docs/gan.md, CPU options). */
    halfScaleFusion: boolean;
    /** generator.upsampling: 'resize' (nearest x2 + conv) draws no transposed-conv checkerboard. */
    upsampling: UpsamplingKind;
    /** loss.adversarialTarget: 'patch' judges every patch logit (pix2pixHD) rather than their mean. */
    adversarialTarget: AdversarialTarget;
    /** Per stage: full rate for the first half of its epochs, then linear decay to 0 (the trainer's lrDecay). */
    lrDecay: boolean;
    /** Perceptual loss: off, or the phase-2 grader's backbone (method.md's documented fallback without VGG-19). */
    perceptual: 'off' | 'grader';
    /** discriminator.classPooling and discriminator.classInput (docs/gan.md). */
    classPooling?: 'normalized' | 'preNorm';
    classInput?: 'conditionAndImage' | 'imageOnly';
    /**
     * DR-GAN trains on the train-split members of the first N phantoms only (trainGan's limit);
     * null: all of them. The grader, the grading space and the lesion model use the whole set.
     */
    firstSamples: number | null;
    /** loss.lambdaReconstruction and loss.reconstructionLesionWeight: the lesion-weighted L1 to the photo (docs/gan.md). */
    reconstruction?: { lambda: number; lesionWeight: number };
  };
  evaluation: {
    /** Real samples per grade in the real-vs-synthetic figure. */
    figurePerGrade: number;
    /** Vessel trees in the five-grades figure. */
    trees: number;
    /** Synthetic images per grade the grader classifies (controllability). */
    controlPerGrade: number;
    /** Images per set for SWD (held-out real vs synthetic from their condition maps). */
    swdImages: number;
  };
}

// Grades 3 and 4 are ~2 % of EyePACS: a few hundred images would hold a handful. The demo
// flattens the frequencies so every grade has enough examples for the grader, the grading
// space and the lesion model.
const FLAT_GRADES = [30, 15, 25, 15, 15];

export const DEMO_PRESETS: Record<'full' | 'quick', DemoSettings> = {
  full: {
    name: 'full', seed: 0, threads: 1,
    // 1,000 phantoms for the grader (it learns from the data it gets: test kappa 0.63 / accuracy 0.49 with
    // 328 training phantoms, 0.69 / 0.58 with 817), of which DR-GAN trains on the first 400's: in 820 steps
    // it drew worse images from all 1,000 (each seen 2 times per stage instead of 5; docs/demo.md).
    phantom: { n: 1000, size: 128, gradeFrequencies: FLAT_GRADES },
    // Measured: with augmentation 6 epochs did not learn (train loss stayed ~ln 5); without, it learns.
    // 96 px rather than 64: microaneurysms (1-2 px at 128) survive the resize.
    grader: { widthDivisor: 4, inputSize: 96, epochs: 8, batchSize: 16, lr: 1e-3, augment: false },
    // Measured (docs/demo.md): the three CPU options and an even stage split draw the vessel tree,
    // the disc and exudates / cotton-wool spots in the same 820 steps; lr decay and the grader as
    // perceptual network did not help at this budget. D's class head on the image alone, pooled
    // before InstanceNorm, raised controllability 0.25 -> 0.36 (seed 0) and 0.25 -> 0.29 (seed 1).
    // The lesion-weighted L1 to the photo raised the lesions' contrast to 0.6-0.8 of the photos'
    // (microaneurysms 0.35 -> 0.65 of it); the same L1 unweighted did not (docs/demo.md).
    gan: { ngf: 16, ndf: 16, batchSize: 4, lr: 5e-4, steps: 820, stage2Share: 0.5, preset: 'cpu128', firstSamples: 400,
      halfScaleFusion: true, upsampling: 'resize', adversarialTarget: 'patch', lrDecay: false, perceptual: 'off', classPooling: 'preNorm', classInput: 'imageOnly',
      reconstruction: { lambda: 10, lesionWeight: 20 } },
    evaluation: { figurePerGrade: 3, trees: 3, controlPerGrade: 20, swdImages: 64 },
  },
  quick: {
    name: 'quick', seed: 0, threads: 1,
    phantom: { n: 40, size: 64, gradeFrequencies: [1, 1, 1, 1, 1] },
    grader: { widthDivisor: 16, inputSize: 32, epochs: 1, batchSize: 8, lr: 1e-3, augment: false },
    // The same CPU options as `full`, so that the quick run (the test) goes through their code.
    gan: { ngf: 4, ndf: 4, batchSize: 4, lr: 2e-4, steps: 12, stage2Share: 0.5, preset: 'tiny', firstSamples: 30,
      halfScaleFusion: true, upsampling: 'resize', adversarialTarget: 'patch', lrDecay: false, perceptual: 'off', classPooling: 'preNorm', classInput: 'imageOnly',
      reconstruction: { lambda: 10, lesionWeight: 20 } },
    evaluation: { figurePerGrade: 1, trees: 1, controlPerGrade: 2, swdImages: 8 },
  },
};

/** Stage epochs that give about `steps` steps at `stepsPerEpoch`, each stage at least one epoch. */
export function stageEpochs(steps: number, stepsPerEpoch: number, stage2Share: number): [number, number] {
  const total = Math.max(2, Math.round(steps / stepsPerEpoch));
  const stage2 = Math.max(1, Math.round(total * stage2Share));
  return [Math.max(1, total - stage2), stage2];
}

/** The DR-GAN configuration of the demo: the preset at the phantom's size, sized down, with the demo's CPU options. */
export function demoGanConfig(s: DemoSettings, gradingVectorDim: number, stepsPerEpoch: number): DrganConfig {
  const [stage1Epochs, stage2Epochs] = stageEpochs(s.gan.steps, stepsPerEpoch, s.gan.stage2Share);
  return makeConfig(s.gan.preset, {
    resolution: s.phantom.size,
    generator: {
      ngf: s.gan.ngf, gradingVectorDim, mappingWidth: Math.max(16, Math.min(128, gradingVectorDim)),
      halfScaleFusion: s.gan.halfScaleFusion, upsampling: s.gan.upsampling,
    },
    discriminator: { ndf: s.gan.ndf, ...(s.gan.classPooling ? { classPooling: s.gan.classPooling } : {}), ...(s.gan.classInput ? { classInput: s.gan.classInput } : {}) },
    loss: {
      adversarialTarget: s.gan.adversarialTarget,
      ...(s.gan.reconstruction ? { lambdaReconstruction: s.gan.reconstruction.lambda, reconstructionLesionWeight: s.gan.reconstruction.lesionWeight } : {}),
    },
    // No VGG-19 weights ship with the project: the loss is off or uses the grader's backbone, never a random network.
    ablation: { noPerceptual: s.gan.perceptual === 'off' },
    train: { batchSize: s.gan.batchSize, lr: s.gan.lr, stage1Epochs, stage2Epochs },
  });
}
