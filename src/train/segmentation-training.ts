// Training the U-Net of models/unet.ts on a prepared data set (method.md section 1: the
// condition channels a photo lacks are predicted by segmentation models trained on the sets
// that annotate them). The story: config -> data -> model -> optimiser -> epochs of
// (patches, Dice + BCE, Adam) -> validation -> best and latest checkpoints.
//
// Only annotated channels teach: a sample's channel counts where the manifest lists it as
// known and not predicted, and only inside the FOV. Batches are a pure function of
// (seed, epoch, position) (the loader's order and augmentation, plus the patch positions
// drawn here), and checkpoints are written at the end of every epoch with the optimiser and
// RNG state (epoch-loop.ts), so `resume` continues exactly where an interrupted run stopped.
import * as torch from '../torch/index.js';
import { DataLoader, type Batch } from '../data/loader.js';
import { DEFAULT_AUGMENT } from '../data/augment.js';
import { CONDITION_CHANNELS, readManifest, type ConditionChannel, type ManifestEntry, type Split } from '../data/manifest.js';
import { mixSeed, mulberry32 } from '../data/rng.js';
import { UNet, type UNetConfig } from '../models/unet.js';
import { ScoreHistogram, type ScoreAccumulator, type SegmentationMetrics } from '../eval/segmentation-metrics.js';
import { loadTrainedModel, openRun, runEpochs, startModel, type EpochProgress, type EpochRecord as LoopRecord, type MaskTrainConfig } from './epoch-loop.js';

type Tensor = torch.Tensor;

/** Binary channels a U-Net predicts; LM and PM are soft maps from the CAM classifiers. */
export const SEGMENTATION_TARGETS: readonly ConditionChannel[] = ['vessel', 'optic_disc', 'MA', 'HE', 'EX', 'SE'];
export const SEGMENTATION_KIND = 'segmentation';

export interface SegTrainConfig extends MaskTrainConfig {
  /** Side of the square training patches; 0 = whole images. */
  patch: number;
  patchesPerImage: number;
  /** Probability that a patch is centred on a positive pixel (of a random known target). */
  positiveFraction: number;
  imagesPerStep: number;
  diceWeight: number;
  bceWeight: number;
  /**
   * BCE weight of positive pixels (torch's pos_weight, one value for every target): lesions
   * cover < 1 % of the FOV, so unweighted BCE is satisfied by predicting background. 1 = plain BCE.
   */
  posWeight: number;
  /**
   * Optimiser steps per loaded batch, each on freshly drawn patches. Decoding and augmenting
   * a 1024 px photo costs ~0.3-0.7 s of JavaScript, far more than a GPU step on its patches,
   * so several steps per decode keep the device busy. 1 = one step per batch.
   */
  stepsPerBatch: number;
  /** Validate every this many epochs (and after the last). */
  valEvery: number;
  model: Omit<UNetConfig, 'outChannels'>;
}

export const SEG_TRAIN_DEFAULTS: Omit<SegTrainConfig, 'data' | 'targets' | 'out'> = {
  trainSplit: ['train'],
  valSplit: ['val'],
  size: 0,
  patch: 128,
  patchesPerImage: 4,
  positiveFraction: 0.5,
  imagesPerStep: 4,
  epochs: 10,
  lr: 1e-3,
  seed: 0,
  augment: true,
  diceWeight: 1,
  bceWeight: 1,
  posWeight: 1,
  stepsPerBatch: 1,
  valEvery: 1,
  model: { depth: 4, baseWidth: 32, norm: 'batch', up: 'bilinear' },
};

/** An epoch; its score (which picks the best checkpoint) is the mean PR-AUC over targets, or -loss without validation. */
export interface EpochRecord extends LoopRecord {
  /** Validation metrics per target, when validated this epoch. */
  val?: Record<string, SegmentationMetrics>;
}

export type SegProgress = EpochProgress<EpochRecord>;

/** Checks target names: known channels, binary (U-Net) ones, no repeats. */
export function parseTargets(names: readonly string[], allowed: readonly ConditionChannel[] = SEGMENTATION_TARGETS): ConditionChannel[] {
  if (names.length === 0) throw new Error('no targets given');
  const seen = new Set<string>();
  for (const n of names) {
    if (!(CONDITION_CHANNELS as readonly string[]).includes(n)) {
      throw new Error(`unknown target "${n}" (channels are ${CONDITION_CHANNELS.join(', ')})`);
    }
    if (!allowed.includes(n as ConditionChannel)) throw new Error(`target "${n}" is not one this model predicts (allowed: ${allowed.join(', ')})`);
    if (seen.has(n)) throw new Error(`target "${n}" given twice`);
    seen.add(n);
  }
  return [...names] as ConditionChannel[];
}

