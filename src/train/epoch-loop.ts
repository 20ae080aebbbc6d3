// The epoch loop of the mask-model trainers (segmentation-training.ts, cam-training.ts): one
// run folder holding latest.safetensors (weights, Adam moments and the RNG state, written at
// the end of every epoch, so `resume` continues exactly at an epoch boundary) and
// best.safetensors (the epoch with the highest validation score, or the lowest training loss
// when there is nothing to validate on). A trainer supplies the step, the validation and its
// line of the epoch log; the loop owns the order of events, which exact resume depends on.
// loadTrainedModel rebuilds a model from either file (its config is stored in it).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import type { Batch, DataLoader } from '../data/loader.js';
import type { ConditionChannel, Split } from '../data/manifest.js';
import { disposeCheckpoint, loadCheckpoint, restoreCheckpoint, saveCheckpoint, type LoadedCheckpoint } from './checkpoint-file.js';

export const LATEST_FILE = 'latest.safetensors';
export const BEST_FILE = 'best.safetensors';

export interface EpochRecord {
  epoch: number;
  loss: number;
  seconds: number;
  /** The number that picks the best checkpoint (undefined: not scored this epoch). */
  score?: number;
}

export interface EpochProgress<R extends EpochRecord> {
  /** Epochs finished. */
  epoch: number;
  history: R[];
  bestScore: number | null;
  bestEpoch: number | null;
}

/** The fields of a trainer's config that the loop reads. */
export interface EpochRunConfig {
  out: string;
  epochs: number;
  lr: number;
  seed: number;
}

/** The config both mask-model trainers share: data, splits, targets, and the loop's fields. */
export interface MaskTrainConfig extends EpochRunConfig {
  data: string;
  /** Validation data set; default: the `valSplit` of `data`. */
  valData?: string;
  trainSplit: Split[] | 'all';
  valSplit: Split[] | 'all';
  targets: ConditionChannel[];
  /** Side at which images are loaded (resized from the prepared size when different); 0 = prepared size. */
  size: number;
  augment: boolean;
}

export interface EpochRun<C, R extends EpochRecord> {
  /** The config to train with: the caller's, or a resumed run's own with `epochs` extended. */
  config: C;
  latestPath: string;
  bestPath: string;
  resumed: LoadedCheckpoint<C, EpochProgress<R>> | null;
}

/**
 * The run folder of `config.out`: an existing run is refused unless resuming. A resumed run
 * takes its settings from its checkpoint (a resume must not change the data or model); only
 * the number of epochs may be extended, by `epochs`.
 */
export function openRun<C extends EpochRunConfig, R extends EpochRecord>(kind: string, config: C, o: { resume?: boolean; epochs?: number }): EpochRun<C, R> {
  mkdirSync(config.out, { recursive: true });
  const latestPath = join(config.out, LATEST_FILE);
  const bestPath = join(config.out, BEST_FILE);
  if (existsSync(latestPath) && !o.resume) throw new Error(`${latestPath} exists: pass resume to continue that run, or choose another output folder`);
  const resumed = o.resume && existsSync(latestPath) ? loadCheckpoint<C, EpochProgress<R>>(latestPath, kind) : null;
  return { config: resumed ? { ...resumed.config, epochs: o.epochs ?? resumed.config.epochs } : config, latestPath, bestPath, resumed };
}

/** The model (seeded by config.seed) and its Adam optimiser; a resumed run's weights, moments and RNG put back. */
export function startModel<C extends EpochRunConfig, M extends torch.nn.Module, R extends EpochRecord>(
  run: EpochRun<C, R>, config: C, build: (config: C) => M, log: (line: string) => void,
): { model: M; optimizer: torch.optim.Adam; progress: EpochProgress<R> } {
  torch.manualSeed(config.seed);
  const model = build(config);
  const optimizer = new torch.optim.Adam(model.parameters(), { lr: config.lr });
  let progress: EpochProgress<R> = { epoch: 0, history: [], bestScore: null, bestEpoch: null };
  if (run.resumed) {
    progress = restoreCheckpoint(run.resumed, model, optimizer);
    log(`resumed from ${run.latestPath} after epoch ${progress.epoch}`);
  }
  return { model, optimizer, progress };
}

