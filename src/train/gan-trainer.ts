// DR-GAN training (method.md sections 3 and 7), as a story: configuration, data, models,
// optimisers, the loop, checkpoints.
//
// Stage 1 trains G_m alone: it sees the condition map brought to R/2 and makes R/2 images,
// and D sees real images and conditions downsampled to R/2. Stage 2 adds G_l (G_m keeps its
// weights and its Adam moments) and fine-tunes the whole generator at R, optionally with
// G_m frozen for its first epochs. Grading vectors are drawn from the Gaussian of each
// sample's TRUE grade. Every step runs inside torch.tidy, so memory stays flat.
//
// Exact resume: a checkpoint holds weights, optimiser moments, the RNG state and the loader
// position (epoch, batch); the loader's order is a pure function of (seed, epoch) and the
// grading vectors of a step a function of (seed, step), so `resume` continues with the same
// numbers an uninterrupted run would have produced.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import { DataLoader, type Batch } from '../data/loader.js';
import { readManifest, type ManifestEntry } from '../data/manifest.js';
import { mixSeed } from '../data/rng.js';
import { validateConfig, type DrganConfig } from '../gan/config.js';
import { Generator, downsample } from '../gan/generator.js';
import { MultiscaleDiscriminator } from '../gan/discriminator.js';
import { discriminatorLoss, generatorLoss, PerceptualLoss } from '../gan/losses.js';
import { loadVgg19, perceptualExtractor, type FeatureExtractor } from '../gan/vgg19.js';
import { loadGraderFeatureExtractor } from '../models/grader-perceptual.js';
import { GradingSpace } from '../latent/grading-space.js';
import { loadCheckpoint, restoreCheckpoint, saveRunCheckpoint, stepCheckpointName, LATEST_CHECKPOINT, type CheckpointContent } from './checkpoint.js';
import { ProgressBar } from './progress.js';
import { saveSampleGrid } from './sample-grid.js';
import { TensorBoardWriter } from './tensorboard.js';

type Tensor = torch.Tensor;

export const GAN_CHECKPOINT_KIND = 'drgan-gan';

export interface GanTrainOptions {
  /** Prepared data set (manifest.ts); its train split trains. */
  data: string;
  /** Run folder: latest.safetensors, step-*.safetensors, losses.jsonl, events.*, samples/. */
  out: string;
  /** Resolved configuration; with `resume` it may be left out (the checkpoint's is used). */
  config?: DrganConfig;
  /** Grading space file (drgan latent). Without it: a fixed one-hot embedding, with a warning. */
  gradingSpace?: string | null;
  /** torchvision VGG-19 weights (.pth or .safetensors) for the perceptual loss. */
  vgg?: string | null;
  /**
   * Trained grader file (drgan train grader) whose backbone is the perceptual loss's fallback
   * when no `vgg` is given, announced with a loud warning (method.md section 7).
   */
  grader?: string | null;
  /** A perceptual feature extractor given directly (library use); takes precedence over `vgg`. */
  perceptualExtractor?: FeatureExtractor | null;
  /**
   * Where G, D and the perceptual network train: 'cpu' (default), 'cuda' or 'cuda:N'. Weights
   * are initialised on the CPU first, so a seed gives the same starting point on every device;
   * checkpoints hold CPU tensors and load anywhere.
   */
  device?: torch.Device;
  /** Seeds initialisation, batch order, AGM noise and grading vectors. Default 0. */
  seed?: number;
  /** Per stage: base rate for the first half of its epochs, then linear decay to 0 (pix2pixHD). */
  lrDecay?: boolean;
  /** Keep a `step-N` checkpoint every this many steps (latest is rewritten then too); 0 = never. */
  checkpointEvery?: number;
  /** Save a sample grid every this many steps; 0 = only at the end. */
  sampleEvery?: number;
  /** Rows (fixed condition maps) of the sample grid. Default 4. */
  sampleRows?: number;
  /** Continue from OUT/latest.safetensors. */
  resume?: boolean;
  /** Stop (with a checkpoint) once this many steps are done in total. */
  maxSteps?: number;
  /** Stop (with a checkpoint) after the step that ends this many seconds of training in this call. */
  maxSeconds?: number;
  /**
   * Megabytes (2^20 bytes) of decoded training samples kept in memory after their first
   * decode (LoaderOptions.cacheBytes): every epoch reads the same images, and decoding them is
   * what bounds a fast device. Default 1024; 0 turns it off. Changes no batch.
   */
  cacheMegabytes?: number;
  /**
   * Train on the first N samples of the train split only (manifest order); default all. A
   * subset of a larger set, so that other models (a grader) can learn from more of it. Fixed by
   * the checkpoint: a resume with another limit is refused.
   */
  limit?: number;
  /** Progress bar on stderr: true (default), false, or a stream. */
  progress?: boolean | { write(s: string): boolean; isTTY?: boolean; columns?: number };
  /** Aborting it (SIGINT in the CLI) finishes the current step, checkpoints and returns. */
  signal?: AbortSignal;
  /** Warnings and notes (default: stderr). */
  log?: (message: string) => void;
  hooks?: GanTrainHooks;
}

