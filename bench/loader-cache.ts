// Data loader throughput with and without the decoded-sample cache (LoaderOptions.cacheBytes,
// what `drgan train gan --cache-mb` sets), epoch 1 and epoch 2 of one loader each, masks on and
// shuffled as the GAN trainer reads; runs alternate in one process. Without --data a phantom
// set (all 8 masks: 10 files per sample) is written to a temp folder first and removed after.
//   node dist/bench/loader-cache.js [--data DIR] [--n 256] [--size 128] [--batch 32] [--rounds 3]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DataLoader } from '../src/data/loader.js';
import { benchDataSet } from './phantom-data.js';

const { values: opt } = parseArgs({ options: {
  data: { type: 'string' }, n: { type: 'string', default: '256' }, size: { type: 'string', default: '128' },
  batch: { type: 'string', default: '32' }, rounds: { type: 'string', default: '3' },
} });
const size = Number(opt.size), batchSize = Number(opt.batch), rounds = Number(opt.rounds);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

const dataSet = await benchDataSet({ data: opt.data, n: Number(opt.n), size, prefix: 'drgan-loader-cache-' });
const dir = dataSet.dir;

type Key = 'off1' | 'off2' | 'on1' | 'on2';
const rate: Record<Key, number[]> = { off1: [], off2: [], on1: [], on2: [] };
try {
  console.log(`loader over ${dir} at ${size} px, batch ${batchSize}, masks on, shuffled; load ${load()}`);
  for (let r = 0; r < rounds; r++) {
    for (const cached of [false, true]) {
      const l = new DataLoader({ dir, split: 'all', batchSize, size, seed: r, shuffle: true, dropLast: true, cacheBytes: cached ? 2 ** 30 : 0 });
      for (const epoch of [0, 1]) {
        const t0 = performance.now();
        let images = 0;
        for await (const b of l.epoch(epoch)) images += b.batchSize;
        const seconds = (performance.now() - t0) / 1000;
        rate[`${cached ? 'on' : 'off'}${epoch + 1}` as Key].push(images / seconds);
        const s = l.cacheStats();
        console.log(`round ${r + 1} cache ${cached ? 'on ' : 'off'} epoch ${epoch + 1}: ${images} images in ${seconds.toFixed(2)} s (${(images / seconds).toFixed(1)} images/s)` +
          (s ? `; kept ${s.samples} samples, ${(s.bytes / 2 ** 20).toFixed(1)} MB, ${s.hits} hits, ${s.misses} decodes` : ''));
      }
    }
  }
} finally {
  dataSet.remove();
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const m = Object.fromEntries(Object.entries(rate).map(([k, v]) => [k, median(v)])) as Record<Key, number>;
console.log(`median images/s: cache off ${m.off1.toFixed(1)} / ${m.off2.toFixed(1)}, on ${m.on1.toFixed(1)} / ${m.on2.toFixed(1)} (epoch 1 / 2); ` +
  `on/off ratio: epoch 1 ${(m.on1 / m.off1).toFixed(2)}x, epoch 2 ${(m.on2 / m.off2).toFixed(2)}x; load ${load()}`);
