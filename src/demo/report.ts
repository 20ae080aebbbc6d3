// The demo's page: what was run (settings, timings, machine), the numbers (grader kappa,
// controllability, SWD) and the pictures (loss curves, real vs synthetic per grade, one
// vessel tree at all five grades, the trainer's sample grid, the grading space), in one
// self-contained HTML file: every image is a base64 PNG data URI.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { escapeHtml, lossCurvePngs } from '../report/html-report.js';
import type { GradingReport } from '../eval/grading-metrics.js';
import type { DemoResult } from './demo.js';
import { CONDITION_CHANNELS } from '../data/manifest.js';
import { contrastRatios } from '../eval/lesion-contrast.js';

const fmt = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));

function figure(png: Buffer, caption: string, width?: number): string {
  const style = width ? ` style="width:${width}px"` : '';
  return `<figure><img src="data:image/png;base64,${png.toString('base64')}" alt="${escapeHtml(caption)}"${style}><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** The lesion-contrast table: does G draw each channel where its mask lies, as visibly as the photos show it? */
function lesionVisibilityHtml(r: DemoResult): string {
  const lv = r.lesionVisibility;
  if (!lv) return '';
  const ratios = contrastRatios(lv.real, lv.fake);
  const rows = CONDITION_CHANNELS.filter((ch) => lv.real.channels[ch] && lv.fake.channels[ch]).map((ch) => {
    const [a, b] = [lv.real.channels[ch]!, lv.fake.channels[ch]!];
    return [ch, `${fmt(a.mean, 1)} ± ${fmt(a.se, 1)}`, `${fmt(b.mean, 1)} ± ${fmt(b.se, 1)}`, fmt(ratios[ch], 2), a.n];
  });
  return `<h3>Lesion visibility</h3><p>The same held-out pairs: on each condition channel's mask, the high-passed green channel minus the mask-free field of view
(grey levels; negative = darker than its surroundings, as vessels, microaneurysms and haemorrhages are; positive = brighter, as exudates and cotton-wool spots are).
A ratio of 1 means the synthetic images show the channel as strongly as the photos; 0, not at all (drgan eval lesions, docs/evaluation.md).</p>` +
    table(['channel', 'real (mean ± s.e.)', 'synthetic', 'synthetic / real', 'images'], rows);
}

function table(head: string[], rows: (string | number)[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join('')}</tr>`).join('') + '</tbody></table>';
}

function confusion(r: GradingReport, rowsAre: string): string {
  return table([`${rowsAre} \\ predicted`, '0', '1', '2', '3', '4', 'TPR'], r.confusion.map((row, g) => [String(g), ...row, fmt(r.tpr[g], 2)]));
}

