// Training the image-level classifiers whose class activation maps stand in for the LM and
// PM channels (method.md section 1). The label of a (photo, channel) pair is whether its
// annotated mask has any positive pixel; pairs whose channel is not annotated are left out
// of the loss and the accuracy. The epoch loop and checkpoints are epoch-loop.ts's, as for
// the U-Net: latest (exact resume at epoch boundaries) and best (by validation accuracy,
// or training loss without a validation split).
import * as torch from '../torch/index.js';
import { DataLoader, type Batch } from '../data/loader.js';
import { DEFAULT_AUGMENT } from '../data/augment.js';
import { CONDITION_CHANNELS, readManifest, type ConditionChannel, type Split } from '../data/manifest.js';
import { CamClassifier, type CamClassifierConfig } from '../models/cam-classifier.js';
import { loadTrainedModel, openRun, runEpochs, startModel, type EpochProgress, type EpochRecord, type MaskTrainConfig } from './epoch-loop.js';
import { annotatesAny, hasValidationSamples, parseTargets, requireAnnotated } from './segmentation-training.js';

type Tensor = torch.Tensor;

export const CAM_KIND = 'cam';

export interface CamTrainConfig extends MaskTrainConfig {
  batchSize: number;
  model: Omit<CamClassifierConfig, 'numClasses'>;
}

export const CAM_TRAIN_DEFAULTS: Omit<CamTrainConfig, 'data' | 'targets' | 'out'> = {
  trainSplit: ['train'],
  valSplit: ['val'],
  size: 256,
  batchSize: 8,
  epochs: 10,
  lr: 1e-3,
  seed: 0,
  augment: true,
  model: { depth: 18, baseWidth: 32 },
};

/** An epoch; its score is the mean validation accuracy over targets, or -loss without validation. */
export interface CamEpochRecord extends EpochRecord {
  /** Validation accuracy per target (NaN where no validation sample has the channel). */
  accuracy?: Record<string, number>;
}

export type CamProgress = EpochProgress<CamEpochRecord>;

/** Image-level labels [B, T] (any positive pixel) and annotation flags [B, T] of a batch. */
export function imageLabels(b: Batch, targets: readonly ConditionChannel[]): { labels: Float32Array; known: Float32Array } {
  const C = CONDITION_CHANNELS.length;
  const T = targets.length;
  const px = b.size * b.size;
  const labels = new Float32Array(b.batchSize * T);
  const known = new Float32Array(b.batchSize * T);
  for (let i = 0; i < b.batchSize; i++) {
    targets.forEach((ch, t) => {
      const c = CONDITION_CHANNELS.indexOf(ch);
      if (!b.known[i * C + c] || b.predicted[i * C + c]) return;
      known[i * T + t] = 1;
      const plane = b.conditions.subarray((i * C + c) * px, (i * C + c + 1) * px);
      labels[i * T + t] = plane.some((v) => v > 0) ? 1 : 0;
    });
  }
  return { labels, known };
}

