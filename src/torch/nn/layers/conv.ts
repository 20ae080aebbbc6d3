// 2-D convolution layers (nn.Conv2d, nn.ConvTranspose2d): weights, PyTorch's default
// initialisation and padding modes around F.conv2d / F.convTranspose2d.
import { empty } from '../../creation.js';
import type { Tensor } from '../../tensor.js';
import * as F from '../functional.js';
import { defaultLayerInit_ } from '../init.js';
import { Module } from '../module.js';
import type { FactoryOptions } from './factory.js';

type Pair = number | [number, number];
export type PaddingMode = 'zeros' | 'reflect' | 'replicate';

export interface Conv2dOptions extends FactoryOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** Learnable bias (default true). */
  bias?: boolean;
  /** How the border is padded (default zeros); reflect/replicate pad the input first, as PyTorch. */
  paddingMode?: PaddingMode;
}

function pair(v: Pair, what: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= 0)) throw new Error(`${what} must be a non-negative integer or a pair of them, got ${JSON.stringify(v)}`);
  return p;
}

function checkChannels(layer: string, inChannels: number, outChannels: number, groups: number): void {
  for (const [n, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['groups', groups]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${layer}: ${n} must be a positive integer, got ${v}`);
  }
  if (inChannels % groups !== 0) throw new Error(`${layer}: inChannels (${inChannels}) must be divisible by groups (${groups})`);
  if (outChannels % groups !== 0) throw new Error(`${layer}: outChannels (${outChannels}) must be divisible by groups (${groups})`);
}

function checkInput(layer: string, x: Tensor, channels: number): void {
  const s = x.shape;
  if (s.length !== 4 && s.length !== 3) throw new Error(`${layer}: expected input [N, C, H, W] or [C, H, W], got shape [${s.join(', ')}]`);
  const c = s[s.length - 3];
  if (c !== channels) throw new Error(`${layer}: expected ${channels} input channels, got shape [${s.join(', ')}]`);
}

export class Conv2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  /** [outChannels, inChannels / groups, kh, kw] */
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, o: Conv2dOptions = {}) {
    super();
    this.groups = o.groups ?? 1;
    checkChannels('Conv2d', inChannels, outChannels, this.groups);
    this.kernelSize = pair(kernelSize, 'Conv2d: kernelSize');
    this.stride = pair(o.stride ?? 1, 'Conv2d: stride');
    this.padding = pair(o.padding ?? 0, 'Conv2d: padding');
    this.dilation = pair(o.dilation ?? 1, 'Conv2d: dilation');
    this.paddingMode = o.paddingMode ?? 'zeros';
    if (!['zeros', 'reflect', 'replicate'].includes(this.paddingMode)) throw new Error(`Conv2d: paddingMode must be zeros|reflect|replicate, got "${this.paddingMode}"`);
    const f = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', empty([outChannels, inChannels / this.groups, ...this.kernelSize], f));
    this.bias = this.registerParameter('bias', o.bias === false ? null : empty([outChannels], f));
    defaultLayerInit_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    checkInput('Conv2d', x, this.inChannels);
    const o = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode === 'zeros') return F.conv2d(x, this.weight, this.bias, { ...o, padding: this.padding });
    const [ph, pw] = this.padding;
    const padded = F.pad(x, [pw, pw, ph, ph], this.paddingMode === 'reflect' ? 'reflect' : 'replicate');
    try {
      return F.conv2d(padded, this.weight, this.bias, { ...o, padding: 0 });
    } finally {
      padded.dispose();
    }
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}]` +
      (this.dilation.some((d) => d !== 1) ? `, dilation=[${this.dilation}]` : '') + (this.groups !== 1 ? `, groups=${this.groups}` : '') +
      (this.bias ? '' : ', bias=false') + (this.paddingMode !== 'zeros' ? `, paddingMode=${this.paddingMode}` : '');
  }
}

export interface ConvTranspose2dOptions extends Omit<Conv2dOptions, 'paddingMode'> {
  /** Extra rows/columns on one side of the output, to pick among the sizes a stride allows. */
  outputPadding?: Pair;
}

export class ConvTranspose2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  /** [inChannels, outChannels / groups, kh, kw] (PyTorch's layout for transposed convolution) */
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, o: ConvTranspose2dOptions = {}) {
    super();
    this.groups = o.groups ?? 1;
    checkChannels('ConvTranspose2d', inChannels, outChannels, this.groups);
    this.kernelSize = pair(kernelSize, 'ConvTranspose2d: kernelSize');
    this.stride = pair(o.stride ?? 1, 'ConvTranspose2d: stride');
    this.padding = pair(o.padding ?? 0, 'ConvTranspose2d: padding');
    this.outputPadding = pair(o.outputPadding ?? 0, 'ConvTranspose2d: outputPadding');
    this.dilation = pair(o.dilation ?? 1, 'ConvTranspose2d: dilation');
    for (const i of [0, 1]) {
      if (this.outputPadding[i] >= Math.max(this.stride[i], this.dilation[i])) {
        throw new Error(`ConvTranspose2d: outputPadding [${this.outputPadding}] must be smaller than stride or dilation ([${this.stride}], [${this.dilation}])`);
      }
    }
    const f = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', empty([inChannels, outChannels / this.groups, ...this.kernelSize], f));
    this.bias = this.registerParameter('bias', o.bias === false ? null : empty([outChannels], f));
    defaultLayerInit_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    checkInput('ConvTranspose2d', x, this.inChannels);
    return F.convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, groups: this.groups, dilation: this.dilation,
    });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}]` +
      (this.outputPadding.some((p) => p !== 0) ? `, outputPadding=[${this.outputPadding}]` : '') + (this.bias ? '' : ', bias=false');
  }
}
