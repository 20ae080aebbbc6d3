// Normalisation layers: batch, instance, group and layer norm, with PyTorch's parameters,
// buffers (running_mean, running_var, num_batches_tracked) and running-statistics rules.
import { empty, ones, zeros } from '../../creation.js';
import { noGrad } from '../../autograd.js';
import type { Tensor } from '../../tensor.js';
import * as F from '../functional.js';
import { ones_, zeros_ } from '../init.js';
import { Module } from '../module.js';
import type { FactoryOptions } from './factory.js';

export interface NormOptions extends FactoryOptions {
  eps?: number;
  /** Weight of the newest batch in the running averages; null = cumulative average. */
  momentum?: number | null;
  /** Learnable per-channel scale and shift. */
  affine?: boolean;
  /** Keep running statistics (used in eval mode). */
  trackRunningStats?: boolean;
}

function checkFeatures(layer: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${layer}: numFeatures must be a positive integer, got ${n}`);
}

/** Shared state of batch and instance norm (PyTorch's _NormBase). */
abstract class NormBase extends Module {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  /** int64 scalar: training batches seen (drives momentum = null). */
  readonly numBatchesTracked: Tensor | null;

  constructor(readonly numFeatures: number, o: NormOptions, defaults: { affine: boolean; trackRunningStats: boolean }) {
    super();
    checkFeatures(this.constructor.name, numFeatures);
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum === undefined ? 0.1 : o.momentum;
    this.affine = o.affine ?? defaults.affine;
    this.trackRunningStats = o.trackRunningStats ?? defaults.trackRunningStats;
    const f = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', this.affine ? ones_(empty([numFeatures], f)) : null);
    this.bias = this.registerParameter('bias', this.affine ? zeros_(empty([numFeatures], f)) : null);
    const track = this.trackRunningStats;
    this.runningMean = this.registerBuffer('running_mean', track ? zeros([numFeatures], f) : null);
    this.runningVar = this.registerBuffer('running_var', track ? ones([numFeatures], f) : null);
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', track ? zeros([], { dtype: 'int64', device: o.device }) : null);
  }

  /** Resets running statistics to mean 0, variance 1, no batches seen. */
  resetRunningStats(): void {
    noGrad(() => {
      this.runningMean?.zero_();
      this.runningVar?.fill_(1);
      this.numBatchesTracked?.zero_();
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** Batch norm over [N, C, ...]; subclasses fix the number of dims. */
abstract class BatchNormBase extends NormBase {
  protected abstract readonly expectedDims: number[];

  constructor(numFeatures: number, o: NormOptions = {}) {
    super(numFeatures, o, { affine: true, trackRunningStats: true });
  }

  forward(x: Tensor): Tensor {
    const s = x.shape;
    if (!this.expectedDims.includes(s.length)) throw new Error(`${this.constructor.name}: expected ${this.expectedDims.join(' or ')}-D input, got shape [${s.join(', ')}]`);
    if (s[1] !== this.numFeatures) throw new Error(`${this.constructor.name}: expected ${this.numFeatures} channels in dim 1, got shape [${s.join(', ')}]`);
    // PyTorch's rule: count the batch, and with momentum null average over all batches seen.
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.numBatchesTracked) {
      noGrad(() => this.numBatchesTracked!.add_(1));
      factor = this.momentum ?? 1 / this.numBatchesTracked.item();
    }
    const useBatchStats = this.training || (this.runningMean === null && this.runningVar === null);
    const useRunning = !this.training || this.trackRunningStats;
    return F.batchNorm(x, {
      runningMean: useRunning ? this.runningMean : null, runningVar: useRunning ? this.runningVar : null,
      weight: this.weight, bias: this.bias,
    }, useBatchStats, factor, this.eps);
  }
}

export class BatchNorm1d extends BatchNormBase {
  protected readonly expectedDims = [2, 3];
}
export class BatchNorm2d extends BatchNormBase {
  protected readonly expectedDims = [4];
}

/** Instance norm over [N, C, H, W] (or unbatched [C, H, W]); defaults affine=false, no running stats. */
export class InstanceNorm2d extends NormBase {
  constructor(numFeatures: number, o: NormOptions = {}) {
    super(numFeatures, o, { affine: false, trackRunningStats: false });
  }

  forward(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length !== 3 && s.length !== 4) throw new Error(`InstanceNorm2d: expected input [N, C, H, W] or [C, H, W], got shape [${s.join(', ')}]`);
    const c = s[s.length - 3];
    if (this.affine && c !== this.numFeatures) throw new Error(`InstanceNorm2d: expected ${this.numFeatures} channels, got shape [${s.join(', ')}]`);
    if (s.length === 3) {
      const batched = x.unsqueeze(0);
      const y = this.forward(batched);
      const out = y.squeeze(0);
      batched.dispose();
      y.dispose();
      return out;
    }
    return F.instanceNorm(x, { runningMean: this.runningMean, runningVar: this.runningVar, weight: this.weight, bias: this.bias },
      this.training || !this.trackRunningStats, this.momentum ?? 0.1, this.eps);
  }
}

export interface GroupNormOptions extends FactoryOptions {
  eps?: number;
  affine?: boolean;
}

/** Group norm: channels split into numGroups groups, each normalised over (C/G, H, W). */
export class GroupNorm extends Module {
  readonly eps: number;
  readonly affine: boolean;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(readonly numGroups: number, readonly numChannels: number, o: GroupNormOptions = {}) {
    super();
    if (!Number.isInteger(numGroups) || numGroups <= 0) throw new Error(`GroupNorm: numGroups must be a positive integer, got ${numGroups}`);
    if (!Number.isInteger(numChannels) || numChannels % numGroups !== 0) throw new Error(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    this.eps = o.eps ?? 1e-5;
    this.affine = o.affine ?? true;
    const f = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', this.affine ? ones([numChannels], f) : null);
    this.bias = this.registerParameter('bias', this.affine ? zeros([numChannels], f) : null);
  }

  forward(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length < 2 || s[1] !== this.numChannels) throw new Error(`GroupNorm: expected ${this.numChannels} channels in dim 1, got shape [${s.join(', ')}]`);
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.affine}`;
  }
}

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  /** Learnable elementwise scale and shift of shape normalizedShape (default true). */
  elementwiseAffine?: boolean;
}

/** Layer norm over the trailing dims given by normalizedShape. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(normalizedShape: number | number[], o: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (!this.normalizedShape.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`LayerNorm: normalizedShape must hold positive integers, got [${this.normalizedShape.join(', ')}]`);
    this.eps = o.eps ?? 1e-5;
    this.elementwiseAffine = o.elementwiseAffine ?? true;
    const f = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', this.elementwiseAffine ? ones(this.normalizedShape, f) : null);
    this.bias = this.registerParameter('bias', this.elementwiseAffine ? zeros(this.normalizedShape, f) : null);
  }

  forward(x: Tensor): Tensor {
    const s = x.shape, n = this.normalizedShape;
    const tail = s.slice(s.length - n.length);
    if (s.length < n.length || !tail.every((d, i) => d === n[i])) throw new Error(`LayerNorm: expected input [..., ${n.join(', ')}], got shape [${s.join(', ')}]`);
    return F.layerNorm(x, n, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `[${this.normalizedShape}], eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}
