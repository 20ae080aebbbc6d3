// Data loader throughput with and without the condition masks (masks: false is what the
// grader's training and inference use), on a prepared set, alternating runs in one process:
//   node dist/bench/loader-masks.js --data DIR [--size 128] [--batch 64] [--rounds 3]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DataLoader } from '../src/data/loader.js';

const { values: opt } = parseArgs({ options: {
  data: { type: 'string' }, size: { type: 'string', default: '128' }, batch: { type: 'string', default: '64' }, rounds: { type: 'string', default: '3' },
} });
if (!opt.data) throw new Error('--data DIR (a prepared data set) is required');
const size = Number(opt.size), batchSize = Number(opt.batch), rounds = Number(opt.rounds);

async function epochSeconds(masks: boolean): Promise<{ seconds: number; images: number }> {
  const l = new DataLoader({ dir: opt.data!, split: 'all', batchSize, size, shuffle: false, masks });
  const t0 = performance.now();
  let images = 0;
  for await (const b of l.epoch(0)) images += b.batchSize;
  return { seconds: (performance.now() - t0) / 1000, images };
}

console.log(`loader over ${opt.data} at ${size} px, batch ${batchSize}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const rate: Record<string, number[]> = { with: [], without: [] };
for (let r = 0; r < rounds; r++) {
  for (const masks of [true, false]) {
    const { seconds, images } = await epochSeconds(masks);
    rate[masks ? 'with' : 'without'].push(images / seconds);
    console.log(`round ${r + 1} masks ${masks ? 'on ' : 'off'}: ${images} images in ${seconds.toFixed(2)} s (${(images / seconds).toFixed(1)} images/s)`);
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`median images/s: with masks ${median(rate.with).toFixed(1)}, without ${median(rate.without).toFixed(1)}; ratio ${(median(rate.without) / median(rate.with)).toFixed(2)}x`);