/** Whether any sample of the split annotates (knows) one of the targets: else there is nothing to validate on. */
export function hasValidationSamples(dir: string, split: Split[] | 'all', targets: readonly ConditionChannel[]): boolean {
  return readManifest(dir).some((e) => (split === 'all' || split.includes(e.split)) && targets.some((t) => e.known.includes(t)));
}

/** Throws unless every target is annotated in at least one sample of the split. */
export function requireAnnotated(dir: string, split: Split[] | 'all', targets: readonly ConditionChannel[]): void {
  const entries = readManifest(dir).filter((e) => split === 'all' || split.includes(e.split));
  if (entries.length === 0) throw new Error(`${dir}: no samples in split ${JSON.stringify(split)}`);
  for (const t of targets) {
    if (!entries.some((e) => e.known.includes(t) && !e.predicted.includes(t))) {
      throw new Error(`${dir}: no sample in split ${JSON.stringify(split)} has an annotated "${t}" mask (known: ${[...new Set(entries.flatMap((e) => e.known))].join(', ') || 'none'})`);
    }
  }
}

/** A batch reduced to the targets: images, labels, per-sample channel weights and the FOV. */
export interface SegArrays {
  n: number;
  side: number;
  images: Float32Array; // [n, 3, side, side]
  labels: Float32Array; // [n, T, side, side]
  known: Float32Array; // [n, T]: 1 where annotated
  fov: Float32Array; // [n, 1, side, side]
}

const channelIndex = (ch: ConditionChannel) => CONDITION_CHANNELS.indexOf(ch);

/** Selects the targets of a loader batch; annotated = known and not predicted. */
export function targetsOfBatch(b: Batch, targets: readonly ConditionChannel[]): SegArrays {
  const S = b.size;
  const px = S * S;
  const T = targets.length;
  const C = CONDITION_CHANNELS.length;
  const labels = new Float32Array(b.batchSize * T * px);
  const known = new Float32Array(b.batchSize * T);
  for (let i = 0; i < b.batchSize; i++) {
    targets.forEach((ch, t) => {
      const c = channelIndex(ch);
      known[i * T + t] = b.known[i * C + c] && !b.predicted[i * C + c] ? 1 : 0;
      labels.set(b.conditions.subarray((i * C + c) * px, (i * C + c + 1) * px), (i * T + t) * px);
    });
  }
  return { n: b.batchSize, side: S, images: b.images, labels, known, fov: b.fov };
}

/**
 * Per sample, the flat indices of the positive pixels of each annotated target that has any
 * (targets without positives are left out, so a positive patch never asks for one).
 * Computed once per batch when several steps crop from it (stepsPerBatch).
 */
export function positivePixels(a: SegArrays): Int32Array[][] {
  const S = a.side;
  const T = a.known.length / a.n;
  const out: Int32Array[][] = [];
  for (let i = 0; i < a.n; i++) {
    const positives: Int32Array[] = [];
    for (let t = 0; t < T; t++) {
      if (!a.known[i * T + t]) continue;
      const plane = a.labels.subarray((i * T + t) * S * S, (i * T + t + 1) * S * S);
      const idx: number[] = [];
      for (let k = 0; k < plane.length; k++) if (plane[k] > 0.5) idx.push(k);
      if (idx.length) positives.push(Int32Array.from(idx));
    }
    out.push(positives);
  }
  return out;
}

/**
 * `perImage` square patches of side p from each sample, centred with probability
 * `positiveFraction` on a positive pixel (of a target drawn uniformly among those the
 * sample has, so rare lesions are drawn as often as common ones), otherwise anywhere with the
 * centre inside the FOV.
 */