export interface StepInfo {
  step: number;
  epoch: number;
  stage: 1 | 2;
  G: Generator;
  D: MultiscaleDiscriminator;
  losses: { G: Record<string, number>; D: Record<string, number> };
}

export interface GanTrainHooks {
  /** Test hook: make this step's (1-based) losses NaN, as a diverging run would. */
  nanAtStep?: number;
  afterStep?(info: StepInfo): void;
  /** Called when a stage begins in this process (after G_l was added for stage 2). */
  onStageStart?(info: { stage: 1 | 2; epoch: number; step: number; G: Generator; D: MultiscaleDiscriminator }): void;
}

export interface GanTrainResult {
  step: number;
  epoch: number;
  stage: 1 | 2;
  stopped: 'finished' | 'max-steps' | 'max-time' | 'interrupted';
  latest: string;
  losses: string;
  events: string;
}

/** Where a run stands; stored in every checkpoint. */
interface RunState {
  step: number;
  /** Epoch being trained (0-based, both stages counted). */
  epoch: number;
  /** Batches of `epoch` already consumed. */
  batchInEpoch: number;
  stage: 1 | 2;
  seed: number;
  lrDecay: boolean;
  config: DrganConfig;
  /** The perceptual loss's network (null without the loss); absent in older checkpoints. */
  perceptual?: PerceptualSource | null;
  /** GanTrainOptions.limit (null: the whole train split); absent in older checkpoints. */
  limit?: number | null;
}

/** Which network the perceptual loss used, recorded in every checkpoint. */
export interface PerceptualSource {
  kind: 'vgg19' | 'grader' | 'given';
  /** The extractor's name (FeatureExtractor.name). */
  extractor: string;
  /** The weights file it was read from (null for one given directly). */
  file: string | null;
}

export class NonFiniteLossError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteLossError';
  }
}

/** Fields whose values differ between two configs (dotted paths), for resume checks. */
export function configDifferences(a: unknown, b: unknown, path = ''): string[] {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => configDifferences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return a === b ? [] : [`${path} (${JSON.stringify(a)} vs ${JSON.stringify(b)})`];
}

/** Learning-rate factor of an epoch: LinearDecayLR's formula within the epoch's stage. */
export function lrFactor(epoch: number, cfg: DrganConfig, decay: boolean): number {
  if (!decay) return 1;
  const s1 = cfg.train.stage1Epochs;
  const [e, n] = epoch < s1 ? [epoch, s1] : [epoch - s1, cfg.train.stage2Epochs];
  const constant = Math.floor(n / 2), decayEpochs = Math.max(1, n - constant);
  return Math.max(0, 1 - Math.max(0, e - constant) / decayEpochs);
}

/**
 * Grading vectors for a batch: from the grading space (Gaussian of each row's grade, seeded
 * by (seed, step, grade)), or a fixed one-hot-ish embedding (1 where j % numGrades == grade).
 */
export class GradingVectors {
  constructor(readonly space: GradingSpace | null, readonly dim: number, readonly numGrades: number) {}

  draw(grades: ArrayLike<number>, seed: number, step: number): Tensor {
    const n = grades.length;
    if (!this.space) {
      const z = new Float32Array(n * this.dim);
      for (let i = 0; i < n; i++) for (let j = grades[i]; j < this.dim; j += this.numGrades) z[i * this.dim + j] = 1;
      return torch.tensor(z, [n, this.dim]);
    }
    return torch.tidy(() => {
      const rows: Tensor[] = new Array(n);
      const byGrade = new Map<number, number[]>();
      for (let i = 0; i < n; i++) byGrade.set(grades[i], [...(byGrade.get(grades[i]) ?? []), i]);
      for (const [g, idx] of byGrade) {
        const z = this.space!.sample(g, idx.length, mixSeed(seed, step, g, 0x2a7));
        idx.forEach((row, k) => { rows[row] = z.narrow(0, k, 1); });
      }
      return torch.cat(rows, 0);
    });
  }
}

