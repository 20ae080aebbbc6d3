// Time of one DR-GAN training step (G update + D update, Eq. 1) for the CPU presets, in
// stage 1 (G_m at R/2, D on R/2) and stage 2 (G_m + G_l at R), on random tensors of the data
// contract's shapes (data loading excluded). The perceptual loss needs torchvision's VGG-19
// weights, which this machine lacks: the default measures without it; `--vgg-random` adds a
// randomly initialised VGG-19 purely to time its cost (never for training).
//   node dist/bench/gan-train-step.js [--presets cpu128,cpu256] [--threads 1,2] [--steps 3] [--vgg-random]
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { makeConfig, type PresetName } from '../src/gan/config.js';
import { Generator } from '../src/gan/generator.js';
import { MultiscaleDiscriminator } from '../src/gan/discriminator.js';
import { PerceptualLoss } from '../src/gan/losses.js';
import { VGG19Features } from '../src/gan/vgg19.js';
import { ganStep } from '../src/train/gan-trainer.js';

const { values } = parseArgs({ options: {
  presets: { type: 'string', default: 'cpu128,cpu256' },
  threads: { type: 'string', default: '1,2' },
  steps: { type: 'string', default: '3' },
  'vgg-random': { type: 'boolean', default: false },
} });
const steps = Number(values.steps);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

console.log(`DR-GAN train step, batch from the preset, ${steps} timed steps after 1 warm-up; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('preset  R    stage threads perceptual  step_s (median)  min_s   images/s');
for (const preset of values.presets!.split(',') as PresetName[]) {
  const cfg = makeConfig(preset, { ablation: { noPerceptual: !values['vgg-random'] } });
  const B = cfg.train.batchSize, R = cfg.resolution;
  for (const stage of [1, 2] as const) {
    for (const threads of values.threads!.split(',').map(Number)) {
      torch.setNumThreads(threads);
      torch.manualSeed(0);
      const G = new Generator(cfg, stage), D = new MultiscaleDiscriminator(cfg);
      const optG = new torch.optim.Adam(G.parameters(), { lr: cfg.train.lr, betas: cfg.train.betas });
      const optD = new torch.optim.Adam(D.parameters(), { lr: cfg.train.lr, betas: cfg.train.betas });
      const vgg = values['vgg-random'] ? new VGG19Features().eval().requiresGrad_(false) : null;
      const perceptual = vgg ? new PerceptualLoss(vgg, cfg.loss.perceptualWeights) : null;
      const c = torch.rand([B, 8, R, R]).gt(0.9).float(), x = torch.rand([B, 3, R, R]).mul(2).sub(1);
      const y = torch.tensor(Int32Array.from({ length: B }, (_, i) => i % 5)).long(), z = torch.randn([B, cfg.generator.gradingVectorDim]);
      const times: number[] = [];
      for (let i = 0; i <= steps; i++) {
        const t0 = performance.now();
        torch.tidy(() => ganStep({ G, D, optG, optD, cfg, perceptual }, c, x, y, z));
        if (i > 0) times.push((performance.now() - t0) / 1000);
      }
      const med = median(times);
      console.log(`${preset.padEnd(7)} ${String(R).padEnd(4)} ${String(stage).padEnd(5)} ${String(threads).padEnd(7)} ${(vgg ? 'vgg19-rand' : 'off').padEnd(11)} ${med.toFixed(3).padStart(8)}         ${Math.min(...times).toFixed(3).padStart(6)}  ${(B / med).toFixed(2).padStart(8)}`);
      for (const t of [c, x, y, z]) t.dispose();
      G.dispose(); D.dispose(); optG.disposeState(); optD.disposeState(); vgg?.dispose();
    }
  }
}
