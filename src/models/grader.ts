// The DR grader (method.md sections 1 and 9): an ImageNet-style backbone whose classifier is
// replaced by one with 5 outputs (ICDR grades). Its pooled features feed the latent grading
// space (latent/grading-space.ts); its predictions give the grading metrics.
//
// A grader file is a safetensors file of the backbone's state dict under torchvision's names
// (so it also loads into `torchvision.models.resnet18(num_classes=5)`), with the config as JSON
// in the metadata entry "drgan.grader", so `drgan eval grader` rebuilds it without flags.
import { existsSync } from 'node:fs';
import { readManifest, type Split } from '../data/manifest.js';
import { DataLoader } from '../data/loader.js';
import * as torch from '../torch/index.js';
import { INCEPTION_V3_AUX_MIN_SIZE, INCEPTION_V3_MIN_SIZE, InceptionV3 } from './inception-v3.js';
import { ResNet } from './resnet.js';
import { VGG } from './vgg.js';

type Tensor = torch.Tensor;

export const BACKBONES = ['resnet18', 'resnet50', 'vgg16', 'vgg16_bn', 'inception_v3'] as const;
export type BackboneName = (typeof BACKBONES)[number];

export interface GraderConfig {
  backbone: BackboneName;
  /** 5 for ICDR grades. */
  numClasses: number;
  /** Side of the square images the grader was trained on; other sizes are resized to it. */
  inputSize: number;
  /** Divides every layer's width (1 = the published network); for tests and quick runs. */
  widthDivisor: number;
  /**
   * How [-1, 1] images are mapped before the backbone: 'imagenet' = torchvision's mean/std on
   * [0, 1] (what pretrained weights expect), 'none' = as given.
   */
  normalize: 'imagenet' | 'none';
}

export const DEFAULT_GRADER_CONFIG: GraderConfig = { backbone: 'resnet18', numClasses: 5, inputSize: 224, widthDivisor: 1, normalize: 'imagenet' };

/** The metadata key holding the config in a grader file. */
export const GRADER_META_KEY = 'drgan.grader';

type Backbone = ResNet | VGG | InceptionV3;

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

export function checkGraderConfig(c: Partial<GraderConfig>, where = 'grader config'): GraderConfig {
  const full = { ...DEFAULT_GRADER_CONFIG, ...c };
  if (!BACKBONES.includes(full.backbone)) throw new Error(`${where}: backbone must be one of ${BACKBONES.join(', ')} (got ${JSON.stringify(full.backbone)})`);
  for (const k of ['numClasses', 'inputSize', 'widthDivisor'] as const) {
    if (!Number.isInteger(full[k]) || full[k] < 1) throw new Error(`${where}: ${k} must be a positive integer, got ${JSON.stringify(full[k])}`);
  }
  if (full.numClasses < 2) throw new Error(`${where}: numClasses must be >= 2, got ${full.numClasses}`);
  if (full.inputSize < 32) throw new Error(`${where}: inputSize must be >= 32 (five stride-2 stages), got ${full.inputSize}`);
  if (full.backbone === 'inception_v3' && full.inputSize < INCEPTION_V3_MIN_SIZE) {
    throw new Error(`${where}: inputSize must be >= ${INCEPTION_V3_MIN_SIZE} for inception_v3 (torchvision's minimum; ${INCEPTION_V3_AUX_MIN_SIZE} trains its auxiliary head too), got ${full.inputSize}`);
  }
  if (!['imagenet', 'none'].includes(full.normalize)) throw new Error(`${where}: normalize must be imagenet|none, got ${JSON.stringify(full.normalize)}`);
  if (full.backbone.startsWith('resnet') && 64 % full.widthDivisor !== 0) throw new Error(`${where}: widthDivisor must divide 64 for a ResNet, got ${full.widthDivisor}`);
  return full;
}

function buildBackbone(c: GraderConfig): Backbone {
  switch (c.backbone) {
    case 'resnet18': return new ResNet({ depth: 18, numClasses: c.numClasses, baseWidth: 64 / c.widthDivisor });
    case 'resnet50': return new ResNet({ depth: 50, numClasses: c.numClasses, baseWidth: 64 / c.widthDivisor });
    case 'vgg16': return new VGG({ numClasses: c.numClasses, widthDivisor: c.widthDivisor, hidden: Math.max(16, Math.floor(4096 / c.widthDivisor)) });
    case 'vgg16_bn': return new VGG({ numClasses: c.numClasses, widthDivisor: c.widthDivisor, hidden: Math.max(16, Math.floor(4096 / c.widthDivisor)), batchNorm: true });
    // As torchvision's inception_v3(weights=...): aux head on, transform_input on [decision:
    // also from scratch, so that one file layout serves both].
    case 'inception_v3': return new InceptionV3({ numClasses: c.numClasses, widthDivisor: c.widthDivisor, auxLogits: true, transformInput: true });
  }
}