export function cropPatches(
  a: SegArrays, p: number, perImage: number, positiveFraction: number, rand: () => number,
  positivesOfSample: Int32Array[][] = positivePixels(a),
): SegArrays {
  const S = a.side;
  if (p > S) throw new Error(`patch ${p} is larger than the images (${S})`);
  const T = a.known.length / a.n;
  const n = a.n * perImage;
  const out: SegArrays = {
    n, side: p,
    images: new Float32Array(n * 3 * p * p),
    labels: new Float32Array(n * T * p * p),
    known: new Float32Array(n * T),
    fov: new Float32Array(n * p * p),
  };
  const copyPlane = (src: Float32Array, srcPlane: number, dst: Float32Array, dstPlane: number, y0: number, x0: number) => {
    for (let y = 0; y < p; y++) {
      const s = srcPlane * S * S + (y0 + y) * S + x0;
      dst.set(src.subarray(s, s + p), dstPlane * p * p + y * p);
    }
  };
  for (let i = 0; i < a.n; i++) {
    const positives = positivesOfSample[i];
    for (let k = 0; k < perImage; k++) {
      let centre = -1;
      if (positives.length && rand() < positiveFraction) {
        const list = positives[Math.floor(rand() * positives.length)];
        centre = list[Math.floor(rand() * list.length)];
      } else {
        for (let tries = 0; tries < 20 && centre < 0; tries++) {
          const c = Math.floor(rand() * S * S);
          if (a.fov[i * S * S + c] > 0.5 || tries === 19) centre = c;
        }
      }
      const cy = Math.floor(centre / S);
      const cx = centre % S;
      const y0 = Math.min(S - p, Math.max(0, cy - (p >> 1)));
      const x0 = Math.min(S - p, Math.max(0, cx - (p >> 1)));
      const o = i * perImage + k;
      for (let c = 0; c < 3; c++) copyPlane(a.images, i * 3 + c, out.images, o * 3 + c, y0, x0);
      for (let t = 0; t < T; t++) copyPlane(a.labels, i * T + t, out.labels, o * T + t, y0, x0);
      copyPlane(a.fov, i, out.fov, o, y0, x0);
      out.known.set(a.known.subarray(i * T, (i + 1) * T), o * T);
    }
  }
  return out;
}

/**
 * Dice + BCE on logits [n, T, H, W], both counted only where weight = FOV x annotated.
 * BCE is the mean over weighted pixels (positives weighted by `posWeight`, torch's
 * pos_weight); Dice is soft Dice per target over the whole batch (sparse lesions would make
 * per-image Dice noisy), averaged over targets present in the batch.
 */
export function segmentationLoss(
  logits: Tensor, labels: Tensor, fov: Tensor, known: Tensor,
  o: { diceWeight: number; bceWeight: number; posWeight?: number },
): Tensor {
  return torch.tidy(() => {
    const [n, T] = logits.shape;
    const w = fov.mul(known.reshape([n, T, 1, 1]));
    // pos_weight 1 is plain BCE; the tensor is left out then so the numbers stay bit-identical.
    const posWeight = o.posWeight !== undefined && o.posWeight !== 1 ? torch.full([1], o.posWeight, { device: logits.device }) : undefined;
    const bce = torch.F.binaryCrossEntropyWithLogits(logits, labels, { reduction: 'none', posWeight }).mul(w).sum().div(w.sum().clamp(1, null));
    const p = logits.sigmoid();
    const dims = [0, 2, 3];
    const inter = p.mul(labels).mul(w).sum(dims);
    const sums = p.mul(w).sum(dims).add(labels.mul(w).sum(dims));
    const dice = inter.mul(2).add(1).div(sums.add(1)).rsub(1);
    const present = known.sum(0).gt(0).float();
    const diceMean = dice.mul(present).sum().div(present.sum().clamp(1, null));
    return bce.mul(o.bceWeight).add(diceMean.mul(o.diceWeight));
  });
}

export function buildUNet(config: Pick<SegTrainConfig, 'model' | 'targets'>): UNet {
  return new UNet({ ...config.model, outChannels: config.targets.length });
}

/**
 * The U-Net built (and seeded) on the CPU, then moved: a seed gives the same starting weights
 * on every device, and the optimiser made afterwards holds the moved tensors.
 */
export function unetBuilder(device: torch.Device = 'cpu'): (config: Pick<SegTrainConfig, 'model' | 'targets'>) => UNet {
  return (config) => {
    const model = buildUNet(config);
    return device === 'cpu' ? model : model.to(device);
  };
}

