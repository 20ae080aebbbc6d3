// Time per Adam step for a small GAN's parameter set (60 tensors, about 3M values) in
// TypeScript against Python's torch.optim.Adam (same libtorch, same thread count).
// Run: npx tsc -p . && node dist/bench/optim.js [steps] [rounds]
// Python and TypeScript alternate for several rounds and the fastest round of each is
// reported, so that load from other processes skews both sides alike.
import { spawnSync } from 'node:child_process';
import * as torch from '../src/torch/index.js';

const STEPS = Number(process.argv[2] ?? 20);
const ROUNDS = Number(process.argv[3] ?? 3);
const WARMUP = 5;
// 30 conv weights 105x105x3x3 and their biases: 2,979,900 values in 60 tensors.
const SHAPES: number[][] = [];
for (let i = 0; i < 30; i++) SHAPES.push([105, 105, 3, 3], [105]);
const total = SHAPES.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
const threads = torch.getNumThreads();

function timeTs(options: Partial<torch.optim.AdamOptions>): number {
  torch.manualSeed(0);
  const params = SHAPES.map((s) => torch.randn(s).requiresGrad_(true));
  params.forEach((p) => { p.grad = torch.randn(p.shape); });
  const opt = new torch.optim.Adam(params, { lr: 2e-4, betas: [0.5, 0.999], ...options });
  for (let i = 0; i < WARMUP; i++) opt.step();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < STEPS; i++) opt.step();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / STEPS;
  opt.disposeState();
  torch.dispose(params);
  return ms;
}

const PY = `
import json, sys, time, torch
torch.set_num_threads(${threads})
torch.manual_seed(0)
shapes = json.loads(sys.argv[1])
out = {}
for name, kw in [('single', dict(foreach=False)), ('foreach', dict(foreach=True)), ('amsgrad', dict(foreach=False, amsgrad=True))]:
    params = [torch.randn(s).requires_grad_(True) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape)
    opt = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999), **kw)
    for _ in range(${WARMUP}):
        opt.step()
    t0 = time.perf_counter()
    for _ in range(${STEPS}):
        opt.step()
    out[name] = (time.perf_counter() - t0) * 1000 / ${STEPS}
print(json.dumps(out))
`;

function timePython(): Record<string, number> {
  const py = spawnSync('/usr/bin/python3', ['-c', PY, JSON.stringify(SHAPES)], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`python reference failed: ${py.stderr}`);
  return JSON.parse(py.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

const best = { ts: Infinity, tsAms: Infinity, single: Infinity, foreach: Infinity, amsgrad: Infinity };
for (let r = 0; r < ROUNDS; r++) {
  const py = timePython();
  best.single = Math.min(best.single, py.single);
  best.foreach = Math.min(best.foreach, py.foreach);
  best.amsgrad = Math.min(best.amsgrad, py.amsgrad);
  best.ts = Math.min(best.ts, timeTs({}));
  best.tsAms = Math.min(best.tsAms, timeTs({ amsgrad: true }));
}
const pyMs = best;
const tsMs = best.ts;
const tsAms = best.tsAms;

console.log(`Adam step, ${SHAPES.length} tensors, ${total.toLocaleString('en')} values, ${threads} thread(s), ${STEPS} steps after ${WARMUP} warm-up, best of ${ROUNDS} rounds`);
console.log(`  TypeScript Adam:                 ${tsMs.toFixed(3)} ms/step`);
console.log(`  Python Adam (foreach=False):     ${pyMs.single.toFixed(3)} ms/step   ratio TS/Python ${(tsMs / pyMs.single).toFixed(2)}`);
console.log(`  Python Adam (foreach=True):      ${pyMs.foreach.toFixed(3)} ms/step   ratio TS/Python ${(tsMs / pyMs.foreach).toFixed(2)}`);
console.log(`  TypeScript Adam amsgrad:         ${tsAms.toFixed(3)} ms/step`);
console.log(`  Python Adam amsgrad:             ${pyMs.amsgrad.toFixed(3)} ms/step   ratio TS/Python ${(tsAms / pyMs.amsgrad).toFixed(2)}`);
