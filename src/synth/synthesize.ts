// One image from condition masks and a grade: the library call a server or the batch writer
// makes. The grading vector z is drawn from the grading space's Gaussian of the grade (the
// trainer's fixed one-hot embedding when the model was trained without a space); without a
// grade, the generator's own grade head predicts it from the masks first (method.md: the
// encoder's grade head reads the lesions).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import * as torch from '../torch/index.js';
import type { DrganConfig } from '../gan/config.js';
import { Generator, downsample, selectConditionChannels } from '../gan/generator.js';
import { GradingSpace } from '../latent/grading-space.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { GAN_CHECKPOINT_KIND, GradingVectors } from '../train/gan-trainer.js';
import { conditionTensor, resizeCondition, type ConditionMasks } from './condition-io.js';
import { checkGrade } from './lesion-sampler.js';
import { generatorFromCheckpoint, GENERATOR_EXPORT_KIND, type ExportedGeneratorState } from './model-file.js';

export type GradeSource = 'given' | 'predicted';

export interface SynthesizeOptions {
  generator: Generator;
  /** ICDR grade 0..4; omitted: predicted from the masks by the generator's grade head. */
  grade?: number;
  /** Condition masks at the model's resolution (resized with nearest when not). */
  condition: ConditionMasks;
  /** The grading space the model was trained with; null: the trainer's one-hot fallback. */
  gradingSpace: GradingSpace | null;
  /** Fixes z and the AGM noise. */
  seed: number;
  /** Black outside the condition's FOV, as prepared photos are. Default true. */
  maskFov?: boolean;
}

export interface SynthesizedImage {
  /** RGB, HWC, 8 bit. */
  image: { data: Uint8Array; width: number; height: number };
  grade: number;
  gradeSource: GradeSource;
  /** Softmax of the grade head over grades 0..4 for these masks. */
  gradeProbabilities: number[];
}

/** The generator's grade head on a condition [1, 8, R, R]: logits [1, numGrades], as forward() computes them. */
export function gradeLogits(G: Generator, c: torch.Tensor): torch.Tensor {
  return torch.noGrad(() => torch.tidy(() => {
    let h = downsample(selectConditionChannels(c, G.cfg));
    for (const stage of G.global.encoder) h = stage.forward(h) as torch.Tensor;
    return G.global.gradeHead.forward(h) as torch.Tensor;
  }));
}

export function synthesize(o: SynthesizeOptions): SynthesizedImage {
  return synthesizeBatch({ generator: o.generator, gradingSpace: o.gradingSpace, maskFov: o.maskFov, items: [{ grade: o.grade, condition: o.condition, seed: o.seed }] })[0];
}

export interface SynthesizeBatchOptions {
  generator: Generator;
  gradingSpace: GradingSpace | null;
  /** One image each: grade (omitted: predicted), condition, seed (fixes its z and AGM noise). */
  items: { grade?: number; condition: ConditionMasks; seed: number }[];
  maskFov?: boolean;
}

/**
 * Several images in one generator pass. Each image gets the z and AGM noise its seed gives
 * alone (drawNoiseForSeeds), and eval-mode layers see each sample by itself, so an image
 * differs from its one-image synthesis only by the rounding of batched kernels (the demo's
 * model, 8 random condition maps: max 1.4e-6 before quantisation, 4 of 393,216 uint8 values off by 1).
 * A batch of one is exactly synthesize().
 */