/** The device of a model's weights (where its inputs must be). */
export function modelDevice(model: torch.nn.Module): torch.Device {
  return model.parameters()[0]?.device ?? 'cpu';
}

/** Sigmoid probabilities of whole images, in eval mode, without gradients. */
export function predictWhole(model: UNet, images: Tensor): Tensor {
  return torch.noGrad(() => torch.tidy(() => model.forward(images).sigmoid()));
}

/**
 * The loader filter that drops photos annotating none of the targets (IDRiD ships 54 photos,
 * 20 with masks): they would cost decoding and a forward pass for no loss.
 */
export function annotatesAny(targets: readonly ConditionChannel[]): (entry: ManifestEntry) => boolean {
  return (e) => targets.some((t) => e.known.includes(t) && !e.predicted.includes(t));
}

/**
 * Pixel metrics per target over a data split, inside the FOV, from annotated channels only.
 * Images go to the model's device; the scores come back to the CPU for the accumulators.
 */
export async function evaluateSegmentation(
  model: UNet,
  targets: readonly ConditionChannel[],
  dir: string,
  split: Split[] | 'all',
  o: { size?: number; bins?: number; predict?: (images: Tensor) => Tensor; accumulators?: (t: ConditionChannel) => ScoreAccumulator } = {},
): Promise<Record<string, SegmentationMetrics>> {
  const loader = new DataLoader({ dir, split, batchSize: 1, size: o.size || undefined, shuffle: false, augment: false, filter: annotatesAny(targets) });
  const accs = targets.map((t) => (o.accumulators ? o.accumulators(t) : new ScoreHistogram(o.bins ?? 4096)));
  const predict = o.predict ?? ((x: Tensor) => predictWhole(model, x));
  const device = modelDevice(model);
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const b of loader.epoch(0)) {
      const a = targetsOfBatch(b, targets);
      const S = a.side;
      const probs = torch.tidy(() => predict(torch.tensor(a.images, [a.n, 3, S, S], { device })));
      const data = probs.dataSync() as Float32Array;
      probs.dispose();
      const T = targets.length;
      for (let i = 0; i < a.n; i++) {
        for (let t = 0; t < T; t++) {
          if (!a.known[i * T + t]) continue;
          const plane = (i * T + t) * S * S;
          accs[t].add(data.subarray(plane, plane + S * S), a.labels.subarray(plane, plane + S * S), a.fov.subarray(i * S * S, (i + 1) * S * S));
        }
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return Object.fromEntries(targets.map((t, i) => [t, accs[i].metrics()]));
}

export interface TrainCallbacks {
  log?: (line: string) => void;
}

export interface TrainResult {
  model: UNet;
  progress: SegProgress;
  latestPath: string;
  bestPath: string;
}

export interface SegRunOptions extends TrainCallbacks {
  resume?: boolean;
  /**
   * Where the model and its batches live: 'cpu' (default), 'cuda', 'cuda:N'. Not part of the
   * stored config: a run may be resumed on another device, and checkpoints hold CPU tensors.
   */
  device?: torch.Device;
}

export async function trainSegmentation(
  input: Partial<SegTrainConfig> & Pick<SegTrainConfig, 'data' | 'targets' | 'out'>,
  o: SegRunOptions = {},
): Promise<TrainResult> {
  const log = o.log ?? (() => {});
  const device = o.device ?? 'cpu';
  const merged: SegTrainConfig = { ...SEG_TRAIN_DEFAULTS, ...input, model: { ...SEG_TRAIN_DEFAULTS.model, ...input.model } };
  merged.targets = parseTargets(merged.targets);
  const run = openRun<SegTrainConfig, EpochRecord>(SEGMENTATION_KIND, merged, { resume: o.resume, epochs: input.epochs });
  // Checkpoints written before an option existed lack its field: they trained with its default.
  let config: SegTrainConfig = { ...SEG_TRAIN_DEFAULTS, ...run.config };
  checkConfig(config);
  // Inference needs the scale the net learned, so the stored config names it.
  if (config.size === 0) config = { ...config, size: readManifest(config.data)[0].size };
  requireAnnotated(config.data, config.trainSplit, config.targets);
  const { model, optimizer, progress } = startModel(run, config, unetBuilder(device), log);
  if (device !== 'cpu') log(`training on ${device}`);

  const valDir = config.valData ?? config.data;
  const hasVal = hasValidationSamples(valDir, config.valSplit, config.targets);
  if (!hasVal) log(`no annotated samples in the validation split ${JSON.stringify(config.valSplit)} of ${valDir}: the best checkpoint is chosen by training loss`);
  const loader = new DataLoader({
    dir: config.data, split: config.trainSplit, batchSize: config.imagesPerStep, size: config.size || undefined,
    seed: config.seed, augment: config.augment ? DEFAULT_AUGMENT : false, dropLast: false, filter: annotatesAny(config.targets),
  });
  const T = config.targets.length;
  const K = config.stepsPerBatch;
  const optimiseOn = (a: SegArrays): number => {
    const S = a.side;
    const on = { device };
    return torch.tidy(() => {
      const l = segmentationLoss(
        model.forward(torch.tensor(a.images, [a.n, 3, S, S], on)),
        torch.tensor(a.labels, [a.n, T, S, S], on),
        torch.tensor(a.fov, [a.n, 1, S, S], on),
        torch.tensor(a.known, [a.n, T], on),
        config,
      );
      optimizer.zeroGrad();
      l.backward();
      optimizer.step();
      return l.item();
    });
  };
  // Returns the mean loss of the K steps made on this batch.
  const step = (b: Batch, epoch: number, position: number): number => {
    const whole = targetsOfBatch(b, config.targets);
    const positives = config.patch > 0 && config.patch < whole.side ? positivePixels(whole) : null;
    let sum = 0;
    for (let k = 0; k < K; k++) {
      if (!positives) { sum += optimiseOn(whole); continue; }
      // k = 0 keeps the stream of one-step runs (same patches as before stepsPerBatch existed).
      const seed = k === 0 ? mixSeed(config.seed, epoch, position, 0x5e9) : mixSeed(config.seed, epoch, position, 0x5e9, k);
      sum += optimiseOn(cropPatches(whole, config.patch, config.patchesPerImage, config.positiveFraction, mulberry32(seed), positives));
    }
    return sum / K;
  };
  const validate = async () => {
    const val = await evaluateSegmentation(model, config.targets, valDir, config.valSplit, { size: config.size });
    return { fields: { val }, perTarget: Object.values(val).map((m) => m.prAuc) };
  };
  const done = await runEpochs({
    kind: SEGMENTATION_KIND, run, config, model, optimizer, progress, loader, step,
    validate: hasVal ? validate : null, validateEvery: config.valEvery, describe: describeValidation, log,
  });
  return { model, progress: done, latestPath: run.latestPath, bestPath: run.bestPath };
}

function describeValidation(r: EpochRecord): string {
  return r.val ? '  val ' + Object.entries(r.val).map(([t, m]) => `${t} PR-AUC ${m.prAuc.toFixed(3)} AUC ${m.rocAuc.toFixed(3)}`).join(', ') : '';
}

function checkConfig(c: SegTrainConfig): void {
  const int = (name: keyof SegTrainConfig, min: number) => {
    const v = c[name] as number;
    if (!Number.isInteger(v) || v < min) throw new Error(`segmentation training: ${name} must be an integer >= ${min}, got ${v}`);
  };
  int('size', 0);
  int('patch', 0);
  int('patchesPerImage', 1);
  int('imagesPerStep', 1);
  int('epochs', 1);
  int('valEvery', 1);
  int('stepsPerBatch', 1);
  if (!(c.posWeight > 0)) throw new Error(`segmentation training: posWeight must be > 0, got ${c.posWeight}`);
  if (!(c.lr > 0)) throw new Error(`segmentation training: lr must be > 0, got ${c.lr}`);
  if (!(c.positiveFraction >= 0 && c.positiveFraction <= 1)) throw new Error(`segmentation training: positiveFraction must be in [0, 1], got ${c.positiveFraction}`);
  const size = c.size || readManifest(c.data)[0]?.size;
  if (c.patch > size) throw new Error(`segmentation training: patch ${c.patch} is larger than the image size ${size}`);
}

/** Rebuilds a trained U-Net from a checkpoint file (best or latest) on `device`, in eval mode. */
export function loadSegmentationModel(path: string, device: torch.Device = 'cpu'): { model: UNet; config: SegTrainConfig; progress: SegProgress } {
  return loadTrainedModel<SegTrainConfig, UNet, EpochRecord>(path, SEGMENTATION_KIND, unetBuilder(device));
}
