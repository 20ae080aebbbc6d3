// Training the DR grader (method.md section 1, step 2), as a story: options, data, model,
// optimiser and schedule, then per epoch: train, validate (quadratic weighted kappa on the
// val split), keep the best grader, and write a resumable checkpoint.
//
// Files in `out`:
//   best.safetensors     the grader with the highest val kappa so far (a grader file)
//   latest.safetensors   everything to resume exactly: weights ("model.*"), optimiser state
//                        ("optim.<param>.<name>" + JSON), schedule, the torch RNG state and
//                        the number of finished epochs; written temp-then-rename
//   log.jsonl            one line per finished epoch
//
// Resuming at an epoch boundary repeats an uninterrupted run bit for bit: batch order and
// augmentation are pure functions of (seed, epoch) in the loader, and everything else that
// changes (weights, BN statistics, Adam moments, the lr schedule, dropout's RNG) is saved.
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_AUGMENT } from '../data/augment.js';
import { DataLoader } from '../data/loader.js';
import { readManifest } from '../data/manifest.js';
import { gradingReport, type GradingReport } from '../eval/grading-metrics.js';
import { Grader, GRADER_META_KEY, inferDataset, type GraderConfig } from '../models/grader.js';
import * as torch from '../torch/index.js';

type Tensor = torch.Tensor;

/** Weight of Inception-v3's auxiliary-head loss (torchvision's fine-tuning recipe). */
export const AUX_LOSS_WEIGHT = 0.4;

export interface GraderTrainingOptions {
  data: string;
  out: string;
  grader: Partial<GraderConfig>;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  optimizer: 'adam' | 'sgd';
  /** SGD momentum (Nesterov off). */
  momentum: number;
  schedule: 'cosine' | 'step' | 'none';
  /** StepLR: epochs per decay, and the factor. */
  stepSize: number;
  gamma: number;
  loss: 'ce' | 'focal';
  focalGamma: number;
  /** Inverse-frequency class weights in the loss (from the train split's grade counts). */
  classWeights: boolean;
  /** Class-balanced sampling (each grade equally likely per draw). */
  balanced: boolean;
  augment: boolean;
  seed: number;
  /** Continue from out/latest.safetensors if it exists. */
  resume: boolean;
  /** torchvision ImageNet weights (.pth or .safetensors) for everything but the classifier. */
  pretrained?: string;
  /** Stop after this many epochs in this call (the schedule still spans `epochs`); for tests and time-boxed runs. */
  stopAfter?: number;
  /** Where it trains ('cpu' default, 'cuda', 'cuda:N'); a run setting, not stored with the options. */
  device?: torch.Device;
  /**
   * Megabytes (2^20 bytes) of decoded train photos kept for later epochs (LoaderOptions.cacheBytes;
   * default 1024, 0 off). A run setting like `device`: it changes no batch, so it is not stored.
   */
  cacheMegabytes?: number;
  log?: (line: string) => void;
}

export const DEFAULT_TRAINING: Omit<GraderTrainingOptions, 'data' | 'out' | 'grader'> = {
  epochs: 10, batchSize: 16, lr: 1e-3, weightDecay: 1e-4, optimizer: 'adam', momentum: 0.9,
  schedule: 'cosine', stepSize: 5, gamma: 0.1, loss: 'ce', focalGamma: 2,
  classWeights: false, balanced: false, augment: true, seed: 0, resume: false,
};

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  lr: number;
  /** Null when the data set has no graded val samples. */
  val: GradingReport | null;
  seconds: number;
}

export interface TrainingResult {
  epochsDone: number;
  history: EpochRecord[];
  best: { epoch: number; kappa: number } | null;
  latestPath: string;
  bestPath: string;
}

const TRAINING_META_KEY = 'drgan.training';

/** What latest.safetensors holds besides tensors. */
interface TrainingState {
  epochsDone: number;
  options: Omit<GraderTrainingOptions, 'log' | 'resume' | 'stopAfter' | 'device' | 'cacheMegabytes'>;
  optimizer: { param_groups: unknown[]; scalars: Record<string, Record<string, number | null>> };
  scheduler: Record<string, unknown> | null;
  best: { epoch: number; kappa: number } | null;
  history: EpochRecord[];
}

type AnyOptimizer = torch.optim.SGD | torch.optim.Adam;

