// Upsampling by a scale factor or to a fixed size (nn.Upsample, i.e. F.interpolate).
import type { Tensor } from '../../tensor.js';
import * as F from '../functional.js';
import { Module } from '../module.js';

export type UpsampleOptions = F.InterpolateOptions;

export class Upsample extends Module {
  constructor(readonly options: UpsampleOptions) {
    super();
    if ((options.size === undefined) === (options.scaleFactor === undefined)) throw new Error('Upsample: give exactly one of size and scaleFactor');
  }
  forward(x: Tensor): Tensor { return F.interpolate(x, this.options); }
  override extraRepr(): string { return JSON.stringify(this.options); }
}
