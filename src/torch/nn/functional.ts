// Neural-network functional ops (torch.nn.functional): stateless, each a call of the
// ATen operator PyTorch itself uses, so results match Python to the last bit on the same
// libtorch.
import { opRef } from '../ops.js';
import { Tensor, callT, callTs } from '../tensor.js';
import { attention } from './attention.js';

export type Pair = number | [number, number];
export type Reduction = 'none' | 'mean' | 'sum';
const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}
function reduction(r: Reduction | undefined): number {
  const code = REDUCTION[r ?? 'mean'];
  if (code === undefined) throw new Error(`reduction must be none|mean|sum, got "${r}"`);
  return code;
}

const O = {
  conv2d: opRef('conv2d'), convT2d: opRef('conv_transpose2d', 'input'), linear: opRef('linear'),
  batchNorm: opRef('batch_norm'), instanceNorm: opRef('instance_norm'), groupNorm: opRef('group_norm'), layerNorm: opRef('layer_norm'),
  relu: opRef('relu'), leakyRelu: opRef('leaky_relu'), gelu: opRef('gelu'), elu: opRef('elu'), silu: opRef('silu'), softplus: opRef('softplus'),
  dropout: opRef('dropout'), avgPool2d: opRef('avg_pool2d'), maxPool2d: opRef('max_pool2d'),
  adaptiveAvgPool2d: opRef('adaptive_avg_pool2d'), adaptiveMaxPool2d: opRef('adaptive_max_pool2d'),
  upNearest: opRef('upsample_nearest2d', 'vec'), upBilinear: opRef('upsample_bilinear2d', 'vec'), upBicubic: opRef('upsample_bicubic2d', 'vec'),
  reflectPad: opRef('reflection_pad2d'), replicatePad: opRef('replication_pad2d'), constantPad: opRef('constant_pad_nd'),
  pixelShuffle: opRef('pixel_shuffle'), pixelUnshuffle: opRef('pixel_unshuffle'),
  l1: opRef('l1_loss'), mse: opRef('mse_loss'), bceLogits: opRef('binary_cross_entropy_with_logits'), bce: opRef('binary_cross_entropy'),
  crossEntropy: opRef('cross_entropy_loss'), nll: opRef('nll_loss_nd'), smoothL1: opRef('smooth_l1_loss'),
  softmax: opRef('softmax', 'int'), logSoftmax: opRef('log_softmax', 'int'), oneHot: opRef('one_hot'), gridSample: opRef('grid_sampler'),
  affineGrid: opRef('affine_grid_generator'), normalize: opRef('linalg_vector_norm'), cosineSimilarity: opRef('cosine_similarity'),
};

export interface Conv2dOptions { stride?: Pair; padding?: Pair; dilation?: Pair; groups?: number }
export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  return callT(O.conv2d, input, weight, bias, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.groups ?? 1);
}
export interface ConvTranspose2dOptions extends Conv2dOptions { outputPadding?: Pair }
export function convTranspose2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, o: ConvTranspose2dOptions = {}): Tensor {
  return callT(O.convT2d, input, weight, bias, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.outputPadding ?? 0), o.groups ?? 1, pair(o.dilation ?? 1));
}
export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return callT(O.linear, input, weight, bias);
}

export interface NormStats { runningMean?: Tensor | null; runningVar?: Tensor | null; weight?: Tensor | null; bias?: Tensor | null }
export function batchNorm(input: Tensor, s: NormStats, training: boolean, momentum = 0.1, eps = 1e-5): Tensor {
  return callT(O.batchNorm, input, s.weight ?? null, s.bias ?? null, s.runningMean ?? null, s.runningVar ?? null, training, momentum, eps, true);
}
export function instanceNorm(input: Tensor, s: NormStats = {}, useInputStats = true, momentum = 0.1, eps = 1e-5): Tensor {
  return callT(O.instanceNorm, input, s.weight ?? null, s.bias ?? null, s.runningMean ?? null, s.runningVar ?? null, useInputStats, momentum, eps, true);
}
export function groupNorm(input: Tensor, numGroups: number, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return callT(O.groupNorm, input, numGroups, weight, bias, eps, true);
}
export function layerNorm(input: Tensor, normalizedShape: number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return callT(O.layerNorm, input, normalizedShape, weight, bias, eps, true);
}

export function relu(x: Tensor): Tensor { return callT(O.relu, x); }
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor { return callT(O.leakyRelu, x, negativeSlope); }
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor { return callT(O.gelu, x, approximate); }
export function elu(x: Tensor, alpha = 1): Tensor { return callT(O.elu, x, alpha, 1, 1); }
export function silu(x: Tensor): Tensor { return callT(O.silu, x); }
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor { return callT(O.softplus, x, beta, threshold); }
export function sigmoid(x: Tensor): Tensor { return x.sigmoid(); }
export function tanh(x: Tensor): Tensor { return x.tanh(); }
export function softmax(x: Tensor, dim: number): Tensor { return callT(O.softmax, x, dim, null); }
export function logSoftmax(x: Tensor, dim: number): Tensor { return callT(O.logSoftmax, x, dim, null); }
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (p < 0 || p > 1) throw new Error(`dropout: p must be in [0, 1], got ${p}`);
  return callT(O.dropout, x, p, training);
}

export interface Pool2dOptions { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number }
export function avgPool2d(x: Tensor, kernel: Pair, o: Pool2dOptions = {}): Tensor {
  return callT(O.avgPool2d, x, pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0), o.ceilMode ?? false, o.countIncludePad ?? true, o.divisorOverride ?? null);
}
export function maxPool2d(x: Tensor, kernel: Pair, o: Pool2dOptions & { dilation?: Pair } = {}): Tensor {
  return callT(O.maxPool2d, x, pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.ceilMode ?? false);
}
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor { return callT(O.adaptiveAvgPool2d, x, pair(outputSize)); }
export function adaptiveMaxPool2d(x: Tensor, outputSize: Pair): Tensor { return callTs(O.adaptiveMaxPool2d, x, pair(outputSize))[0]; }

