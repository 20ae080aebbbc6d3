// The networks whose features FID and KID compare (method.md section 9). Every extractor has
// a name that goes into every printed number and every cached statistics file, so that a
// distance on a grader's features is never mistaken for the standard FID:
//
//   inception-fid   Inception-v3 pool3 with pytorch-fid's pt_inception-2015-12-05 weights:
//                   "inception-v3-pt_inception-2015-12-05", the published FID. Weights of the
//                   same shape but other bytes get "inception-v3-fid-arch@<sha256 prefix>".
//   grader:CKPT     the pooled features of one of our graders: "grader:<backbone>@<sha256
//                   prefix>", a distance that depends on that checkpoint.
//
// No extractor ever runs on random weights: without a weights file the standard FID is
// refused with a message saying where the file comes from.
import { existsSync } from 'node:fs';
import * as torch from '../torch/index.js';
import { Grader } from '../models/grader.js';
import { FID_WEIGHTS_FILE, FID_WEIGHTS_SHA256_PREFIX, FID_WEIGHTS_URL, POOL3_DIM, loadInceptionFid, sha256File, type InceptionFid } from '../models/inception-fid.js';

type Tensor = torch.Tensor;

/** Name of the standard FID extractor (the published numbers use it). */
export const STANDARD_INCEPTION_NAME = 'inception-v3-pt_inception-2015-12-05';
/** Environment variable naming the Inception weights file when no flag does. */
export const INCEPTION_WEIGHTS_ENV = 'DRGAN_INCEPTION_WEIGHTS';
/** Length of the SHA-256 prefix that identifies a checkpoint in an extractor's name. */
const HASH_CHARS = 12;

export interface FeatureExtractor {
  /** Goes into every output and statistics file (see the file comment). */
  readonly name: string;
  /** True only for Inception-v3 with the genuine pt_inception-2015-12-05 weights. */
  readonly standard: boolean;
  readonly dim: number;
  /** Warnings worth printing beside the numbers (e.g. non-standard Inception weights). */
  readonly notes: string[];
  /** [N, 3, H, W] images, uint8 0..255 or floating in [-1, 1] -> float32 features [N, dim] on the CPU. */
  features(images: Tensor): Tensor;
  dispose(): void;
}

export interface OpenExtractorOptions {
  /** Path of pt_inception-2015-12-05-6726825d.pth (or a safetensors file of the same state dict). */
  inceptionWeights?: string;
  /** Where DRGAN_INCEPTION_WEIGHTS is looked up (process.env by default). */
  env?: Record<string, string | undefined>;
  device?: torch.Device;
}

/** The standard FID was asked for (or implied) but no weights file was given. */
export class MissingInceptionWeightsError extends Error {
  constructor() {
    super([
      `the standard FID needs the Inception-v3 weights file ${FID_WEIGHTS_FILE} (pytorch-fid's port of TensorFlow's inception-2015-12-05, about 92 MB).`,
      `  Download it from ${FID_WEIGHTS_URL}`,
      `  and pass --inception-weights PATH or set ${INCEPTION_WEIGHTS_ENV}=PATH.`,
      `  Alternative without it: --extractor grader:CKPT uses a trained grader's pooled features; that result is labelled FID[grader:...] and is not comparable with published FIDs.`,
      '  (No random or substitute network is used in its place.)',
    ].join('\n'));
    this.name = 'MissingInceptionWeightsError';
  }
}

/** "FID[inception-v3-pt_inception-2015-12-05]", "KID[grader:resnet18@0123456789ab]". */
export function metricLabel(metric: string, extractorName: string): string {
  return `${metric}[${extractorName}]`;
}

