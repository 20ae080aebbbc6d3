// One self-contained HTML page for a run folder: whatever parts the folder holds (experiment
// tables and results, DR-GAN loss curves, grading-space plots, sample grids, synthetic sets,
// metric plots) become sections; absent parts are simply left out. Every image is inlined
// as a base64 PNG data URI, so the page can be mailed or archived as one file.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import sharp from 'sharp';
import { barChart, encodePng, lineChart } from './plot.js';

const MAX_DEPTH = 4;

/** Files under `dir` (depth-limited, sorted, hidden folders skipped). */
function listFiles(dir: string, depth = 0): string[] {
  if (depth > MAX_DEPTH) return [];
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (d.name.startsWith('.')) continue;
    const p = join(dir, d.name);
    if (d.isDirectory()) {
      // Images of data sets and checkpoints are not report material (synthetic sets are shown via their manifest).
      if (['images', 'fov', 'masks', 'views'].includes(d.name)) continue;
      out.push(...listFiles(p, depth + 1));
    } else out.push(p);
  }
  return out;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function dataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

function figure(png: Buffer, caption: string): string {
  return `<figure><img src="${dataUri(png)}" alt="${escapeHtml(caption)}"><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** The Markdown our experiments write (headings, pipe tables, lists, paragraphs) as HTML. */
export function markdownToHtml(md: string): string {
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const h = /^(#{1,4})\s+(.*)$/.exec(l);
    if (h) {
      const level = Math.min(6, h[1].length + 2);
      out.push(`<h${level}>${escapeHtml(h[2])}</h${level}>`);
    } else if (l.startsWith('|')) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i].startsWith('|'); i++) {
        const cells = lines[i].trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
        if (cells.every((c) => /^-+$/.test(c))) continue;
        rows.push(cells);
      }
      i--;
      const [head, ...body] = rows;
      out.push('<table><thead><tr>' + head.map((c) => `<th>${escapeHtml(c)}</th>`).join('') + '</tr></thead><tbody>' +
        body.map((r) => '<tr>' + r.map((c) => `<td>${escapeHtml(c)}</td>`).join('') + '</tr>').join('') + '</tbody></table>');
    } else if (l.startsWith('- ')) {
      const items: string[] = [];
      for (; i < lines.length && lines[i].startsWith('- '); i++) items.push(`<li>${escapeHtml(lines[i].slice(2))}</li>`);
      i--;
      out.push(`<ul>${items.join('')}</ul>`);
    } else if (l.trim()) out.push(`<p>${escapeHtml(l)}</p>`);
  }
  return out.join('\n');
}

interface LossRecord {
  step: number;
  G?: Record<string, number>;
  D?: Record<string, number>;
}

/** One chart per loss term (G/... and D/...) against the step, from a trainer's losses.jsonl. */
export async function lossCurvePngs(path: string): Promise<{ name: string; png: Buffer }[]> {
  const records: LossRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as LossRecord;
      if (typeof r.step === 'number') records.push(r);
    } catch {
      // A line cut off by an interrupted run is skipped, not fatal.
    }
  }
  const terms = new Map<string, { x: number[]; y: number[] }>();
  for (const r of records) {
    for (const net of ['G', 'D'] as const) {
      for (const [k, v] of Object.entries(r[net] ?? {})) {
        const key = `${net}/${k}`;
        if (!terms.has(key)) terms.set(key, { x: [], y: [] });
        terms.get(key)!.x.push(r.step);
        terms.get(key)!.y.push(typeof v === 'number' ? v : Number.NaN);
      }
    }
  }
  const out: { name: string; png: Buffer }[] = [];
  for (const [name, s] of terms) {
    const chart = lineChart({ title: name, xLabel: 'step', yLabel: 'loss', width: 420, height: 260, series: [{ name: '', x: s.x, y: s.y }] });
    out.push({ name, png: await encodePng(chart.image) });
  }
  return out;
}

/** Up to `perGrade` images of each grade of a prepared (synthetic) set, one row per grade. */
export async function gradeGridPng(dir: string, perGrade = 8, tile = 96): Promise<Buffer | null> {
  const manifest = join(dir, 'manifest.jsonl');
  const entries = readFileSync(manifest, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { image: string; grade: number | null });
  const rows: string[][] = [];
  for (let g = 0; g < 5; g++) rows.push(entries.filter((e) => e.grade === g).slice(0, perGrade).map((e) => join(dir, e.image)).filter(existsSync));
  if (rows.every((r) => r.length === 0)) return null;
  const pad = 2;
  const label = 14;
  const W = label + perGrade * (tile + pad);
  const H = 5 * (tile + pad);
  const composites: sharp.OverlayOptions[] = [];
  for (let g = 0; g < 5; g++) {
    for (let i = 0; i < rows[g].length; i++) {
      const input = await sharp(rows[g][i]).removeAlpha().resize(tile, tile, { fit: 'fill' }).png().toBuffer();
      composites.push({ input, left: label + i * (tile + pad), top: g * (tile + pad) });
    }
    // The grade's digit as a small bar code: g + 1 dots, legible without a font.
    for (let d = 0; d <= g; d++) {
      composites.push({ input: { create: { width: 6, height: 6, channels: 3, background: { r: 0, g: 0, b: 0 } } }, left: 4, top: g * (tile + pad) + 4 + d * 9 });
    }
  }
  return sharp({ create: { width: W, height: H, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(composites).png().toBuffer();
}

interface Section {
  id: string;
  title: string;
  html: string;
}

export interface ReportOptions {
  title?: string;
}

/** Builds the page for a run folder (augment or ablation output, a DR-GAN run, or any mix). */
export async function buildHtmlReport(runDir: string, o: ReportOptions = {}): Promise<string> {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) throw new Error(`${runDir}: no such run folder`);
  const files = listFiles(runDir);
  const rel = (p: string) => relative(runDir, p) || basename(p);
  const sections: Section[] = [];
  const isPng = (p: string) => p.toLowerCase().endsWith('.png');

  // ---- tables (tables.md of experiments), and a summary of results.json files
  const tables = files.filter((p) => basename(p) === 'tables.md');
  if (tables.length) {
    sections.push({ id: 'tables', title: 'Tables', html: tables.map((p) => `<div class="src">${escapeHtml(rel(p))}</div>` + markdownToHtml(readFileSync(p, 'utf8'))).join('\n') });
  }

  // ---- per-metric plots: the experiments' plots/ and charts made here from ablation results
  const metricPlots: string[] = [];
  for (const p of files.filter((f) => isPng(f) && basename(join(f, '..')) === 'plots')) metricPlots.push(figure(readFileSync(p), rel(p)));
  for (const p of files.filter((f) => basename(f) === 'results.json')) {
    let r: { experiment?: string; fidLabel?: string; variants?: { label: string; fidelity: { fidAverage: number | null; swdAverage: number | null } }[] };
    try {
      r = JSON.parse(readFileSync(p, 'utf8'));
    } catch {
      continue;
    }
    if (r.experiment !== 'ablation' || !r.variants?.length) continue;
    const labels = r.variants.map((v) => v.label);
    const swd = barChart({ title: 'Avg. SWD x1e3 per variant', categories: labels.map((_, i) => String(i + 1)), xLabel: labels.map((l, i) => `${i + 1} ${l}`).join('  '), width: 760, series: [{ name: 'SWD', values: r.variants.map((v) => v.fidelity.swdAverage) }] });
    metricPlots.push(figure(await encodePng(swd.image), `${rel(p)}: SWD per variant`));
    if (r.variants.some((v) => v.fidelity.fidAverage !== null)) {
      const fid = barChart({ title: `Avg. ${r.fidLabel ?? 'FID'} per variant`, categories: labels.map((_, i) => String(i + 1)), xLabel: labels.map((l, i) => `${i + 1} ${l}`).join('  '), width: 760, series: [{ name: 'FID', values: r.variants.map((v) => v.fidelity.fidAverage) }] });
      metricPlots.push(figure(await encodePng(fid.image), `${rel(p)}: ${r.fidLabel ?? 'FID'} per variant`));
    }
  }
  if (metricPlots.length) sections.push({ id: 'metrics', title: 'Metric plots', html: `<div class="grid">${metricPlots.join('\n')}</div>` });

  // ---- loss curves of every DR-GAN run in the folder
  const lossFiles = files.filter((p) => basename(p) === 'losses.jsonl');
  if (lossFiles.length) {
    const parts: string[] = [];
    for (const p of lossFiles) {
      const curves = await lossCurvePngs(p);
      if (!curves.length) continue;
      parts.push(`<h3>${escapeHtml(rel(p))}</h3><div class="grid">${curves.map((c) => figure(c.png, c.name)).join('\n')}</div>`);
    }
    if (parts.length) sections.push({ id: 'losses', title: 'Loss curves', html: parts.join('\n') });
  }

  // ---- grading-space maps (drgan latent --plot)
  const embeddings = files.filter((p) => isPng(p) && /tsne|t-sne|pca|embedding|latent/i.test(basename(p)));
  if (embeddings.length) sections.push({ id: 'latent', title: 'Latent grading space (t-SNE / PCA)', html: `<div class="grid">${embeddings.map((p) => figure(readFileSync(p), rel(p))).join('\n')}</div>` });

  // ---- sample grids: the last grid of each DR-GAN run, and a per-grade grid of each synthetic set
  const grids: string[] = [];
  const sampleDirs = new Map<string, string[]>();
  for (const p of files.filter((f) => isPng(f) && basename(join(f, '..')) === 'samples')) {
    const d = join(p, '..');
    sampleDirs.set(d, [...(sampleDirs.get(d) ?? []), p]);
  }
  for (const [d, pngs] of sampleDirs) {
    const last = pngs.sort().at(-1)!;
    grids.push(figure(readFileSync(last), `${rel(last)} (rows: fixed condition maps; columns: real, then grades 0-4)`));
    void d;
  }
  for (const m of files.filter((f) => basename(f) === 'manifest.jsonl')) {
    const dir = join(m, '..');
    if (!/synth|fake/i.test(rel(dir))) continue;
    const png = await gradeGridPng(dir);
    if (png) grids.push(figure(png, `${rel(dir)}: synthetic images, one row per grade 0-4 (dots on the left count grade + 1)`));
  }
  if (grids.length) sections.push({ id: 'samples', title: 'Sample grids per grade', html: grids.join('\n') });

  const title = o.title ?? `DR-GAN report: ${basename(runDir)}`;
  const nav = sections.length ? `<nav>${sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join(' · ')}</nav>` : '';
  const body = sections.length
    ? sections.map((s) => `<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>\n${s.html}</section>`).join('\n')
    : `<p>No report material found in ${escapeHtml(runDir)} (looked for tables.md, results.json, losses.jsonl, plots/, samples/, t-SNE/PCA PNGs and synthetic sets).</p>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1em}th,td{border:1px solid #bbb;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f0f0f0}figure{display:inline-block;margin:0.5em}figcaption{font-size:0.8em;color:#555;max-width:760px}
img{max-width:100%;image-rendering:pixelated}.grid{display:flex;flex-wrap:wrap}.src{font-size:0.8em;color:#777;margin-top:1em}nav{margin-bottom:1em}
</style></head>
<body><h1>${escapeHtml(title)}</h1>
<p>Generated ${escapeHtml(new Date().toISOString())} from ${escapeHtml(runDir)}.</p>
${nav}
${body}
</body></html>
`;
}
