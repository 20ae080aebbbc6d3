// Where synthesis memory at R = 1280 goes: peak of the local enhancer G_l alone (eval, no
// grad, batch 1) as it runs now, where one tidy() keeps every intermediate of its
// Sequentials alive until it returns, against the same layers with each intermediate
// disposed as soon as the next layer has read it (same output, checked). Each variant runs
// in its own child process with its resident-set high-water mark reset before the pass.
//   node --single-threaded-gc dist/bench/gan-local-memory.js [--resolution 1280] [--ngf 64]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { nn } from '../src/torch/index.js';
import { makeConfig } from '../src/gan/config.js';
import { Generator } from '../src/gan/generator.js';
import { resetPeak, statusKiB } from './process-memory.js';

type Variant = 'tidy' | 'eager';

/** A Sequential's forward that frees each intermediate once consumed (never the input). */
function eagerForward(seq: nn.Sequential, x: torch.Tensor): torch.Tensor {
  let y = x;
  for (const m of seq) {
    const next = m.forward(y) as torch.Tensor;
    if (y !== x) y.dispose();
    y = next;
  }
  return y;
}

function child(variant: Variant, resolution: number, ngf: number): { peakMiB: number; cpuS: number; checksum: number } {
  torch.setNumThreads(1);
  torch.manualSeed(0);
  const G = new Generator(makeConfig('paper', { resolution, generator: { ngf } }), 2).eval();
  const local = G.local!;
  const c = torch.rand([1, 8, resolution, resolution]).gt(0.9).float();
  const features = torch.randn([1, ngf, resolution / 2, resolution / 2]);
  resetPeak();
  const before = statusKiB('VmRSS'), cpu0 = process.cpuUsage();
  const out = torch.noGrad(() => {
    if (variant === 'tidy') return torch.tidy(() => local.forward(c, features));
    const down = eagerForward(local.down, c);
    const h = down.add(features);
    down.dispose();
    if (local.residual.length > 0) throw new Error('gan-local-memory: the eager variant does not model G_l residual blocks');
    const image = eagerForward(local.up, h);
    h.dispose();
    return image;
  });
  const cpu = process.cpuUsage(cpu0);
  const peakMiB = (statusKiB('VmHWM') - before) / 1024;
  return { peakMiB, cpuS: (cpu.user + cpu.system) / 1e6, checksum: torch.tidy(() => out.double().sum().item()) };
}

const { values: opt } = parseArgs({ options: {
  resolution: { type: 'string', default: '1280' },
  ngf: { type: 'string', default: '64' },
  child: { type: 'string' },
} });
const resolution = Number(opt.resolution), ngf = Number(opt.ngf);
if (opt.child) {
  process.stdout.write(JSON.stringify(child(opt.child as Variant, resolution, ngf)) + '\n');
} else {
  console.log(`G_l alone at R=${resolution}, ngf ${ngf}, eval, no grad, batch 1, 1 thread`);
  const results = (['tidy', 'eager'] as const).map((variant) => {
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', variant, '--resolution', String(resolution), '--ngf', String(ngf)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`child ${variant} failed (status ${r.status}):\n${r.stderr}`);
    const c = JSON.parse(r.stdout.trim().split('\n').pop()!) as ReturnType<typeof child>;
    console.log(`${variant.padEnd(6)} peak - before ${c.peakMiB.toFixed(0).padStart(6)} MiB   cpu ${c.cpuS.toFixed(1)} s   output sum ${c.checksum.toFixed(3)}`);
    return c;
  });
  if (results[0].checksum !== results[1].checksum) throw new Error('gan-local-memory: the two variants gave different images');
  console.log(`eager / tidy peak: ${(results[1].peakMiB / results[0].peakMiB).toFixed(2)} (same output)`);
}
