// Keeps decoded values (the loader's samples) in memory until a byte budget is spent, first
// decoded first kept, and never evicts: with a shuffled order every sample is equally likely
// next, so an LRU would only churn, and a fixed set keeps memory predictable. Values past the
// budget are decoded on every request. A decode in progress is shared, so a key asked for by two
// prefetched batches at once is decoded once and kept once. A failed decode is not kept (the
// next request tries again, and reports the error again).

export interface CacheStats {
  /** Values kept, and their bytes (sizeOf). */
  samples: number;
  bytes: number;
  budget: number;
  /** Requests answered without a decode of their own: a kept value or a decode in progress. */
  hits: number;
  /** Decodes started. */
  misses: number;
}

export class DecodeCache<K, V> {
  private readonly kept = new Map<K, V>();
  private readonly pending = new Map<K, Promise<V>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(readonly budget: number, private readonly sizeOf: (v: V) => number) {
    if (!(budget >= 0) || !Number.isFinite(budget)) throw new RangeError(`cache budget must be a finite number of bytes >= 0, got ${budget}`);
  }

  /** The kept value for key, or load()'s (kept if it fits the budget). Callers must not modify it. */
  get(key: K, load: () => Promise<V>): Promise<V> {
    const v = this.kept.get(key);
    if (v !== undefined) {
      this.hits++;
      return Promise.resolve(v);
    }
    const p = this.pending.get(key);
    if (p) {
      this.hits++;
      return p;
    }
    this.misses++;
    const q = load()
      .then((value) => {
        const n = this.sizeOf(value);
        if (this.bytes + n <= this.budget) {
          this.kept.set(key, value);
          this.bytes += n;
        }
        return value;
      })
      // Runs after the set below (a later microtask), also when load() fails.
      .finally(() => this.pending.delete(key));
    this.pending.set(key, q);
    return q;
  }

  stats(): CacheStats {
    return { samples: this.kept.size, bytes: this.bytes, budget: this.budget, hits: this.hits, misses: this.misses };
  }
}
