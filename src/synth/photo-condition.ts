// Condition masks from one real fundus photo: the photo is prepared as `drgan prepare` does it
// (field of view found, cropped square, resized) and its channels are predicted by segmentation
// U-Nets and CAM classifiers (`drgan train seg` / `train cam`, as `drgan masks` fills a data
// set). The photo is prepared at the largest size a model was trained at, not the generator's:
// a vessel U-Net trained at 512 px found almost no vessels in a photo shrunk to 128 and blown up
// again. The masks are then brought to the generator's size (nearest). The work happens in a temporary prepared set that is removed
// afterwards; only the masks stay, in memory. `drgan synth --masks photo:FILE --seg-models DIR`.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type * as torch from '../torch/index.js';
import { CONDITION_CHANNELS, readManifest, type ConditionChannel } from '../data/manifest.js';
import { prepareDataset } from '../data/prepare.js';
import { fillMissingChannels, findCheckpoints, loadMaskModel } from '../masks/fill-dataset.js';
import { loadEntryCondition, type ConditionMasks } from './condition-io.js';

export const PHOTO_PREFIX = 'photo:';

export interface PhotoCondition {
  condition: ConditionMasks;
  /** Channels the models predicted. */
  predicted: ConditionChannel[];
  /** Channels no model provides: empty in the condition. */
  missing: ConditionChannel[];
}

export async function loadPhotoCondition(photo: string, o: { models: readonly string[]; size: number; device?: torch.Device }): Promise<PhotoCondition> {
  if (!existsSync(photo) || !statSync(photo).isFile()) throw new Error(`${photo}: photo not found`);
  if (!o.models.length) throw new Error(`${photo}: a photo needs segmentation / CAM models to predict its masks (--seg-models DIR[,DIR])`);
  const checkpoints = findCheckpoints(o.models);
  const models = checkpoints.map((p) => loadMaskModel(p, o.device ?? 'cpu'));
  const workSize = Math.max(o.size, ...models.map((m) => m.size));
  const tmp = mkdtempSync(join(tmpdir(), 'drgan-photo-'));
  try {
    const input = join(tmp, 'in');
    mkdirSync(input);
    const name = basename(photo).replace(/[^A-Za-z0-9._-]+/g, '_');
    symlinkSync(resolve(photo), join(input, name));
    writeFileSync(join(input, 'labels.csv'), `image,id\n${name},photo\n`);
    const prepared = join(tmp, 'prepared');
    try {
      await prepareDataset({ format: 'folder', input, output: prepared, size: workSize, onError: 'fail' });
    } catch (err) {
      throw new Error(`${photo}: could not be prepared as a fundus photo: ${(err as Error).message}`);
    }
    await fillMissingChannels({ data: prepared, models });
    const [entry] = readManifest(prepared);
    const condition = await loadEntryCondition(prepared, entry, o.size);
    const kinds = [...new Set(models.map((m) => m.kind))].join(' + ');
    return {
      condition: { ...condition, source: `photo:${photo} (masks from ${kinds}: ${checkpoints.join(', ')})` },
      predicted: [...entry.predicted],
      missing: CONDITION_CHANNELS.filter((ch) => !entry.predicted.includes(ch) && !entry.known.includes(ch)),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
