// Where synthesis memory at R = 1280 goes: the peak of one forward pass (eval, no grad,
// batch 1, one thread) as the code runs now, where each tidy() keeps every intermediate of
// the Sequentials inside it alive until it returns, against the same pass with each
// Sequential intermediate disposed as soon as the next layer has read it (Sequential's
// forward patched for the run; same image, checked by its sum). `--part local` runs G_l
// alone (seconds), `--part all` the whole generator (minutes at 1280). One child process
// per variant, its resident-set high-water mark reset before the pass.
//   node --single-threaded-gc dist/bench/gan-synthesis-memory.js [--part local|all] [--variants tidy,eager] [--resolution 1280] [--ngf 64]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { nn } from '../src/torch/index.js';
import { makeConfig } from '../src/gan/config.js';
import { Generator } from '../src/gan/generator.js';
import { resetPeak, statusKiB } from './process-memory.js';

type Variant = 'tidy' | 'eager';
type Part = 'local' | 'all';
interface ChildResult { peakMiB: number; cpuS: number; checksum: number }

/** Sequential.forward that frees each intermediate once the next layer has read it (never the input or the output). */
function eagerSequentials(): void {
  nn.Sequential.prototype.forward = function forward(this: nn.Sequential, x: torch.Tensor): torch.Tensor {
    let y = x;
    for (const m of this) {
      const next = m.forward(y) as torch.Tensor;
      if (y !== x && y !== next) y.dispose();
      y = next;
    }
    return y;
  };
}

function child(variant: Variant, part: Part, resolution: number, ngf: number): ChildResult {
  torch.setNumThreads(1);
  torch.manualSeed(0);
  const cfg = makeConfig('paper', { resolution, generator: { ngf } });
  const G = new Generator(cfg, 2).eval();
  const c = torch.rand([1, 8, resolution, resolution]).gt(0.9).float();
  const z = torch.randn([1, cfg.generator.gradingVectorDim]);
  const features = part === 'local' ? torch.randn([1, ngf, resolution / 2, resolution / 2]) : null;
  if (variant === 'eager') eagerSequentials();
  resetPeak();
  const before = statusKiB('VmRSS'), cpu0 = process.cpuUsage();
  const image = torch.noGrad(() => torch.tidy(() => (part === 'local' ? G.local!.forward(c, features!) : G.forward(c, z, 0).image)));
  const cpu = process.cpuUsage(cpu0);
  const peakMiB = (statusKiB('VmHWM') - before) / 1024;
  return { peakMiB, cpuS: (cpu.user + cpu.system) / 1e6, checksum: torch.tidy(() => image.double().sum().item()) };
}

const { values: opt } = parseArgs({ options: {
  part: { type: 'string', default: 'local' },
  variants: { type: 'string', default: 'tidy,eager' },
  resolution: { type: 'string', default: '1280' },
  ngf: { type: 'string', default: '64' },
  child: { type: 'string' },
} });
const resolution = Number(opt.resolution), ngf = Number(opt.ngf), part = opt.part as Part;
if (part !== 'local' && part !== 'all') throw new Error(`--part: "${opt.part}" is not local|all`);
if (opt.child) {
  process.stdout.write(JSON.stringify(child(opt.child as Variant, part, resolution, ngf)) + '\n');
} else {
  const variants = opt.variants!.split(',') as Variant[];
  for (const v of variants) if (v !== 'tidy' && v !== 'eager') throw new Error(`--variants: "${v}" is not tidy|eager`);
  console.log(`${part === 'local' ? 'G_l alone' : 'whole generator (stage 2)'} at R=${resolution}, ngf ${ngf}, eval, no grad, batch 1, 1 thread`);
  const results = variants.map((variant) => {
    const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', variant, '--part', part, '--resolution', String(resolution), '--ngf', String(ngf)];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`child ${variant} failed (status ${r.status}):\n${r.stderr}`);
    const c = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
    console.log(`${variant.padEnd(6)} peak - before ${c.peakMiB.toFixed(0).padStart(6)} MiB   cpu ${c.cpuS.toFixed(1)} s   image sum ${c.checksum.toFixed(3)}`);
    return c;
  });
  if (results.length === 2) {
    if (results[0].checksum !== results[1].checksum) throw new Error('gan-synthesis-memory: the two variants gave different images');
    console.log(`${variants[1]} / ${variants[0]} peak: ${(results[1].peakMiB / results[0].peakMiB).toFixed(2)} (same image)`);
  }
}
