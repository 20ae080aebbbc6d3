// The latent grading space (method.md section 1, step 2): per ICDR grade i, a Gaussian
// N(mu_i, var_i) over the grader's pooled features (diagonal by default [decision]; full
// covariance optional). DR-GAN draws its grading vector from the Gaussian of the wanted grade.
//
// Statistics are accumulated in float64, batch by batch, by merging each batch's mean and
// sum of squared deviations (Chan et al.), so a large set never has to sit in memory and no
// sum-of-squares cancellation occurs. Variances are unbiased (divide by n - 1), as torch.var;
// a grade seen once has variance 0.
//
// File: safetensors with "mean.<g>", "var.<g>" (and "cov.<g>") as float32 [D] ([D, D]), and
// metadata "drgan.grading_space" = {dim, numGrades, counts, covariance, source}.
import * as torch from '../torch/index.js';
import { SeededStream } from '../eval/seeded.js';

type Tensor = torch.Tensor;

export const GRADING_SPACE_META_KEY = 'drgan.grading_space';

interface GradeStats {
  n: number;
  mean: Tensor; // float64 [D]
  m2: Tensor; // float64 [D] (diagonal) sum of squared deviations
  c2: Tensor | null; // float64 [D, D] co-moment (full covariance)
}

/** Streams features in and yields a GradingSpace. */
export class GradingSpaceAccumulator {
  private readonly stats: (GradeStats | null)[];

  constructor(readonly dim: number, readonly numGrades = 5, readonly covariance = false) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`GradingSpaceAccumulator: dim must be a positive integer, got ${dim}`);
    if (!Number.isInteger(numGrades) || numGrades < 1) throw new Error(`GradingSpaceAccumulator: numGrades must be a positive integer, got ${numGrades}`);
    this.stats = new Array(numGrades).fill(null);
  }

  /** features [N, D]; grades: N labels (-1 = ungraded, ignored). */
  add(features: Tensor, grades: ArrayLike<number>): void {
    const s = features.shape;
    if (s.length !== 2 || s[1] !== this.dim) throw new Error(`GradingSpaceAccumulator.add: expected features [N, ${this.dim}], got shape [${s.join(', ')}]`);
    if (grades.length !== s[0]) throw new Error(`GradingSpaceAccumulator.add: ${s[0]} feature rows but ${grades.length} grades`);
    const byGrade = new Map<number, number[]>();
    for (let i = 0; i < grades.length; i++) {
      const g = grades[i];
      if (g === -1) continue;
      if (!Number.isInteger(g) || g < 0 || g >= this.numGrades) throw new Error(`GradingSpaceAccumulator.add: grade ${g} at row ${i} is outside 0..${this.numGrades - 1}`);
      if (!byGrade.has(g)) byGrade.set(g, []);
      byGrade.get(g)!.push(i);
    }
    torch.noGrad(() => {
      for (const [g, rows] of byGrade) {
        torch.tidy(() => {
          const x = features.indexSelect(0, torch.tensor(Int32Array.from(rows)).long()).double();
          const nb = rows.length;
          const meanB = x.mean(0);
          const dev = x.sub(meanB);
          const m2B = dev.square().sum(0);
          const c2B = this.covariance ? dev.transpose(0, 1).matmul(dev) : null;
          const old = this.stats[g];
          if (!old) {
            this.stats[g] = { n: nb, mean: torch.keep(meanB), m2: torch.keep(m2B), c2: c2B ? torch.keep(c2B) : null };
            return;
          }
          const n = old.n + nb;
          const delta = meanB.sub(old.mean);
          const mean = old.mean.add(delta.mul(nb / n));
          const m2 = old.m2.add(m2B).add(delta.square().mul((old.n * nb) / n));
          const c2 = old.c2 && c2B ? old.c2.add(c2B).add(delta.unsqueeze(1).mul(delta.unsqueeze(0)).mul((old.n * nb) / n)) : null;
          old.mean.dispose(); old.m2.dispose(); old.c2?.dispose();
          this.stats[g] = { n, mean: torch.keep(mean), m2: torch.keep(m2), c2: c2 ? torch.keep(c2) : null };
        });
      }
    });
  }

  /** The fitted space (the accumulator stays usable). */
  finish(source = ''): GradingSpace {
    const means: (Tensor | null)[] = [];
    const vars: (Tensor | null)[] = [];
    const covs: (Tensor | null)[] = [];
    const counts: number[] = [];
    torch.noGrad(() => {
      for (const s of this.stats) {
        counts.push(s?.n ?? 0);
        if (!s) { means.push(null); vars.push(null); covs.push(null); continue; }
        const denom = Math.max(1, s.n - 1);
        means.push(torch.keep(s.mean.float()));
        vars.push(torch.keep(s.m2.div(denom).float()));
        covs.push(s.c2 ? torch.keep(s.c2.div(denom).float()) : null);
      }
    });
    return new GradingSpace(this.dim, counts, means, vars, this.covariance ? covs : null, source);
  }

  dispose(): void {
    for (const s of this.stats) { s?.mean.dispose(); s?.m2.dispose(); s?.c2?.dispose(); }
  }
}

