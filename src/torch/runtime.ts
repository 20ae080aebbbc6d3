// Process settings: seeds and generator state (exact resume), threads, devices.
import { native } from './native.js';
import { Tensor } from './tensor.js';

/** Seeds libtorch's global generators (CPU and CUDA), as torch.manual_seed. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`manualSeed: seed must be a non-negative integer, got ${String(seed)}`);
  native.manualSeed(seed);
}
/** The CPU generator's state (a uint8 tensor), for checkpoints. */
export function getRngState(): Tensor {
  return new Tensor(native.getRngState());
}
export function setRngState(state: Tensor): void {
  native.setRngState(state.handle);
}
/** Intra-op threads for libtorch and OpenBLAS together. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
export const cuda = {
  isAvailable: (): boolean => native.cudaAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
};
export function buildInfo(): { config: string; parallel: string; mkldnn: boolean } {
  return native.buildInfo();
}
/** Live tensor handles and their bytes, for leak checks. */
export function memoryStats(): { handles: number; bytes: number } {
  return native.liveHandles();
}