export class Grader extends torch.nn.Module {
  readonly config: GraderConfig;
  /** The torchvision-named network; its state dict is the grader file's content. */
  readonly net: Backbone;
  private readonly mean: Tensor;
  private readonly std: Tensor;

  constructor(config: Partial<GraderConfig> = {}) {
    super();
    this.config = checkGraderConfig(config);
    this.net = this.registerModule('net', buildBackbone(this.config));
    this.mean = this.registerBuffer('mean', torch.tensor(IMAGENET_MEAN, [1, 3, 1, 1]), { persistent: false });
    this.std = this.registerBuffer('std', torch.tensor(IMAGENET_STD, [1, 3, 1, 1]), { persistent: false });
  }

  /** Where its weights live ('cpu', 'cuda:0', ...); inference moves its inputs there. */
  get device(): torch.Device {
    return this.mean.device;
  }

  /** Length of a feature vector: 512 (ResNet-18), 2048 (ResNet-50, Inception-v3), 4096 (VGG-16). */
  get featureDim(): number {
    return this.net.featureDim;
  }

  /** [N, 3, S, S] in [-1, 1] -> what the backbone sees (resized unless told not to, normalised). */
  private prepare(images: Tensor, resize = true): Tensor {
    const s = images.shape;
    if (s.length !== 4 || s[1] !== 3) throw new Error(`Grader: expected images [N, 3, H, W] in [-1, 1], got shape [${s.join(', ')}]`);
    let x = images;
    const S = this.config.inputSize;
    if (resize && (s[2] !== S || s[3] !== S)) x = torch.F.interpolate(x, { size: S, mode: 'bilinear', alignCorners: false });
    if (this.config.normalize === 'imagenet') x = x.add(1).mul(0.5).sub(this.mean).div(this.std);
    return x;
  }

  /** Pooled features [N, featureDim] (the grading-space vectors). */
  features(images: Tensor): Tensor {
    return torch.tidy(() => this.net.features(this.prepare(images)));
  }

  /** Logits [N, numClasses]. */
  forward(images: Tensor): Tensor {
    return torch.tidy(() => this.net.forward(this.prepare(images)));
  }

  /**
   * Logits and the auxiliary head's logits, which only Inception-v3 has and only gives in
   * training mode at inputSize >= 299 (InceptionV3.forwardWithAux); aux is null otherwise.
   */
  trainingLogits(images: Tensor): { logits: Tensor; aux: Tensor | null } {
    return torch.tidy(() => {
      const x = this.prepare(images);
      return this.net instanceof InceptionV3 ? this.net.forwardWithAux(x) : { logits: this.net.forward(x), aux: null };
    });
  }

  /** Why the auxiliary head sits out of training with this config, or null when it does not. */
  get auxHeadNote(): string | null {
    const { backbone, inputSize } = this.config;
    if (backbone !== 'inception_v3' || inputSize >= INCEPTION_V3_AUX_MIN_SIZE) return null;
    return `inception_v3 at ${inputSize} px: its auxiliary head needs a ${INCEPTION_V3_AUX_MIN_SIZE} px input (a 17 x 17 Mixed_6e map), so it is not trained and the loss is the main head's alone`;
  }

  /**
   * The backbone's feature maps at five depths (the backbone's stageOutputs) on
   * images at their own size, normalised as for features(): the perceptual loss's fallback
   * compares images at full scale, as it would with VGG-19.
   */
  stageOutputs(images: Tensor): Tensor[] {
    return torch.tidy(() => this.net.stageOutputs(this.prepare(images, false)));
  }

  /** Both at the cost of one pass. */
  featuresAndLogits(images: Tensor): { features: Tensor; logits: Tensor } {
    return torch.tidy(() => {
      const features = this.net.features(this.prepare(images));
      return { features, logits: this.net.head(features) };
    });
  }

  /** Saves the weights (torchvision names) and config; `extra` adds metadata entries. */
  save(path: string, extra: Record<string, string> = {}): void {
    torch.io.saveSafetensors(path, this.net.stateDict(), { format: 'pt', ...extra, [GRADER_META_KEY]: JSON.stringify(this.config) });
  }