/**
 * The perceptual loss's network: the extractor given, else VGG-19 from `vgg`, else the
 * grader's backbone from `grader` (with the loud warning), else an error. A resumed run given
 * none of them reopens the file its checkpoint names.
 */
function loadPerceptual(o: GanTrainOptions, cfg: DrganConfig, log: (m: string) => void, saved: PerceptualSource | null | undefined): { loss: PerceptualLoss; source: PerceptualSource } | null {
  if (cfg.ablation.noPerceptual) return null;
  const make = (extractor: FeatureExtractor, kind: PerceptualSource['kind'], file: string | null) =>
    ({ loss: new PerceptualLoss(extractor, cfg.loss.perceptualWeights), source: { kind, extractor: extractor.name, file } });
  if (o.perceptualExtractor) return make(o.perceptualExtractor, 'given', null);
  const reopen = !o.vgg && !o.grader && saved?.file ? saved : null;
  const vggFile = o.vgg ?? (reopen?.kind === 'vgg19' ? reopen.file : null);
  const graderFile = o.grader ?? (reopen?.kind === 'grader' ? reopen.file : null);
  if (vggFile) {
    if (!existsSync(vggFile)) throw new Error(`${vggFile}: VGG-19 weights file not found`);
    if (graderFile) log(`note: VGG-19 weights given, so the grader ${graderFile} is not used for the perceptual loss`);
    const sd = vggFile.endsWith('.safetensors') ? torch.io.loadSafetensors(vggFile) : torch.io.loadPth(vggFile);
    try {
      const vgg = loadVgg19(sd);
      log(`perceptual loss: ${vgg.name} from ${vggFile}`);
      return make(vgg, 'vgg19', vggFile);
    } finally {
      for (const t of sd.values()) t.dispose();
    }
  }
  if (graderFile) {
    if (!existsSync(graderFile)) throw new Error(`${graderFile}: grader file for the perceptual loss's fallback not found`);
    return make(perceptualExtractor({ fallback: loadGraderFeatureExtractor(graderFile), warn: log }), 'grader', graderFile);
  }
  throw new Error('perceptual loss: no VGG-19 weights given. Pass the torchvision vgg19 weights (--vgg FILE, .pth or .safetensors), ' +
    'or a trained grader whose backbone stands in for VGG-19 with a warning (--grader FILE), ' +
    'or switch the loss off (ablation.noPerceptual, --no-perceptual); a random network is never used.');
}

function loadGradingVectors(o: GanTrainOptions, cfg: DrganConfig, log: (m: string) => void): GradingVectors {
  const dim = cfg.generator.gradingVectorDim;
  if (!o.gradingSpace) {
    const bar = '!'.repeat(78);
    log(`${bar}\nWARNING: no grading space given: grading vectors are a FIXED one-hot embedding of the\n` +
      `grade (1 where index % ${cfg.numGrades} == grade), not draws from the grader's per-grade Gaussians.\n` +
      `The AGM then learns a plain grade embedding. Fit one with "drgan latent" and pass --grading-space.\n${bar}`);
    return new GradingVectors(null, dim, cfg.numGrades);
  }
  const space = GradingSpace.load(o.gradingSpace);
  if (space.dim !== dim) throw new Error(`${o.gradingSpace}: grading vectors have ${space.dim} dimensions but generator.gradingVectorDim is ${dim}`);
  if (space.numGrades !== cfg.numGrades) throw new Error(`${o.gradingSpace}: the space has ${space.numGrades} grades, the config ${cfg.numGrades}`);
  return new GradingVectors(space, dim, cfg.numGrades);
}

function checkFinite(terms: Record<string, number>, net: 'G' | 'D', step: number, latest: string | null): void {
  for (const [name, v] of Object.entries(terms)) {
    if (!Number.isFinite(v)) {
      throw new NonFiniteLossError(`training diverged: loss term ${net}/${name} is ${v} at step ${step}; stopped without updating the weights or writing a checkpoint. ` +
        (latest ? `The last good checkpoint is ${latest}.` : 'No checkpoint was written before it.'));
    }
  }
}

