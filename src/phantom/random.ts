// The phantom's own seeded PRNG (xoshiro128**, seeded through splitmix32). Every random choice
// in a phantom sample draws from a stream named by (seed, index, purpose), so a sample depends
// only on its own key and one part of it (say, the photo settings) never shifts another.

/** One splitmix32 step: a strong 32-bit mixer, used to hash keys and to seed xoshiro. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Hashes a key of numbers and strings to 32 bits. Numbers may be any integer up to 2^53. */
export function hashKey(keys: readonly (number | string)[]): number {
  let h = 0x2545f491;
  const feed = (v: number) => {
    h = mix32(h ^ v);
  };
  for (const k of keys) {
    if (typeof k === 'number') {
      if (!Number.isFinite(k)) throw new Error(`random key ${k} is not finite`);
      const lo = k >>> 0;
      const hi = Math.floor(k / 0x100000000) >>> 0;
      feed(lo);
      feed(hi ^ 0x6a09e667);
    } else {
      feed(0x51ed270b ^ k.length);
      for (let i = 0; i < k.length; i++) feed(k.charCodeAt(i));
    }
  }
  return h;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  /** A stream named by its key, e.g. `Rng.for(seed, index, 'vessels')`. */
  static for(...keys: (number | string)[]): Rng {
    return new Rng(hashKey(keys));
  }

  constructor(seed32: number) {
    let x = seed32 >>> 0;
    const next = () => (x = mix32(x));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // xoshiro must never hold the all-zero state.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  uint32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / 0x100000000;
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  sign(): number {
    return this.float() < 0.5 ? -1 : 1;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)];
  }

  /** Standard normal (Box-Muller, the second value kept for the next call). */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + sd * z;
    }
    const u = 1 - this.float();
    const v = this.float();
    const m = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = m * Math.sin(2 * Math.PI * v);
    return mean + sd * m * Math.cos(2 * Math.PI * v);
  }

  /** Index drawn with probability proportional to weights (which need not sum to 1). */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let u = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    // Float rounding can leave u at ~0 after the last positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    throw new Error('weighted: all weights are zero');
  }

  /** A new independent stream derived from this one and a name. */
  fork(name: string): Rng {
    return new Rng(hashKey([this.uint32(), name]));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