function checkOptions(o: GraderTrainingOptions): void {
  const positiveInt = ['epochs', 'batchSize', 'stepSize'] as const;
  for (const k of positiveInt) if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`grader training: ${k} must be a positive integer, got ${o[k]}`);
  if (!(o.lr > 0)) throw new Error(`grader training: lr must be > 0, got ${o.lr}`);
  if (!(o.weightDecay >= 0)) throw new Error(`grader training: weightDecay must be >= 0, got ${o.weightDecay}`);
  if (!['adam', 'sgd'].includes(o.optimizer)) throw new Error(`grader training: optimizer must be adam|sgd, got ${o.optimizer}`);
  if (!['cosine', 'step', 'none'].includes(o.schedule)) throw new Error(`grader training: schedule must be cosine|step|none, got ${o.schedule}`);
  if (!['ce', 'focal'].includes(o.loss)) throw new Error(`grader training: loss must be ce|focal, got ${o.loss}`);
  if (o.stopAfter !== undefined && (!Number.isInteger(o.stopAfter) || o.stopAfter < 1)) throw new Error(`grader training: stopAfter must be a positive integer, got ${o.stopAfter}`);
  if (o.cacheMegabytes !== undefined && !(o.cacheMegabytes >= 0 && Number.isFinite(o.cacheMegabytes))) throw new Error(`grader training: cacheMegabytes must be a finite number >= 0, got ${o.cacheMegabytes}`);
}

/** w_c = N / (K n_c) over the graded train samples; 0 for a grade with no samples. */
export function inverseFrequencyWeights(grades: readonly (number | null)[], numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const g of grades) if (g !== null && g >= 0 && g < numClasses) counts[g]++;
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (c === 0 ? 0 : n / (numClasses * c)));
}