export interface EpochLoop<C extends EpochRunConfig, M extends torch.nn.Module, R extends EpochRecord> {
  kind: string;
  run: EpochRun<C, R>;
  config: C;
  model: M;
  optimizer: torch.optim.Adam;
  progress: EpochProgress<R>;
  loader: DataLoader;
  /** One optimiser step; returns its loss. `position` counts the batches of the epoch before this one. */
  step(batch: Batch, epoch: number, position: number): number;
  /**
   * Validation: the record's extra fields and one value per target, whose finite ones are
   * averaged into the score. null: nothing to validate on, so the score is minus the loss.
   */
  validate: (() => Promise<{ fields: Partial<R>; perTarget: number[] }>) | null;
  /** Validate every this many epochs (and after the last). */
  validateEvery: number;
  /** What a record adds to its line of the log (after the loss and time). */
  describe(record: R): string;
  log: (line: string) => void;
}

/** Trains from `progress.epoch` to `config.epochs`; returns the progress (also stored in both checkpoints). */
export async function runEpochs<C extends EpochRunConfig, M extends torch.nn.Module, R extends EpochRecord>(l: EpochLoop<C, M, R>): Promise<EpochProgress<R>> {
  const { config, model, optimizer, kind } = l;
  const { latestPath, bestPath } = l.run;
  let progress = l.progress;
  model.train();
  for (let epoch = progress.epoch; epoch < config.epochs; epoch++) {
    const t0 = performance.now();
    let lossSum = 0;
    let steps = 0;
    for await (const b of l.loader.epoch(epoch)) {
      lossSum += l.step(b, epoch, steps);
      steps++;
    }
    const record = { epoch: epoch + 1, loss: lossSum / Math.max(1, steps), seconds: (performance.now() - t0) / 1000 } as R;
    if (l.validate && ((epoch + 1) % l.validateEvery === 0 || epoch + 1 === config.epochs)) {
      const v = await l.validate();
      Object.assign(record, v.fields);
      const finite = v.perTarget.filter(Number.isFinite);
      record.score = finite.length ? finite.reduce((x, y) => x + y, 0) / finite.length : undefined;
    } else if (!l.validate) {
      record.score = -record.loss;
    }
    progress = { ...progress, epoch: epoch + 1, history: [...progress.history, record] };
    const improved = record.score !== undefined && (progress.bestScore === null || record.score > progress.bestScore);
    if (improved) progress = { ...progress, bestScore: record.score!, bestEpoch: epoch + 1 };
    l.log(`epoch ${record.epoch}/${config.epochs}  loss ${record.loss.toFixed(4)}  ${record.seconds.toFixed(1)} s${l.describe(record)}`);
    // best first: a crash between the two writes then leaves a latest that predates it,
    // and resuming redoes this epoch and rewrites both.
    if (improved) saveCheckpoint(bestPath, { kind, config, progress, model });
    saveCheckpoint(latestPath, { kind, config, progress, model, optimizer, rng: true });
  }
  if (!existsSync(bestPath)) saveCheckpoint(bestPath, { kind, config, progress, model });
  return progress;
}

/** Rebuilds a trained model from a checkpoint of the loop (best or latest) with the config it stores, in eval mode. */
export function loadTrainedModel<C, M extends torch.nn.Module, R extends EpochRecord>(
  path: string, kind: string, build: (config: C) => M,
): { model: M; config: C; progress: EpochProgress<R> } {
  const c = loadCheckpoint<C, EpochProgress<R>>(path, kind);
  const model = build(c.config);
  try {
    model.loadStateDict(c.model);
  } finally {
    disposeCheckpoint(c);
  }
  model.eval();
  return { model, config: c.config, progress: c.progress };
}
