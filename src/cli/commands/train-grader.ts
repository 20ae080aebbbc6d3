// `drgan train grader`: trains the DR grader on a prepared data set (train split), validating
// on the val split each epoch; resumable with --resume.
import { BACKBONES, type BackboneName } from '../../models/grader.js';
import { DEFAULT_TRAINING, trainGrader } from '../../train/grader-training.js';
import type { Command } from '../command.js';
import { DEVICE_FLAG, resolveDevice } from '../device-flag.js';

const D = DEFAULT_TRAINING;

export const trainGraderCommand: Command = {
  name: 'train grader',
  summary: 'train the DR grader (ResNet/VGG/Inception-v3) on a prepared data set; best and resumable checkpoints',
  usage: 'drgan train grader --data DIR --out DIR [--backbone resnet18] [--epochs N] [--batch B] [--size S] [--lr X] [--loss ce|focal] [--balanced] [--device cpu|cuda[:N]] [--cache-mb N] [--resume]',
  flags: {
    data: { kind: 'string', required: true, help: 'prepared data set (train split trains, val split validates)' },
    out: { kind: 'string', required: true, help: 'output folder: best.safetensors, latest.safetensors, log.jsonl' },
    backbone: { kind: 'choice', choices: BACKBONES, default: 'resnet18', help: 'network (torchvision layout); inception_v3 needs --size >= 75 and trains its auxiliary head (loss + 0.4 aux) at >= 299' },
    epochs: { kind: 'int', default: D.epochs, min: 1, max: 100000, help: 'epochs in total (the schedule spans them)' },
    batch: { kind: 'int', default: D.batchSize, min: 2, max: 4096, help: 'batch size' },
    size: { kind: 'int', default: 224, min: 32, max: 2048, help: 'input side in pixels (images are resized on load); inception_v3: >= 75, 299 as published' },
    lr: { kind: 'number', default: D.lr, min: 0, help: 'initial learning rate' },
    'weight-decay': { kind: 'number', default: D.weightDecay, min: 0, help: 'L2 weight decay' },
    optimizer: { kind: 'choice', choices: ['adam', 'sgd'], default: D.optimizer, help: 'Adam, or SGD with momentum 0.9' },
    schedule: { kind: 'choice', choices: ['cosine', 'step', 'none'], default: D.schedule, help: 'lr schedule per epoch: cosine to 0 over --epochs, or x0.1 every --step-size epochs' },
    'step-size': { kind: 'int', default: D.stepSize, min: 1, help: 'epochs per decay of the step schedule' },
    loss: { kind: 'choice', choices: ['ce', 'focal'], default: D.loss, help: 'cross entropy, or focal loss (gamma 2)' },
    'class-weights': { kind: 'bool', default: false, help: 'weight the loss by inverse grade frequency' },
    balanced: { kind: 'bool', default: false, help: 'class-balanced sampling (each grade equally likely)' },
    'no-augment': { kind: 'bool', default: false, help: 'turn off flips, rotation, scale and colour jitter' },
    width: { kind: 'int', default: 1, min: 1, max: 64, help: 'divide every layer width by this (1 = the published network)' },
    pretrained: { kind: 'string', help: 'torchvision ImageNet weights (.pth or .safetensors) for the backbone, e.g. resnet50-0676ba61.pth, inception_v3_google-0cc3c7bd.pth' },
    seed: { kind: 'int', default: 0, min: 0, help: 'seed of initialisation, batch order and augmentation' },
    resume: { kind: 'bool', default: false, help: 'continue from OUT/latest.safetensors' },
    'stop-after': { kind: 'int', min: 1, help: 'stop after this many epochs in this run (resume later)' },
    'cache-mb': { kind: 'number', default: 1024, min: 0, help: 'megabytes of decoded training photos kept in memory for later epochs (0: decode every epoch); changes no batch' },
    device: DEVICE_FLAG,
  },
  async run(f) {
    const device = resolveDevice(f.device, 'drgan train grader');
    const result = await trainGrader({
      ...DEFAULT_TRAINING,
      data: f.data as string,
      out: f.out as string,
      grader: { backbone: f.backbone as BackboneName, inputSize: f.size as number, widthDivisor: f.width as number, numClasses: 5 },
      epochs: f.epochs as number,
      batchSize: f.batch as number,
      lr: f.lr as number,
      weightDecay: f['weight-decay'] as number,
      optimizer: f.optimizer as 'adam' | 'sgd',
      schedule: f.schedule as 'cosine' | 'step' | 'none',
      stepSize: f['step-size'] as number,
      loss: f.loss as 'ce' | 'focal',
      classWeights: f['class-weights'] as boolean,
      balanced: f.balanced as boolean,
      augment: !(f['no-augment'] as boolean),
      seed: f.seed as number,
      resume: f.resume as boolean,
      pretrained: f.pretrained as string | undefined,
      stopAfter: f['stop-after'] as number | undefined,
      cacheMegabytes: f['cache-mb'] as number,
      device,
      log: (line) => console.log(line),
    });
    const best = result.best ? `best val kappa ${result.best.kappa.toFixed(4)} at epoch ${result.best.epoch} (${result.bestPath})` : 'no validation';
    console.log(`trained ${result.epochsDone} epoch(s); ${best}; resumable state in ${result.latestPath}`);
    return 0;
  },
};
