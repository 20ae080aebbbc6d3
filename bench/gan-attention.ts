// Peak memory and time of one forward + backward of SCA's spatial attention at the paper's
// sizes (R = 1280: 80x80x512, 160x160x256, 320x320x128; d = 8, 16, 32; batch 1) with the
// chunked kernel, and what the full N x N map would have cost (computed, not run). Each
// size runs in its own child process, which reports its resident-set high-water mark
// (VmHWM from /proc/self/status, reset after warm-up), so one size's peak cannot hide
// another's. `--module sca` measures the whole SCA block (spatial + channel attention and
// the two 3x3 convs) instead of the spatial branch alone. `--addons OLD.node,NEW.node` runs
// every configuration once per addon build (DRGAN_ADDON in the child), alternating between
// them `--repeats` times, and ends with NEW/OLD ratios of the median CPU seconds, forward
// and backward apart (a kernel change to one phase leaves the other as a noise control).
// `--query-rows R` times only the chunked kernel's forward (no grad) for R query rows
// against all N keys of each size: the per-block cost at 320x320 in seconds, not minutes.
//   node --single-threaded-gc dist/bench/gan-attention.js [--sizes 80,160,320] [--threads 2,1]
//     [--budget-mib 128] [--module spatial|sca] [--addons A.node,B.node] [--repeats 1]
//     [--query-rows R] [--json FILE]
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { SCA, SpatialAttention } from '../src/gan/attention.js';
import { attention } from '../src/torch/nn/attention.js';
import { spatialAttentionProducts } from '../src/gan/flops.js';
import { matmulRate } from './matmul-rate.js';
import { resetPeak, statusKiB } from './process-memory.js';

/** The three synthesis scales at R = 1280 (method.md section 2). */
const SCALES: Record<number, { channels: number; reduction: number }> = {
  80: { channels: 512, reduction: 8 },
  160: { channels: 256, reduction: 16 },
  320: { channels: 128, reduction: 32 },
};
type ModuleKind = 'spatial' | 'sca';

interface ChildResult {
  size: number; channels: number; reduction: number; threads: number; module: ModuleKind; chunkRows: number;
  /** Query rows timed (N unless --query-rows; then forward only, backward 0). */
  queryRows: number;
  rssBeforeMiB: number; hwmAfterMiB: number; peakReset: boolean;
  forwardS: number; backwardS: number; forwardCpuS: number; backwardCpuS: number;
  matmulGflops: { median: number; perCpuSecond: number };
  loadStart: number; loadEnd: number;
  /** The addon the child loaded (DRGAN_ADDON), or 'default'. */
  addon: string;
}

/** Query rows per block as src/torch/nn/attention.ts chooses them (scores plus one temporary). */
function chunkRows(n: number, budgetMiB: number): number {
  return Math.max(1, Math.min(n, Math.floor((budgetMiB * 2 ** 20) / (n * 4 * 2))));
}

/** The kernel's forward alone, no grad, on `rows` query rows against the size's N keys (scale 1, as SpatialAttention). */
function kernelChild(size: number, budgetMiB: number, threads: number, rows: number): ChildResult {
  const loadStart = loadavg()[0];
  torch.setNumThreads(threads);
  const { channels, reduction } = SCALES[size];
  torch.manualSeed(0);
  const n = size * size, d = channels / reduction, options = { memoryBudgetBytes: budgetMiB * 2 ** 20, scale: 1 };
  const q = torch.randn([1, rows, d]), k = torch.randn([1, n, d]), v = torch.randn([1, n, channels]);
  torch.noGrad(() => torch.tidy(() => attention(q.narrow(1, 0, 1), k.narrow(1, 0, 64), v.narrow(1, 0, 64), options)));
  const peakReset = resetPeak();
  const rssBefore = statusKiB('VmRSS');
  const t0 = performance.now(), c0 = process.cpuUsage();
  torch.noGrad(() => torch.tidy(() => { attention(q, k, v, options); }));
  const t1 = performance.now(), c1 = process.cpuUsage();
  const hwmAfter = statusKiB('VmHWM');
  const mm = matmulRate();
  return {
    size, channels, reduction, threads, module: 'spatial', chunkRows: chunkRows(n, budgetMiB), queryRows: rows,
    rssBeforeMiB: rssBefore / 1024, hwmAfterMiB: hwmAfter / 1024, peakReset,
    forwardS: (t1 - t0) / 1000, backwardS: 0, forwardCpuS: (c1.user - c0.user + c1.system - c0.system) / 1e6, backwardCpuS: 0,
    matmulGflops: { median: mm.median, perCpuSecond: mm.perCpuSecond }, loadStart, loadEnd: loadavg()[0],
    addon: process.env.DRGAN_ADDON ?? 'default',
  };
}

