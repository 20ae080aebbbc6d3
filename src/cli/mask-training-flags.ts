// The flags `drgan train seg` and `drgan train cam` share (both train through
// train/epoch-loop.ts): data, targets, splits, output, epochs, optimiser, seed, augmentation,
// threads and resume, and how they become the common part of a trainer's config.
import type { ConditionChannel, Split } from '../data/manifest.js';
import type { MaskTrainConfig } from '../train/epoch-loop.js';
import { parseTargets } from '../train/segmentation-training.js';
import { UsageError, type FlagSpec, type FlagSpecs, type FlagValues } from './flags.js';

/** `train,test` or `all` -> splits; a clear error for anything else. */
export function parseSplits(value: string, flag: string): Split[] | 'all' {
  if (value === 'all') return 'all';
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of parts) if (!['train', 'val', 'test'].includes(p)) throw new UsageError(`${flag}: unknown split "${p}" (use train, val, test, a comma list, or all)`);
  if (parts.length === 0) throw new UsageError(`${flag}: no split given`);
  return parts as Split[];
}

export function parseTargetList(value: string, command: string, allowed?: Parameters<typeof parseTargets>[1]): ReturnType<typeof parseTargets> {
  try {
    return parseTargets(value.split(',').map((s) => s.trim()).filter(Boolean), allowed);
  } catch (err) {
    throw new UsageError(`${command}: --targets: ${(err as Error).message}`);
  }
}

/** The first flags of both commands, in their --help order: data set, targets, output, validation data, splits, epochs. */
export function runFlags(o: { dataHelp: string; targets: FlagSpec; epochs: number }): FlagSpecs {
  return {
    data: { kind: 'string', required: true, help: o.dataHelp },
    targets: o.targets,
    out: { kind: 'string', required: true, help: 'output folder: latest.safetensors (resumable) and best.safetensors' },
    'val-data': { kind: 'string', help: 'validation data set (default: --data)' },
    'train-split': { kind: 'string', default: 'train', help: 'splits to train on: train, val, test, comma list, or all' },
    'val-split': { kind: 'string', default: 'val', help: 'splits to validate on' },
    epochs: { kind: 'int', default: o.epochs, min: 1, max: 1_000_000, help: 'epochs (on resume: the new total)' },
  };
}

/** Adam's learning rate and the run's seed. */
export function optimiserFlags(o: { lr: number; seed: number; seedHelp: string }): FlagSpecs {
  return {
    lr: { kind: 'number', default: o.lr, min: 0, help: 'Adam learning rate' },
    seed: { kind: 'int', default: o.seed, min: 0, max: 2 ** 31, help: o.seedHelp },
  };
}

export const NO_AUGMENT_FLAG: FlagSpec = { kind: 'bool', default: false, help: 'no flips / rotation / colour jitter' };

/** The last flags of both commands. */
export const THREADS_AND_RESUME_FLAGS: FlagSpecs = {
  threads: { kind: 'int', min: 1, max: 256, help: 'libtorch threads' },
  resume: { kind: 'bool', default: false, help: 'continue from OUT/latest.safetensors (settings from the checkpoint)' },
};

/** Reads the shared flags (targets checked against `allowed`); sets libtorch's threads when --threads is given. */
export async function readRunFlags(flags: FlagValues, command: string, allowed?: readonly ConditionChannel[]): Promise<MaskTrainConfig> {
  const targets = parseTargetList(String(flags.targets), command, allowed);
  if (flags.threads) (await import('../torch/index.js')).setNumThreads(flags.threads as number);
  return {
    data: flags.data as string,
    valData: flags['val-data'] as string | undefined,
    trainSplit: parseSplits(String(flags['train-split']), '--train-split'),
    valSplit: parseSplits(String(flags['val-split']), '--val-split'),
    targets,
    out: flags.out as string,
    epochs: flags.epochs as number,
    size: flags.size as number,
    lr: flags.lr as number,
    seed: flags.seed as number,
    augment: flags['no-augment'] !== true,
  };
}
