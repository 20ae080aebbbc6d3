// Where synthesis memory goes: the peak of one forward pass (eval, no grad, batch 1, one
// thread) with the code as it is, where Sequential.forward and LocalEnhancer.forward free
// each intermediate once the next layer has read it, against `before`: the same pass with
// both forwards patched back to their previous form, where every intermediate stays alive
// until the enclosing tidy() returns (same image, checked by its sum). `--part local` runs
// G_l alone (seconds), `--part all` the whole generator (minutes at 1280). One child
// process per variant, its resident-set high-water mark reset before the pass; the load
// average is printed at the start and end of each child.
//   node --single-threaded-gc dist/bench/gan-synthesis-memory.js [--part local|all] [--variants before,after] [--resolution 1280] [--ngf 64]
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { nn } from '../src/torch/index.js';
import { makeConfig } from '../src/gan/config.js';
import { Generator, LocalEnhancer } from '../src/gan/generator.js';
import { resetPeak, statusKiB } from './process-memory.js';

type Variant = 'before' | 'after';
type Part = 'local' | 'all';
interface ChildResult { peakMiB: number; cpuS: number; checksum: number; load: [number, number] }

/** The forwards as they were before intermediates were freed early: all of them live until the tidy ends. */
function previousForwards(): void {
  nn.Sequential.prototype.forward = function forward(this: nn.Sequential, x: torch.Tensor): torch.Tensor {
    let y = x;
    for (const m of this) y = m.forward(y) as torch.Tensor;
    return y;
  };
  LocalEnhancer.prototype.forward = function forward(this: LocalEnhancer, c: torch.Tensor, globalFeatures: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      const h = (this.down.forward(c) as torch.Tensor).add(globalFeatures);
      return this.up.forward(this.residual.forward(h)) as torch.Tensor;
    });
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
  if (variant === 'before') previousForwards();
  const load0 = loadavg()[0];
  resetPeak();
  const before = statusKiB('VmRSS'), cpu0 = process.cpuUsage();
  const image = torch.noGrad(() => torch.tidy(() => (part === 'local' ? G.local!.forward(c, features!) : G.forward(c, z, 0).image)));
  const cpu = process.cpuUsage(cpu0);
  const peakMiB = (statusKiB('VmHWM') - before) / 1024;
  return { peakMiB, cpuS: (cpu.user + cpu.system) / 1e6, checksum: torch.tidy(() => image.double().sum().item()), load: [load0, loadavg()[0]] };
}

const { values: opt } = parseArgs({ options: {
  part: { type: 'string', default: 'local' },
  variants: { type: 'string', default: 'before,after' },
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
  for (const v of variants) if (v !== 'before' && v !== 'after') throw new Error(`--variants: "${v}" is not before|after`);
  console.log(`${part === 'local' ? 'G_l alone' : 'whole generator (stage 2)'} at R=${resolution}, ngf ${ngf}, eval, no grad, batch 1, 1 thread; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const results = variants.map((variant) => {
    const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', variant, '--part', part, '--resolution', String(resolution), '--ngf', String(ngf)];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`child ${variant} failed (status ${r.status}):\n${r.stderr}`);
    const c = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
    console.log(`${variant.padEnd(6)} peak - before ${c.peakMiB.toFixed(0).padStart(6)} MiB   cpu ${c.cpuS.toFixed(1)} s   image sum ${c.checksum.toFixed(3)}   load ${c.load[0].toFixed(1)}-${c.load[1].toFixed(1)}`);
    return c;
  });
  if (results.length === 2) {
    if (results[0].checksum !== results[1].checksum) throw new Error('gan-synthesis-memory: the two variants gave different images');
    console.log(`${variants[1]} / ${variants[0]}: peak ${(results[1].peakMiB / results[0].peakMiB).toFixed(2)}, cpu ${(results[1].cpuS / results[0].cpuS).toFixed(2)} (same image)`);
  }
}
