// Training the image-level classifiers whose class activation maps stand in for the LM and
// PM channels (method.md section 1). The label of a (photo, channel) pair is whether its
// annotated mask has any positive pixel; pairs whose channel is not annotated are left out
// of the loss and the accuracy. Same checkpoint scheme as segmentation-training.ts: latest
// (with optimiser and RNG state, exact resume at epoch boundaries) and best (by validation
// accuracy, or training loss without a validation split).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import { DataLoader, type Batch } from '../data/loader.js';
import { DEFAULT_AUGMENT } from '../data/augment.js';
import { CONDITION_CHANNELS, readManifest, type ConditionChannel, type Split } from '../data/manifest.js';
import { CamClassifier, type CamClassifierConfig } from '../models/cam-classifier.js';
import { disposeCheckpoint, loadCheckpoint, restoreCheckpoint, saveCheckpoint } from './checkpoint-file.js';
import { annotatesAny, BEST_FILE, LATEST_FILE, parseTargets, requireAnnotated } from './segmentation-training.js';

type Tensor = torch.Tensor;

export const CAM_KIND = 'cam';

export interface CamTrainConfig {
  data: string;
  valData?: string;
  trainSplit: Split[] | 'all';
  valSplit: Split[] | 'all';
  targets: ConditionChannel[];
  /** Side the images are loaded at; 0 = prepared size. */
  size: number;
  batchSize: number;
  epochs: number;
  lr: number;
  seed: number;
  augment: boolean;
  model: Omit<CamClassifierConfig, 'numClasses'>;
  out: string;
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

export interface CamEpochRecord {
  epoch: number;
  loss: number;
  seconds: number;
  /** Validation accuracy per target (NaN where no validation sample has the channel). */
  accuracy?: Record<string, number>;
  score?: number;
}

export interface CamProgress {
  epoch: number;
  history: CamEpochRecord[];
  bestScore: number | null;
  bestEpoch: number | null;
}

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
  let config: CamTrainConfig = { ...CAM_TRAIN_DEFAULTS, ...input, model: { ...CAM_TRAIN_DEFAULTS.model, ...input.model } };
  config.targets = parseTargets(config.targets, CONDITION_CHANNELS);
  mkdirSync(config.out, { recursive: true });
  const latestPath = join(config.out, LATEST_FILE);
  const bestPath = join(config.out, BEST_FILE);
  if (existsSync(latestPath) && !o.resume) throw new Error(`${latestPath} exists: pass resume to continue that run, or choose another output folder`);
  const resumed = o.resume && existsSync(latestPath) ? loadCheckpoint<CamTrainConfig, CamProgress>(latestPath, CAM_KIND) : null;
  if (resumed) config = { ...resumed.config, epochs: input.epochs ?? resumed.config.epochs };
  if (!Number.isInteger(config.epochs) || config.epochs < 1) throw new Error(`cam training: epochs must be an integer >= 1, got ${config.epochs}`);
  if (!Number.isInteger(config.batchSize) || config.batchSize < 1) throw new Error(`cam training: batchSize must be an integer >= 1, got ${config.batchSize}`);
  if (!(config.lr > 0)) throw new Error(`cam training: lr must be > 0, got ${config.lr}`);
  if (config.size === 0) config = { ...config, size: readManifest(config.data)[0].size };
  requireAnnotated(config.data, config.trainSplit, config.targets);

  torch.manualSeed(config.seed);
  const model = buildCamClassifier(config);
  const optimizer = new torch.optim.Adam(model.parameters(), { lr: config.lr });
  let progress: CamProgress = { epoch: 0, history: [], bestScore: null, bestEpoch: null };
  if (resumed) {
    progress = restoreCheckpoint(resumed, model, optimizer);
    log(`resumed from ${latestPath} after epoch ${progress.epoch}`);
  }
  const valDir = config.valData ?? config.data;
  const hasVal = readManifest(valDir).some((e) => (config.valSplit === 'all' || config.valSplit.includes(e.split)) && config.targets.some((t) => e.known.includes(t)));
  const loader = new DataLoader({
    dir: config.data, split: config.trainSplit, batchSize: config.batchSize, size: config.size,
    seed: config.seed, augment: config.augment ? DEFAULT_AUGMENT : false, filter: annotatesAny(config.targets),
  });
  const T = config.targets.length;
  model.train();
  for (let epoch = progress.epoch; epoch < config.epochs; epoch++) {
    const t0 = performance.now();
    let lossSum = 0;
    let steps = 0;
    for await (const b of loader.epoch(epoch)) {
      const { labels, known } = imageLabels(b, config.targets);
      lossSum += torch.tidy(() => {
        const logits: Tensor = model.forward(torch.tensor(b.images, b.shapes.images));
        const w = torch.tensor(known, [b.batchSize, T]);
        const l = torch.F.binaryCrossEntropyWithLogits(logits, torch.tensor(labels, [b.batchSize, T]), { reduction: 'none' })
          .mul(w).sum().div(w.sum().clamp(1, null));
        optimizer.zeroGrad();
        l.backward();
        optimizer.step();
        return l.item();
      });
      steps++;
    }
    const record: CamEpochRecord = { epoch: epoch + 1, loss: lossSum / Math.max(1, steps), seconds: (performance.now() - t0) / 1000 };
    if (hasVal) {
      record.accuracy = await evaluateCam(model, config.targets, valDir, config.valSplit, config.size);
      const accs = Object.values(record.accuracy).filter(Number.isFinite);
      record.score = accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : undefined;
    } else {
      record.score = -record.loss;
    }
    progress = { ...progress, epoch: epoch + 1, history: [...progress.history, record] };
    const improved = record.score !== undefined && (progress.bestScore === null || record.score > progress.bestScore);
    if (improved) progress = { ...progress, bestScore: record.score!, bestEpoch: epoch + 1 };
    const acc = record.accuracy ? '  val accuracy ' + Object.entries(record.accuracy).map(([t, a]) => `${t} ${a.toFixed(3)}`).join(', ') : '';
    log(`epoch ${epoch + 1}/${config.epochs}  loss ${record.loss.toFixed(4)}  ${record.seconds.toFixed(1)} s${acc}`);
    if (improved) saveCheckpoint(bestPath, { kind: CAM_KIND, config, progress, model });
    saveCheckpoint(latestPath, { kind: CAM_KIND, config, progress, model, optimizer, rng: true });
  }
  if (!existsSync(bestPath)) saveCheckpoint(bestPath, { kind: CAM_KIND, config, progress, model });
  return { model, progress, bestPath, latestPath };
}

export function loadCamModel(path: string): { model: CamClassifier; config: CamTrainConfig; progress: CamProgress } {
  const c = loadCheckpoint<CamTrainConfig, CamProgress>(path, CAM_KIND);
  const model = buildCamClassifier(c.config);
  try {
    model.loadStateDict(c.model);
  } finally {
    disposeCheckpoint(c);
  }
  model.eval();
  return { model, config: c.config, progress: c.progress };
}
