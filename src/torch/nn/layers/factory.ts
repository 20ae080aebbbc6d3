// Where a layer's new parameters and buffers are created (PyTorch's factory kwargs).
import type { DType } from '../../dtype.js';
import type { Device } from '../../tensor.js';

export interface FactoryOptions {
  dtype?: DType;
  device?: Device;
}