/** uint8 0..255 or float [-1, 1] -> float32 [-1, 1] on the device. */
function toUnitRange(images: Tensor, device: torch.Device): Tensor {
  const s = images.shape;
  if (s.length !== 4 || s[1] !== 3) throw new Error(`feature extractor: expected images [N, 3, H, W], got shape [${s.join(', ')}]`);
  if (images.dtype === 'uint8') return images.to(device).float().div(127.5).sub(1);
  if (images.dtype === 'float32' || images.dtype === 'float64') return images.to({ dtype: 'float32', device });
  throw new Error(`feature extractor: expected uint8 or floating images, got dtype ${images.dtype}`);
}

class NetworkExtractor implements FeatureExtractor {
  constructor(
    readonly name: string,
    readonly standard: boolean,
    readonly dim: number,
    readonly notes: string[],
    private readonly net: InceptionFid | Grader,
    private readonly device: torch.Device,
  ) {}

  features(images: Tensor): Tensor {
    return torch.noGrad(() => torch.tidy(() => this.net.features(toUnitRange(images, this.device)).to({ dtype: 'float32', device: 'cpu' })));
  }

  dispose(): void {
    this.net.dispose();
  }
}

async function openInception(o: OpenExtractorOptions): Promise<FeatureExtractor> {
  const env = o.env ?? process.env;
  const path = o.inceptionWeights ?? env[INCEPTION_WEIGHTS_ENV];
  if (path === undefined || path === '') throw new MissingInceptionWeightsError();
  const from = o.inceptionWeights !== undefined ? '--inception-weights' : INCEPTION_WEIGHTS_ENV;
  if (!existsSync(path)) throw new Error(`${path} (from ${from}): no such file; the standard FID needs ${FID_WEIGHTS_FILE} from ${FID_WEIGHTS_URL}`);
  const digest = await sha256File(path);
  const standard = digest.startsWith(FID_WEIGHTS_SHA256_PREFIX);
  const notes: string[] = [];
  let name = STANDARD_INCEPTION_NAME;
  if (!standard) {
    name = `inception-v3-fid-arch@${digest.slice(0, HASH_CHARS)}`;
    notes.push(`${path} is not ${FID_WEIGHTS_FILE} (its SHA-256 starts ${digest.slice(0, 8)}, not ${FID_WEIGHTS_SHA256_PREFIX}): the numbers are labelled ${name}, not the standard FID`);
  }
  const net = loadInceptionFid(path);
  const device = o.device ?? 'cpu';
  if (device !== 'cpu') net.to(device);
  return new NetworkExtractor(name, standard, POOL3_DIM, notes, net, device);
}

async function openGrader(path: string, o: OpenExtractorOptions): Promise<FeatureExtractor> {
  if (path === '') throw new Error('--extractor grader:CKPT needs the path of a grader file after "grader:"');
  if (!existsSync(path)) throw new Error(`${path} (from --extractor grader:${path}): no such grader file`);
  const digest = await sha256File(path);
  const grader = Grader.load(path);
  const device = o.device ?? 'cpu';
  if (device !== 'cpu') grader.to(device);
  const name = `grader:${grader.config.backbone}@${digest.slice(0, HASH_CHARS)}`;
  const notes = [`features from the grader ${path} (${grader.config.backbone}, ${grader.featureDim}-d): not the standard Inception FID, comparable only with numbers from the same grader file`];
  return new NetworkExtractor(name, false, grader.featureDim, notes, grader, device);
}

/**
 * Opens an extractor by its command-line spec: "inception-fid", "grader:CKPT", or undefined
 * (the standard Inception FID; refused with MissingInceptionWeightsError when no weights file
 * is given, never replaced by another network).
 */
export async function openFeatureExtractor(spec: string | undefined, o: OpenExtractorOptions = {}): Promise<FeatureExtractor> {
  if (spec === undefined || spec === 'inception-fid') return openInception(o);
  if (spec.startsWith('grader:')) return openGrader(spec.slice('grader:'.length), o);
  throw new Error(`unknown feature extractor "${spec}" (known: inception-fid, grader:CKPT)`);
}