export function synthesizeBatch(o: SynthesizeBatchOptions): SynthesizedImage[] {
  const G = o.generator;
  const cfg = G.cfg;
  if (!o.items.length) throw new Error('synthesizeBatch: no items');
  o.items.forEach((it, i) => {
    const where = o.items.length === 1 ? '' : ` (item ${i})`;
    if (it.grade !== undefined) checkGrade(it.grade, `grade${where}`);
    if (!Number.isSafeInteger(it.seed) || it.seed < 0) throw new RangeError(`seed${where} must be a non-negative integer, got ${it.seed}`);
  });
  if (o.gradingSpace && o.gradingSpace.dim !== cfg.generator.gradingVectorDim) {
    throw new Error(`grading space has ${o.gradingSpace.dim} dimensions, the generator's gradingVectorDim is ${cfg.generator.gradingVectorDim}`);
  }
  const conds = o.items.map((it) => resizeCondition(it.condition, cfg.resolution));
  const wasTraining = G.training;
  G.eval();
  try {
    return torch.noGrad(() => torch.tidy(() => {
      const c = conds.length === 1 ? conditionTensor(conds[0]) : torch.cat(conds.map((cd) => conditionTensor(cd)), 0);
      const device = G.global.parameters()[0].device;
      const cd = device === 'cpu' ? c : c.to({ device });
      const probsAll = gradeLogits(G, cd).softmax(1).to({ device: 'cpu' });
      const probs = o.items.map((_, i) => Array.from(probsAll.select(0, i).toArray() as ArrayLike<number>));
      const grades = o.items.map((it, i) => it.grade ?? probs[i].indexOf(Math.max(...probs[i])));
      let z: torch.Tensor | null = null;
      if (!cfg.ablation.noAGM) {
        const each = o.items.map((it, i) => (o.gradingSpace
          ? o.gradingSpace.sample(grades[i], 1, it.seed)
          : new GradingVectors(null, cfg.generator.gradingVectorDim, cfg.numGrades).draw([grades[i]], it.seed, 0)));
        z = each.length === 1 ? each[0] : torch.cat(each, 0);
        if (device !== 'cpu') z = z.to({ device });
      }
      const noise = cfg.ablation.noAGM ? undefined : G.drawNoiseForSeeds(o.items.map((it) => it.seed));
      const out = G.forward(cd, z, noise).image;
      const S = out.shape[2];
      // [-1, 1] NCHW -> 0..255 NHWC
      const pixels = out.permute([0, 2, 3, 1]).add(1).mul(127.5).round().clamp(0, 255).to({ dtype: 'uint8', device: 'cpu' }).contiguous();
      const all = pixels.dataSync() as Uint8Array;
      return o.items.map((it, i) => {
        const data = new Uint8Array(all.subarray(i * S * S * 3, (i + 1) * S * S * 3));
        const cond = conds[i];
        if ((o.maskFov ?? true) && cond.fov) {
          const fov = resizeCondition({ size: cond.size, channels: {}, fov: cond.fov, source: '' }, S).fov!;
          for (let p = 0; p < S * S; p++) if (fov[p] < 128) data[3 * p] = data[3 * p + 1] = data[3 * p + 2] = 0;
        }
        return { image: { data, width: S, height: S }, grade: grades[i], gradeSource: (it.grade === undefined ? 'predicted' : 'given') as GradeSource, gradeProbabilities: probs[i] };
      });
    }));
  } finally {
    G.train(wasTraining);
  }
}

export interface SynthesisModel {
  generator: Generator;
  config: DrganConfig;
  /** SHA-256 of the checkpoint file: which weights made an image. */
  modelId: string;
  /** Grading space path the model was trained with (from the checkpoint), if any. */
  gradingSpacePath: string | null;
  /** An exported generator's own grading space (drgan export); null for a training checkpoint. */
  embeddedGradingSpace: GradingSpace | null;
  path: string;
}

/** SHA-256 of a file, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * A generator from a DR-GAN training checkpoint (drgan train gan) or an exported generator
 * (drgan export): config and stage from its metadata; float16 weights are loaded as float32.
 */
export async function loadSynthesisModel(path: string, o: { device?: torch.Device } = {}): Promise<SynthesisModel> {
  const ck = loadCheckpoint(path);
  let space: GradingSpace | null = null;
  try {
    if (ck.kind !== GAN_CHECKPOINT_KIND && ck.kind !== GENERATOR_EXPORT_KIND) {
      throw new Error(`${path}: a "${ck.kind}" file, expected a DR-GAN training checkpoint ("${GAN_CHECKPOINT_KIND}") or an exported generator ("${GENERATOR_EXPORT_KIND}")`);
    }
    const { generator: G, config } = generatorFromCheckpoint(ck);
    const state = ck.state as { gradingSpace?: unknown };
    let spacePath: string | null = null;
    if (ck.kind === GENERATOR_EXPORT_KIND) {
      const meta = state.gradingSpace as ExportedGeneratorState['gradingSpace'];
      if (meta) {
        if (!ck.modules.space) throw new Error(`${path}: the metadata names an embedded grading space but the file holds no "space" tensors`);
        space = GradingSpace.fromTensors(ck.modules.space, meta, `${path} (embedded grading space)`);
        spacePath = meta.file;
      }
    } else {
      spacePath = (state.gradingSpace as string | null | undefined) ?? null;
    }
    const device = o.device ?? 'cpu';
    if (device !== 'cpu') G.to({ device });
    G.eval();
    return { generator: G, config, modelId: await fileSha256(path), gradingSpacePath: spacePath, embeddedGradingSpace: space, path };
  } catch (err) {
    space?.dispose();
    throw err;
  } finally {
    ck.dispose();
  }
}

/**
 * The grading space to draw z from (the caller's to dispose): the one given, else an exported
 * model's embedded one, else the checkpoint's file (when it is still there), else null.
 */
export function resolveGradingSpace(model: SynthesisModel, given: string | null | undefined, log: (m: string) => void = () => {}): GradingSpace | null {
  if (model.config.ablation.noAGM) return null;
  if (!given && model.embeddedGradingSpace) return model.embeddedGradingSpace.copy();
  const path = given ?? model.gradingSpacePath;
  if (!path) {
    log('note: the model was trained without a grading space; z is the trainer\'s fixed one-hot grade embedding');
    return null;
  }
  if (!existsSync(path)) {
    if (given) throw new Error(`${path}: grading space file not found`);
    throw new Error(`${path}: the grading space this model was trained with is gone; pass --grading-space FILE`);
  }
  const space = GradingSpace.load(path);
  if (space.dim !== model.config.generator.gradingVectorDim) throw new Error(`${path}: grading vectors have ${space.dim} dimensions, the model's gradingVectorDim is ${model.config.generator.gradingVectorDim}`);
  return space;
}
