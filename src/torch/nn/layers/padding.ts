// Border padding modules for [N, C, H, W] input (pix2pixHD pads with reflection before 7x7
// convolutions).
import type { Tensor } from '../../tensor.js';
import * as F from '../functional.js';
import { Module } from '../module.js';

/** One number pads all four sides; four give [left, right, top, bottom] as in PyTorch. */
export type Padding2d = number | [number, number, number, number];

function sides(p: Padding2d, layer: string): [number, number, number, number] {
  const s: [number, number, number, number] = typeof p === 'number' ? [p, p, p, p] : p;
  if (s.length !== 4 || !s.every((v) => Number.isInteger(v))) throw new Error(`${layer}: padding must be an integer or [left, right, top, bottom], got ${JSON.stringify(p)}`);
  return s;
}

export class ReflectionPad2d extends Module {
  readonly padding: [number, number, number, number];
  constructor(padding: Padding2d) { super(); this.padding = sides(padding, 'ReflectionPad2d'); }
  forward(x: Tensor): Tensor { return F.pad(x, this.padding, 'reflect'); }
  override extraRepr(): string { return `[${this.padding}]`; }
}

export class ReplicationPad2d extends Module {
  readonly padding: [number, number, number, number];
  constructor(padding: Padding2d) { super(); this.padding = sides(padding, 'ReplicationPad2d'); }
  forward(x: Tensor): Tensor { return F.pad(x, this.padding, 'replicate'); }
  override extraRepr(): string { return `[${this.padding}]`; }
}

export class ZeroPad2d extends Module {
  readonly padding: [number, number, number, number];
  constructor(padding: Padding2d) { super(); this.padding = sides(padding, 'ZeroPad2d'); }
  forward(x: Tensor): Tensor { return F.pad(x, this.padding, 'constant', 0); }
  override extraRepr(): string { return `[${this.padding}]`; }
}
