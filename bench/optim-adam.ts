// Adam step over the DR-GAN generator's parameters: the multi-tensor path (foreach: true,
// _foreach_* ops, one native call per op for the whole list) against the per-parameter
// loop (foreach: false, ~9 native calls per parameter), alternating in one process so that
// load from other processes skews both alike. Reports the median ms per step of each, their
// ratio, and the native calls one step makes (operator calls, and all addon calls including
// metadata reads such as p.grad and p.device).
//   node --single-threaded-gc dist/bench/optim-adam.js [--preset cpu128] [--resolution R] [--stage 2]
//        [--steps 5] [--rounds 7] [--threads 1] [--amsgrad]
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { native } from '../src/torch/native.js';
import { makeConfig, type PresetName } from '../src/gan/config.js';
import { Generator } from '../src/gan/generator.js';

const { values } = parseArgs({ options: {
  preset: { type: 'string', default: 'cpu128' },
  resolution: { type: 'string' },
  stage: { type: 'string', default: '2' },
  steps: { type: 'string', default: '5' },
  rounds: { type: 'string', default: '7' },
  threads: { type: 'string', default: '1' },
  amsgrad: { type: 'boolean', default: false },
} });
const steps = Number(values.steps), rounds = Number(values.rounds);
torch.setNumThreads(Number(values.threads));

const cfg = makeConfig(values.preset as PresetName, values.resolution ? { resolution: Number(values.resolution) } : {});
torch.manualSeed(0);
const G = new Generator(cfg, Number(values.stage) as 1 | 2);
const params = G.parameters();
for (const p of params) p.grad = torch.randn(p.shape);
const numel = params.reduce((a, p) => a + p.numel, 0);

const options = { lr: cfg.train.lr, betas: cfg.train.betas, amsgrad: values.amsgrad };
// Two optimisers over the same parameters, each with its own moments: only the path differs.
const opts = { foreach: new torch.optim.Adam(params, { ...options, foreach: true }), loop: new torch.optim.Adam(params, { ...options, foreach: false }) };
type Path = keyof typeof opts;

/** Addon calls during one step: operator calls, and all calls into the addon. */
function countCalls(path: Path): { ops: number; all: number } {
  const addon = native as unknown as Record<string, unknown>;
  const originals = new Map<string, (...a: unknown[]) => unknown>();
  let ops = 0, all = 0;
  for (const [k, f] of Object.entries(addon)) {
    if (typeof f !== 'function') continue;
    originals.set(k, f as (...a: unknown[]) => unknown);
    addon[k] = (...a: unknown[]) => { all++; if (k === 'callOp') ops++; return (f as (...a: unknown[]) => unknown)(...a); };
  }
  try {
    opts[path].step();
  } finally {
    for (const [k, f] of originals) addon[k] = f;
  }
  return { ops, all };
}

function timeSteps(path: Path): number {
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) opts[path].step();
  return (performance.now() - t0) / steps;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// Warm-up: creates the moments (two zeros_like per parameter) and the thread pools.
for (const path of ['foreach', 'loop'] as const) opts[path].step();
const calls = { foreach: countCalls('foreach'), loop: countCalls('loop') };
const times: Record<Path, number[]> = { foreach: [], loop: [] };
for (let r = 0; r < rounds; r++) {
  const order: Path[] = r % 2 === 0 ? ['foreach', 'loop'] : ['loop', 'foreach'];
  for (const path of order) times[path].push(timeSteps(path));
}

const med = { foreach: median(times.foreach), loop: median(times.loop) };
const load = (await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`Adam step over the DR-GAN generator (preset ${values.preset}, R=${cfg.resolution}, stage ${values.stage}): ${params.length} tensors, ${numel.toLocaleString('en')} values; amsgrad ${values.amsgrad}; ${torch.getNumThreads()} thread(s); ${rounds} rounds of ${steps} steps, alternating; load average ${load}`);
console.log('path      median ms/step  min ms/step  operator calls/step  addon calls/step');
for (const path of ['foreach', 'loop'] as const) {
  console.log(`${path.padEnd(9)} ${med[path].toFixed(2).padStart(14)}  ${Math.min(...times[path]).toFixed(2).padStart(11)}  ${String(calls[path].ops).padStart(19)}  ${String(calls[path].all).padStart(16)}`);
}
console.log(`loop / foreach: ${(med.loop / med.foreach).toFixed(2)}x time, ${(calls.loop.ops / calls.foreach.ops).toFixed(1)}x operator calls, ${(calls.loop.all / calls.foreach.all).toFixed(1)}x addon calls`);
for (const o of Object.values(opts)) o.disposeState();