function makeOptimizer(o: GraderTrainingOptions, params: Tensor[]): AnyOptimizer {
  return o.optimizer === 'adam'
    ? new torch.optim.Adam(params, { lr: o.lr, weightDecay: o.weightDecay })
    : new torch.optim.SGD(params, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
}

function makeScheduler(o: GraderTrainingOptions, opt: AnyOptimizer): torch.optim.LRScheduler | null {
  if (o.schedule === 'cosine') return new torch.optim.CosineAnnealingLR(opt, o.epochs);
  if (o.schedule === 'step') return new torch.optim.StepLR(opt, o.stepSize, o.gamma);
  return null;
}

// Options that change what is trained; a resumed run must keep them.
const FIXED_ON_RESUME = ['data', 'grader', 'batchSize', 'optimizer', 'schedule', 'loss', 'focalGamma', 'classWeights', 'balanced', 'augment', 'seed', 'pretrained'] as const;

export async function trainGrader(opts: GraderTrainingOptions): Promise<TrainingResult> {
  const o = { ...opts };
  checkOptions(o);
  const log = o.log ?? (() => {});
  mkdirSync(o.out, { recursive: true });
  const latestPath = join(o.out, 'latest.safetensors');
  const bestPath = join(o.out, 'best.safetensors');

  // ---- data
  const entries = readManifest(o.data);
  const trainGrades = entries.filter((e) => e.split === 'train').map((e) => e.grade);
  if (!trainGrades.some((g) => g !== null)) throw new Error(`${o.data}: the train split has no graded samples`);
  const hasVal = entries.some((e) => e.split === 'val' && e.grade !== null);
  if (!hasVal) log(`note: ${o.data} has no graded val samples; no validation, best.safetensors is not written`);

  // ---- model, optimiser, schedule (fresh, or restored below)
  torch.manualSeed(o.seed);
  const grader = new Grader(o.grader);
  if (grader.auxHeadNote) log(`note: ${grader.auxHeadNote}`);
  if (o.pretrained && !(o.resume && existsSync(latestPath))) grader.loadPretrained(o.pretrained);
  const device = o.device ?? 'cpu';
  if (device !== 'cpu') grader.to({ device });
  const optimizer = makeOptimizer(o, grader.parameters());
  const scheduler = makeScheduler(o, optimizer);
  let state: Pick<TrainingState, 'epochsDone' | 'best' | 'history'> = { epochsDone: 0, best: null, history: [] };
  if (o.resume && existsSync(latestPath)) {
    try {
      state = restore(latestPath, o, grader, optimizer, scheduler);
    } catch (err) {
      optimizer.disposeState();
      grader.dispose();
      throw err;
    }
    log(`resumed from ${latestPath} after epoch ${state.epochsDone}`);
  }
  const weight = o.classWeights ? torch.keep(torch.tidy(() => torch.tensor(inverseFrequencyWeights(trainGrades, grader.config.numClasses)).to({ device }))) : undefined;
  const loader = new DataLoader({
    dir: o.data, split: 'train', batchSize: o.batchSize, size: grader.config.inputSize, seed: o.seed,
    balanced: o.balanced, augment: o.augment ? DEFAULT_AUGMENT : false, dropLast: false,
    masks: false, // the grader sees photos only
    cacheBytes: Math.round((o.cacheMegabytes ?? 1024) * 2 ** 20),
  });
  const cacheLine = loader.cacheSummary();
  if (cacheLine) log(cacheLine);

  const lastEpoch = Math.min(o.epochs, state.epochsDone + (o.stopAfter ?? Infinity));
  try {
    for (let epoch = state.epochsDone; epoch < lastEpoch; epoch++) {
      const t0 = Date.now();
      const lr = optimizer.paramGroups[0].lr;
      grader.train();
      let lossSum = 0;
      let lossCount = 0;
      for await (const b of loader.epoch(epoch)) {
        const graded = [...b.grades.keys()].filter((i) => b.grades[i] >= 0);
        // Batch norm needs two samples for training-mode statistics (a lone last one is skipped).
        if (graded.length < 2) continue;
        const loss = torch.tidy(() => {
          let x = torch.tensor(b.images, b.shapes.images);
          let y = torch.tensor(b.grades, b.shapes.grades).long();
          if (graded.length < b.batchSize) {
            const keepIdx = torch.tensor(Int32Array.from(graded)).long();
            x = x.indexSelect(0, keepIdx);
            y = y.indexSelect(0, keepIdx);
          }
          x = x.to({ device });
          y = y.to({ device });
          const lossOf = (z: Tensor) => (o.loss === 'focal' ? torch.F.focalLoss(z, y, { gamma: o.focalGamma, weight }) : torch.F.crossEntropy(z, y, { weight }));
          const { logits, aux } = grader.trainingLogits(x);
          const l = aux ? lossOf(logits).add(lossOf(aux).mul(AUX_LOSS_WEIGHT)) : lossOf(logits);
          optimizer.zeroGrad();
          l.backward();
          optimizer.step();
          return l.item();
        });
        if (!Number.isFinite(loss)) throw new Error(`grader training: the loss became ${loss} in epoch ${epoch + 1}; lower --lr`);
        lossSum += loss * graded.length;
        lossCount += graded.length;
      }
      scheduler?.step();
      const val = hasVal ? await validate(grader, o.data, o.batchSize) : null;
      const record: EpochRecord = { epoch: epoch + 1, trainLoss: lossCount ? lossSum / lossCount : Number.NaN, lr, val, seconds: (Date.now() - t0) / 1000 };
      state.history.push(record);
      state.epochsDone = epoch + 1;
      if (val && (state.best === null || val.kappa > state.best.kappa)) {
        state.best = { epoch: epoch + 1, kappa: val.kappa };
        grader.save(bestPath, { 'drgan.epoch': String(epoch + 1), 'drgan.val': JSON.stringify(val) });
      }
      save(latestPath, o, grader, optimizer, scheduler, state);
      appendFileSync(join(o.out, 'log.jsonl'), JSON.stringify(record) + '\n');
      log(`epoch ${epoch + 1}/${o.epochs}: loss ${record.trainLoss.toFixed(4)}, lr ${lr.toExponential(2)}` +
        (val ? `, val kappa ${val.kappa.toFixed(4)}, acc ${val.accuracy.toFixed(4)}` : '') + ` (${record.seconds.toFixed(1)} s)`);
    }
  } finally {
    weight?.dispose();
    optimizer.disposeState();
    grader.dispose();
  }
  return { epochsDone: state.epochsDone, history: state.history, best: state.best, latestPath, bestPath };
}

async function validate(grader: Grader, dir: string, batchSize: number): Promise<GradingReport> {
  const r = await inferDataset(grader, { dir, split: 'val', batchSize });
  const keep = r.truth.map((t, i) => (t >= 0 ? i : -1)).filter((i) => i >= 0);
  return gradingReport(keep.map((i) => r.truth[i]), keep.map((i) => r.pred[i]), grader.config.numClasses);
}

function persistedOptions(o: GraderTrainingOptions): TrainingState['options'] {
  const { log: _log, resume: _resume, stopAfter: _stop, device: _device, cacheMegabytes: _cache, ...rest } = o;
  return rest;
}

function save(path: string, o: GraderTrainingOptions, grader: Grader, optimizer: AnyOptimizer, scheduler: torch.optim.LRScheduler | null, s: Pick<TrainingState, 'epochsDone' | 'best' | 'history'>): void {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of grader.net.stateDict()) tensors.set(`model.${k}`, t);
  const osd = optimizer.stateDict();
  const scalars: Record<string, Record<string, number | null>> = {};
  for (const [idx, ps] of Object.entries(osd.state)) {
    for (const [k, v] of Object.entries(ps)) {
      if (v instanceof torch.Tensor && k !== 'step') tensors.set(`optim.${idx}.${k}`, v);
      else (scalars[idx] ??= {})[k] = v instanceof torch.Tensor ? v.item() : v;
    }
  }
  const rng = torch.getRngState();
  tensors.set('rng', rng);
  const meta: TrainingState = { epochsDone: s.epochsDone, options: persistedOptions(o), optimizer: { param_groups: osd.param_groups, scalars }, scheduler: scheduler?.stateDict() ?? null, best: s.best, history: s.history };
  try {
    torch.io.saveSafetensors(path, tensors, { format: 'pt', [GRADER_META_KEY]: JSON.stringify(grader.config), [TRAINING_META_KEY]: JSON.stringify(meta) });
  } finally {
    rng.dispose();
    for (const ps of Object.values(osd.state)) for (const v of Object.values(ps)) if (v instanceof torch.Tensor) v.dispose();
  }
}