/** What a grading space file's metadata holds (besides its tensors). */
export interface GradingSpaceMeta { dim: number; numGrades: number; counts: number[]; covariance: boolean; source?: string }

export class GradingSpace {
  constructor(
    readonly dim: number,
    /** Samples per grade that the statistics came from. */
    readonly counts: number[],
    /** Per grade: float32 [D], null where the grade had no samples. */
    readonly means: (Tensor | null)[],
    readonly variances: (Tensor | null)[],
    /** Per grade [D, D] when fitted with full covariance. */
    readonly covariances: (Tensor | null)[] | null,
    /** Where the features came from (grader file, data set), for the record. */
    readonly source = '',
  ) {}

  get numGrades(): number {
    return this.counts.length;
  }

  private checkGrade(grade: number, what: string): void {
    if (!Number.isInteger(grade) || grade < 0 || grade >= this.numGrades) throw new Error(`GradingSpace.${what}: grade must be an integer in 0..${this.numGrades - 1}, got ${grade}`);
    if (this.counts[grade] === 0) throw new Error(`GradingSpace.${what}: grade ${grade} had no samples when the space was fitted (counts per grade: ${this.counts.join(', ')}); it has no Gaussian to draw from`);
  }

  /**
   * n grading vectors [n, D] of a grade, drawn from its Gaussian with a stream of their own
   * (seed fixes them; the global generator is left as it was). `full` uses the covariance
   * (Cholesky factor, with jitter if it is singular) when the space has one.
   */
  sample(grade: number, n: number, seed: number, o: { full?: boolean } = {}): Tensor {
    this.checkGrade(grade, 'sample');
    if (!Number.isInteger(n) || n < 1) throw new Error(`GradingSpace.sample: n must be a positive integer, got ${n}`);
    const full = o.full ?? false;
    if (full && !this.covariances?.[grade]) throw new Error('GradingSpace.sample: full covariance asked for, but the space was fitted without it');
    const stream = new SeededStream(seed);
    try {
      const z = stream.draw(() => torch.randn([n, this.dim]));
      return torch.tidy(() => {
        const mean = this.means[grade]!;
        if (!full) return z.mul(this.variances[grade]!.sqrt()).add(mean);
        return z.double().matmul(choleskyWithJitter(this.covariances![grade]!.double()).transpose(0, 1)).float().add(mean);
      });
    } finally {
      stream.dispose();
    }
  }

  /** The space as named tensors (borrowed, not copies) and JSON metadata: what save writes and fromTensors reads. */
  toTensors(): { tensors: Map<string, Tensor>; meta: GradingSpaceMeta } {
    const tensors = new Map<string, Tensor>();
    this.means.forEach((m, g) => {
      if (!m) return;
      tensors.set(`mean.${g}`, m);
      tensors.set(`var.${g}`, this.variances[g]!);
      const c = this.covariances?.[g];
      if (c) tensors.set(`cov.${g}`, c);
    });
    return { tensors, meta: { dim: this.dim, numGrades: this.numGrades, counts: this.counts, covariance: this.covariances !== null, source: this.source } };
  }

