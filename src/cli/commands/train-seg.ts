// `drgan train seg`: a U-Net for vessels, optic disc and lesions on a prepared data set.
import type { Command } from '../command.js';
import { SEG_TRAIN_DEFAULTS, trainSegmentation } from '../../train/segmentation-training.js';
import type { UNetNorm, UNetUpsampling } from '../../models/unet.js';
import { DEVICE_FLAG, resolveDevice } from '../device-flag.js';
import { NO_AUGMENT_FLAG, optimiserFlags, readRunFlags, runFlags, THREADS_AND_RESUME_FLAGS } from '../mask-training-flags.js';

// eval-seg reads its --split with the same parser.
export { parseSplits } from '../mask-training-flags.js';

const D = SEG_TRAIN_DEFAULTS;

export const trainSegCommand: Command = {
  name: 'train seg',
  summary: 'train a U-Net for vessel / optic disc / lesion masks (Dice + BCE, inside the FOV)',
  usage: 'drgan train seg --data DIR --targets vessel,optic_disc,MA,HE,EX,SE --out DIR [--epochs N] [--patch P] [--device cuda] [--resume]',
  flags: {
    ...runFlags({
      dataHelp: 'prepared data set (drgan prepare / drgan phantom)',
      targets: { kind: 'string', required: true, help: 'comma list of channels: vessel, optic_disc, MA, HE, EX, SE' },
      epochs: D.epochs,
    }),
    size: { kind: 'int', default: D.size, min: 0, max: 8192, help: 'load images at this side (0: prepared size)' },
    patch: { kind: 'int', default: D.patch, min: 0, max: 8192, help: 'square training patches of this side (0: whole images)' },
    'patches-per-image': { kind: 'int', default: D.patchesPerImage, min: 1, max: 1024, help: 'patches cut from each image per step' },
    'positive-fraction': { kind: 'number', default: D.positiveFraction, min: 0, max: 1, help: 'share of patches centred on an annotated positive pixel' },
    batch: { kind: 'int', default: D.imagesPerStep, min: 1, max: 1024, help: 'images per step' },
    'steps-per-batch': { kind: 'int', default: D.stepsPerBatch, min: 1, max: 100_000, help: 'optimiser steps per loaded batch, each on new patches (amortises decoding)' },
    'pos-weight': { kind: 'number', default: D.posWeight, min: 0, help: 'BCE weight of positive pixels (pos_weight; 1: plain BCE)' },
    ...optimiserFlags({ lr: D.lr, seed: D.seed, seedHelp: 'seed of initialisation, order, augmentation and patches' }),
    'no-augment': NO_AUGMENT_FLAG,
    depth: { kind: 'int', default: D.model.depth, min: 1, max: 8, help: 'U-Net levels (2x downsamplings)' },
    width: { kind: 'int', default: D.model.baseWidth, min: 1, max: 1024, help: 'channels of the first level' },
    norm: { kind: 'choice', choices: ['batch', 'instance'], default: D.model.norm, help: 'normalisation layers' },
    up: { kind: 'choice', choices: ['bilinear', 'transpose'], default: D.model.up, help: 'decoder upsampling' },
    'val-every': { kind: 'int', default: D.valEvery, min: 1, max: 1_000_000, help: 'validate every N epochs' },
    device: DEVICE_FLAG,
    ...THREADS_AND_RESUME_FLAGS,
  },
  async run(flags) {
    const device = resolveDevice(flags.device, 'drgan train seg');
    const result = await trainSegmentation({
      ...(await readRunFlags(flags, 'drgan train seg')),
      patch: flags.patch as number,
      patchesPerImage: flags['patches-per-image'] as number,
      positiveFraction: flags['positive-fraction'] as number,
      imagesPerStep: flags.batch as number,
      stepsPerBatch: flags['steps-per-batch'] as number,
      posWeight: flags['pos-weight'] as number,
      valEvery: flags['val-every'] as number,
      model: { depth: flags.depth as number, baseWidth: flags.width as number, norm: flags.norm as UNetNorm, up: flags.up as UNetUpsampling },
    }, { resume: flags.resume === true, device, log: (line) => console.log(line) });
    const p = result.progress;
    console.log(`done: ${p.epoch} epochs; best epoch ${p.bestEpoch ?? '-'} (score ${p.bestScore?.toFixed(4) ?? '-'}) -> ${result.bestPath}`);
    return 0;
  },
};
