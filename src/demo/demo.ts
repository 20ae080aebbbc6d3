// `drgan demo`: the whole method on the built-in synthetic data set, as one story:
//   1. phantom set      procedural retinas with exact masks and grades (src/phantom)
//   2. grader           a small ResNet-18 learns the grades; its test kappa is reported
//   3. latent spaces    per-grade Gaussians of the grader's features (the grading vectors)
//   4. lesion model     where and how large each lesion type is per grade (src/synth)
//   5. DR-GAN           stage 1 (G_m at R/2), then a short stage 2 (G_m + G_l at R)
//   6. synthesis        real vs synthetic per grade; one vessel tree at all five grades
//   7. evaluation       the grader judges the synthetic grades (controllability); SWD
//   8. report           OUT/report.html, one self-contained page
// Every phase writes into OUT and a second run picks up what is there (the phantom set, the
// grader and the GAN resume; a finished phase costs seconds).
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import { readManifest, type ManifestEntry } from '../data/manifest.js';
import { readImage } from '../data/image-io.js';
import { generatePhantomSet } from '../phantom/dataset.js';
import { Grader, inferDataset } from '../models/grader.js';
import { DEFAULT_TRAINING, trainGrader } from '../train/grader-training.js';
import { gradingReport, type GradingReport } from '../eval/grading-metrics.js';
import { GradingSpaceAccumulator } from '../latent/grading-space.js';
import { pca2, tsne, writeScatterPng } from '../latent/embedding-plot.js';
import { LesionModel } from '../synth/lesion-sampler.js';
import { trainGan } from '../train/gan-trainer.js';
import { loadSynthesisModel, synthesize } from '../synth/synthesize.js';
import { loadEntryCondition, type ConditionMasks } from '../synth/condition-io.js';
import { phantomStructures } from '../synth/batch.js';
import { swd, type SwdResult } from '../eval/swd.js';
import { encodePng, type RasterImage } from '../report/plot.js';
import type { DrganConfig } from '../gan/config.js';
import { mixSeed } from '../data/rng.js';
import { contrastRatios, LesionContrastAccumulator, lesionContrast, type LesionContrastSummary } from '../eval/lesion-contrast.js';
import { conditionPicture, labelledGrid } from './figures.js';
import { DEMO_PRESETS, demoGanConfig, type DemoSettings } from './settings.js';
import { writeDemoReport } from './report.js';

export interface DemoOptions {
  /** Output folder (created). */
  out: string;
  /** The small configuration (tests, CI smoke). */
  quick?: boolean;
  seed?: number;
  /** Image side of the phantom set and of DR-GAN's output (R). */
  size?: number;
  /** Phantom images. */
  n?: number;
  threads?: number;
  /** About this many DR-GAN steps in all. */
  steps?: number;
  /** Progress lines (default: stdout). */
  log?: (line: string) => void;
  /** The trainers' progress bars (default: on). */
  progress?: boolean;
}

export interface PhaseTime {
  phase: string;
  seconds: number;
}

export interface DemoResult {
  settings: DemoSettings;
  out: string;
  report: string;
  phases: PhaseTime[];
  totalSeconds: number;
  machine: { cpus: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[]; threads: number };
  dataset: { dir: string; gradeCounts: number[]; splitCounts: Record<string, number> };
  grader: { file: string; featureDim: number; test: GradingReport; bestEpoch: number | null };
  gradingSpace: { file: string; counts: number[]; split: string; plot: string };
  gan: { dir: string; checkpoint: string; steps: number; config: DrganConfig; perceptual: string; gradingVectors: string; trainSamples: number };
  /** The real grader on synthetic images of each target grade (sampled lesions on new vessel trees). */
  controllability: GradingReport;
  /**
   * The grader on the SWD's held-out photos and on G's images from those photos' own masks and
   * grades: with the masks fixed, what the generator alone loses (the lesion sampler is not used).
   */
  rerendered: { photos: GradingReport; synthetic: GradingReport; images: number };
  swd: { fake: SwdResult; realReference: SwdResult; images: number };
  /** Lesion contrast (eval/lesion-contrast.ts) of the SWD's held-out photos and of G on their masks. */
  lesionVisibility: { real: LesionContrastSummary; fake: LesionContrastSummary };
  figures: { realVsSynthetic: string; fiveGrades: string; trainingSamples: string | null };
}

