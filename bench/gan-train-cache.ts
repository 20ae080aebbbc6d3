// DR-GAN training throughput with and without the decoded-sample cache (`drgan train gan
// --cache-mb`): the real trainer (loader, condition masks, G and D steps, logging) runs E stage-1
// epochs with the cache off, then with it on, alternating for R rounds in one process. From the
// trainer's losses.jsonl, images/s of epoch 1 (every sample decoded either way) and of the later
// epochs (cache on: no PNG decoding). Where the step itself is fast (a GPU) the loader is what
// the cache relieves; on the CPU the step dominates and the ratio stays near 1.
// Without --data a phantom set (all 8 masks) is written to a temp folder first and removed after.
//   node dist/bench/gan-train-cache.js [--data DIR] [--n 400] [--size 256] [--device cpu|cuda]
//     [--ngf 32] [--ndf 32] [--batch 16] [--epochs 3] [--rounds 1]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { makeConfig } from '../src/gan/config.js';
import { trainGan } from '../src/train/gan-trainer.js';
import { benchDataSet } from './phantom-data.js';
import { resolveDevice } from '../src/cli/device-flag.js';

const { values: opt } = parseArgs({ options: {
  data: { type: 'string' }, n: { type: 'string', default: '400' }, size: { type: 'string', default: '256' },
  device: { type: 'string', default: 'cpu' }, ngf: { type: 'string', default: '32' }, ndf: { type: 'string', default: '32' },
  batch: { type: 'string', default: '16' }, epochs: { type: 'string', default: '3' }, rounds: { type: 'string', default: '1' },
  threads: { type: 'string', default: '4' },
} });
const size = Number(opt.size), epochs = Number(opt.epochs), rounds = Number(opt.rounds);
if (epochs < 2) throw new Error('--epochs: at least 2 (epoch 1 fills the cache; later epochs read it)');
torch.setNumThreads(Number(opt.threads));
const device = resolveDevice(opt.device, 'bench gan-train-cache');
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

// The CPU options the demo and scripts/experiments/gpu-phantom.sh train with; stage 1 only (G_m at R/2).
const cfg = makeConfig('paper', {
  resolution: size,
  generator: { ngf: Number(opt.ngf), gradingVectorDim: 512, mappingWidth: 256, halfScaleFusion: true, upsampling: 'resize' },
  discriminator: { ndf: Number(opt.ndf) },
  loss: { adversarialTarget: 'patch', lambdaReconstruction: 10, reconstructionLesionWeight: 20 },
  ablation: { noPerceptual: true },
  train: { batchSize: Number(opt.batch), stage1Epochs: epochs, stage2Epochs: 0 },
});

// After the config, so that a bad width is refused before a temporary set is written.
const dataSet = await benchDataSet({ data: opt.data, n: Number(opt.n), size, prefix: 'drgan-gan-cache-' });
const dir = dataSet.dir;

interface LogLine { step: number; epoch: number; stage: number; time: number }
/** Images/s of each epoch, from the wall-clock stamps of its first and last step (the first step's own time excluded). */
function epochRates(lossesFile: string): number[] {
  const lines: LogLine[] = readFileSync(lossesFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const rates: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const of = lines.filter((l) => l.epoch === e && l.stage === 1);
    if (of.length < 2) throw new Error(`${lossesFile}: epoch ${e + 1} logged ${of.length} step(s); use a larger --n or smaller --batch`);
    rates.push(((of.length - 1) * cfg.train.batchSize) / (of[of.length - 1].time - of[0].time));
  }
  return rates;
}

const rate: Record<'off' | 'on', { first: number[]; later: number[] }> = { off: { first: [], later: [] }, on: { first: [], later: [] } };
try {
  console.log(`DR-GAN stage 1 over ${dir}: R ${size} (G_m at ${size / 2}), ngf ${cfg.generator.ngf}, ndf ${cfg.discriminator.ndf}, batch ${cfg.train.batchSize}, ` +
    `${epochs} epochs, on ${device}; load ${load()}`);
  for (let r = 0; r < rounds; r++) {
    for (const cached of [false, true]) {
      const out = mkdtempSync(join(tmpdir(), 'drgan-gan-cache-run-'));
      try {
        const res = await trainGan({ data: dir, out, config: cfg, device, seed: r, progress: false, log: () => {},
          checkpointEvery: 0, sampleEvery: 0, cacheMegabytes: cached ? 16384 : 0 });
        const rates = epochRates(res.losses);
        const key = cached ? 'on' : 'off';
        rate[key].first.push(rates[0]);
        rate[key].later.push(...rates.slice(1));
        console.log(`round ${r + 1} cache ${cached ? 'on ' : 'off'}: images/s per epoch ${rates.map((x) => x.toFixed(1)).join(', ')}; load ${load()}`);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
  }
} finally {
  dataSet.remove();
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const m = { off1: median(rate.off.first), offN: median(rate.off.later), on1: median(rate.on.first), onN: median(rate.on.later) };
console.log(`median images/s: cache off ${m.off1.toFixed(1)} / ${m.offN.toFixed(1)}, on ${m.on1.toFixed(1)} / ${m.onN.toFixed(1)} (epoch 1 / later); ` +
  `on/off ratio: epoch 1 ${(m.on1 / m.off1).toFixed(2)}x, later epochs ${(m.onN / m.offN).toFixed(2)}x; load ${load()}`);