export async function writeDemoReport(r: DemoResult): Promise<void> {
  const s = r.settings;
  const c = r.gan.config;
  const sections: { id: string; title: string; html: string }[] = [];

  sections.push({
    id: 'run', title: 'What was run',
    html: `<p>The whole DR-GAN method on the built-in synthetic data set (<code>drgan demo${s.name === 'quick' ? ' --quick' : ''}</code>): a procedural
phantom set with exact lesion masks and grades, a small grader trained on it, the latent grading space of its features,
a lesion model fitted to the masks, DR-GAN trained at a small CPU size, then synthesis and evaluation. Everything here was
computed in this run; the phantom is a fixture with known ground truth, not a substitute for real fundus photographs.</p>` +
      table(['phase', 'seconds'], [...r.phases.map((p) => [p.phase, p.seconds.toFixed(1)]), ['total', r.totalSeconds.toFixed(1)]]) +
      table(['setting', 'value'], [
        ['configuration', `${s.name}, seed ${s.seed}`],
        ['machine', `${r.machine.cpus} CPU(s), libtorch threads ${r.machine.threads}, load average at start ${r.machine.loadAverageAtStart.map((v) => v.toFixed(2)).join(' ')}, at end ${r.machine.loadAverageAtEnd.map((v) => v.toFixed(2)).join(' ')}`],
        ['phantom set', `${s.phantom.n} images at ${s.phantom.size} px, grade frequencies ${s.phantom.gradeFrequencies.join('/')}; drawn grades 0..4: ${r.dataset.gradeCounts.join('/')}; splits ${Object.entries(r.dataset.splitCounts).map(([k, v]) => `${k} ${v}`).join(', ')}`],
        ['grader', `ResNet-18 with widths / ${s.grader.widthDivisor} (${r.grader.featureDim}-d features) at ${s.grader.inputSize} px, ${s.grader.epochs} epochs, batch ${s.grader.batchSize}, Adam lr ${s.grader.lr}, cosine schedule, class weights, ${s.grader.augment ? 'augmentation' : 'no augmentation'}; kept: epoch ${r.grader.bestEpoch ?? 'last'} (best val kappa)`],
        ['grading space', `diagonal Gaussian per grade of the grader features, ${r.gradingSpace.split} split, samples per grade ${r.gradingSpace.counts.join('/')}`],
        ['DR-GAN', `trained on ${r.gan.trainSamples ?? '-'} phantoms (${s.gan.firstSamples === null ? 'the whole train split' : `the train split of the first ${s.gan.firstSamples}`}); R = ${c.resolution} (stage 1: G_m at ${c.resolution / 2} px, ${c.train.stage1Epochs} epochs; stage 2: G_m + G_l at ${c.resolution} px, ${c.train.stage2Epochs} epochs; ${r.gan.steps} steps), ngf ${c.generator.ngf}, ndf ${c.discriminator.ndf}, ${c.generator.residualBlocks} residual blocks, batch ${c.train.batchSize}, Adam lr ${c.train.lr} betas ${c.train.betas.join(', ')}${s.gan.lrDecay ? ', linear decay over the second half of each stage' : ''}; CPU options (not in the paper): half-scale fusion ${c.generator.halfScaleFusion ? 'on' : 'off'}, upsampling ${c.generator.upsampling ?? 'transposed'}, adversarial loss per ${c.loss.adversarialTarget === 'patch' ? 'patch' : 'image'}, D class head ${c.discriminator.classInput === 'imageOnly' ? 'on the image alone' : 'on condition and image'}${c.discriminator.classPooling === 'preNorm' ? ' pooled before InstanceNorm' : ''}${(c.loss.lambdaReconstruction ?? 0) > 0 ? `, L1 to the photo x${c.loss.lambdaReconstruction} with lesion pixels weighted 1 + ${c.loss.reconstructionLesionWeight}` : ''}`],
        ['losses', `adversarial (${c.loss.adversarial}), feature matching x${c.loss.lambdaFeatureMatching}, focal classification x${c.loss.lambdaClassification}; perceptual: ${r.gan.perceptual}`],
        ['grading vectors', r.gan.gradingVectors],
      ]),
  });

  const t = r.grader.test;
  const ctl = r.controllability;
  sections.push({
    id: 'numbers', title: 'Results',
    html: `<h3>Grader on the real (phantom) test split</h3><p>Quadratic weighted kappa <b>${fmt(t.kappa)}</b>, accuracy <b>${fmt(t.accuracy)}</b> (${t.confusion.flat().reduce((a, b) => a + b, 0)} images).</p>${confusion(t, 'true')}
<h3>Controllability: the grader on synthetic images</h3><p>${s.evaluation.controlPerGrade} synthetic images per target grade, lesions sampled by the lesion model for that grade on
phantom vessel trees the GAN never saw, graded by the grader above (Tr-Real / Te-Fake). Accuracy <b>${fmt(ctl.accuracy)}</b>, kappa <b>${fmt(ctl.kappa)}</b>.
Read it against the grader's own accuracy on real images above: a grader that confuses real grades confuses synthetic ones too.</p>${confusion(ctl, 'target')}
<p>Per grade, the share read correctly: real test images (Tr-Real / Te-Real) against synthetic ones (Tr-Real / Te-Fake).</p>` +
      table(['grade', '0', '1', '2', '3', '4'], [
        ['real', ...t.tpr.map((v) => fmt(v, 2))],
        ['synthetic', ...ctl.tpr.map((v) => fmt(v, 2))],
      ]) + `
<h3>The same photos, re-rendered</h3><p>The grader on ${r.rerendered.images} held-out photos, and on DR-GAN's images from those photos' own condition maps and grades.
The masks are the photos' own here, so the lesion model plays no part: the gap is what the generator loses.</p>` +
      table(['images', 'accuracy', 'kappa', 'grade 0', '1', '2', '3', '4'], [
        ['held-out photos', fmt(r.rerendered.photos.accuracy), fmt(r.rerendered.photos.kappa), ...r.rerendered.photos.tpr.map((v) => fmt(v, 2))],
        ['DR-GAN from their masks', fmt(r.rerendered.synthetic.accuracy), fmt(r.rerendered.synthetic.kappa), ...r.rerendered.synthetic.tpr.map((v) => fmt(v, 2))],
      ]) + confusion(r.rerendered.synthetic, 'true') + `
<h3>Sliced Wasserstein distance (x1e3)</h3><p>${r.swd.images} held-out real images against synthetic images made from their own condition maps and grades;
the same real images against as many real training images give the floor (what two samples of the real distribution score).</p>` +
      table(['level (px)', ...r.swd.fake.resolutions.map(String), 'average'], [
        ['real vs synthetic', ...r.swd.fake.perLevel.map((v) => fmt(v, 2)), fmt(r.swd.fake.average, 2)],
        ['real vs real (floor)', ...r.swd.realReference.perLevel.map((v) => fmt(v, 2)), fmt(r.swd.realReference.average, 2)],
      ]) + lesionVisibilityHtml(r),
  });

  const lossesFile = `${r.gan.dir}/losses.jsonl`;
  const curves = existsSync(lossesFile) ? await lossCurvePngs(lossesFile) : [];
  sections.push({
    id: 'losses', title: 'Loss curves',
    html: `<p>Every DR-GAN loss term per step (already multiplied by its lambda); stage 2 starts at step ${stage2Start(lossesFile) ?? '-'}.</p><div class="grid">${curves.map((cv) => figure(cv.png, cv.name)).join('\n')}</div>`,
  });
  sections.push({
    id: 'real-vs-synthetic', title: 'Real vs synthetic, per grade',
    html: figure(readFileSync(r.figures.realVsSynthetic), 'Rows: grades 0-4. Left: held-out real phantom images of the grade; right: DR-GAN on the same images\' condition maps (vessels, disc and lesion masks) and grade.', 900),
  });
  sections.push({
    id: 'five-grades', title: 'The same vessel tree at all five grades',
    html: figure(readFileSync(r.figures.fiveGrades), 'Columns: grades 0-4. Each TREE row is one vessel tree and optic disc; the lesion model drew lesions for each grade (MASKS row: MA red, HE blue, EX yellow, SE white, LM magenta, PM cyan) and DR-GAN rendered them with a grading vector of that grade and the same noise.', 900),
  });
  const extra: string[] = [];
  if (r.figures.trainingSamples) extra.push(figure(readFileSync(r.figures.trainingSamples), 'The trainer\'s last sample grid: rows are fixed condition maps, columns the real photo then grades 0-4.', 700));
  if (existsSync(r.gradingSpace.plot)) extra.push(figure(readFileSync(r.gradingSpace.plot), 't-SNE of the grader features (train split), coloured by grade: the latent grading space.', 480));
  if (extra.length) sections.push({ id: 'more', title: 'Training samples and grading space', html: `<div class="grid">${extra.join('\n')}</div>` });

  const title = 'DR-GAN demo report';
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1em}th,td{border:1px solid #bbb;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
td:nth-child(2){text-align:left}th{background:#f0f0f0}figure{display:inline-block;margin:0.5em;vertical-align:top}figcaption{font-size:0.85em;color:#555;max-width:900px}
img{max-width:100%;image-rendering:pixelated}.grid{display:flex;flex-wrap:wrap}nav{margin-bottom:1em}code{background:#f4f4f4;padding:0 3px}
</style></head>
<body><h1>${title}</h1>
<p>Written ${escapeHtml(new Date().toISOString())} to ${escapeHtml(r.out)}; total ${r.totalSeconds.toFixed(0)} s.</p>
<nav>${sections.map((x) => `<a href="#${x.id}">${escapeHtml(x.title)}</a>`).join(' · ')}</nav>
${sections.map((x) => `<section id="${x.id}"><h2>${escapeHtml(x.title)}</h2>\n${x.html}</section>`).join('\n')}
</body></html>
`;
  const tmp = `${r.report}.tmp-${process.pid}`;
  writeFileSync(tmp, html);
  renameSync(tmp, r.report);
}

/** First step logged in stage 2, from the trainer's losses.jsonl. */
function stage2Start(path: string): number | null {
  if (!existsSync(path)) return null;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    try {
      const rec = JSON.parse(line) as { step: number; stage: number };
      if (rec.stage === 2) return rec.step;
    } catch {
      // a cut-off line
    }
  }
  return null;
}
