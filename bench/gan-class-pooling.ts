// Experiment (not a timing): can a PatchDiscriminator's classification head read the DR grade
// from real images, pooling the last layer's output after InstanceNorm ('normalized', the
// default) or its conv output before the norm ('preNorm')? discriminator.classPooling,
// docs/gan.md. Only the D's conv layers and class head train (the adversarial head is unused),
// with the GAN's focal loss, on phantom images held in memory; val accuracy on a separate
// phantom set. Inputs: 'image' (3 channels: what G can change); 'cond+image' (the 8
// condition channels + image, as in the GAN with discriminator.classInput 'conditionAndImage'),
// also scored with the lesion channels (MA..PM) zeroed to see whether the head reads the grade
// from the masks instead of the image; 'imageOnly' (the same 11-channel D with all 8
// condition channels zeroed in training and test: the class pass of classInput 'imageOnly');
// 'vesselDisc+image' (only the lesion channels zeroed: an alternative, which stayed at chance).
//   drgan phantom --out T --n 800 --size 128 --seed 11 --grades 1,1,1,1,1
//   drgan phantom --out V --n 400 --size 128 --seed 12 --grades 1,1,1,1,1
//   DRGAN_NUM_THREADS=1 node dist/bench/gan-class-pooling.js --train T --val V [--size 64] [--steps 400] [--seeds 0,1]
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { DataLoader } from '../src/data/loader.js';
import { CONDITION_CHANNELS, NUM_GRADES } from '../src/data/manifest.js';
import { mulberry32 } from '../src/data/rng.js';
import { PatchDiscriminator } from '../src/gan/discriminator.js';
import type { ClassPooling } from '../src/gan/config.js';

const { values } = parseArgs({ options: {
  train: { type: 'string' }, val: { type: 'string' },
  size: { type: 'string', default: '64' }, steps: { type: 'string', default: '400' }, 'eval-every': { type: 'string', default: '100' },
  seeds: { type: 'string', default: '0,1' }, ndf: { type: 'string', default: '16' }, layers: { type: 'string', default: '4' },
  batch: { type: 'string', default: '16' }, lr: { type: 'string', default: '5e-4' }, gamma: { type: 'string', default: '2' },
  inputs: { type: 'string', default: 'image,cond+image,imageOnly' }, poolings: { type: 'string', default: 'normalized,preNorm' },
  threads: { type: 'string', default: process.env.DRGAN_NUM_THREADS ?? '1' },
} });
if (!values.train || !values.val) throw new Error('gan-class-pooling: --train DIR and --val DIR (phantom sets) are required');
const S = Number(values.size), steps = Number(values.steps), evalEvery = Number(values['eval-every']);
const ndf = Number(values.ndf), numLayers = Number(values.layers), B = Number(values.batch), lr = Number(values.lr), gamma = Number(values.gamma);
torch.setNumThreads(Number(values.threads));

interface Samples { x: torch.Tensor; c: torch.Tensor; y: torch.Tensor; n: number }

/** Every sample of a phantom set at side S: images [N, 3, S, S] in [-1, 1], conditions [N, 8, S, S], grades [N]. */
async function load(dir: string): Promise<Samples> {
  const loader = new DataLoader({ dir, split: 'all', batchSize: 1 << 30, size: S, shuffle: false });
  for await (const b of loader.epoch(0)) {
    return { x: torch.tensor(b.images, b.shapes.images), c: torch.tensor(b.conditions, b.shapes.conditions),
      y: torch.tensor(b.grades, { dtype: 'int64' }), n: b.batchSize };
  }
  throw new Error(`${dir}: no samples`);
}