function child(size: number, budgetMiB: number, threads: number, kind: ModuleKind): ChildResult {
  const loadStart = loadavg()[0];
  torch.setNumThreads(threads);
  const { channels, reduction } = SCALES[size];
  torch.manualSeed(0);
  const options = { memoryBudgetBytes: budgetMiB * 2 ** 20 };
  const m = kind === 'sca' ? new SCA(channels, reduction, options) : new SpatialAttention(channels, reduction, options);
  // gamma = 1 so that the attention path carries gradient (it starts at 0 in training).
  const gammas = m instanceof SCA ? [m.spatial.gamma, m.channel.gamma] : [m.gamma];
  torch.noGrad(() => { for (const g of gammas) g.fill_(1); });
  const x = torch.randn([1, channels, size, size]).requiresGrad_(true);
  // Warm the kernels on a tiny input so that one-time allocations are not counted as the peak's.
  torch.tidy(() => { const w = torch.randn([1, channels, 4, 4]).requiresGrad_(true); m.forward(w).sum().backward(); });
  m.zeroGrad();
  const peakReset = resetPeak();
  const rssBefore = statusKiB('VmRSS');
  const t0 = performance.now(), c0 = process.cpuUsage();
  const y = m.forward(x);
  const loss = y.square().mean();
  const t1 = performance.now(), c1 = process.cpuUsage();
  loss.backward();
  const t2 = performance.now(), c2 = process.cpuUsage();
  const hwmAfter = statusKiB('VmHWM');
  const cpuS = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1e6;
  const mm = matmulRate();
  return {
    size, channels, reduction, threads, module: kind, chunkRows: chunkRows(size * size, budgetMiB), queryRows: size * size,
    rssBeforeMiB: rssBefore / 1024, hwmAfterMiB: hwmAfter / 1024, peakReset,
    forwardS: (t1 - t0) / 1000, backwardS: (t2 - t1) / 1000, forwardCpuS: cpuS(c0, c1), backwardCpuS: cpuS(c1, c2),
    matmulGflops: { median: mm.median, perCpuSecond: mm.perCpuSecond }, loadStart, loadEnd: loadavg()[0],
    addon: process.env.DRGAN_ADDON ?? 'default',
  };
}

const { values: opt } = parseArgs({
  options: {
    sizes: { type: 'string', default: '80,160,320' },
    threads: { type: 'string', default: '2,1' },
    'budget-mib': { type: 'string', default: '128' },
    module: { type: 'string', default: 'spatial' },
    json: { type: 'string' },
    addons: { type: 'string' },
    repeats: { type: 'string', default: '1' },
    'query-rows': { type: 'string' },
    child: { type: 'string' },
  },
});
const budget = Number(opt['budget-mib']);
if (!(budget > 0)) throw new Error(`--budget-mib: "${opt['budget-mib']}" is not a positive number`);
const kind = opt.module as ModuleKind;
if (kind !== 'spatial' && kind !== 'sca') throw new Error(`--module: "${opt.module}" is not spatial|sca`);
const queryRows = opt['query-rows'] === undefined ? undefined : Number(opt['query-rows']);
if (queryRows !== undefined && !(Number.isInteger(queryRows) && queryRows >= 1 && kind === 'spatial')) {
  throw new Error(`--query-rows: "${opt['query-rows']}" must be a positive integer, with --module spatial`);
}

