// Process settings: seeds and generator state (exact resume), threads, devices.
import { native } from './native.js';
import { Tensor, type Device } from './tensor.js';

/** Seeds libtorch's global generators (CPU and CUDA), as torch.manual_seed. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`manualSeed: seed must be a non-negative integer, got ${String(seed)}`);
  native.manualSeed(seed);
}
/** A generator's state (a uint8 tensor on the CPU), for checkpoints: the CPU one by default, or a CUDA device's. */
export function getRngState(device: Device = 'cpu'): Tensor {
  return new Tensor(native.getRngState(device));
}
export function setRngState(state: Tensor, device: Device = 'cpu'): void {
  native.setRngState(state.handle, device);
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
  /** Waits for the queued work of one CUDA device (index) or of all; GPU timings are taken after it. */
  synchronize: (index?: number): void => native.cudaSynchronize(index),
};
export function buildInfo(): { config: string; parallel: string; mkldnn: boolean } {
  return native.buildInfo();
}
/** Live tensor handles and their bytes, for leak checks. */
export function memoryStats(): { handles: number; bytes: number } {
  return native.liveHandles();
}
