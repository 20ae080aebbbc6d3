// `drgan masks`: fills the condition channels a data set lacks with model predictions.
import type { Command } from '../command.js';
import { DEVICE_FLAG, resolveDevice } from '../device-flag.js';
import { findCheckpoints, fillMissingChannels, loadMaskModel } from '../../masks/fill-dataset.js';

export const masksCommand: Command = {
  name: 'masks',
  summary: 'predict the missing condition channels of a data set (U-Nets, CAM maps); annotated channels are kept',
  usage: 'drgan masks --models DIR[,DIR...] --data DIR [--redo] [--device cpu|cuda[:N]]',
  flags: {
    models: { kind: 'string', required: true, help: 'checkpoint files or folders holding best.safetensors (directly or one level down), comma separated' },
    data: { kind: 'string', required: true, help: 'prepared data set; its manifest is updated (channels listed under "predicted")' },
    redo: { kind: 'bool', default: false, help: 'predict again channels that an earlier run already predicted' },
    quiet: { kind: 'bool', default: false, help: 'no progress output' },
    device: DEVICE_FLAG,
  },
  async run(flags) {
    const paths = String(flags.models).split(',').map((s) => s.trim()).filter(Boolean);
    const device = resolveDevice(flags.device, 'drgan masks');
    const models = findCheckpoints(paths).map((p) => loadMaskModel(p, device));
    const quiet = flags.quiet === true;
    if (!quiet) for (const m of models) console.log(`model ${m.path}: ${m.kind} -> ${m.targets.join(', ')}`);
    let last = 0;
    const r = await fillMissingChannels({
      data: flags.data as string,
      models,
      redo: flags.redo === true,
      onProgress: (done, total) => {
        if (!quiet && (Date.now() - last > 2000 || done === total)) { last = Date.now(); process.stderr.write(`masks: ${done}/${total}\n`); }
      },
    });
    const fmt = (o: Record<string, number | undefined>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    console.log(`masks: ${r.photos} photos; written: ${fmt(r.written)}; still missing (no model): ${fmt(r.missing)}`);
    return 0;
  },
};
