// Synthesis time per image by images per generator pass (synthesizeBatch, what `drgan synth
// --batch` sets), the whole library call: condition tensors, grade head, z, noise, generator,
// uint8 conversion, FOV masking (PNG writing excluded). Batch sizes alternate within each round
// so the machine's noise falls on all; medians, and the ratio to batch 1.
// Without --model, an untrained generator of the `paper` preset at --resolution / --ngf (the
// time does not depend on the weights).
//   node dist/bench/gan-synthesis-batch.js [--model CKPT] [--resolution 128] [--ngf 16] [--batches 1,4,8,16]
//     [--images 16] [--rounds 3] [--threads 2] [--device cpu|cuda]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { makeConfig } from '../src/gan/config.js';
import { Generator } from '../src/gan/generator.js';
import { renderPhantom } from '../src/phantom/render.js';
import { resizeCondition, type ConditionMasks } from '../src/synth/condition-io.js';
import { loadSynthesisModel, synthesizeBatch } from '../src/synth/synthesize.js';
import { resolveDevice } from '../src/cli/device-flag.js';

const { values: opt } = parseArgs({ options: {
  model: { type: 'string' }, resolution: { type: 'string', default: '128' }, ngf: { type: 'string', default: '16' },
  batches: { type: 'string', default: '1,4,8,16' }, images: { type: 'string', default: '16' }, rounds: { type: 'string', default: '3' },
  threads: { type: 'string', default: '2' }, device: { type: 'string', default: 'cpu' },
} });
torch.setNumThreads(Number(opt.threads));
const device = resolveDevice(opt.device, 'bench gan-synthesis-batch');
const batches = opt.batches!.split(',').map(Number);
const images = Number(opt.images), rounds = Number(opt.rounds);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

let G: Generator;
let what: string;
if (opt.model) {
  G = (await loadSynthesisModel(opt.model, { device })).generator;
  what = opt.model;
} else {
  torch.manualSeed(0);
  const R = Number(opt.resolution);
  G = new Generator(makeConfig('paper', { resolution: R, generator: { ngf: Number(opt.ngf), gradingVectorDim: 512, mappingWidth: 256, halfScaleFusion: true, upsampling: 'resize' } }), 2);
  if (device !== 'cpu') G.to({ device });
  what = `untrained paper-preset generator, R ${R}, ngf ${opt.ngf}`;
}
const R = G.cfg.resolution;
const conditions: ConditionMasks[] = Array.from({ length: images }, (_, i) => {
  const s = renderPhantom(3, i, R, { grade: i % 5, photographic: false });
  return resizeCondition({ size: R, channels: { ...s.masks }, fov: s.fov, source: `phantom:${i}` }, R);
});
const sync = device === 'cpu' ? () => {} : () => torch.cuda.synchronize(Number(device.slice(5)));

/** ms per image for all `images` conditions in passes of `batch`. */
function timeBatch(batch: number): number {
  sync();
  const t0 = performance.now();
  for (let start = 0; start < images; start += batch) {
    const items = conditions.slice(start, start + batch).map((condition, i) => ({ grade: (start + i) % 5, condition, seed: start + i }));
    synthesizeBatch({ generator: G, gradingSpace: null, items });
  }
  sync();
  return (performance.now() - t0) / images;
}

console.log(`synthesis by batch: ${what}, ${images} images per measurement, ${rounds} rounds, ${opt.threads} thread(s), on ${device}; load ${load()}`);
for (const b of batches) timeBatch(b); // warm-up: allocator, oneDNN primitives per shape
const ms: Record<number, number[]> = Object.fromEntries(batches.map((b) => [b, []]));
for (let r = 0; r < rounds; r++) {
  const line = batches.map((b) => { const t = timeBatch(b); ms[b].push(t); return `batch ${b} ${t.toFixed(1)}`; });
  console.log(`round ${r + 1}: ${line.join(', ')} ms/image; load ${load()}`);
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const base = median(ms[batches[0]]);
console.log(`median ms/image: ${batches.map((b) => `batch ${b} ${median(ms[b]).toFixed(1)} (${(base / median(ms[b])).toFixed(2)}x)`).join(', ')}; speed-up against batch ${batches[0]}; load ${load()}`);