  save(path: string): void {
    const { tensors, meta } = this.toTensors();
    torch.io.saveSafetensors(path, tensors, { format: 'pt', [GRADING_SPACE_META_KEY]: JSON.stringify(meta) });
  }

  static load(path: string): GradingSpace {
    const header = torch.io.readSafetensorsHeader(path);
    const raw = header.metadata[GRADING_SPACE_META_KEY];
    if (raw === undefined) throw new Error(`${path}: not a grading space file (no "${GRADING_SPACE_META_KEY}" metadata; write one with drgan latent)`);
    const all = torch.io.loadSafetensors(path);
    try {
      return GradingSpace.fromTensors(all, JSON.parse(raw) as GradingSpaceMeta, path);
    } finally {
      for (const t of all.values()) t.dispose();
    }
  }

  /**
   * A space from named tensors and metadata (a grading space file, or one embedded in an
   * exported generator). The tensors are copied: the caller still owns and frees its own.
   * `name` says where they came from in errors.
   */
  static fromTensors(all: ReadonlyMap<string, Tensor>, meta: GradingSpaceMeta, name: string): GradingSpace {
    if (!Number.isInteger(meta.dim) || meta.dim < 1) throw new Error(`${name}: grading space metadata "dim" must be a positive integer, got ${JSON.stringify(meta.dim)}`);
    if (!Array.isArray(meta.counts) || meta.counts.length !== meta.numGrades) throw new Error(`${name}: metadata counts must list ${meta.numGrades} numbers`);
    const take = (k: string, shape: number[], need: boolean): Tensor | null => {
      const t = all.get(k) ?? null;
      if (!t) {
        if (need) throw new Error(`${name}: missing tensor "${k}"`);
        return null;
      }
      if (t.shape.join(',') !== shape.join(',')) throw new Error(`${name}: "${k}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
      return torch.keep(t.clone());
    };
    const D = meta.dim;
    const has = meta.counts.map((c) => c > 0);
    const taken: Tensor[] = [];
    const keepTaken = (t: Tensor | null) => { if (t) taken.push(t); return t; };
    try {
      return new GradingSpace(
        D, meta.counts,
        has.map((h, g) => keepTaken(h ? take(`mean.${g}`, [D], true) : null)),
        has.map((h, g) => keepTaken(h ? take(`var.${g}`, [D], true) : null)),
        meta.covariance ? has.map((h, g) => keepTaken(h ? take(`cov.${g}`, [D, D], true) : null)) : null,
        meta.source ?? '',
      );
    } catch (err) {
      for (const t of taken) t.dispose();
      throw err;
    }
  }

  /** An independent copy (its own tensors), for a holder that frees what it is given. */
  copy(): GradingSpace {
    const { tensors, meta } = this.toTensors();
    return GradingSpace.fromTensors(tensors, meta, 'grading space copy');
  }

  dispose(): void {
    for (const t of [...this.means, ...this.variances, ...(this.covariances ?? [])]) t?.dispose();
  }
}

const CHOLESKY = torch.aten('linalg_cholesky_ex');
const TRACE = torch.aten('trace');

/** Lower Cholesky factor of a covariance, adding growing diagonal jitter until it succeeds. */
function choleskyWithJitter(cov: Tensor): Tensor {
  const d = cov.shape[0];
  const scale = Math.max(1e-12, (TRACE(cov) as Tensor).item() / d);
  for (const jitter of [0, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2]) {
    const a = jitter === 0 ? cov : cov.add(torch.eye(d, d, { dtype: 'float64' }).mul(jitter * scale));
    const [l, info] = CHOLESKY(a, false, false) as [Tensor, Tensor];
    if (info.item() === 0) return l;
  }
  throw new Error('GradingSpace.sample: the covariance is not positive semi-definite, even with jitter');
}
