// Reads test/fixtures/eval/metrics.json (written by scripts/reference/metrics.py) and
// decodes its base64 arrays into tensors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.js';

const path = fileURLToPath(new URL('../../../test/fixtures/eval/metrics.json', import.meta.url));

export interface GradingCase { truth: number[]; pred: number[]; kappa: number; accuracy: number; tpr: (number | null)[]; confusion: number[][] }
/** One Gaussian: float64 mu and sigma, or float64 samples [n, dim] (all base64). */
export interface FrechetSide { mu?: string; sigma?: string; samples?: string; n?: number }
export interface FrechetCase {
  name: string; dim: number; a: FrechetSide; b: FrechetSide; expected: number;
  expectedGeneralSqrtm?: number; naiveProductEig: number | null; naiveProductEigImag: number; pytorchFidScipy?: number;
}
export interface MetricsFixture {
  grading: GradingCase[];
  stats: { features: number[][]; mu: number[]; sigma: number[][] };
  frechet: FrechetCase[];
  kid: { a: number[][]; b: number[][]; mmd2: number };
  swd: { shape: number[]; seed: number; a: string; b: string; pyramidOfFirst: string[]; perLevel: number[] };
}

let cached: MetricsFixture | undefined;
export function metricsFixture(): MetricsFixture {
  cached ??= JSON.parse(readFileSync(path, 'utf8')) as MetricsFixture;
  return cached;
}

function bytes(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}
export function float64Tensor(b64: string, shape: number[]): torch.Tensor {
  return torch.fromBytes(bytes(b64), 'float64', shape);
}
export function float32Tensor(b64: string, shape: number[]): torch.Tensor {
  return torch.fromBytes(bytes(b64), 'float32', shape);
}
export function uint8Tensor(b64: string, shape: number[]): torch.Tensor {
  return torch.fromBytes(bytes(b64), 'uint8', shape);
}

export function relErr(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
}