/** Accuracy per target at probability 0.5 over annotated samples of a split. */
export async function evaluateCam(model: CamClassifier, targets: readonly ConditionChannel[], dir: string, split: Split[] | 'all', size: number): Promise<Record<string, number>> {
  const loader = new DataLoader({ dir, split, batchSize: 8, size: size || undefined, shuffle: false, augment: false, filter: annotatesAny(targets) });
  const T = targets.length;
  const right = new Array<number>(T).fill(0);
  const count = new Array<number>(T).fill(0);
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const b of loader.epoch(0)) {
      const { labels, known } = imageLabels(b, targets);
      const logits = torch.noGrad(() => torch.tidy(() => model.forward(torch.tensor(b.images, b.shapes.images))));
      const z = logits.dataSync() as Float32Array;
      logits.dispose();
      for (let i = 0; i < z.length; i++) {
        if (!known[i]) continue;
        count[i % T]++;
        if ((z[i] >= 0 ? 1 : 0) === labels[i]) right[i % T]++;
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return Object.fromEntries(targets.map((t, i) => [t, count[i] ? right[i] / count[i] : NaN]));
}

export function buildCamClassifier(c: Pick<CamTrainConfig, 'model' | 'targets'>): CamClassifier {
  return new CamClassifier({ ...c.model, numClasses: c.targets.length });
}

export async function trainCam(
  input: Partial<CamTrainConfig> & Pick<CamTrainConfig, 'data' | 'targets' | 'out'>,
  o: { resume?: boolean; log?: (line: string) => void } = {},
): Promise<{ model: CamClassifier; progress: CamProgress; bestPath: string; latestPath: string }> {
  const log = o.log ?? (() => {});
  const merged: CamTrainConfig = { ...CAM_TRAIN_DEFAULTS, ...input, model: { ...CAM_TRAIN_DEFAULTS.model, ...input.model } };
  merged.targets = parseTargets(merged.targets, CONDITION_CHANNELS);
  const run = openRun<CamTrainConfig, CamEpochRecord>(CAM_KIND, merged, { resume: o.resume, epochs: input.epochs });
  let config = run.config;
  if (!Number.isInteger(config.epochs) || config.epochs < 1) throw new Error(`cam training: epochs must be an integer >= 1, got ${config.epochs}`);
  if (!Number.isInteger(config.batchSize) || config.batchSize < 1) throw new Error(`cam training: batchSize must be an integer >= 1, got ${config.batchSize}`);
  if (!(config.lr > 0)) throw new Error(`cam training: lr must be > 0, got ${config.lr}`);
  if (config.size === 0) config = { ...config, size: readManifest(config.data)[0].size };
  requireAnnotated(config.data, config.trainSplit, config.targets);
  const { model, optimizer, progress } = startModel(run, config, buildCamClassifier, log);

  const valDir = config.valData ?? config.data;
  const hasVal = hasValidationSamples(valDir, config.valSplit, config.targets);
  const loader = new DataLoader({
    dir: config.data, split: config.trainSplit, batchSize: config.batchSize, size: config.size,
    seed: config.seed, augment: config.augment ? DEFAULT_AUGMENT : false, filter: annotatesAny(config.targets),
  });
  const T = config.targets.length;
  const step = (b: Batch): number => {
    const { labels, known } = imageLabels(b, config.targets);
    return torch.tidy(() => {
      const logits: Tensor = model.forward(torch.tensor(b.images, b.shapes.images));
      const w = torch.tensor(known, [b.batchSize, T]);
      const l = torch.F.binaryCrossEntropyWithLogits(logits, torch.tensor(labels, [b.batchSize, T]), { reduction: 'none' })
        .mul(w).sum().div(w.sum().clamp(1, null));
      optimizer.zeroGrad();
      l.backward();
      optimizer.step();
      return l.item();
    });
  };
  const validate = async () => {
    const accuracy = await evaluateCam(model, config.targets, valDir, config.valSplit, config.size);
    return { fields: { accuracy }, perTarget: Object.values(accuracy) };
  };
  const done = await runEpochs({
    kind: CAM_KIND, run, config, model, optimizer, progress, loader, step,
    validate: hasVal ? validate : null, validateEvery: 1, describe: describeAccuracy, log,
  });
  return { model, progress: done, bestPath: run.bestPath, latestPath: run.latestPath };
}

function describeAccuracy(r: CamEpochRecord): string {
  return r.accuracy ? '  val accuracy ' + Object.entries(r.accuracy).map(([t, a]) => `${t} ${a.toFixed(3)}`).join(', ') : '';
}

/** Rebuilds trained classifiers from a checkpoint file (best or latest), in eval mode. */
export function loadCamModel(path: string): { model: CamClassifier; config: CamTrainConfig; progress: CamProgress } {
  return loadTrainedModel<CamTrainConfig, CamClassifier, CamEpochRecord>(path, CAM_KIND, buildCamClassifier);
}
