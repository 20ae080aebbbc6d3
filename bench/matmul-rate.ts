// The machine's dense float32 matmul rate with the current thread setting: the yardstick a
// network's achieved GFLOP/s is compared with. torch.mm of two n x n matrices is 2 n^3 FLOPs.
import * as torch from '../src/torch/index.js';

export interface MatmulRate {
  n: number;
  /** GFLOP/s of each timed product, in order. */
  samples: number[];
  median: number;
  best: number;
  /** GFLOP per second of process CPU time over all timed products (less sensitive to other jobs than wall time). */
  perCpuSecond: number;
}

/** `reps` timed products of n x n float32 matrices after one untimed one. */
export function matmulRate(n = 2048, reps = 5): MatmulRate {
  return torch.noGrad(() => torch.tidy(() => {
    const a = torch.randn([n, n]), b = torch.randn([n, n]);
    a.mm(b).dispose();
    const samples: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      a.mm(b).dispose();
      samples.push((2 * n ** 3) / ((performance.now() - t0) / 1000) / 1e9);
    }
    const cpu = process.cpuUsage(cpu0);
    const sorted = [...samples].sort((x, y) => x - y);
    return {
      n, samples, median: sorted[Math.floor(sorted.length / 2)], best: sorted[sorted.length - 1],
      perCpuSecond: (reps * 2 * n ** 3) / ((cpu.user + cpu.system) / 1e6) / 1e9,
    };
  }));
}
