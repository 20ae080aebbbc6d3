// Across-seed summaries of grading results and the tables they are printed in, in the layout
// of the paper's Tables II-V (method.md section 9). Kept apart from the experiment runners
// so that the arithmetic can be checked with hand numbers.
import type { GradingReport } from '../eval/grading-metrics.js';

export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); 0 for a single value. */
  std: number;
  /** Values that entered (finite ones only). */
  n: number;
}

/**
 * Mean and sample standard deviation of the finite values; NaN entries (e.g. the TPR of a
 * grade absent from a test set) are left out, and if none is left the result is NaN.
 */
export function meanStd(values: readonly number[]): MeanStd {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { mean: Number.NaN, std: Number.NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  if (v.length === 1) return { mean, std: 0, n: 1 };
  const ss = v.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (v.length - 1)), n: v.length };
}

export interface GradingSummary {
  runs: number;
  accuracy: MeanStd;
  kappa: MeanStd;
  /** Per class. */
  tpr: MeanStd[];
}

/** Summary over seeds of one setting's grading reports. */
export function summarizeReports(reports: readonly GradingReport[]): GradingSummary {
  if (reports.length === 0) throw new Error('summarizeReports: no reports to summarise');
  const K = reports[0].tpr.length;
  reports.forEach((r, i) => { if (r.tpr.length !== K) throw new Error(`summarizeReports: report ${i} has ${r.tpr.length} classes, report 0 has ${K}`); });
  return {
    runs: reports.length,
    accuracy: meanStd(reports.map((r) => r.accuracy)),
    kappa: meanStd(reports.map((r) => r.kappa)),
    tpr: Array.from({ length: K }, (_, c) => meanStd(reports.map((r) => r.tpr[c]))),
  };
}

/** "86.24 ± 0.31" in percent (the paper's unit), "-" where undefined. */
export function pct(m: MeanStd, digits = 2): string {
  if (!Number.isFinite(m.mean)) return '-';
  return m.n > 1 ? `${(100 * m.mean).toFixed(digits)} ± ${(100 * m.std).toFixed(digits)}` : (100 * m.mean).toFixed(digits);
}

/** "0.9376 ± 0.0123" as a rate, "-" where undefined. */
export function rate(m: MeanStd, digits = 4): string {
  if (!Number.isFinite(m.mean)) return '-';
  return m.n > 1 ? `${m.mean.toFixed(digits)} ± ${m.std.toFixed(digits)}` : m.mean.toFixed(digits);
}

/** A GitHub-flavoured Markdown table whose columns are padded so it also reads as plain text. */
export function markdownTable(header: string[], rows: string[][]): string {
  rows.forEach((r, i) => { if (r.length !== header.length) throw new Error(`markdownTable: row ${i} has ${r.length} cells, the header ${header.length}`); });
  const widths = header.map((h, c) => Math.max(3, [...h].length, ...rows.map((r) => [...r[c]].length)));
  const line = (cells: string[]) => '| ' + cells.map((s, c) => s + ' '.repeat(widths[c] - [...s].length)).join(' | ') + ' |';
  return [line(header), '| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |', ...rows.map(line)].join('\n');
}

/** Setting names as in the paper. */
export const SETTINGS = {
  realFake: 'Tr-Real/Te-Fake',
  realReal: 'Tr-Real/Te-Real',
  mixedReal: 'Tr-Real&Fake/Te-Real',
} as const;

export interface AugmentRow {
  /** Row label: the backbone (Table III) or the DR-GAN variant (Table IV). */
  label: string;
  /** Null where that setting was not run (e.g. no fake set). */
  realFake: GradingSummary | null;
  realReal: GradingSummary | null;
  mixedReal: GradingSummary | null;
}

/** Table III: accuracy and kappa (%) under the three settings, one row per backbone. */
export function formatTableIII(rows: readonly AugmentRow[]): string {
  const cell = (s: GradingSummary | null, k: 'accuracy' | 'kappa') => (s ? pct(s[k]) : '-');
  return markdownTable(
    ['Backbone', `${SETTINGS.realFake} Acc.`, `${SETTINGS.realFake} Kappa`, `${SETTINGS.realReal} Acc.`, `${SETTINGS.realReal} Kappa`, `${SETTINGS.mixedReal} Acc.`, `${SETTINGS.mixedReal} Kappa`],
    rows.map((r) => [r.label, cell(r.realFake, 'accuracy'), cell(r.realFake, 'kappa'), cell(r.realReal, 'accuracy'), cell(r.realReal, 'kappa'), cell(r.mixedReal, 'accuracy'), cell(r.mixedReal, 'kappa')]),
  );
}

/**
 * Table V: per-grade TPR with and without fake data on the real test set, plus the real-trained
 * grader's per-grade accuracy on the fake set (how well the synthesis obeys its target grade).
 */
export function formatTableV(r: AugmentRow): string {
  const K = (r.realReal ?? r.mixedReal ?? r.realFake)?.tpr.length ?? 0;
  const tpr = (s: GradingSummary | null, g: number) => (s ? rate(s.tpr[g]) : '-');
  return markdownTable(
    ['Grade', SETTINGS.realReal, SETTINGS.mixedReal, `${SETTINGS.realFake} (per-grade acc.)`],
    Array.from({ length: K }, (_, g) => [String(g), tpr(r.realReal, g), tpr(r.mixedReal, g), tpr(r.realFake, g)]),
  );
}

/** Table IV: accuracy and kappa (%) of Tr-Real/Te-Fake and Tr-Real&Fake/Te-Real per variant. */
export function formatTableIV(rows: readonly AugmentRow[], baseline?: GradingSummary | null): string {
  const cell = (s: GradingSummary | null, k: 'accuracy' | 'kappa') => (s ? pct(s[k]) : '-');
  const body = rows.map((r) => [r.label, cell(r.realFake, 'accuracy'), cell(r.realFake, 'kappa'), cell(r.mixedReal, 'accuracy'), cell(r.mixedReal, 'kappa')]);
  if (baseline) body.unshift(['Baseline (Tr-Real/Te-Real)', '-', '-', pct(baseline.accuracy), pct(baseline.kappa)]);
  return markdownTable(['Setting', `${SETTINGS.realFake} Acc.`, `${SETTINGS.realFake} Kappa`, `${SETTINGS.mixedReal} Acc.`, `${SETTINGS.mixedReal} Kappa`], body);
}

export interface FidelityRow {
  label: string;
  /** Average over grades, or null where not computed. */
  fid: number | null;
  swd: number | null;
}

/** Table II: per-grade-averaged FID (labelled with its extractor) and SWD x1e3 per variant. */
export function formatTableII(rows: readonly FidelityRow[], fidLabel: string): string {
  const f = (v: number | null) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(2));
  return markdownTable(['Method', `Avg. ${fidLabel}`, 'Avg. SWD x1e3'], rows.map((r) => [r.label, f(r.fid), f(r.swd)]));
}

/** JSON cannot hold NaN or Infinity: they become null (read back as "undefined"). */
export function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}
