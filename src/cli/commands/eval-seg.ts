// `drgan eval seg`: pixel metrics of a trained segmentation model on a prepared data set, inside
// the FOV: PR-AUC per target (IDRiD's lesion metric), ROC AUC, accuracy and F1 at 0.5 (the
// DRIVE vessel numbers).
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';
import { DEVICE_FLAG, resolveDevice } from '../device-flag.js';
import { readManifest } from '../../data/manifest.js';
import { makeAccumulator, type SegmentationMetrics } from '../../eval/segmentation-metrics.js';
import { predictAtScale } from '../../masks/predict-masks.js';
import { evaluateSegmentation, loadSegmentationModel } from '../../train/segmentation-training.js';
import { parseSplits } from './train-seg.js';

export function formatMetricsTable(metrics: Record<string, SegmentationMetrics>): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');
  const rows = [['target', 'PR-AUC', 'ROC AUC', 'accuracy', 'F1', 'pixels', 'positives']];
  for (const [t, m] of Object.entries(metrics)) rows.push([t, f(m.prAuc), f(m.rocAuc), f(m.accuracy), f(m.f1), String(m.pixels), String(m.positives)]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ')).join('\n');
}

export const evalSegCommand: Command = {
  name: 'eval seg',
  summary: 'PR-AUC per lesion, ROC AUC / accuracy / F1 inside the FOV for a segmentation model',
  usage: 'drgan eval seg --model CKPT --data DIR [--split all] [--bins N] [--device cuda] [--json]',
  flags: {
    model: { kind: 'string', required: true, help: 'checkpoint from drgan train seg (best.safetensors)' },
    data: { kind: 'string', required: true, help: 'prepared data set with annotated masks' },
    split: { kind: 'string', default: 'all', help: 'splits to evaluate: train, val, test, comma list, or all' },
    bins: { kind: 'int', default: 0, min: 0, max: 1 << 24, help: 'score histogram bins (streaming, memory-bounded); 0: exact (keeps every score)' },
    window: { kind: 'int', default: 512, min: 16, max: 8192, help: 'sliding-window side for images larger than this (at the training scale)' },
    device: DEVICE_FLAG,
    json: { kind: 'bool', default: false, help: 'print JSON instead of a table' },
  },
  async run(flags) {
    const bins = flags.bins as number;
    if (bins && bins % 2 !== 0) throw new UsageError('drgan eval seg: --bins must be even (so 0.5 is a bin edge)');
    const split = parseSplits(String(flags.split), '--split');
    const device = resolveDevice(flags.device, 'drgan eval seg');
    const { model, config } = loadSegmentationModel(flags.model as string, device);
    const dir = flags.data as string;
    const entries = readManifest(dir).filter((e) => split === 'all' || split.includes(e.split));
    const targets = config.targets.filter((t) => entries.some((e) => e.known.includes(t) && !e.predicted.includes(t)));
    if (targets.length === 0) {
      throw new Error(`${dir}: no annotated masks for the model's targets (${config.targets.join(', ')}) in split ${JSON.stringify(split)}`);
    }
    const all = await evaluateSegmentation(model, config.targets, dir, split, {
      predict: (x) => predictAtScale((t) => model.forward(t), x, config.size, flags.window as number),
      accumulators: () => makeAccumulator(bins || undefined),
    });
    const metrics = Object.fromEntries(targets.map((t) => [t, all[t]]));
    const annotated = entries.filter((e) => targets.some((t) => e.known.includes(t) && !e.predicted.includes(t))).length;
    if (flags.json) {
      console.log(JSON.stringify({ model: flags.model, data: dir, split, images: annotated, metrics }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2));
    } else {
      console.log(`${annotated} annotated images (of ${entries.length} in split ${JSON.stringify(split)} of ${dir}), pixels inside the FOV${bins ? `, ${bins}-bin histogram` : ''}`);
      console.log(formatMetricsTable(metrics));
    }
    return 0;
  },
};
