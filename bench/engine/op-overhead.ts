// Part 1: the fixed cost of one tiny op (add of two 4-element tensors, relu of 64), where
// kernels take nanoseconds and the call path (argument conversion, dispatch, result
// wrapping, disposal) is everything. Same loop shape as bench/python/op_overhead.py.
import * as torch from '../../src/torch/index.js';
import { median } from './stats.js';

export interface OpOverhead {
  /** Microseconds per op, one entry per repeat. */
  [variant: string]: number[];
}

function perOpUs(fn: () => void, iters: number, repeats: number): number[] {
  for (let i = 0; i < iters / 10; i++) fn(); // warm-up: JIT tiers, allocator caches
  const out: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) fn();
    out.push(Number(process.hrtime.bigint() - t0) / iters / 1e3);
  }
  return out;
}

export function measureTs(iters: number, repeats: number): OpOverhead {
  torch.manualSeed(0);
  const a = torch.keep(torch.randn([4]));
  const b = torch.keep(torch.randn([4]));
  const x = torch.keep(torch.randn([64]));
  const result: OpOverhead = {
    // dispose() right away: the way library code is meant to run (explicit lifetimes)
    add: perOpUs(() => a.add(b).dispose(), iters, repeats),
    relu: perOpUs(() => x.relu().dispose(), iters, repeats),
    // left to the GC finalizers (the safety net): what careless user code costs
    'add (GC only)': perOpUs(() => void a.add(b), iters, repeats),
    // tidy() bookkeeping, one scope per 100 ops
    'add (tidy/100)': perOpUs(() => torch.tidy(() => { for (let i = 0; i < 100; i++) a.add(b); }), iters / 100, repeats).map((us) => us / 100),
  };
  a.dispose(); b.dispose(); x.dispose();
  return result;
}

export function report(ts: OpOverhead, py: OpOverhead): string[] {
  const lines = ['op overhead (us per op, median of repeats):'];
  for (const [name, samples] of Object.entries(ts)) {
    const base = name.split(' ')[0];
    const pyMed = py[base] ? median(py[base]) : NaN;
    const ratio = Number.isNaN(pyMed) ? '' : `   ratio ts/python ${(median(samples) / pyMed).toFixed(2)}`;
    lines.push(`  ${name.padEnd(16)} ts ${median(samples).toFixed(2).padStart(6)}   python ${pyMed.toFixed(2).padStart(6)}${ratio}`);
  }
  return lines;
}