if (opt.child) {
  const a = JSON.parse(opt.child) as { size: number; threads: number };
  const r = queryRows === undefined ? child(a.size, budget, a.threads, kind) : kernelChild(a.size, budget, a.threads, queryRows);
  process.stdout.write(JSON.stringify(r) + '\n');
} else {
  const sizes = opt.sizes!.split(',').map(Number), threadCounts = opt.threads!.split(',').map(Number);
  const addons: (string | undefined)[] = opt.addons ? opt.addons.split(',') : [undefined];
  for (const a of addons) if (a !== undefined && !existsSync(a)) throw new Error(`--addons: ${a} does not exist`);
  const repeats = Number(opt.repeats);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats: "${opt.repeats}" is not a positive integer`);
  for (const s of sizes) if (!SCALES[s]) throw new Error(`--sizes: ${s} is not one of ${Object.keys(SCALES).join(', ')}`);
  for (const t of threadCounts) if (!Number.isInteger(t) || t < 1) throw new Error(`--threads: ${t} is not a positive integer`);
  const mib = (b: number) => (b / 2 ** 20).toLocaleString('en-US', { maximumFractionDigits: 0 });
  const results: ChildResult[] = [];
  console.log(`${kind === 'sca' ? 'SCA block' : 'spatial attention'}, batch 1, ${queryRows === undefined ? 'forward + backward' : `kernel forward only (no grad), ${queryRows} query rows against all N keys`}, chunk budget ${budget} MiB; load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`${addons[0] ? 'addon'.padEnd(22) : ''}size     C   d/ch thr chunk | RSS before  peak-before |  fwd s   bwd s   cpu s | attn GFLOP  per CPU-s  matmul/CPU-s ratio | computed: 1 full map  naive fwd+bwd (>= 2 maps) | load`);
  for (const threads of threadCounts) {
    for (const size of sizes) for (let rep = 0; rep < repeats; rep++) for (const addon of addons) {
      const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify({ size, threads }), '--budget-mib', String(budget), '--module', kind,
        ...(queryRows === undefined ? [] : ['--query-rows', String(queryRows)])];
      const env = addon ? { ...process.env, DRGAN_ADDON: addon } : process.env;
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20, env });
      if (r.status !== 0) throw new Error(`child for ${size}x${size} failed (status ${r.status}, signal ${r.signal}):\n${r.stderr}`);
      const c = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
      results.push(c);
      const n = size * size;
      const products = spatialAttentionProducts(1, c.queryRows, n, c.channels / c.reduction, c.channels);
      const gflop = (2 * (products.forwardMacs + (queryRows === undefined ? products.backwardMacs : 0))) / 1e9, cpu = c.forwardCpuS + c.backwardCpuS;
      console.log(`${addon ? basename(addon).padEnd(22) : ''}${`${size}x${size}`.padEnd(8)} ${String(c.channels).padStart(3)} ${String(c.channels / c.reduction).padStart(4)} ${String(threads).padStart(3)} ${String(c.chunkRows).padStart(5)} | ` +
        `${c.rssBeforeMiB.toFixed(0).padStart(6)} MiB ${(c.hwmAfterMiB - c.rssBeforeMiB).toFixed(0).padStart(7)} MiB${c.peakReset ? ' ' : '*'}| ` +
        `${c.forwardS.toFixed(1).padStart(6)} ${c.backwardS.toFixed(1).padStart(7)} ${cpu.toFixed(1).padStart(7)} | ${gflop.toFixed(0).padStart(10)} ${(gflop / cpu).toFixed(1).padStart(10)} ` +
        `${c.matmulGflops.perCpuSecond.toFixed(1).padStart(13)} ${(gflop / cpu / c.matmulGflops.perCpuSecond).toFixed(2).padStart(5)} | ` +
        `${`${mib(n * n * 4)} MiB`.padStart(20)}  ${`${mib(2 * n * n * 4)} MiB`.padStart(25)} | ${c.loadStart.toFixed(1)}-${c.loadEnd.toFixed(1)}`);
    }
  }
  console.log('peak-before: resident-set high-water mark during forward + backward minus the resident set just before (* = mark not resettable).');
  console.log('attn GFLOP: 2 x the multiply-adds of the attention products alone (forward Q K^T, P V; backward Q K^T again, dV, dP, dQ, dK); the 1x1 convs and softmax are not in it.');
  console.log('computed columns: one N x N float32 map, and the two (scores, probabilities) that autograd keeps for a textbook softmax(Q K^T) V; not run.');
  if (addons.length === 2) {
    const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2; };
    const [a, b] = addons.map((x) => basename(x!));
    console.log(`${b} / ${a}, median CPU seconds over ${repeats} run(s) each (forward: the phase the softmax is in; backward: unchanged code, the noise control):`);
    for (const threads of threadCounts) for (const size of sizes) {
      const of = (addon: string, key: 'forwardCpuS' | 'backwardCpuS') =>
        median(results.filter((r) => basename(r.addon) === addon && r.size === size && r.threads === threads).map((r) => r[key]));
      console.log(`  ${size}x${size} thr ${threads}: forward ${of(a, 'forwardCpuS').toFixed(2)} -> ${of(b, 'forwardCpuS').toFixed(2)} s = ${(of(b, 'forwardCpuS') / of(a, 'forwardCpuS')).toFixed(2)}x` +
        (queryRows === undefined ? `; backward ${of(a, 'backwardCpuS').toFixed(2)} -> ${of(b, 'backwardCpuS').toFixed(2)} s = ${(of(b, 'backwardCpuS') / of(a, 'backwardCpuS')).toFixed(2)}x` : ''));
    }
  }
  console.log(`load average at end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (opt.json) writeFileSync(opt.json, JSON.stringify(results, null, 2) + '\n');
}