  /**
   * Rebuilds a grader from a grader file, or from a training checkpoint (whose model weights
   * are stored under "model.").
   */
  static load(path: string): Grader {
    if (!existsSync(path)) throw new Error(`${path}: no such grader file`);
    const header = torch.io.readSafetensorsHeader(path);
    const raw = header.metadata[GRADER_META_KEY];
    if (raw === undefined) throw new Error(`${path}: not a grader file (no "${GRADER_META_KEY}" metadata entry; was it written by drgan train grader?)`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new Error(`${path}: metadata "${GRADER_META_KEY}" is not valid JSON`);
    }
    const grader = new Grader(checkGraderConfig(parsed as Partial<GraderConfig>, `${path}: ${GRADER_META_KEY}`));
    const all = torch.io.loadSafetensors(path);
    try {
      const fromCheckpoint = [...all.keys()].some((k) => k.startsWith('model.'));
      const weights = fromCheckpoint
        ? new Map([...all].filter(([k]) => k.startsWith('model.')).map(([k, v]) => [k.slice(6), v]))
        : all;
      try {
        grader.net.loadStateDict(weights);
      } catch (err) {
        throw new Error(`${path}: ${(err as Error).message}`);
      }
    } finally {
      for (const t of all.values()) t.dispose();
    }
    return grader.eval();
  }

  /**
   * Loads ImageNet weights (a torchvision .pth or a safetensors file of the same state dict)
   * into everything but the classifier (Inception-v3: both classifiers, fc and AuxLogits.fc),
   * which keeps its fresh initialisation for 5 classes. A file without `num_batches_tracked`
   * (saved before PyTorch 0.4.1) keeps the fresh counters, as PyTorch's loader does.
   */
  loadPretrained(path: string): void {
    if (!existsSync(path)) throw new Error(`${path}: no such pretrained weights file`);
    const sd = path.endsWith('.safetensors') ? torch.io.loadSafetensors(path) : torch.io.loadPth(path);
    try {
      const head = new Set(this.net.headKeys());
      const body = new Map([...sd].filter(([k]) => !head.has(k)));
      const own = this.net.stateDict();
      for (const k of head) body.set(k, own.get(k)!);
      for (const [k, t] of own) if (k.endsWith('num_batches_tracked') && !body.has(k)) body.set(k, t);
      try {
        this.net.loadStateDict(body);
      } catch (err) {
        throw new Error(`${path}: pretrained weights do not fit ${this.config.backbone}: ${(err as Error).message}`);
      }
    } finally {
      for (const t of sd.values()) t.dispose();
    }
  }
}

export interface InferenceOptions {
  dir: string;
  split: Split | 'all';
  batchSize?: number;
  /** Also return the pooled features (for the grading space). */
  features?: boolean;
}

export interface InferenceResult {
  ids: string[];
  /** True grades; -1 where the sample is ungraded. */
  truth: number[];
  /** Predicted grades (argmax of the logits). */
  pred: number[];
  /** [ids.length * featureDim] row-major when asked for. */
  features?: Float32Array;
}

/** Runs the grader (eval mode, no gradients, no augmentation) over a split of a data set. */
export async function inferDataset(grader: Grader, o: InferenceOptions): Promise<InferenceResult> {
  const entries = readManifest(o.dir);
  const inSplit = o.split === 'all' ? entries : entries.filter((e) => e.split === o.split);
  if (inSplit.length === 0) throw new Error(`${o.dir}: no samples in split "${o.split}"`);
  const loader = new DataLoader({ dir: o.dir, split: o.split, batchSize: o.batchSize ?? 16, size: grader.config.inputSize, shuffle: false, augment: false, masks: false });
  const wasTraining = grader.training;
  grader.eval();
  const out: InferenceResult = { ids: [], truth: [], pred: [] };
  const D = grader.featureDim;
  const feats = o.features ? new Float32Array(loader.entries.length * D) : undefined;
  try {
    for await (const b of loader.epoch(0)) {
      torch.noGrad(() => torch.tidy(() => {
        // On the grader's device (a grader moved to a GPU is run there).
        const x = torch.tensor(b.images, b.shapes.images).to({ device: grader.device });
        const { features: f, logits } = grader.featuresAndLogits(x);
        const pred = logits.argmax(1).toArray() as number[];
        if (feats) feats.set(f.dataSync() as Float32Array, out.ids.length * D);
        out.ids.push(...b.ids);
        out.truth.push(...b.grades);
        out.pred.push(...pred.map(Number));
      }));
    }
  } finally {
    grader.train(wasTraining);
  }
  if (feats) out.features = feats;
  return out;
}
