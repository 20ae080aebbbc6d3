// Fully connected layer (nn.Linear): y = x W^T + b over the last dim.
import { empty } from '../../creation.js';
import type { Tensor } from '../../tensor.js';
import * as F from '../functional.js';
import { defaultLayerInit_ } from '../init.js';
import { Module } from '../module.js';
import type { FactoryOptions } from './factory.js';

export interface LinearOptions extends FactoryOptions {
  /** Learnable bias (default true). */
  bias?: boolean;
}

export class Linear extends Module {
  /** [outFeatures, inFeatures] */
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, o: LinearOptions = {}) {
    super();
    for (const [n, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`Linear: ${n} must be a non-negative integer, got ${v}`);
    }
    const f = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', empty([outFeatures, inFeatures], f));
    this.bias = this.registerParameter('bias', o.bias === false ? null : empty([outFeatures], f));
    defaultLayerInit_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length === 0 || s[s.length - 1] !== this.inFeatures) throw new Error(`Linear: expected input [..., ${this.inFeatures}], got shape [${s.join(', ')}]`);
    return F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
