// Peak memory of one forward + backward of SCA's spatial attention at the paper's sizes
// (R = 1280: 80x80x512, 160x160x256, 320x320x128; d = 8, 16, 32; batch 1) with the chunked
// kernel. Each size runs in its own child process, which reports its resident-set
// high-water mark (VmHWM from /proc/self/status), so one size's peak cannot hide another's.
//   node dist/bench/gan-attention.js [--sizes 80,160,320] [--threads 2] [--budget-mib 128]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { SpatialAttention } from '../src/gan/attention.js';

/** The three synthesis scales at R = 1280 (method.md section 2). */
const SCALES: Record<number, { channels: number; reduction: number }> = {
  80: { channels: 512, reduction: 8 },
  160: { channels: 256, reduction: 16 },
  320: { channels: 128, reduction: 32 },
};

function statusKiB(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`/proc/self/status has no ${field}`);
  return Number(m[1]);
}

interface ChildResult {
  size: number; channels: number; reduction: number; chunkRows: number;
  rssBeforeMiB: number; hwmBeforeMiB: number; hwmAfterMiB: number; forwardS: number; backwardS: number;
}

function child(size: number, budgetMiB: number, threads: number): void {
  torch.setNumThreads(threads);
  const { channels, reduction } = SCALES[size];
  torch.manualSeed(0);
  const m = new SpatialAttention(channels, reduction, { memoryBudgetBytes: budgetMiB * 1024 * 1024 });
  torch.noGrad(() => m.gamma.fill_(1));
  const x = torch.randn([1, channels, size, size]).requiresGrad_(true);
  // Warm the kernels on a tiny input so that one-time allocations are not counted as the peak's.
  torch.tidy(() => { const w = torch.randn([1, channels, 4, 4]).requiresGrad_(true); m.forward(w).sum().backward(); });
  m.zeroGrad();
  const rssBefore = statusKiB('VmRSS'), hwmBefore = statusKiB('VmHWM');
  const t0 = performance.now();
  const y = m.forward(x);
  const loss = y.square().mean();
  const t1 = performance.now();
  loss.backward();
  const t2 = performance.now();
  const n = size * size;
  const result: ChildResult = {
    size, channels, reduction, chunkRows: Math.min(n, Math.floor((budgetMiB * 1024 * 1024) / (n * 8))),
    rssBeforeMiB: rssBefore / 1024, hwmBeforeMiB: hwmBefore / 1024, hwmAfterMiB: statusKiB('VmHWM') / 1024,
    forwardS: (t1 - t0) / 1000, backwardS: (t2 - t1) / 1000,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

const { values: opt } = parseArgs({
  options: {
    sizes: { type: 'string', default: '80,160,320' },
    threads: { type: 'string', default: '2' },
    'budget-mib': { type: 'string', default: '128' },
    child: { type: 'string' },
  },
});
const budget = Number(opt['budget-mib']), threads = Number(opt.threads);

if (opt.child) {
  child(Number(opt.child), budget, threads);
} else {
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  console.log(`spatial attention, batch 1, forward + backward, chunk budget ${budget} MiB, ${threads} threads`);
  console.log('size     C   d/ch  chunk  RSS before  peak (HWM)  peak-before  fwd s   bwd s   one full NxN float32 map');
  for (const size of opt.sizes.split(',').map(Number)) {
    if (!SCALES[size]) throw new Error(`--sizes: ${size} is not one of ${Object.keys(SCALES).join(', ')}`);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', String(size), '--budget-mib', String(budget), '--threads', String(threads)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`child for ${size}x${size} failed (status ${r.status}):\n${r.stderr}`);
    const c = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
    const n = size * size;
    console.log(`${`${size}x${size}`.padEnd(8)} ${String(c.channels).padStart(3)}  ${String(c.channels / c.reduction).padStart(4)}  ${String(c.chunkRows).padStart(5)}  ` +
      `${c.rssBeforeMiB.toFixed(0).padStart(7)} MiB ${c.hwmAfterMiB.toFixed(0).padStart(7)} MiB ${(c.hwmAfterMiB - c.rssBeforeMiB).toFixed(0).padStart(8)} MiB ` +
      `${c.forwardS.toFixed(1).padStart(6)} ${c.backwardS.toFixed(1).padStart(7)}   ${mib(n * n * 4)} MiB`);
  }
}
