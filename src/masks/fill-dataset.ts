// Completing a data set's condition channels (method.md section 1): photos that come with
// images and grades only get vessel / optic disc / lesion masks from the U-Nets and LM / PM
// maps from the CAM classifiers. Annotated channels (`known`) are never touched; every
// written channel is listed in the entry's `predicted`, with the model file in
// `meta.maskModels`. Masks are written temp-then-rename and the manifest atomically every few
// photos, so an interrupted run resumes where it stopped (channels already predicted are
// skipped unless `redo`).
import { existsSync, readdirSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as torch from '../torch/index.js';
import { decodeSample } from '../data/loader.js';
import { writePng } from '../data/image-io.js';
import { CONDITION_CHANNELS, maskPath, readManifest, writeManifest, type ConditionChannel } from '../data/manifest.js';
import { CAM_KIND, loadCamModel } from '../train/cam-training.js';
import { loadSegmentationModel, SEGMENTATION_KIND } from '../train/segmentation-training.js';
import { predictAtScale } from './predict-masks.js';

type Tensor = torch.Tensor;

/** A loaded model and the channels it fills: probabilities [1, T, S, S] for an image [1, 3, S, S]. */
export interface MaskModel {
  path: string;
  kind: string;
  targets: ConditionChannel[];
  /** The image side it was trained at (its config.size); predict() takes any side. */
  size: number;
  predict(image: Tensor): Tensor;
  /** true: threshold at 0.5 into a binary mask; false: a soft 0..255 map (CAM). */
  binary: boolean;
}

/** Checkpoint files under the given paths: files as given, folders' best.safetensors (one level down too). */
export function findCheckpoints(paths: readonly string[]): string[] {
  const found: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new Error(`${p}: no such model file or folder`);
    if (statSync(p).isFile()) { found.push(p); continue; }
    const direct = join(p, 'best.safetensors');
    if (existsSync(direct)) found.push(direct);
    for (const d of readdirSync(p).sort()) {
      const sub = join(p, d, 'best.safetensors');
      if (statSync(join(p, d)).isDirectory() && existsSync(sub)) found.push(sub);
    }
  }
  if (found.length === 0) throw new Error(`no model checkpoints (best.safetensors) in ${paths.join(', ')}`);
  return found;
}

/** A segmentation or CAM checkpoint, on `device`; its predict() takes CPU or device images. */
export function loadMaskModel(path: string, device: torch.Device = 'cpu'): MaskModel {
  const kind = torch.io.readSafetensorsHeader(path).metadata.kind;
  if (kind === SEGMENTATION_KIND) {
    const { model, config } = loadSegmentationModel(path, device);
    return {
      path, kind, targets: config.targets, size: config.size, binary: true,
      predict: (x) => torch.tidy(() => predictAtScale((t) => model.forward(t), x.to({ device }), config.size)),
    };
  }
  if (kind === CAM_KIND) {
    const { model, config } = loadCamModel(path);
    if (device !== 'cpu') model.to({ device });
    return {
      path, kind, targets: config.targets, size: config.size, binary: false,
      // The map is scaled by the classifier's probability that the finding is present: a
      // per-image normalised CAM peaks at 1 even on a photo without the finding.
      predict: (input) => torch.noGrad(() => torch.tidy(() => {
        const x = input.to({ device });
        const S = x.shape[2];
        const xs = S === config.size ? x : torch.F.interpolate(x, { size: config.size, mode: 'bilinear', alignCorners: false });
        const { cams, logits } = model.camWithLogits(xs);
        const m = cams.mul(logits.sigmoid().reshape([...logits.shape, 1, 1]));
        return S === config.size ? m : torch.F.interpolate(m, { size: S, mode: 'bilinear', alignCorners: false }).clamp(0, 1);
      })),
    };
  }
  throw new Error(`${path}: a "${kind ?? 'unknown'}" checkpoint; expected one from drgan train seg or drgan train cam`);
}

export interface FillReport {
  /** Masks written per channel. */
  written: Partial<Record<ConditionChannel, number>>;
  /** Photos still lacking a channel no model provides. */
  missing: Partial<Record<ConditionChannel, number>>;
  photos: number;
}

export async function fillMissingChannels(o: {
  data: string;
  models: MaskModel[];
  redo?: boolean;
  onProgress?: (done: number, total: number) => void;
}): Promise<FillReport> {
  const entries = readManifest(o.data);
  // The first model naming a channel fills it; a U-Net before a CAM for the same channel.
  const provider = new Map<ConditionChannel, { model: MaskModel; index: number }>();
  const ordered = [...o.models].sort((a, b) => Number(b.binary) - Number(a.binary));
  for (const m of ordered) m.targets.forEach((t, index) => { if (!provider.has(t)) provider.set(t, { model: m, index }); });
  const report: FillReport = { written: {}, missing: {}, photos: entries.length };
  let dirty = 0;
  for (let n = 0; n < entries.length; n++) {
    const e = entries[n];
    const todo = CONDITION_CHANNELS.filter((ch) => !e.known.includes(ch) && provider.has(ch) && (o.redo || !e.predicted.includes(ch)));
    for (const ch of CONDITION_CHANNELS) {
      if (!e.known.includes(ch) && !provider.has(ch) && !e.predicted.includes(ch)) report.missing[ch] = (report.missing[ch] ?? 0) + 1;
    }
    if (todo.length) {
      const S = e.size;
      const d = await decodeSample(o.data, { ...e, masks: {} }, S);
      const px = S * S;
      const img = new Float32Array(3 * px);
      for (let i = 0; i < px; i++) for (let c = 0; c < 3; c++) img[c * px + i] = d.image[i * 3 + c] / 127.5 - 1;
      const x = torch.tensor(img, [1, 3, S, S]);
      const outputs = new Map<MaskModel, Float32Array>();
      try {
        for (const ch of todo) {
          const { model, index } = provider.get(ch)!;
          if (!outputs.has(model)) {
            const probs = model.predict(x);
            outputs.set(model, probs.dataSync() as Float32Array);
            probs.dispose();
          }
          const plane = outputs.get(model)!.subarray(index * px, (index + 1) * px);
          const mask = new Uint8Array(px);
          for (let i = 0; i < px; i++) {
            if (!d.fov[i]) continue;
            mask[i] = model.binary ? (plane[i] >= 0.5 ? 255 : 0) : Math.round(Math.min(1, Math.max(0, plane[i])) * 255);
          }
          const rel = maskPath(e.id, ch);
          const tmp = join(o.data, `${rel}.tmp-${process.pid}.png`);
          await writePng(tmp, mask, S, S, 1);
          renameSync(tmp, join(o.data, rel));
          e.masks = { ...e.masks, [ch]: rel };
          if (!e.predicted.includes(ch)) e.predicted = CONDITION_CHANNELS.filter((c) => c === ch || e.predicted.includes(c));
          e.meta = { ...e.meta, maskModels: { ...((e.meta?.maskModels as object) ?? {}), [ch]: resolve(model.path) } };
          report.written[ch] = (report.written[ch] ?? 0) + 1;
        }
      } finally {
        x.dispose();
      }
      if (++dirty >= 16) { writeManifest(o.data, entries); dirty = 0; }
    }
    o.onProgress?.(n + 1, entries.length);
  }
  writeManifest(o.data, entries);
  return report;
}
