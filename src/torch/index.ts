// The tensor library's public surface: `import * as torch from './torch/index.js'`.
export { Tensor, where, call, callT, callTs, wrapResult, type Shape, type TensorOrNumber, type Device } from './tensor.js';
export type { DType } from './dtype.js';
export { isFloating, BYTES_PER_ELEMENT } from './dtype.js';
export * from './creation.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, grad, backward } from './autograd.js';
export { tidy, keep, dispose } from './scope.js';
export { manualSeed, getRngState, setRngState, setNumThreads, getNumThreads, cuda, buildInfo, memoryStats } from './runtime.js';
export { opRef, schemaOf } from './ops.js';
export * as F from './nn/functional.js';
export * as nn from './nn/index.js';

import { opRef } from './ops.js';
import { call } from './tensor.js';
/** Any ATen operator by name, e.g. `aten('cumprod')(t, 0, null)`; overload after a dot. */
export function aten(qualified: string): (...args: unknown[]) => unknown {
  const [name, overload = ''] = qualified.split('.');
  const ref = opRef(name, overload);
  return (...args: unknown[]) => call(ref, ...args);
}
export * as optim from './optim/index.js';
export * as io from './io/index.js';