function restore(path: string, o: GraderTrainingOptions, grader: Grader, optimizer: AnyOptimizer, scheduler: torch.optim.LRScheduler | null): Pick<TrainingState, 'epochsDone' | 'best' | 'history'> {
  const header = torch.io.readSafetensorsHeader(path);
  const raw = header.metadata[TRAINING_META_KEY];
  if (raw === undefined) throw new Error(`${path}: not a training checkpoint (no "${TRAINING_META_KEY}" metadata); remove it or train into another --out`);
  const meta = JSON.parse(raw) as TrainingState;
  const now = persistedOptions(o);
  for (const k of FIXED_ON_RESUME) {
    const a = JSON.stringify(k === 'grader' ? grader.config : now[k]);
    const b = JSON.stringify(k === 'grader' ? JSON.parse(header.metadata[GRADER_META_KEY]) : meta.options[k]);
    if (a !== b) throw new Error(`${path}: cannot resume with a different ${k} (checkpoint: ${b}, now: ${a}); use the checkpoint's settings or another --out`);
  }
  const all = torch.io.loadSafetensors(path);
  try {
    const weights = new Map<string, Tensor>();
    const state: Record<number, torch.optim.ParamState> = {};
    for (const [k, t] of all) {
      if (k.startsWith('model.')) weights.set(k.slice(6), t);
      else if (k.startsWith('optim.')) {
        const [, idx, name] = k.split('.');
        (state[Number(idx)] ??= {})[name] = t;
      }
    }
    for (const [idx, sc] of Object.entries(meta.optimizer.scalars)) Object.assign((state[Number(idx)] ??= {}), sc);
    grader.net.loadStateDict(weights);
    optimizer.loadStateDict({ state, param_groups: meta.optimizer.param_groups as torch.optim.OptimizerStateDict['param_groups'] });
    if (scheduler && meta.scheduler) scheduler.loadStateDict(meta.scheduler);
    // The lr written into the groups is the saved one (loadStateDict above), not the fresh schedule's.
    const rng = all.get('rng');
    if (!rng) throw new Error(`${path}: the checkpoint lacks the RNG state "rng"`);
    torch.setRngState(rng);
  } finally {
    for (const t of all.values()) t.dispose();
  }
  return { epochsDone: meta.epochsDone, best: meta.best, history: meta.history };
}