/** The previous run's log lines past the resumed step are dropped: those steps are redone. */
function truncateLog(path: string, step: number): void {
  if (!existsSync(path)) return;
  const keep = readFileSync(path, 'utf8').split('\n').filter((l) => {
    if (!l.trim()) return false;
    try {
      return (JSON.parse(l) as { step: number }).step <= step;
    } catch {
      return false;
    }
  });
  writeFileSync(path, keep.map((l) => l + '\n').join(''));
}

export interface GanParts {
  G: Generator;
  D: MultiscaleDiscriminator;
  optG: torch.optim.Adam;
  optD: torch.optim.Adam;
  cfg: DrganConfig;
  perceptual: PerceptualLoss | null;
}

/**
 * One DR-GAN update on a batch (Eq. 1): c [B, 8, R, R], x [B, 3, R, R], y int64 [B], z
 * [B, zDim] or null. G first, then D on the same (detached) fakes. `beforeUpdate` sees the
 * loss terms before any weight changes (the NaN guard). Call inside torch.tidy.
 */
export function ganStep(p: GanParts, c: Tensor, x: Tensor, y: Tensor, z: Tensor | null,
  o: { poison?: boolean; beforeUpdate?: (terms: { G: Record<string, number>; D: Record<string, number> }) => void } = {}): { G: Record<string, number>; D: Record<string, number> } {
  const { G, D, optG, optD, cfg, perceptual } = p;
  const out = G.forward(c, z);
  let fake = out.image;
  if (o.poison) fake = fake.mul(Number.NaN);
  // Stage 1: D judges G_m's R/2 output against real images and maps brought to R/2.
  const [cD, xD] = G.stage === 1 ? [downsample(c), downsample(x)] : [c, x];
  const fakeOut = D.forward(cD, fake);
  const realOut = D.forward(cD, xD);
  const gl = generatorLoss({ fakeOut, realOut, fakeImage: fake, realImage: xD, grades: y, gradeLogits: out.gradeLogits, perceptual, condition: cD }, cfg);
  const dl = discriminatorLoss({ realOut, fakeOut: D.forward(cD, fake.detach()), grades: y }, cfg);
  // Checked before any update, so a diverged step changes nothing.
  o.beforeUpdate?.({ G: gl.terms, D: dl.terms });
  optG.zeroGrad();
  gl.total.backward();
  optG.step();
  // G's backward also reached D's parameters through D(G(c)); D starts from clean gradients.
  optD.zeroGrad();
  dl.total.backward();
  optD.step();
  optG.zeroGrad();
  optD.zeroGrad();
  return { G: gl.terms, D: dl.terms };
}