export interface InterpolateOptions {
  size?: Pair;
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear' | 'bicubic';
  alignCorners?: boolean;
}
/** F.interpolate for 4-D input: give `size` or `scaleFactor`. */
export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  if ((o.size === undefined) === (o.scaleFactor === undefined)) throw new Error('interpolate: give exactly one of size and scaleFactor');
  const size = o.size !== undefined ? pair(o.size) : null;
  const scales = o.scaleFactor !== undefined ? (typeof o.scaleFactor === 'number' ? [o.scaleFactor, o.scaleFactor] : o.scaleFactor) : null;
  const mode = o.mode ?? 'nearest';
  if (mode === 'nearest') {
    if (o.alignCorners !== undefined) throw new Error('interpolate: alignCorners only applies to bilinear and bicubic');
    return callT(O.upNearest, x, size, scales);
  }
  const op = mode === 'bilinear' ? O.upBilinear : mode === 'bicubic' ? O.upBicubic : undefined;
  if (!op) throw new Error(`interpolate: unknown mode "${mode}"`);
  return callT(op, x, size, o.alignCorners ?? false, scales);
}

/** F.pad for the last two dims: pad = [left, right, top, bottom]. */
export function pad(x: Tensor, p: [number, number, number, number] | [number, number], mode: 'constant' | 'reflect' | 'replicate' = 'constant', value = 0): Tensor {
  if (mode === 'constant') return callT(O.constantPad, x, p, value);
  if (p.length !== 4) throw new Error(`pad: ${mode} padding needs [left, right, top, bottom]`);
  return callT(mode === 'reflect' ? O.reflectPad : O.replicatePad, x, p);
}
export function pixelShuffle(x: Tensor, upscale: number): Tensor { return callT(O.pixelShuffle, x, upscale); }
export function pixelUnshuffle(x: Tensor, downscale: number): Tensor { return callT(O.pixelUnshuffle, x, downscale); }

// ---- losses
export function l1Loss(input: Tensor, target: Tensor, r?: Reduction): Tensor { return callT(O.l1, input, target, reduction(r)); }
export function mseLoss(input: Tensor, target: Tensor, r?: Reduction): Tensor { return callT(O.mse, input, target, reduction(r)); }
export function smoothL1Loss(input: Tensor, target: Tensor, r?: Reduction, beta = 1): Tensor { return callT(O.smoothL1, input, target, reduction(r), beta); }
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, o: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {}): Tensor {
  return callT(O.bceLogits, input, target, o.weight ?? null, o.posWeight ?? null, reduction(o.reduction));
}
export function binaryCrossEntropy(input: Tensor, target: Tensor, o: { weight?: Tensor; reduction?: Reduction } = {}): Tensor {
  return callT(O.bce, input, target, o.weight ?? null, reduction(o.reduction));
}
/** Cross entropy over class logits [N, C, ...] with int64 targets [N, ...] (or class probabilities). */
export function crossEntropy(input: Tensor, target: Tensor, o: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number; labelSmoothing?: number } = {}): Tensor {
  return callT(O.crossEntropy, input, target, o.weight ?? null, reduction(o.reduction), o.ignoreIndex ?? -100, o.labelSmoothing ?? 0);
}
export function nllLoss(logProbs: Tensor, target: Tensor, o: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number } = {}): Tensor {
  return callT(O.nll, logProbs, target, o.weight ?? null, reduction(o.reduction), o.ignoreIndex ?? -100);
}
/**
 * Focal loss (Lin et al.): mean over samples of -alpha_c (1 - p_t)^gamma log p_t.
 * gamma = 0 with no weight is plain cross entropy.
 */
export function focalLoss(logits: Tensor, target: Tensor, o: { gamma?: number; weight?: Tensor; reduction?: Reduction } = {}): Tensor {
  const gamma = o.gamma ?? 2;
  const logp = callT(O.logSoftmax, logits, 1, null).gather(1, target.unsqueeze(1)).squeeze(1);
  const pt = logp.exp();
  let loss = pt.rsub(1).pow(gamma).mul(logp).neg();
  if (o.weight) loss = loss.mul(o.weight.indexSelect(0, target));
  const r = o.reduction ?? 'mean';
  return r === 'none' ? loss : r === 'sum' ? loss.sum() : loss.mean();
}
export function oneHot(target: Tensor, numClasses = -1): Tensor { return callT(O.oneHot, target, numClasses); }
export function cosineSimilarity(a: Tensor, b: Tensor, dim = 1, eps = 1e-8): Tensor { return callT(O.cosineSimilarity, a, b, dim, eps); }
/** F.grid_sample (bilinear or nearest, zeros/border/reflection padding). */
export function gridSample(x: Tensor, grid: Tensor, mode: 'bilinear' | 'nearest' = 'bilinear', paddingMode: 'zeros' | 'border' | 'reflection' = 'zeros', alignCorners = false): Tensor {
  return callT(O.gridSample, x, grid, mode === 'bilinear' ? 0 : 1, paddingMode === 'zeros' ? 0 : paddingMode === 'border' ? 1 : 2, alignCorners);
}
export function affineGrid(theta: Tensor, size: number[], alignCorners = false): Tensor { return callT(O.affineGrid, theta, size, alignCorners); }

export { attention as scaledDotProductAttention };
