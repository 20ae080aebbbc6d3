// Synthesis cost of the DR-GAN generator: time per image and peak memory of one forward
// pass (stage 2, eval mode, no autograd, batch 1) at R = 256, 512, 1280 with the paper's
// widths (ngf 64) and the CPU presets' (ngf 32), its FLOPs (src/gan/flops.ts), and the
// achieved GFLOP/s against the dense matmul rate measured in the same process right after.
// Each configuration runs in its own child process, which resets its resident-set
// high-water mark after building the model, so the peak is the forward pass's own.
//   node --single-threaded-gc dist/bench/gan-synthesis.js [--resolutions 256,512,1280] [--ngf 64,32]
//     [--threads 2,1] [--repeats 2] [--library-max 512] [--json FILE]
// --repeats N: N timed forwards (the first is cold: one-time allocations and kernel set-up).
// --library-max R: also time src/synth's synthesize() (grade head, z, forward, 8-bit
// conversion, FOV mask) on a phantom vessel tree at resolutions up to R.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { makeConfig } from '../src/gan/config.js';
import { Generator } from '../src/gan/generator.js';
import { generatorFlops } from '../src/gan/flops.js';
import { phantomStructures } from '../src/synth/batch.js';
import { synthesize } from '../src/synth/synthesize.js';
import { matmulRate } from './matmul-rate.js';
import { resetPeak, statusKiB } from './process-memory.js';

interface ChildResult {
  resolution: number; ngf: number; threads: number;
  gflops: number; attentionGflops: number; parameters: number;
  /** Live libtorch tensor bytes after building the model and its inputs (weights, buffers, condition map, z). */
  modelMiB: number;
  rssBeforeMiB: number; peakMiB: number; peakReset: boolean;
  /** Seconds per forward, in order; [0] is cold. */
  forwardS: number[];
  /** Process CPU seconds (user + system, all threads) per forward. */
  forwardCpuS: number[];
  phantomS: number | null; librarySynthesizeS: number | null;
  matmulGflops: { median: number; best: number; perCpuSecond: number; n: number };
  loadStart: number; loadEnd: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function child(resolution: number, ngf: number, threads: number, repeats: number, library: boolean): Promise<ChildResult> {
  const loadStart = loadavg()[0];
  torch.setNumThreads(threads);
  torch.manualSeed(0);
  const cfg = makeConfig('paper', { resolution, generator: { ngf } });
  const G = new Generator(cfg, 2).eval();
  const count = generatorFlops(G);
  const c = torch.rand([1, 8, resolution, resolution]).gt(0.9).float();
  const z = torch.randn([1, cfg.generator.gradingVectorDim]);
  const modelMiB = torch.memoryStats().bytes / 2 ** 20;
  const peakReset = resetPeak();
  const rssBefore = statusKiB('VmRSS');
  const forwardS: number[] = [], forwardCpuS: number[] = [];
  let peak = 0;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now(), cpu0 = process.cpuUsage();
    torch.noGrad(() => torch.tidy(() => { G.forward(c, z, 0); }));
    const cpu = process.cpuUsage(cpu0);
    forwardS.push((performance.now() - t0) / 1000);
    forwardCpuS.push((cpu.user + cpu.system) / 1e6);
    if (i === 0) peak = statusKiB('VmHWM');
  }
  let phantomS: number | null = null, librarySynthesizeS: number | null = null;
  if (library) {
    const t0 = performance.now();
    const condition = await phantomStructures(1, resolution).get(0);
    const t1 = performance.now();
    synthesize({ generator: G, condition, gradingSpace: null, seed: 1, grade: 2 });
    phantomS = (t1 - t0) / 1000;
    librarySynthesizeS = (performance.now() - t1) / 1000;
  }
  const mm = matmulRate();
  const attention = count.layers.filter((l) => l.kind === 'attention');
  return {
    resolution, ngf, threads, gflops: count.flops / 1e9,
    attentionGflops: attention.reduce((a, l) => a + 2 * l.macs + l.otherFlops, 0) / 1e9,
    parameters: G.parameters().reduce((a, p) => a + p.numel, 0), modelMiB,
    rssBeforeMiB: rssBefore / 1024, peakMiB: peak / 1024, peakReset, forwardS, forwardCpuS, phantomS, librarySynthesizeS,
    matmulGflops: { median: mm.median, best: mm.best, perCpuSecond: mm.perCpuSecond, n: mm.n }, loadStart, loadEnd: loadavg()[0],
  };
}

