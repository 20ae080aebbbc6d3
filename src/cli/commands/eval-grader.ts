// `drgan eval grader`: accuracy, quadratic weighted kappa, per-class TPR and the confusion
// matrix of a grader file on a split of a prepared data set (method.md section 9).
import { gradingReport } from '../../eval/grading-metrics.js';
import { Grader, inferDataset } from '../../models/grader.js';
import type { Split } from '../../data/manifest.js';
import type { Command } from '../command.js';
import { DEVICE_FLAG, resolveDevice } from '../device-flag.js';

export const evalGraderCommand: Command = {
  name: 'eval grader',
  summary: 'grading metrics (accuracy, quadratic kappa, per-grade TPR, confusion) of a grader on a data set',
  usage: 'drgan eval grader --model CKPT --data DIR [--split test|val|train|all] [--json]',
  flags: {
    model: { kind: 'string', required: true, help: 'grader file (best.safetensors) or training checkpoint (latest.safetensors)' },
    data: { kind: 'string', required: true, help: 'prepared data set' },
    split: { kind: 'choice', choices: ['test', 'val', 'train', 'all'], default: 'test', help: 'which samples to grade' },
    batch: { kind: 'int', default: 16, min: 1, max: 4096, help: 'batch size' },
    json: { kind: 'bool', default: false, help: 'print one JSON object {accuracy, kappa, tpr, confusion, n, skippedUngraded}' },
    device: DEVICE_FLAG,
  },
  async run(f) {
    const device = resolveDevice(f.device, 'drgan eval grader');
    const grader = Grader.load(f.model as string);
    if (device !== 'cpu') grader.to({ device });
    try {
      const r = await inferDataset(grader, { dir: f.data as string, split: f.split as Split | 'all', batchSize: f.batch as number });
      const idx = r.truth.map((t, i) => (t >= 0 ? i : -1)).filter((i) => i >= 0);
      const skipped = r.truth.length - idx.length;
      if (idx.length === 0) throw new Error(`${f.data as string}: split "${f.split as string}" has no graded samples to score`);
      const rep = gradingReport(idx.map((i) => r.truth[i]), idx.map((i) => r.pred[i]), grader.config.numClasses);
      if (f.json) {
        // NaN (a grade with no samples) is not JSON: it becomes null.
        console.log(JSON.stringify({ accuracy: rep.accuracy, kappa: rep.kappa, tpr: rep.tpr.map((v) => (Number.isNaN(v) ? null : v)), confusion: rep.confusion, n: rep.n, skippedUngraded: skipped }));
        return 0;
      }
      const pct = (v: number) => (Number.isNaN(v) ? '   -  ' : `${(100 * v).toFixed(1).padStart(5)}%`);
      const lines = [
        `grader ${f.model as string} (${grader.config.backbone}, ${grader.config.inputSize} px) on ${f.data as string}, split ${f.split as string}: ${rep.n} graded samples` + (skipped ? ` (${skipped} ungraded skipped)` : ''),
        `accuracy  ${pct(rep.accuracy)}`,
        `kappa     ${rep.kappa.toFixed(4)} (quadratic weighted)`,
        '',
        'true\\pred' + rep.confusion.map((_, j) => String(j).padStart(6)).join('') + '     TPR',
        ...rep.confusion.map((row, i) => `grade ${i}  ` + row.map((v) => String(v).padStart(6)).join('') + '  ' + pct(rep.tpr[i])),
      ];
      console.log(lines.join('\n'));
      return 0;
    } finally {
      grader.dispose();
    }
  },
};
