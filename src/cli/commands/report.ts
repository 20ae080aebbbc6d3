// `drgan report`: one self-contained HTML page (images inlined) for a run or experiment folder.
import { writeFileSync } from 'node:fs';
import { buildHtmlReport } from '../../report/html-report.js';
import type { Command } from '../command.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'write one self-contained HTML page (tables, loss curves, t-SNE, sample grids, metric plots) for a run folder',
  usage: 'drgan report --run DIR --out report.html [--title TEXT]',
  flags: {
    run: { kind: 'string', required: true, help: 'run or experiment folder (drgan train gan / experiment augment / experiment ablation output)' },
    out: { kind: 'string', required: true, help: 'HTML file to write' },
    title: { kind: 'string', help: 'page title (default: the folder name)' },
  },
  async run(f) {
    const html = await buildHtmlReport(f.run as string, { title: f.title as string | undefined });
    writeFileSync(f.out as string, html);
    console.log(`report: ${f.out as string} (${(html.length / 1024).toFixed(0)} KiB)`);
    return 0;
  },
};
