// `drgan latent`: fits the latent grading space (a Gaussian per grade over the grader's pooled
// features) on a prepared data set, and optionally plots the features in 2-D by grade.
import type { Split } from '../../data/manifest.js';
import { Grader, inferDataset } from '../../models/grader.js';
import { GradingSpaceAccumulator } from '../../latent/grading-space.js';
import { pca2, tsne, TSNE_MAX_POINTS, writeScatterPng } from '../../latent/embedding-plot.js';
import { mulberry32, shuffleInPlace } from '../../data/rng.js';
import * as torch from '../../torch/index.js';
import type { Command } from '../command.js';
import { DEVICE_FLAG, resolveDevice } from '../device-flag.js';

export const latentCommand: Command = {
  name: 'latent',
  summary: 'fit the per-grade Gaussians of grader features (the latent grading space); optional PCA/t-SNE plot',
  usage: 'drgan latent --grader CKPT --data DIR --out FILE [--split train] [--full-cov] [--plot PNG] [--method tsne|pca]',
  flags: {
    grader: { kind: 'string', required: true, help: 'grader file (drgan train grader)' },
    data: { kind: 'string', required: true, help: 'prepared data set with grades' },
    out: { kind: 'string', required: true, help: 'grading space file to write (.safetensors)' },
    split: { kind: 'choice', choices: ['train', 'val', 'test', 'all'], default: 'train', help: 'samples whose features are used' },
    'full-cov': { kind: 'bool', default: false, help: 'also store full covariance matrices (D x D per grade)' },
    batch: { kind: 'int', default: 16, min: 1, max: 4096, help: 'batch size' },
    plot: { kind: 'string', help: 'write a 2-D scatter plot of the features coloured by grade (PNG)' },
    method: { kind: 'choice', choices: ['tsne', 'pca'], default: 'tsne', help: 'projection for --plot' },
    perplexity: { kind: 'number', default: 30, min: 1, help: 't-SNE perplexity' },
    'plot-size': { kind: 'int', default: 800, min: 64, max: 8192, help: 'side of the plot in pixels' },
    seed: { kind: 'int', default: 0, min: 0, help: 'seed of t-SNE and of the subsample above the t-SNE limit' },
    device: DEVICE_FLAG,
  },
  async run(f) {
    const device = resolveDevice(f.device, 'drgan latent');
    const grader = Grader.load(f.grader as string);
    if (device !== 'cpu') grader.to({ device });
    try {
      const r = await inferDataset(grader, { dir: f.data as string, split: f.split as Split | 'all', batchSize: f.batch as number, features: true });
      const D = grader.featureDim;
      const n = r.ids.length;
      const feats = torch.tensor(r.features!, [n, D]);
      const acc = new GradingSpaceAccumulator(D, grader.config.numClasses, f['full-cov'] as boolean);
      acc.add(feats, r.truth);
      const space = acc.finish(`${f.grader as string} on ${f.data as string} (${f.split as string})`);
      acc.dispose();
      space.save(f.out as string);
      console.log(`grading space (${D}-d, ${space.covariances ? 'full' : 'diagonal'} covariance) from ${space.counts.reduce((a, b) => a + b, 0)} graded samples, per grade ${space.counts.join(' / ')}: ${f.out as string}`);
      const empty = space.counts.flatMap((c, g) => (c === 0 ? [g] : []));
      if (empty.length) console.log(`note: grade(s) ${empty.join(', ')} had no samples; sampling them is an error`);
      space.dispose();

      if (f.plot) {
        let rows = Array.from({ length: n }, (_, i) => i);
        if (f.method === 'tsne' && n > TSNE_MAX_POINTS) {
          rows = shuffleInPlace(rows, mulberry32(f.seed as number)).slice(0, TSNE_MAX_POINTS).sort((a, b) => a - b);
          console.log(`note: t-SNE on a random ${TSNE_MAX_POINTS} of ${n} samples`);
        }
        const sub = rows.length === n ? feats : feats.indexSelect(0, torch.tensor(Int32Array.from(rows)).long());
        const perplexity = Math.min(f.perplexity as number, Math.max(1, Math.floor((rows.length - 1) / 3)));
        const y = f.method === 'pca' ? pca2(sub) : tsne(sub, { perplexity, seed: f.seed as number });
        await writeScatterPng(f.plot as string, y.dataSync() as Float64Array, rows.map((i) => r.truth[i]), { width: f['plot-size'] as number, height: f['plot-size'] as number });
        y.dispose();
        if (sub !== feats) sub.dispose();
        console.log(`${f.method as string} plot of ${rows.length} samples: ${f.plot as string}`);
      }
      feats.dispose();
      return 0;
    } finally {
      grader.dispose();
    }
  },
};
