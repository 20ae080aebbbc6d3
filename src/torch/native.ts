// Loads the libtorch addon (build/Release/drgan_torch.node) and declares its surface. The
// addon is thin on purpose: handles, read-back, one generic operator call, autograd
// entry points and process settings; everything else is TypeScript above this file.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';

/** Opaque handle to a native tensor (a Node-API external). */
export type Handle = object & { readonly __tensorHandle?: never };
/** Opaque handle to a resolved ATen operator. */
export type OpHandle = object & { readonly __opHandle?: never };

export type RawResult = Handle | null | number | boolean | RawResult[];

export interface NativeAddon {
  fromTypedArray(data: ArrayBufferView, shape: number[], isBool: boolean, device?: string): Handle;
  toTypedArray(h: Handle): Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
  fromBytes(data: Uint8Array, dtypeCode: number, shape: number[], device?: string): Handle;
  toBytes(h: Handle): Uint8Array;
  dispose(h: Handle): void;
  isDisposed(h: Handle): boolean;
  shape(h: Handle): number[];
  strides(h: Handle): number[];
  dtype(h: Handle): number;
  device(h: Handle): string;
  describe(h: Handle): string;
  item(h: Handle): number;
  liveHandles(): { handles: number; bytes: number };
  sameTensor(a: Handle, b: Handle): boolean;
  findOp(name: string, overload: string): OpHandle;
  opSchema(op: OpHandle): string;
  callOp(op: OpHandle, args: unknown[], dropResult?: boolean): RawResult;
  setRequiresGrad(h: Handle, on: boolean): void;
  requiresGrad(h: Handle): boolean;
  grad(h: Handle): Handle | null;
  setGrad(h: Handle, g: Handle | null): void;
  isLeaf(h: Handle): boolean;
  gradFn(h: Handle): string | null;
  retainGrad(h: Handle): void;
  backward(tensors: Handle[], grads: (Handle | null)[] | null, retainGraph?: boolean, createGraph?: boolean): void;
  autogradGrad(outputs: Handle[], inputs: Handle[], gradOutputs: (Handle | null)[] | null, retainGraph: boolean | undefined, createGraph: boolean, allowUnused: boolean): (Handle | null)[];
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  manualSeed(seed: number): void;
  getRngState(device?: string): Handle;
  setRngState(h: Handle, device?: string): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(index?: number): void;
  buildInfo(): { config: string; parallel: string; mkldnn: boolean };
  chunkedAttention(q: Handle, k: Handle, v: Handle, scale: number, chunk: number): Handle;
}

function load(): NativeAddon {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const path = process.env.DRGAN_ADDON ?? join(root, 'build', 'Release', 'drgan_torch.node');
  if (!existsSync(path)) {
    throw new Error(`libtorch addon not found at ${path}: run \`bash scripts/setup.sh\` (or \`npm run build:native\`)`);
  }
  const require = createRequire(import.meta.url);
  const addon = require(path) as NativeAddon;
  // libtorch defaults to the number of physical cores (1 on a 2-vCPU VM); use every core
  // unless the user chose a number.
  const wanted = Number(process.env.DRGAN_NUM_THREADS ?? availableParallelism());
  // Always set it, even when the count already matches: measured, a small conv ran ~10x
  // slower until the first explicit set_num_threads (the thread pools are set up there).
  if (Number.isInteger(wanted) && wanted > 0) addon.setNumThreads(wanted);
  return addon;
}

export const native: NativeAddon = load();