/** Settings of a run: the preset with the options on top. */
export function resolveDemoSettings(o: DemoOptions): DemoSettings {
  const s = structuredClone(DEMO_PRESETS[o.quick ? 'quick' : 'full']);
  if (o.seed !== undefined) s.seed = o.seed;
  if (o.size !== undefined) s.phantom.size = o.size;
  if (o.n !== undefined) s.phantom.n = o.n;
  if (o.threads !== undefined) s.threads = o.threads;
  if (o.steps !== undefined) s.gan.steps = o.steps;
  if (!(Number.isInteger(s.phantom.size) && s.phantom.size >= 64 && s.phantom.size % 32 === 0)) {
    throw new RangeError(`demo: size must be a multiple of 32 and at least 64 (DR-GAN halves it 5 times), got ${s.phantom.size}`);
  }
  if (!(Number.isInteger(s.phantom.n) && s.phantom.n >= 20)) throw new RangeError(`demo: n must be an integer >= 20 (every grade needs examples), got ${s.phantom.n}`);
  if (!(Number.isInteger(s.threads) && s.threads >= 1)) throw new RangeError(`demo: threads must be a positive integer, got ${s.threads}`);
  if (!(Number.isInteger(s.gan.steps) && s.gan.steps >= 1)) throw new RangeError(`demo: steps must be a positive integer, got ${s.gan.steps}`);
  return s;
}

type Tensor = torch.Tensor;

/** RGB HWC bytes -> [1, 3, S, S] in [-1, 1]. */
function imageTensor(img: RasterImage): Tensor {
  return torch.tidy(() => torch.tensor(img.data, [1, img.height, img.width, 3]).float().div(127.5).sub(1).permute([0, 3, 1, 2]).contiguous());
}

/** Samples per grade 0..4 (ungraded ones, null or -1, left out). */
function gradeCounts(grades: readonly (number | null)[]): number[] {
  const c = [0, 0, 0, 0, 0];
  for (const g of grades) if (g !== null && g >= 0) c[g]++;
  return c;
}

