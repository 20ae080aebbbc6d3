// The identity module: a placeholder where a layer is optional (e.g. no norm).
import type { Tensor } from '../../tensor.js';
import { Module } from '../module.js';

export class Identity extends Module {
  /** Returns its input itself (not a copy), as PyTorch does. */
  forward(x: Tensor): Tensor { return x; }
}
