// The order of samples in one epoch: a pure function of (seed, epoch), so a run can be
// reproduced and resumed mid-training. Class-balanced mode draws a grade uniformly, then a
// sample of that grade (with replacement): rare grades 3-4 (~2% each in EyePACS) are seen as
// often as grade 0. Ungraded samples form one more class of their own there.
import { mixSeed, mulberry32, shuffleInPlace } from './rng.js';

export interface OrderOptions {
  seed: number;
  shuffle: boolean;
  balanced: boolean;
}

export function epochOrder(grades: readonly (number | null)[], epoch: number, o: OrderOptions): number[] {
  const n = grades.length;
  const rand = mulberry32(mixSeed(o.seed, epoch, 0x5a3e));
  if (o.balanced) {
    const byClass = new Map<number, number[]>();
    grades.forEach((g, i) => {
      const k = g ?? -1;
      if (!byClass.has(k)) byClass.set(k, []);
      byClass.get(k)!.push(i);
    });
    const classes = [...byClass.keys()].sort((a, b) => a - b).map((k) => byClass.get(k)!);
    return Array.from({ length: n }, () => {
      const c = classes[Math.floor(rand() * classes.length)];
      return c[Math.floor(rand() * c.length)];
    });
  }
  const order = Array.from({ length: n }, (_, i) => i);
  return o.shuffle ? shuffleInPlace(order, rand) : order;
}
