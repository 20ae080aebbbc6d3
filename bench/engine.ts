// Engine benchmarks, TypeScript (libtorch addon) against Python PyTorch on the same
// libtorch, side by side in one run: `npm run bench:engine` (add `-- --tfjs` for the
// tfjs comparison). Both sides pin the same thread count; TS and Python runs alternate so
// that the machine's noise falls on both. See docs/benchmarks.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import * as opOverhead from './engine/op-overhead.js';
import { GanTrainer } from './engine/gan.js';
import { PythonWorker, pythonScript, runPythonJson } from './engine/python.js';
import { median, msSince, summary } from './engine/stats.js';
import { readWeights } from './engine/weights.js';

// dist/bench/engine.js -> repository root
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOSS_TOLERANCE = 1e-4;

const { values: opt } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '1' },
    'op-iters': { type: 'string', default: '20000' },
    'op-repeats': { type: 'string', default: '5' },
    'skip-ops': { type: 'boolean', default: false },
    'skip-gan': { type: 'boolean', default: false },
    tfjs: { type: 'boolean', default: false },
    'tfjs-steps': { type: 'string', default: '2' },
    seed: { type: 'string', default: '1234' },
  },
});

function int(name: keyof typeof opt): number {
  const v = Number(opt[name]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer, got "${opt[name]}"`);
  return v;
}

const threads = int('threads');
torch.setNumThreads(threads);
// Children get the same pin (the Python scripts call torch.set_num_threads from argv too).
const childEnv = { ...process.env, DRGAN_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };

function header(): void {
  const cpu = cpus();
  console.log(`machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`threads: ts ${torch.getNumThreads()} (libtorch ${torch.buildInfo().parallel.split('\n')[0]})`);
}

function runOpOverhead(): void {
  const iters = int('op-iters'), repeats = int('op-repeats');
  const script = pythonScript(ROOT, 'op_overhead.py');
  const ts: opOverhead.OpOverhead = {};
  const py: opOverhead.OpOverhead = {};
  const merge = (into: opOverhead.OpOverhead, from: opOverhead.OpOverhead) => {
    for (const [k, v] of Object.entries(from)) if (Array.isArray(v)) into[k] = [...(into[k] ?? []), ...v];
  };
  for (let round = 0; round < 2; round++) { // interleaved: ts, python, ts, python
    merge(ts, opOverhead.measureTs(iters, repeats));
    merge(py, runPythonJson<opOverhead.OpOverhead>(script, [String(threads), String(iters), String(repeats)], childEnv));
  }
  for (const line of opOverhead.report(ts, py)) console.log(line);
}

interface GanResult { tsMs: number; pyMs: number }

async function runGan(): Promise<GanResult> {
  const dir = mkdtempSync(join(tmpdir(), 'drgan-bench-'));
  const worker = new PythonWorker(pythonScript(ROOT, 'gan_step.py'), [dir, String(threads), opt.seed!], childEnv);
  try {
    // Python writes the weights and inputs, then reports its first two steps' losses.
    const ref = await worker.read<{ losses: [number, number][]; torch: string; threads: number }>();
    console.log(`python: torch ${ref.torch}, ${ref.threads} threads`);
    const weights = readWeights(dir);

    const check = new GanTrainer(weights);
    const ours = [check.step(), check.step()];
    check.dispose();
    // Step 1's D loss sees identical weights and inputs; its G loss already sees D after one
    // Adam update, and step 2 two updates of both, so float rounding (the chunked attention
    // sums in another order than the full-map softmax) grows there: Adam's first update is
    // about lr * sign(grad), so a gradient near zero whose sign differs moves a weight by 2 lr.
    const diff = (i: number) => Math.max(Math.abs(ours[i][0] - ref.losses[i][0]), Math.abs(ours[i][1] - ref.losses[i][1]));
    const fmt = (l: [number, number]) => `D ${l[0].toFixed(6)} G ${l[1].toFixed(6)}`;
    console.log(`sanity step 1: ts ${fmt(ours[0])} | python ${fmt(ref.losses[0])} | max |diff| ${diff(0).toExponential(2)} (${diff(0) <= LOSS_TOLERANCE ? 'OK' : 'MISMATCH'}, tolerance ${LOSS_TOLERANCE})`);
    console.log(`sanity step 2: ts ${fmt(ours[1])} | python ${fmt(ref.losses[1])} | max |diff| ${diff(1).toExponential(2)} (after Adam updates; informative)`);

    const trainer = new GanTrainer(weights);
    const warmup = int('warmup'), rounds = int('rounds'), steps = int('steps');
    const tsSteps = (n: number) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        trainer.step();
        ms.push(msSince(t0));
      }
      return ms;
    };
    tsSteps(warmup);
    await worker.request(`time ${warmup}`);
    const ts: number[] = [], py: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const a = tsSteps(steps);
      const b = (await worker.request<{ ms: number[] }>(`time ${steps}`)).ms;
      ts.push(...a); py.push(...b);
      console.log(`  round ${r + 1}: ts ${a.map((x) => x.toFixed(0)).join(' ')} ms | python ${b.map((x) => x.toFixed(0)).join(' ')} ms`);
    }
    trainer.dispose();
    console.log(`GAN train step (128x128, batch 4, ngf=ndf=32), ms/step: ts ${summary(ts, 0)} | python ${summary(py, 0)}`);
    return { tsMs: median(ts), pyMs: median(py) };
  } finally {
    worker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  header();
  if (!opt['skip-ops']) runOpOverhead();
  let gan: GanResult | undefined;
  if (!opt['skip-gan']) gan = await runGan();
  if (opt.tfjs) {
    const { runTfjs } = await import('./tfjs/gan.js');
    const tfMs = await runTfjs(ROOT, int('tfjs-steps'), int('seed'));
    console.log(`tfjs (pure-JS CPU backend) ms/step: ${summary(tfMs, 0)}`);
    if (gan) console.log(`ratio tfjs/ts: ${(median(tfMs) / gan.tsMs).toFixed(2)}`);
  }
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (gan) console.log(`ratio ts/python: ${(gan.tsMs / gan.pyMs).toFixed(2)}`);
}

await main();
