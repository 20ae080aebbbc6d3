// `drgan prepare`: turns a published fundus data set into the prepared layout (manifest.ts).
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { FORMAT_NAMES, FORMATS } from '../../data/formats/index.js';
import { prepareDataset, type OnError } from '../../data/prepare.js';
import type { Command } from '../command.js';

export const prepareCommand: Command = {
  name: 'prepare',
  summary: 'crop, resize and normalise real fundus photos (EyePACS, IDRiD, DRIVE, folder+CSV) into a prepared data set',
  usage: 'drgan prepare --format eyepacs|idrid|drive|folder --in DIR --out DIR [--size N] [--graham] [--on-error fail|skip] [--concurrency K]',
  flags: {
    format: { kind: 'choice', choices: FORMAT_NAMES, required: true, help: 'layout of --in: ' + FORMAT_NAMES.map((n) => `${n} (${FORMATS[n].layout})`).join('; ') },
    in: { kind: 'string', required: true, help: 'folder of the data set as published' },
    out: { kind: 'string', required: true, help: 'output folder (prepared layout; re-running resumes)' },
    size: { kind: 'int', default: 512, min: 16, max: 8192, help: 'side of the square output images in pixels' },
    graham: { kind: 'bool', default: false, help: "Graham's contrast normalisation: 4*img - 4*blur(img, size/30) + 128" },
    'on-error': { kind: 'choice', choices: ['fail', 'skip'], default: 'fail', help: 'on a bad input: stop (fail) or log it to OUT/log.jsonl and go on (skip)' },
    concurrency: { kind: 'int', default: Math.min(4, availableParallelism()), min: 1, max: 64, help: 'photos processed at once' },
    'mask-resample': { kind: 'choice', choices: ['nearest', 'max'], default: 'nearest', help: 'binary masks: nearest pixel, or max over the footprint (keeps tiny lesions)' },
  },
  async run(flags) {
    const out = flags.out as string;
    let last = 0;
    const report = await prepareDataset({
      format: flags.format as string,
      input: flags.in as string,
      output: out,
      size: flags.size as number,
      graham: flags.graham as boolean,
      onError: flags['on-error'] as OnError,
      concurrency: flags.concurrency as number,
      maskResample: flags['mask-resample'] as 'nearest' | 'max',
      onProgress: (done, total) => {
        const now = Date.now();
        if (now - last > 2000 || done === total) {
          last = now;
          process.stderr.write(`prepare: ${done}/${total}\n`);
        }
      },
    });
    for (const n of report.notes) console.log(`note: ${n}`);
    console.log(`prepared ${report.prepared}, reused ${report.reused} (already up to date), skipped ${report.skipped.length}; ${report.entries.length} samples in ${join(out, 'manifest.jsonl')}`);
    if (report.skipped.length) {
      console.log(`skipped (also in ${join(out, 'log.jsonl')}):`);
      for (const s of report.skipped) console.log(`  ${s.file}: ${s.reason}`);
    }
    return 0;
  },
};