const { values: opt } = parseArgs({ options: {
  resolutions: { type: 'string', default: '256,512,1280' },
  ngf: { type: 'string', default: '64,32' },
  threads: { type: 'string', default: '2,1' },
  repeats: { type: 'string', default: '2' },
  'library-max': { type: 'string', default: '512' },
  json: { type: 'string' },
  child: { type: 'string' },
} });
const list = (s: string, what: string) => s.split(',').map((v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${what}: "${v}" is not a positive integer`);
  return n;
});

if (opt.child) {
  const a = JSON.parse(opt.child) as { resolution: number; ngf: number; threads: number; repeats: number; library: boolean };
  process.stdout.write(JSON.stringify(await child(a.resolution, a.ngf, a.threads, a.repeats, a.library)) + '\n');
} else {
  const repeats = list(opt.repeats!, 'repeats')[0], libraryMax = Number(opt['library-max']);
  if (!Number.isInteger(libraryMax) || libraryMax < 0) throw new Error(`--library-max: "${opt['library-max']}" is not a non-negative integer (0 = never)`);
  const results: ChildResult[] = [];
  console.log(`DR-GAN synthesis, stage 2, eval, no grad, batch 1; load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${(await import('node:os')).cpus().length} CPUs`);
  console.log('R     ngf thr  GFLOP/img (attn)   cold s  warm s   cpu s | GFLOP/s  matmul  ratio | per CPU-s: GFLOP  matmul  ratio | weights+inputs MiB  peak MiB | phantom s  synthesize() s | load');
  for (const threads of list(opt.threads!, 'threads')) {
    for (const ngf of list(opt.ngf!, 'ngf')) {
      for (const R of list(opt.resolutions!, 'resolutions')) {
        const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify({ resolution: R, ngf, threads, repeats, library: R <= libraryMax })];
        const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 22 });
        if (r.status !== 0) throw new Error(`child for R=${R} ngf=${ngf} threads=${threads} failed (status ${r.status}, signal ${r.signal}):\n${r.stderr}`);
        const c = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
        results.push(c);
        // Warm runs when there are any, else the cold one.
        const timed = c.forwardS.length > 1 ? 1 : 0;
        const wall = median(c.forwardS.slice(timed)), cpu = median(c.forwardCpuS.slice(timed));
        const num = (v: number | null, w: number, d = 2) => (v === null ? '-' : v.toFixed(d)).padStart(w);
        console.log(`${String(R).padEnd(5)} ${String(ngf).padEnd(3)} ${String(threads).padEnd(3)} ${num(c.gflops, 9, 1)} (${(100 * c.attentionGflops / c.gflops).toFixed(0).padStart(2)}%) ` +
          `${num(c.forwardS[0], 8)} ${num(timed ? wall : null, 7)} ${num(cpu, 7)} | ${num(c.gflops / wall, 7, 1)} ${num(c.matmulGflops.median, 7, 1)} ${num(c.gflops / wall / c.matmulGflops.median, 6)} | ` +
          `${num(c.gflops / cpu, 15, 1)} ${num(c.matmulGflops.perCpuSecond, 7, 1)} ${num(c.gflops / cpu / c.matmulGflops.perCpuSecond, 6)} | ` +
          `${num(c.modelMiB, 18, 0)} ${num(c.peakMiB - c.rssBeforeMiB, 9, 0)}${c.peakReset ? ' ' : '*'}| ${num(c.phantomS, 9)} ${num(c.librarySynthesizeS, 15)} | ${c.loadStart.toFixed(1)}-${c.loadEnd.toFixed(1)}`);
      }
    }
  }
  console.log('GFLOP/s = GFLOP per image / warm wall time (the cold one with --repeats 1); matmul = median n=2048 float32 mm rate measured in the same child right after; ratio = GFLOP/s / matmul.');
  console.log('per CPU-s: the same with process CPU time (user + system, all threads) instead of wall time: less sensitive to other jobs on the machine.');
  console.log('peak-before = resident-set high-water mark during the first forward minus the resident set just before it (* = mark not resettable: since process start).');
  console.log(`load average at end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (opt.json) writeFileSync(opt.json, JSON.stringify(results, null, 2) + '\n');
}
