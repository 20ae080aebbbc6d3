// `drgan train cam`: image-level classifiers whose class activation maps become LM / PM maps.
import type { Command } from '../command.js';
import { CONDITION_CHANNELS } from '../../data/manifest.js';
import { CAM_TRAIN_DEFAULTS, trainCam } from '../../train/cam-training.js';
import type { ResNetDepth } from '../../models/resnet.js';
import { NO_AUGMENT_FLAG, optimiserFlags, readRunFlags, runFlags, THREADS_AND_RESUME_FLAGS } from '../mask-training-flags.js';

const D = CAM_TRAIN_DEFAULTS;

export const trainCamCommand: Command = {
  name: 'train cam',
  summary: 'train image-level classifiers (ResNet + GAP + linear) for class activation maps of LM / PM',
  usage: 'drgan train cam --data DIR --targets LM,PM --out DIR [--epochs N] [--size S] [--resume]',
  flags: {
    ...runFlags({
      dataHelp: 'prepared data set with annotated masks for the targets',
      targets: { kind: 'string', default: 'LM,PM', help: 'comma list of channels; label = the mask has any positive pixel' },
      epochs: D.epochs,
    }),
    size: { kind: 'int', default: D.size, min: 0, max: 8192, help: 'image side (0: prepared size)' },
    batch: { kind: 'int', default: D.batchSize, min: 1, max: 4096, help: 'images per step' },
    ...optimiserFlags({ lr: D.lr, seed: D.seed, seedHelp: 'seed of initialisation, order and augmentation' }),
    depth: { kind: 'choice', choices: ['18', '50'], default: String(D.model.depth), help: 'ResNet depth' },
    width: { kind: 'int', default: D.model.baseWidth!, min: 1, max: 1024, help: 'ResNet base width (torchvision: 64)' },
    'no-augment': NO_AUGMENT_FLAG,
    ...THREADS_AND_RESUME_FLAGS,
  },
  async run(flags) {
    const r = await trainCam({
      ...(await readRunFlags(flags, 'drgan train cam', CONDITION_CHANNELS)),
      batchSize: flags.batch as number,
      model: { depth: Number(flags.depth) as ResNetDepth, baseWidth: flags.width as number },
    }, { resume: flags.resume === true, log: (l) => console.log(l) });
    const last = r.progress.history.at(-1);
    if (last?.accuracy) console.log(`accuracy (validation): ${Object.entries(last.accuracy).map(([t, a]) => `${t} ${a.toFixed(3)}`).join(', ')}`);
    console.log(`done: ${r.progress.epoch} epochs; best epoch ${r.progress.bestEpoch ?? '-'} -> ${r.bestPath}`);
    return 0;
  },
};