/** Grader predictions for images [N, 3, S, S] in [-1, 1], batched, without gradients. */
function predictGrades(grader: Grader, images: Tensor[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < images.length; i += 16) {
    torch.noGrad(() => torch.tidy(() => {
      const logits = grader.forward(torch.cat(images.slice(i, i + 16), 0));
      out.push(...Array.from(logits.argmax(1).toArray() as ArrayLike<number>));
    }));
  }
  return out.map(Number);
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const s = resolveDemoSettings(o);
  const log = o.log ?? ((l: string) => console.log(l));
  const progress = o.progress ?? true;
  const out = o.out;
  mkdirSync(out, { recursive: true });
  const previousThreads = torch.getNumThreads();
  torch.setNumThreads(s.threads);
  const loadAverageAtStart = loadavg();
  const phases: PhaseTime[] = [];
  const t0 = performance.now();
  const PHASES = 8;
  const phase = async <T>(name: string, what: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    log(`[${phases.length + 1}/${PHASES}] ${name}: ${what}`);
    const r = await fn();
    const seconds = (performance.now() - start) / 1000;
    phases.push({ phase: name, seconds });
    log(`      ${name} done in ${seconds.toFixed(1)} s`);
    return r;
  };
  log(`drgan demo (${s.name}): ${s.phantom.n} phantom retinas at ${s.phantom.size} px, seed ${s.seed}, ${s.threads} thread(s), output ${out}`);

  try {
    // ---- 1. the data set
    const data = join(out, 'phantom');
    const entries = await phase('phantom', `${s.phantom.n} retinas at ${s.phantom.size} px, grade frequencies ${s.phantom.gradeFrequencies.join('/')}`, async () => {
      const r = await generatePhantomSet({ out: data, n: s.phantom.n, size: s.phantom.size, seed: s.seed, gradeFrequencies: s.phantom.gradeFrequencies });
      return r.entries;
    });
    const splitCounts: Record<string, number> = {};
    for (const e of entries) splitCounts[e.split] = (splitCounts[e.split] ?? 0) + 1;
    log(`      grades 0..4: ${gradeCounts(entries.map((e) => e.grade)).join('/')}; splits ${Object.entries(splitCounts).map(([k, v]) => `${k} ${v}`).join(', ')}`);

    // ---- 2. the grader
    const graderDir = join(out, 'grader');
    const { grader, graderFile, test, bestEpoch } = await phase('grader', `ResNet-18 / ${s.grader.widthDivisor} at ${s.grader.inputSize} px, ${s.grader.epochs} epochs`, async () => {
      const r = await trainGrader({
        ...DEFAULT_TRAINING, data, out: graderDir,
        grader: { backbone: 'resnet18', widthDivisor: s.grader.widthDivisor, inputSize: s.grader.inputSize },
        epochs: s.grader.epochs, batchSize: s.grader.batchSize, lr: s.grader.lr, augment: s.grader.augment, classWeights: true, seed: s.seed, resume: true,
        log: (l) => log(`      ${l}`),
      });
      const file = existsSync(r.bestPath) ? r.bestPath : r.latestPath;
      const g = Grader.load(file);
      // A small --n can leave the test split empty; the val split (which chose the epoch) is the fallback.
      const split = entries.some((e) => e.split === 'test') ? 'test' : 'val';
      const inf = await inferDataset(g, { dir: data, split });
      const rep = gradingReport(inf.truth, inf.pred);
      log(`      ${split} split (${inf.truth.length} images): kappa ${rep.kappa.toFixed(3)}, accuracy ${rep.accuracy.toFixed(3)}`);
      return { grader: g, graderFile: file, test: rep, bestEpoch: r.best?.epoch ?? null };
    });

    try {
      // ---- 3. the latent grading space
      const spaceFile = join(out, 'grading-space.safetensors');
      const plotFile = join(out, 'latent-tsne.png');
      const space = await phase('latent', 'per-grade Gaussians of the grader features (train split)', async () => {
        let r = await inferDataset(grader, { dir: data, split: 'train', features: true });
        let split = 'train';
        if (gradeCounts(r.truth).some((c) => c === 0)) {
          // Tiny sets may miss a grade in the train split; every grade needs a Gaussian.
          r = await inferDataset(grader, { dir: data, split: 'all', features: true });
          split = 'all';
          log('      note: the train split lacks a grade; the space is fitted on all splits');
        }
        const D = grader.featureDim;
        const feats = torch.tensor(r.features!, [r.ids.length, D]);
        try {
          const acc = new GradingSpaceAccumulator(D, 5, false);
          acc.add(feats, r.truth);
          const sp = acc.finish(`${graderFile} on ${data} (${split})`);
          acc.dispose();
          sp.save(spaceFile);
          const y = r.ids.length >= 12 ? tsne(feats, { perplexity: Math.min(30, Math.floor((r.ids.length - 1) / 3)), seed: s.seed }) : pca2(feats);
          await writeScatterPng(plotFile, y.dataSync() as Float64Array, r.truth, { width: 480, height: 480 });
          y.dispose();
          log(`      ${D}-d space from ${r.ids.length} images, per grade ${sp.counts.join('/')}`);
          return { space: sp, split };
        } finally {
          feats.dispose();
        }
      });

      try {
        // ---- 4. the lesion model
        const lesionFile = join(out, 'lesions.json');
        const lesions = await phase('lesions', 'lesion counts, positions and shapes per grade from the phantom masks', async () => {
          const m = await LesionModel.fit(data, { seed: s.seed });
          m.save(lesionFile);
          return m;
        });

        // ---- 5. DR-GAN
        const ganDir = join(out, 'gan');
        // The GAN's subset: the train-split members of the first firstSamples phantoms (sample i of a
        // phantom set does not depend on n, so these are exactly a firstSamples-phantom set's).
        const ganEntries = s.gan.firstSamples === null ? entries : entries.slice(0, s.gan.firstSamples);
        const ganLimit = s.gan.firstSamples === null ? undefined : ganEntries.filter((e) => e.split === 'train').length;
        const trainCount = ganEntries.filter((e) => e.split === 'train' && e.grade !== null).length;
        const cfg = demoGanConfig(s, grader.featureDim, Math.floor(trainCount / s.gan.batchSize));
        const perceptual = s.gan.perceptual === 'grader'
          ? `the phase-2 grader's backbone (${graderFile}; method.md's fallback without VGG-19 weights, not the paper's VGG-19 loss)`
          : 'off (no VGG-19 weights are shipped; the loss is switched off, never computed with a random network)';
        const gan = await phase('gan', `R=${cfg.resolution} (stage 1 at ${cfg.resolution / 2} px for ${cfg.train.stage1Epochs} epochs, stage 2 at ${cfg.resolution} px for ${cfg.train.stage2Epochs}), ngf ${cfg.generator.ngf}, ndf ${cfg.discriminator.ndf}, batch ${cfg.train.batchSize}`, async () => {
          log(`      perceptual loss: ${perceptual}`);
          return trainGan({
            data, out: ganDir, config: cfg, gradingSpace: spaceFile, grader: s.gan.perceptual === 'grader' ? graderFile : null,
            seed: s.seed, lrDecay: s.gan.lrDecay, resume: existsSync(join(ganDir, 'latest.safetensors')), limit: ganLimit,
            sampleEvery: Math.max(1, Math.round(s.gan.steps / 4)), checkpointEvery: 0, progress, log: (l) => log(`      ${l}`),
          });
        });

        // ---- 6. synthesis: figures
        const figDir = join(out, 'figures');
        mkdirSync(figDir, { recursive: true });
        const model = await loadSynthesisModel(gan.latest);
        const G = model.generator;
        const R = model.config.resolution;
        const make = (condition: ConditionMasks, grade: number, seed: number): RasterImage => synthesize({ generator: G, condition, grade, gradingSpace: space.space, seed }).image;
        const heldOut = entries.filter((e) => e.split !== 'train' && e.grade !== null);
        const figures = await phase('synthesis', 'real vs synthetic per grade; one vessel tree at all five grades', async () => {
          // Real vs synthetic: held-out samples of each grade, and G on their own condition maps.
          const tiles: (RasterImage | null)[][] = [];
          const K = s.evaluation.figurePerGrade;
          for (let g = 0; g < 5; g++) {
            const pool = [...heldOut, ...entries.filter((e) => e.split === 'train')].filter((e) => e.grade === g).slice(0, K);
            const row: (RasterImage | null)[] = new Array(2 * K).fill(null);
            for (let k = 0; k < pool.length; k++) {
              row[k] = await readImage(join(data, pool[k].image), { resize: { width: R, height: R } });
              row[K + k] = make(await loadEntryCondition(data, pool[k], R), g, mixSeed(s.seed, 0xf16, g, k));
            }
            tiles.push(row);
          }
          const rvs = labelledGrid(tiles, {
            rowLabels: [0, 1, 2, 3, 4].map((g) => `GRADE ${g}`),
            columnLabels: [...Array.from({ length: K }, (_, k) => `REAL ${k + 1}`), ...Array.from({ length: K }, (_, k) => `SYNTH ${k + 1}`)],
            gapAfter: [K - 1],
          });
          const realVsSynthetic = join(figDir, 'real-vs-synthetic.png');
          writeFileSync(realVsSynthetic, await encodePng(rvs));

          // One vessel tree, lesions sampled for each grade, each rendered by G.
          const trees = phantomStructures(mixSeed(s.seed, 0x7ee5), R);
          const rows: RasterImage[][] = [];
          const labels: string[] = [];
          for (let t = 0; t < s.evaluation.trees; t++) {
            const tree = await trees.get(t);
            const maps: RasterImage[] = [];
            const images: RasterImage[] = [];
            for (let g = 0; g < 5; g++) {
              const drawn = lesions.sample({ size: R, vessel: tree.channels.vessel!, optic_disc: tree.channels.optic_disc!, fov: tree.fov }, g, mixSeed(s.seed, t, g));
              const c: ConditionMasks = { size: R, channels: drawn.masks, fov: tree.fov, source: tree.source };
              maps.push(conditionPicture(c));
              images.push(make(c, g, mixSeed(s.seed, 0x5eed, t)));
            }
            rows.push(images, maps);
            labels.push(`TREE ${t + 1}`, 'MASKS');
          }
          const five = labelledGrid(rows, { rowLabels: labels, columnLabels: [0, 1, 2, 3, 4].map((g) => `GRADE ${g}`) });
          const fiveGrades = join(figDir, 'same-tree-five-grades.png');
          writeFileSync(fiveGrades, await encodePng(five));
          return { realVsSynthetic, fiveGrades };
        });

        // ---- 7. evaluation
        const evaluation = await phase('evaluation', `the grader on ${s.evaluation.controlPerGrade} synthetic images per grade; SWD and lesion contrast on up to ${s.evaluation.swdImages} held-out images`, async () => {
          // Controllability: lesions sampled for a target grade on vessel trees the GAN never saw.
          const trees = phantomStructures(mixSeed(s.seed, 0xc0de), R);
          const target: number[] = [];
          const fakes: Tensor[] = [];
          let controllability: GradingReport;
          try {
            for (let g = 0; g < 5; g++) {
              for (let i = 0; i < s.evaluation.controlPerGrade; i++) {
                const tree = await trees.get(i);
                const drawn = lesions.sample({ size: R, vessel: tree.channels.vessel!, optic_disc: tree.channels.optic_disc!, fov: tree.fov }, g, mixSeed(s.seed, 0xc0de, g, i));
                fakes.push(torch.keep(imageTensor(make({ size: R, channels: drawn.masks, fov: tree.fov, source: tree.source }, g, mixSeed(s.seed, 0xc1, g, i)))));
                target.push(g);
              }
            }
            controllability = gradingReport(target, predictGrades(grader, fakes));
          } finally {
            torch.dispose(fakes);
          }
          log(`      controllability: accuracy ${controllability.accuracy.toFixed(3)}, kappa ${controllability.kappa.toFixed(3)}, per grade ${controllability.tpr.map((v) => (v === null ? '-' : v.toFixed(2))).join(' / ')}`);

          // SWD: held-out real images against G on their own condition maps and grades; the
          // same real images against as many real training images give the floor to read it by.
          const train = entries.filter((e) => e.split === 'train');
          const N = Math.min(s.evaluation.swdImages, heldOut.length, train.length);
          const real: Tensor[] = [], fake: Tensor[] = [], reference: Tensor[] = [];
          const photo = (e: ManifestEntry) => readImage(join(data, e.image), { resize: { width: R, height: R } });
          // Lesion visibility on the same pairs: each channel's local contrast where its mask lies.
          const realContrast = new LesionContrastAccumulator(), fakeContrast = new LesionContrastAccumulator();
          try {
            for (let i = 0; i < N; i++) {
              const e = heldOut[i];
              const condition = await loadEntryCondition(data, e, R);
              const [realImage, fakeImage] = [await photo(e), make(condition, e.grade!, mixSeed(s.seed, 0x5d, i))];
              real.push(torch.keep(imageTensor(realImage)));
              fake.push(torch.keep(imageTensor(fakeImage)));
              reference.push(torch.keep(imageTensor(await photo(train[i]))));
              const fov = condition.fov ?? new Uint8Array(R * R).fill(255);
              realContrast.add(lesionContrast({ rgb: realImage.data, width: R, height: R, masks: condition.channels, fov, name: e.image }));
              fakeContrast.add(lesionContrast({ rgb: fakeImage.data, width: R, height: R, masks: condition.channels, fov, name: `synthetic from ${e.id}` }));
            }
            const swdResult = torch.tidy(() => {
              const a = torch.cat(real, 0);
              return { fake: swd(a, torch.cat(fake, 0), { seed: s.seed }), realReference: swd(a, torch.cat(reference, 0), { seed: s.seed }), images: N };
            });
            log(`      SWD x1e3 (${N} held-out real vs synthetic from their masks): ${swdResult.fake.average.toFixed(2)}; real held-out vs real train: ${swdResult.realReference.average.toFixed(2)}`);
            const grades = heldOut.slice(0, N).map((e) => e.grade!);
            const rerendered = { photos: gradingReport(grades, predictGrades(grader, real)), synthetic: gradingReport(grades, predictGrades(grader, fake)), images: N };
            log(`      the grader on the same ${N} held-out photos: accuracy ${rerendered.photos.accuracy.toFixed(3)}; on G's images from their masks and grades: ${rerendered.synthetic.accuracy.toFixed(3)} (kappa ${rerendered.photos.kappa.toFixed(3)} / ${rerendered.synthetic.kappa.toFixed(3)})`);
            const lesionVisibility = { real: realContrast.summary(), fake: fakeContrast.summary() };
            const ratios = contrastRatios(lesionVisibility.real, lesionVisibility.fake);
            log(`      lesion contrast, synthetic / real: ${Object.entries(ratios).map(([ch, v]) => `${ch} ${v === null ? '-' : v.toFixed(2)}`).join(', ')}`);
            return { controllability, rerendered, swd: swdResult, lesionVisibility };
          } finally {
            torch.dispose([...real, ...fake, ...reference]);
          }
        });
        G.dispose();

        // ---- 8. the report
        const samplesDir = join(ganDir, 'samples');
        const lastSample = existsSync(samplesDir) ? readdirSync(samplesDir).filter((f) => f.endsWith('.png')).sort().at(-1) : undefined;
        const result: DemoResult = {
          settings: s, out, report: join(out, 'report.html'), phases, totalSeconds: 0,
          machine: { cpus: cpus().length, loadAverageAtStart, loadAverageAtEnd: [], threads: s.threads },
          dataset: { dir: data, gradeCounts: gradeCounts(entries.map((e) => e.grade)), splitCounts },
          grader: { file: graderFile, featureDim: grader.featureDim, test, bestEpoch },
          gradingSpace: { file: spaceFile, counts: space.space.counts, split: space.split, plot: plotFile },
          gan: {
            dir: ganDir, checkpoint: gan.latest, steps: gan.step, config: model.config, perceptual, trainSamples: trainCount,
            gradingVectors: `drawn from the grading space's Gaussian of the grade (${grader.featureDim}-d grader features)`,
          },
          controllability: evaluation.controllability,
          rerendered: evaluation.rerendered,
          swd: evaluation.swd,
          lesionVisibility: evaluation.lesionVisibility,
          figures: { ...figures, trainingSamples: lastSample ? join(samplesDir, lastSample) : null },
        };
        await phase('report', result.report, async () => {
          result.totalSeconds = (performance.now() - t0) / 1000;
          result.machine.loadAverageAtEnd = loadavg();
          await writeDemoReport(result);
        });
        result.totalSeconds = (performance.now() - t0) / 1000;
        writeFileSync(join(out, 'results.json'), JSON.stringify(result, null, 2) + '\n');
        log(`demo finished in ${result.totalSeconds.toFixed(0)} s: ${result.report}`);
        return result;
      } finally {
        space.space.dispose();
      }
    } finally {
      grader.dispose();
    }
  } finally {
    torch.setNumThreads(previousThreads);
  }
}
