// Cached feature statistics (the real set's FID reference is computed once and reused): a
// safetensors file holding mu [D] and sigma [D, D] in float64, with n and the extractor's
// name in its string metadata, so the file also opens in Python's safetensors.
import * as torch from '../torch/index.js';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../torch/io/index.js';
import type { FeatureStats } from './frechet.js';

const FORMAT = 'drgan-feature-stats';
const VERSION = '1';

/** Saves statistics (moved to the CPU as float64) atomically. */
export function saveFeatureStats(path: string, stats: FeatureStats): void {
  if (!Number.isInteger(stats.n) || stats.n < 2) throw new Error(`feature statistics for ${path}: n must be an integer >= 2, got ${stats.n}`);
  torch.tidy(() => {
    const mu = stats.mu.to({ dtype: 'float64', device: 'cpu' }).contiguous();
    const sigma = stats.sigma.to({ dtype: 'float64', device: 'cpu' }).contiguous();
    const metadata: Record<string, string> = { format: FORMAT, version: VERSION, n: String(stats.n) };
    if (stats.extractor !== undefined) metadata.extractor = stats.extractor;
    saveSafetensors(path, { mu, sigma }, metadata);
  });
}

export interface LoadFeatureStatsOptions {
  device?: torch.Device;
  /** Refuse statistics from any other feature extractor (a FID across extractors means nothing). */
  extractor?: string;
}

export function loadFeatureStats(path: string, opts: LoadFeatureStatsOptions = {}): FeatureStats {
  const header = readSafetensorsHeader(path);
  const meta = header.metadata;
  const bad = (msg: string): never => {
    throw new Error(`${path}: not a feature statistics file: ${msg}`);
  };
  if (meta.format !== FORMAT) bad(`metadata "format" is ${JSON.stringify(meta.format)}, expected "${FORMAT}"`);
  if (meta.version !== VERSION) bad(`unsupported version ${JSON.stringify(meta.version)} (this build reads "${VERSION}")`);
  const n = Number(meta.n);
  if (!/^[0-9]+$/.test(meta.n ?? '') || n < 2) bad(`metadata "n" must be an integer >= 2, got ${JSON.stringify(meta.n)}`);
  if (opts.extractor !== undefined && meta.extractor !== opts.extractor) {
    throw new Error(`${path}: statistics come from extractor ${JSON.stringify(meta.extractor ?? null)}, expected "${opts.extractor}"`);
  }
  const names = header.entries.map((e) => e.name).sort().join(', ');
  if (names !== 'mu, sigma') bad(`expected tensors "mu" and "sigma", found ${names || 'none'}`);
  for (const e of header.entries) if (e.dtype !== 'float64') bad(`tensor "${e.name}" is ${e.dtype}, expected float64`);
  const tensors = loadSafetensors(path, { device: opts.device });
  const mu = tensors.get('mu')!;
  const sigma = tensors.get('sigma')!;
  const d = mu.shape;
  const s = sigma.shape;
  if (d.length !== 1 || s.length !== 2 || s[0] !== d[0] || s[1] !== d[0]) {
    torch.dispose([mu, sigma]);
    bad(`mu has shape [${d.join(', ')}] and sigma [${s.join(', ')}]; expected [D] and [D, D]`);
  }
  const stats: FeatureStats = { mu, sigma, n };
  if (meta.extractor !== undefined) stats.extractor = meta.extractor;
  return stats;
}