const t0 = Date.now();
const [train, val] = [await load(values.train), await load(values.val)];
const counts = (s: Samples) => Array.from({ length: NUM_GRADES }, (_, g) => Array.from(s.y.dataSync() as BigInt64Array).filter((v) => Number(v) === g).length);
console.log(`train ${train.n} (grades ${counts(train)}), val ${val.n} (grades ${counts(val)}) at ${S} px; loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`PatchDiscriminator ndf ${ndf}, ${numLayers} layers; Adam lr ${lr} betas (0.5, 0.999); batch ${B}; focal gamma ${gamma}; ${steps} steps`);

const lesionChannels = CONDITION_CHANNELS.map((ch, i) => [ch, i] as const).filter(([ch]) => ch !== 'vessel' && ch !== 'optic_disc').map(([, i]) => i);
const keepMask = torch.tensor(Float32Array.from(CONDITION_CHANNELS, (_, i) => (lesionChannels.includes(i) ? 0 : 1)), [1, CONDITION_CHANNELS.length, 1, 1]);

function inputOf(s: Samples, mode: string, idx: torch.Tensor | null, noLesions = false): torch.Tensor {
  const x = idx ? s.x.indexSelect(0, idx) : s.x;
  if (mode === 'image') return x;
  if (!['cond+image', 'imageOnly', 'vesselDisc+image'].includes(mode)) throw new Error(`gan-class-pooling: --inputs takes image, cond+image, imageOnly, vesselDisc+image; got "${mode}"`);
  let c = idx ? s.c.indexSelect(0, idx) : s.c;
  if (noLesions || mode === 'vesselDisc+image') c = c.mul(keepMask);
  if (mode === 'imageOnly') c = torch.zerosLike(c);
  return torch.cat([c, x], 1);
}

function accuracy(D: PatchDiscriminator, mode: string, noLesions = false): number {
  return torch.noGrad(() => torch.tidy(() => {
    let correct = 0;
    for (let i = 0; i < val.n; i += 64) {
      const idx = torch.arange(i, Math.min(val.n, i + 64), 1, { dtype: 'int64' });
      const pred = D.forward(inputOf(val, mode, idx, noLesions)).classLogits!.argmax(1);
      correct += pred.eq(val.y.indexSelect(0, idx)).sum().item();
    }
    return correct / val.n;
  }));
}

const rows: { mode: string; pooling: ClassPooling; seed: number; curve: number[]; noLesions: number | null; s: number }[] = [];
for (const mode of values.inputs!.split(',')) {
  for (const pooling of values.poolings!.split(',') as ClassPooling[]) {
    for (const seed of values.seeds!.split(',').map(Number)) {
      const start = Date.now();
      torch.manualSeed(seed);
      const D = new PatchDiscriminator(mode === 'image' ? 3 : 3 + CONDITION_CHANNELS.length, ndf, numLayers, NUM_GRADES, true, pooling);
      D.train();
      const params = D.namedParameters().filter(([n]) => !n.startsWith('advHead')).map(([, p]) => p);
      const opt = new torch.optim.Adam(params, { lr, betas: [0.5, 0.999] });
      const rand = mulberry32(1000 + seed);
      let order: number[] = [], pos = 0;
      const curve: number[] = [];
      for (let step = 1; step <= steps; step++) {
        if (pos + B > order.length) {
          order = Array.from({ length: train.n }, (_, i) => i);
          for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
          pos = 0;
        }
        const batch = order.slice(pos, pos += B);
        torch.tidy(() => {
          const idx = torch.tensor(Int32Array.from(batch), { dtype: 'int64' });
          const loss = torch.F.focalLoss(D.forward(inputOf(train, mode, idx)).classLogits!, train.y.indexSelect(0, idx), { gamma });
          opt.zeroGrad();
          loss.backward();
          opt.step();
        });
        if (step % evalEvery === 0 || step === steps) curve.push(accuracy(D, mode));
      }
      const noLesions = mode === 'cond+image' ? accuracy(D, mode, true) : null;
      const s = (Date.now() - start) / 1000;
      rows.push({ mode, pooling, seed, curve, noLesions, s });
      console.log(`${mode.padEnd(10)} ${pooling.padEnd(10)} seed ${seed}: val acc ${curve.map((a) => a.toFixed(3)).join(' ')}` +
        `${noLesions === null ? '' : `; lesion masks zeroed ${noLesions.toFixed(3)}`} (${s.toFixed(0)} s)`);
      opt.disposeState();
      D.dispose();
    }
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`\n| input | classPooling | val acc, final (mean over ${values.seeds}) | best | lesion masks zeroed |\n|---|---|---|---|---|`);
for (const mode of values.inputs!.split(',')) {
  for (const pooling of values.poolings!.split(',')) {
    const r = rows.filter((q) => q.mode === mode && q.pooling === pooling);
    const nl = r.map((q) => q.noLesions).filter((v): v is number => v !== null);
    console.log(`| ${mode} | ${pooling} | ${mean(r.map((q) => q.curve[q.curve.length - 1])).toFixed(3)} (${r.map((q) => q.curve[q.curve.length - 1].toFixed(3)).join(', ')}) | ` +
      `${mean(r.map((q) => Math.max(...q.curve))).toFixed(3)} | ${nl.length ? mean(nl).toFixed(3) : '-'} |`);
  }
}
console.log(`chance: ${(Math.max(...counts(val)) / val.n).toFixed(3)} (majority grade of val)`);
