// `drgan train cam`: image-level classifiers whose class activation maps become LM / PM maps.
import type { Command } from '../command.js';
import { CONDITION_CHANNELS } from '../../data/manifest.js';
import { CAM_TRAIN_DEFAULTS, trainCam } from '../../train/cam-training.js';
import type { ResNetDepth } from '../../models/resnet.js';
import { parseSplits, parseTargetList } from './train-seg.js';

const D = CAM_TRAIN_DEFAULTS;

export const trainCamCommand: Command = {
  name: 'train cam',
  summary: 'train image-level classifiers (ResNet + GAP + linear) for class activation maps of LM / PM',
  usage: 'drgan train cam --data DIR --targets LM,PM --out DIR [--epochs N] [--size S] [--resume]',
  flags: {
    data: { kind: 'string', required: true, help: 'prepared data set with annotated masks for the targets' },
    targets: { kind: 'string', default: 'LM,PM', help: 'comma list of channels; label = the mask has any positive pixel' },
    out: { kind: 'string', required: true, help: 'output folder: latest.safetensors (resumable) and best.safetensors' },
    'val-data': { kind: 'string', help: 'validation data set (default: --data)' },
    'train-split': { kind: 'string', default: 'train', help: 'splits to train on: train, val, test, comma list, or all' },
    'val-split': { kind: 'string', default: 'val', help: 'splits to validate on' },
    epochs: { kind: 'int', default: D.epochs, min: 1, max: 1_000_000, help: 'epochs (on resume: the new total)' },
    size: { kind: 'int', default: D.size, min: 0, max: 8192, help: 'image side (0: prepared size)' },
    batch: { kind: 'int', default: D.batchSize, min: 1, max: 4096, help: 'images per step' },
    lr: { kind: 'number', default: D.lr, min: 0, help: 'Adam learning rate' },
    seed: { kind: 'int', default: D.seed, min: 0, max: 2 ** 31, help: 'seed of initialisation, order and augmentation' },
    depth: { kind: 'choice', choices: ['18', '50'], default: String(D.model.depth), help: 'ResNet depth' },
    width: { kind: 'int', default: D.model.baseWidth!, min: 1, max: 1024, help: 'ResNet base width (torchvision: 64)' },
    'no-augment': { kind: 'bool', default: false, help: 'no flips / rotation / colour jitter' },
    threads: { kind: 'int', min: 1, max: 256, help: 'libtorch threads' },
    resume: { kind: 'bool', default: false, help: 'continue from OUT/latest.safetensors' },
  },
  async run(flags) {
    const targets = parseTargetList(String(flags.targets), 'drgan train cam', CONDITION_CHANNELS);
    if (flags.threads) (await import('../../torch/index.js')).setNumThreads(flags.threads as number);
    const r = await trainCam({
      data: flags.data as string,
      valData: flags['val-data'] as string | undefined,
      trainSplit: parseSplits(String(flags['train-split']), '--train-split'),
      valSplit: parseSplits(String(flags['val-split']), '--val-split'),
      targets,
      out: flags.out as string,
      epochs: flags.epochs as number,
      size: flags.size as number,
      batchSize: flags.batch as number,
      lr: flags.lr as number,
      seed: flags.seed as number,
      augment: flags['no-augment'] !== true,
      model: { depth: Number(flags.depth) as ResNetDepth, baseWidth: flags.width as number },
    }, { resume: flags.resume === true, log: (l) => console.log(l) });
    const last = r.progress.history.at(-1);
    if (last?.accuracy) console.log(`accuracy (validation): ${Object.entries(last.accuracy).map(([t, a]) => `${t} ${a.toFixed(3)}`).join(', ')}`);
    console.log(`done: ${r.progress.epoch} epochs; best epoch ${r.progress.bestEpoch ?? '-'} -> ${r.bestPath}`);
    return 0;
  },
};
