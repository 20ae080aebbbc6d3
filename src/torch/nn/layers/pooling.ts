// 2-D pooling layers (average, max, adaptive average) around the functional ops.
import type { Tensor } from '../../tensor.js';
import * as F from '../functional.js';
import { Module } from '../module.js';

type Pair = number | [number, number];

export interface AvgPool2dOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  /** Count zero padding in the average (default true, as PyTorch). */
  countIncludePad?: boolean;
  divisorOverride?: number;
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: AvgPool2dOptions = {}) { super(); }
  forward(x: Tensor): Tensor { return F.avgPool2d(x, this.kernelSize, this.options); }
  override extraRepr(): string { return `kernelSize=${JSON.stringify(this.kernelSize)}, ${JSON.stringify(this.options)}`; }
}

export interface MaxPool2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: MaxPool2dOptions = {}) { super(); }
  forward(x: Tensor): Tensor { return F.maxPool2d(x, this.kernelSize, this.options); }
  override extraRepr(): string { return `kernelSize=${JSON.stringify(this.kernelSize)}, ${JSON.stringify(this.options)}`; }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) { super(); }
  forward(x: Tensor): Tensor { return F.adaptiveAvgPool2d(x, this.outputSize); }
  override extraRepr(): string { return `outputSize=${JSON.stringify(this.outputSize)}`; }
}
