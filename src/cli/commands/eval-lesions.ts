// `drgan eval lesions`: are the lesions visible where the masks put them? Per condition channel,
// the mean local contrast of the green channel on the mask against the mask-free field of view
// (eval/lesion-contrast.ts), for a real and/or a fake prepared set, each measured on its own
// masks; with both, fake / real says how much of the photos' contrast the generator reaches.
import { CONDITION_CHANNELS, type Split } from '../../data/manifest.js';
import { contrastRatios, type ChannelContrastSummary } from '../../eval/lesion-contrast.js';
import { measureLesionContrast, type SetLesionContrast } from '../../eval/lesion-contrast-set.js';
import type { Command } from '../command.js';
import { progressLines } from '../progress-lines.js';
import { UsageError } from '../flags.js';

function cell(s: ChannelContrastSummary | undefined): string {
  return s ? `${s.mean.toFixed(2)} ± ${s.se.toFixed(2)} (${s.n})` : '-';
}

export const evalLesionsCommand: Command = {
  name: 'eval lesions',
  summary: 'lesion visibility: per condition channel, the green high-pass contrast on its mask against the mask-free FOV (real and/or fake sets, each on its own masks)',
  usage: 'drgan eval lesions [--real DIR] [--fake DIR] [--split all|train|val|test] [--size N] [--limit N] [--json]',
  flags: {
    real: { kind: 'string', help: 'a prepared data set of photos with condition masks (manifest.jsonl)' },
    fake: { kind: 'string', help: 'a prepared data set of generated images with the masks they were made from (drgan synth output)' },
    split: { kind: 'choice', choices: ['all', 'train', 'val', 'test'], default: 'all', help: 'which split of each set to read' },
    size: { kind: 'int', min: 16, max: 8192, help: 'resize images (lanczos3) and masks (nearest) to N x N before measuring; compare sets at one size' },
    limit: { kind: 'int', min: 1, help: 'only the first N samples of each set (manifest order)' },
    json: { kind: 'bool', default: false, help: 'print one JSON object instead of a table' },
  },
  async run(f) {
    if (f.real === undefined && f.fake === undefined) throw new UsageError('drgan eval lesions: give --real DIR, --fake DIR or both');
    const opts = { split: f.split as Split | 'all', size: f.size as number | undefined, limit: f.limit as number | undefined };
    const sets: { which: 'real' | 'fake'; r: SetLesionContrast }[] = [];
    for (const which of ['real', 'fake'] as const) {
      const dir = f[which] as string | undefined;
      if (dir === undefined) continue;
      const report = progressLines(`${which} images`);
      sets.push({ which, r: await measureLesionContrast(dir, { ...opts, onSample: (done, total) => report(done, total) }) });
    }
    const real = sets.find((s) => s.which === 'real')?.r;
    const fake = sets.find((s) => s.which === 'fake')?.r;
    const ratio = real && fake ? contrastRatios(real, fake) : undefined;
    if (f.json) {
      console.log(JSON.stringify({ metric: 'lesion-contrast', real, fake, ratio }));
      return 0;
    }
    const lines = ['lesion contrast: green minus its 9x9 mean, on each channel\'s mask minus the mask-free FOV (0..255 units; mean ± s.e. (images))'];
    for (const s of sets) lines.push(`${s.which}: ${s.r.dir} (${s.r.images} images${s.r.size ? ` at ${s.r.size} px` : ''}, split ${s.r.split})`);
    const header = ['channel', ...sets.map((s) => s.which), ...(ratio ? ['fake/real'] : [])];
    const rows = CONDITION_CHANNELS.filter((ch) => sets.some((s) => s.r.channels[ch])).map((ch) => [
      ch,
      ...sets.map((s) => cell(s.r.channels[ch])),
      ...(ratio ? [ratio[ch] === undefined || ratio[ch] === null ? '-' : ratio[ch]!.toFixed(2)] : []),
    ]);
    if (rows.length === 0) {
      lines.push('no channel has enough mask pixels inside the FOV in any image');
    } else {
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      const fmt = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i] + 2))).join('').trimEnd();
      lines.push('', fmt(header), ...rows.map(fmt));
    }
    console.log(lines.join('\n'));
    return 0;
  },
};
