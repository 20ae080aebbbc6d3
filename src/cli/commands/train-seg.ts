// `drgan train seg`: a U-Net for vessels, optic disc and lesions on a prepared data set.
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';
import type { Split } from '../../data/manifest.js';
import { parseTargets, SEG_TRAIN_DEFAULTS, trainSegmentation } from '../../train/segmentation-training.js';
import type { UNetNorm, UNetUpsampling } from '../../models/unet.js';

const D = SEG_TRAIN_DEFAULTS;

/** `train,test` or `all` -> splits; a clear error for anything else. */
export function parseSplits(value: string, flag: string): Split[] | 'all' {
  if (value === 'all') return 'all';
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of parts) if (!['train', 'val', 'test'].includes(p)) throw new UsageError(`${flag}: unknown split "${p}" (use train, val, test, a comma list, or all)`);
  if (parts.length === 0) throw new UsageError(`${flag}: no split given`);
  return parts as Split[];
}

export function parseTargetList(value: string, command: string, allowed?: Parameters<typeof parseTargets>[1]): ReturnType<typeof parseTargets> {
  try {
    return parseTargets(value.split(',').map((s) => s.trim()).filter(Boolean), allowed);
  } catch (err) {
    throw new UsageError(`${command}: --targets: ${(err as Error).message}`);
  }
}

export const trainSegCommand: Command = {
  name: 'train seg',
  summary: 'train a U-Net for vessel / optic disc / lesion masks (Dice + BCE, inside the FOV)',
  usage: 'drgan train seg --data DIR --targets vessel,optic_disc,MA,HE,EX,SE --out DIR [--epochs N] [--patch P] [--resume]',
  flags: {
    data: { kind: 'string', required: true, help: 'prepared data set (drgan prepare / drgan phantom)' },
    targets: { kind: 'string', required: true, help: 'comma list of channels: vessel, optic_disc, MA, HE, EX, SE' },
    out: { kind: 'string', required: true, help: 'output folder: latest.safetensors (resumable) and best.safetensors' },
    'val-data': { kind: 'string', help: 'validation data set (default: --data)' },
    'train-split': { kind: 'string', default: 'train', help: 'splits to train on: train, val, test, comma list, or all' },
    'val-split': { kind: 'string', default: 'val', help: 'splits to validate on' },
    epochs: { kind: 'int', default: D.epochs, min: 1, max: 1_000_000, help: 'epochs (on resume: the new total)' },
    size: { kind: 'int', default: D.size, min: 0, max: 8192, help: 'load images at this side (0: prepared size)' },
    patch: { kind: 'int', default: D.patch, min: 0, max: 8192, help: 'square training patches of this side (0: whole images)' },
    'patches-per-image': { kind: 'int', default: D.patchesPerImage, min: 1, max: 1024, help: 'patches cut from each image per step' },
    'positive-fraction': { kind: 'number', default: D.positiveFraction, min: 0, max: 1, help: 'share of patches centred on an annotated positive pixel' },
    batch: { kind: 'int', default: D.imagesPerStep, min: 1, max: 1024, help: 'images per step' },
    lr: { kind: 'number', default: D.lr, min: 0, help: 'Adam learning rate' },
    seed: { kind: 'int', default: D.seed, min: 0, max: 2 ** 31, help: 'seed of initialisation, order, augmentation and patches' },
    'no-augment': { kind: 'bool', default: false, help: 'no flips / rotation / colour jitter' },
    depth: { kind: 'int', default: D.model.depth, min: 1, max: 8, help: 'U-Net levels (2x downsamplings)' },
    width: { kind: 'int', default: D.model.baseWidth, min: 1, max: 1024, help: 'channels of the first level' },
    norm: { kind: 'choice', choices: ['batch', 'instance'], default: D.model.norm, help: 'normalisation layers' },
    up: { kind: 'choice', choices: ['bilinear', 'transpose'], default: D.model.up, help: 'decoder upsampling' },
    'val-every': { kind: 'int', default: D.valEvery, min: 1, max: 1_000_000, help: 'validate every N epochs' },
    threads: { kind: 'int', min: 1, max: 256, help: 'libtorch threads' },
    resume: { kind: 'bool', default: false, help: 'continue from OUT/latest.safetensors (settings from the checkpoint)' },
  },
  async run(flags) {
    const cmd = 'drgan train seg';
    const targets = parseTargetList(String(flags.targets), cmd);
    if (flags.threads) (await import('../../torch/index.js')).setNumThreads(flags.threads as number);
    const result = await trainSegmentation({
      data: flags.data as string,
      valData: flags['val-data'] as string | undefined,
      trainSplit: parseSplits(String(flags['train-split']), '--train-split'),
      valSplit: parseSplits(String(flags['val-split']), '--val-split'),
      targets,
      out: flags.out as string,
      epochs: flags.epochs as number,
      size: flags.size as number,
      patch: flags.patch as number,
      patchesPerImage: flags['patches-per-image'] as number,
      positiveFraction: flags['positive-fraction'] as number,
      imagesPerStep: flags.batch as number,
      lr: flags.lr as number,
      seed: flags.seed as number,
      augment: flags['no-augment'] !== true,
      valEvery: flags['val-every'] as number,
      model: { depth: flags.depth as number, baseWidth: flags.width as number, norm: flags.norm as UNetNorm, up: flags.up as UNetUpsampling },
    }, { resume: flags.resume === true, log: (line) => console.log(line) });
    const p = result.progress;
    console.log(`done: ${p.epoch} epochs; best epoch ${p.bestEpoch ?? '-'} (score ${p.bestScore?.toFixed(4) ?? '-'}) -> ${result.bestPath}`);
    return 0;
  },
};