export async function trainGan(o: GanTrainOptions): Promise<GanTrainResult> {
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  mkdirSync(o.out, { recursive: true });
  const latestPath = join(o.out, LATEST_CHECKPOINT);

  // ---- configuration (a resumed run continues with the checkpoint's)
  const resumed = o.resume ? loadCheckpoint(latestPath, GAN_CHECKPOINT_KIND) : null;
  let st: RunState;
  if (resumed) {
    st = resumed.state as unknown as RunState;
    const checks: [string, unknown, unknown][] = [['config', o.config, st.config], ['seed', o.seed, st.seed], ['lrDecay', o.lrDecay, st.lrDecay],
      ['limit (first N training samples)', o.limit, st.limit ?? null]];
    for (const [what, given, saved] of checks) {
      if (given === undefined) continue;
      const diff = configDifferences(given, saved);
      if (diff.length) throw new Error(`${latestPath}: --resume continues the saved run, but the ${what} given differs from the checkpoint's: ${diff.join('; ')}`);
    }
  } else {
    if (!o.config) throw new Error('trainGan: a config is needed to start a run (only a resumed run takes it from its checkpoint)');
    if (existsSync(latestPath)) throw new Error(`${latestPath} exists: pass --resume to continue that run, or choose another --out`);
    st = { step: 0, epoch: 0, batchInEpoch: 0, stage: 1, seed: o.seed ?? 0, lrDecay: o.lrDecay ?? false, config: structuredClone(o.config), limit: o.limit ?? null };
  }
  const cfg = st.config;
  validateConfig(cfg);
  const { train: tc } = cfg;
  const totalEpochs = tc.stage1Epochs + tc.stage2Epochs;
  if (totalEpochs === 0) throw new Error('config: train.stage1Epochs + train.stage2Epochs is 0; nothing to train');

  // ---- data
  const cacheMegabytes = o.cacheMegabytes ?? 1024;
  if (!(cacheMegabytes >= 0) || !Number.isFinite(cacheMegabytes)) throw new Error(`trainGan: cacheMegabytes must be a finite number >= 0, got ${cacheMegabytes}`);
  const limit = st.limit ?? null;
  if (limit !== null && !(Number.isInteger(limit) && limit >= 1)) throw new Error(`trainGan: limit must be a positive integer (the first N training samples), got ${limit}`);
  const kept = limit === null ? null : new Set(readManifest(o.data).filter((e) => e.split === 'train').slice(0, limit).map((e) => e.id));
  const loader = new DataLoader({
    dir: o.data, split: 'train', batchSize: tc.batchSize, size: cfg.resolution, seed: st.seed, shuffle: true, dropLast: true,
    cacheBytes: Math.round(cacheMegabytes * 2 ** 20),
    ...(kept ? { filter: (e: ManifestEntry) => kept.has(e.id) } : {}),
  });
  if (limit !== null) log(`training on the first ${loader.entries.length} sample(s) of the train split (limit ${limit})`);
  if (loader.length === 0) throw new Error(`${o.data}: the train split has ${loader.entries.length} sample(s), fewer than one batch of ${tc.batchSize}`);
  const ungraded = loader.entries.filter((e) => e.grade === null).length;
  if (ungraded) log(`note: ${ungraded} of ${loader.entries.length} training samples have no grade; they are left out of every batch (DR-GAN needs the true grade)`);
  const cacheLine = loader.cacheSummary();
  if (cacheLine) log(cacheLine);
  const stepsPerEpoch = loader.length;
  const totalSteps = stepsPerEpoch * totalEpochs;
  const zs = cfg.ablation.noAGM ? null : loadGradingVectors(o, cfg, log);
  const perceptualSetup = loadPerceptual(o, cfg, log, st.perceptual);
  const perceptual = perceptualSetup?.loss ?? null;
  if (resumed && st.perceptual && perceptualSetup && st.perceptual.extractor !== perceptualSetup.source.extractor) {
    if (perceptualSetup.source.kind !== 'given') (perceptual!.extractor as Partial<{ dispose(): void }>).dispose?.();
    resumed.dispose();
    throw new Error(`${latestPath}: --resume continues the saved run, but its perceptual loss used "${st.perceptual.extractor}" and this run would use "${perceptualSetup.source.extractor}"`);
  }
  st.perceptual = perceptualSetup?.source ?? null;

  // ---- models and optimisers (a stage-2 checkpoint needs G_l and its param group)
  const device = o.device ?? 'cpu';
  torch.manualSeed(st.seed);
  const G = new Generator(cfg, 1);
  const D = new MultiscaleDiscriminator(cfg);
  if (device !== 'cpu') {
    G.to({ device });
    D.to({ device });
    perceptual?.extractor.to?.({ device });
  }
  const adam = (params: Tensor[]) => new torch.optim.Adam(params, { lr: tc.lr, betas: tc.betas });
  const optG = adam(G.parameters());
  const optD = adam(D.parameters());
  const addLocal = () => {
    const local = G.addLocalEnhancer();
    optG.addParamGroup({ params: local.parameters() });
  };
  if (resumed) {
    try {
      if (st.stage === 2) addLocal();
      const { cudaRngRestored } = restoreCheckpoint(resumed, { modules: { G, D }, optimizers: { G: optG, D: optD }, rng: true, rngDevice: device });
      if (device !== 'cpu' && !cudaRngRestored) log(`note: ${latestPath} was not saved on a GPU, so the AGM noise drawn on ${device} from here on differs from an uninterrupted run`);
    } finally {
      resumed.dispose();
    }
    log(`resumed ${latestPath}: step ${st.step}, stage ${st.stage}, epoch ${st.epoch + 1}, batch ${st.batchInEpoch}`);
  }
  G.train();
  D.train();

  // ---- logging
  const lossesPath = join(o.out, 'losses.jsonl');
  if (resumed) truncateLog(lossesPath, st.step);
  const tb = new TensorBoardWriter(o.out);
  const bar = o.progress === false ? null : new ProgressBar({ total: totalSteps, stream: o.progress === true || o.progress === undefined ? process.stderr : o.progress });
  const note = (m: string) => (bar ? bar.note(m) : log(m));
  let lastCheckpoint: string | null = resumed ? latestPath : null;

  const checkpoint = (keep: boolean) => {
    st.stage = G.stage;
    const content: CheckpointContent = {
      kind: GAN_CHECKPOINT_KIND, modules: { G, D }, optimizers: { G: optG, D: optD }, rng: true, rngDevice: device,
      state: { ...st, data: o.data, gradingSpace: o.gradingSpace ?? null } as unknown as Record<string, unknown>,
    };
    lastCheckpoint = saveRunCheckpoint(o.out, content, keep ? stepCheckpointName(st.step) : undefined);
  };

  // ---- the fixed rows of the sample grid
  const sampleEvery = o.sampleEvery ?? 0;
  const gridInputs = await (async () => {
    const rows = Math.min(o.sampleRows ?? 4, loader.entries.length);
    const gl = new DataLoader({ dir: o.data, split: 'all', batchSize: rows, size: cfg.resolution, shuffle: false, prefetch: 1 });
    const first = (await gl.epoch(0).next()).value as Batch;
    const gridZ = new Map<number, Tensor | null>();
    return {
      conditions: torch.keep(torch.tidy(() => torch.tensor(first.conditions, first.shapes.conditions).to({ device }))),
      images: torch.keep(torch.tidy(() => torch.tensor(first.images, first.shapes.images).to({ device }))),
      numGrades: cfg.numGrades,
      noiseSeed: mixSeed(st.seed, 0x6e15e),
      gradingVectors: (g: number, k: number) => {
        if (!zs) return null;
        if (!gridZ.has(g)) gridZ.set(g, torch.keep(torch.tidy(() => zs.draw(new Array(k).fill(g), st.seed, 0xffffff).to({ device }))));
        return gridZ.get(g)!;
      },
      dispose: () => { for (const t of gridZ.values()) t?.dispose(); },
    };
  })();
  const sample = async () => {
    mkdirSync(join(o.out, 'samples'), { recursive: true });
    await saveSampleGrid(join(o.out, 'samples', `step-${String(st.step).padStart(8, '0')}.png`), G, gridInputs);
  };

  // ---- one step: G then D on the same batch (Eq. 1)
  const trainStep = (b: Batch, step: number): { G: Record<string, number>; D: Record<string, number>; images: number } | null => torch.tidy(() => {
    const rows: number[] = [];
    b.grades.forEach((g, i) => { if (g >= 0) rows.push(i); });
    if (rows.length === 0) return null;
    let c = torch.tensor(b.conditions, b.shapes.conditions);
    let x = torch.tensor(b.images, b.shapes.images);
    if (rows.length < b.batchSize) {
      const idx = torch.tensor(Int32Array.from(rows)).long();
      c = c.indexSelect(0, idx);
      x = x.indexSelect(0, idx);
    }
    const gradesArr = Int32Array.from(rows.map((i) => b.grades[i]));
    const y = torch.tensor(gradesArr).long().to({ device });
    const z = zs ? zs.draw(gradesArr, st.seed, step).to({ device }) : null;
    c = c.to({ device });
    x = x.to({ device });

    const terms = ganStep({ G, D, optG, optD, cfg, perceptual }, c, x, y, z, {
      poison: o.hooks?.nanAtStep === step,
      beforeUpdate: (t) => { checkFinite(t.G, 'G', step, lastCheckpoint); checkFinite(t.D, 'D', step, lastCheckpoint); },
    });
    return { ...terms, images: rows.length };
  });

  // ---- the loop
  let stopped: GanTrainResult['stopped'] = 'finished';
  let stageHere = 0;
  let lastTime = Date.now();
  const startTime = lastTime;
  try {
    outer: for (; st.epoch < totalEpochs; st.epoch++, st.batchInEpoch = 0) {
      const stage: 1 | 2 = st.epoch < tc.stage1Epochs ? 1 : 2;
      if (stage === 2 && G.stage === 1) {
        addLocal();
        note(`stage 2: G_l added (${G.local!.numParameters()} parameters); fine-tuning the whole generator at ${cfg.resolution}px`);
      }
      if (stage !== stageHere) {
        o.hooks?.onStageStart?.({ stage, epoch: st.epoch, step: st.step, G, D });
        stageHere = stage;
      }
      const frozen = stage === 2 && st.epoch - tc.stage1Epochs < tc.freezeGlobalEpochs;
      G.global.requiresGrad_(!frozen);
      const lr = tc.lr * lrFactor(st.epoch, cfg, st.lrDecay);
      for (const g of [...optG.paramGroups, ...optD.paramGroups]) g.lr = lr;

      // A resumed epoch starts after the batches already trained (same order: seed and epoch fix it).
      let b = st.batchInEpoch;
      for await (const batch of loader.epoch(st.epoch, { startBatch: st.batchInEpoch })) {
        b++;
        const stepNo = st.step + 1;
        const r = trainStep(batch, stepNo);
        st.step = stepNo;
        st.batchInEpoch = b;
        const now = Date.now();
        const imagesPerSec = r ? r.images / Math.max(1e-3, (now - lastTime) / 1000) : 0;
        lastTime = now;
        if (r) {
          appendFileSync(lossesPath, JSON.stringify({ step: st.step, epoch: st.epoch, stage, lr, time: now / 1000, imagesPerSec, G: r.G, D: r.D }) + '\n');
          const scalars: Record<string, number> = { lr, images_per_sec: imagesPerSec };
          for (const [k, v] of Object.entries(r.G)) scalars[`G/${k}`] = v;
          for (const [k, v] of Object.entries(r.D)) scalars[`D/${k}`] = v;
          tb.scalars(st.step, scalars);
          bar?.update({ step: st.step, epoch: st.epoch, stage, imagesPerSec, losses: Object.fromEntries(Object.entries(scalars).filter(([k]) => k.includes('/'))) });
          o.hooks?.afterStep?.({ step: st.step, epoch: st.epoch, stage, G, D, losses: { G: r.G, D: r.D } });
        }
        const endOfEpoch = b === stepsPerEpoch;
        if (sampleEvery > 0 && st.step % sampleEvery === 0) await sample();
        const everyN = (o.checkpointEvery ?? 0) > 0 && st.step % o.checkpointEvery! === 0;
        if (o.signal?.aborted) {
          stopped = 'interrupted';
        } else if (o.maxSteps !== undefined && st.step >= o.maxSteps) {
          stopped = 'max-steps';
        } else if (o.maxSeconds !== undefined && (now - startTime) / 1000 >= o.maxSeconds) {
          stopped = 'max-time';
        }
        if (stopped !== 'finished') {
          // Position after the last finished batch (the next epoch if it was the last one).
          if (endOfEpoch) { st.epoch++; st.batchInEpoch = 0; }
          checkpoint(everyN);
          const why = stopped === 'interrupted' ? 'interrupted' : stopped === 'max-time' ? `time budget of ${o.maxSeconds} s reached` : `reached ${o.maxSteps} steps`;
          note(`${why}: checkpoint ${lastCheckpoint} (step ${st.step}); continue with --resume`);
          break outer;
        }
        if (everyN && !endOfEpoch) checkpoint(true);
      }
      // Each stage's end is kept: stage 1's generator is a model in its own right.
      const lastOfStage = st.epoch === tc.stage1Epochs - 1 || st.epoch === totalEpochs - 1;
      st.epoch++;
      st.batchInEpoch = 0;
      checkpoint(lastOfStage || ((o.checkpointEvery ?? 0) > 0 && st.step % o.checkpointEvery! === 0));
      st.epoch--; // the for-loop increments
    }
    if (stopped === 'finished') await sample();
  } finally {
    bar?.finish();
    tb.close();
    gridInputs.conditions.dispose();
    gridInputs.images.dispose();
    gridInputs.dispose();
    zs?.space?.dispose();
    // Networks opened here are freed here; one given by the caller stays the caller's.
    if (perceptualSetup && perceptualSetup.source.kind !== 'given') (perceptual!.extractor as Partial<{ dispose(): void }>).dispose?.();
  }
  if (stopped === 'finished') st.epoch = totalEpochs;
  return { step: st.step, epoch: st.epoch, stage: G.stage, stopped, latest: lastCheckpoint ?? latestPath, losses: lossesPath, events: tb.path };
}
