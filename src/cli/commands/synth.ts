// `drgan synth`: synthetic fundus photos from a trained DR-GAN, written as a prepared data set
// (synth/batch.ts). Either from given masks (a data set, a folder of channel PNGs, a painted
// PNG) or with lesions sampled for a target grade on any vessel tree (--sample-lesions).
import { CONDITION_CHANNELS, NUM_GRADES } from '../../data/manifest.js';
import { fixedStructure, generateSyntheticSet, givenMaskJobs, phantomStructures, sampledLesionJobs, structureSource, type SynthJob } from '../../synth/batch.js';
import { conditionSourceKind, loadDatasetCondition, loadFolderCondition, type ConditionMasks } from '../../synth/condition-io.js';
import { LesionModel } from '../../synth/lesion-sampler.js';
import { loadSynthesisModel, resolveGradingSpace } from '../../synth/synthesize.js';
import { loadPhotoCondition, PHOTO_PREFIX } from '../../synth/photo-condition.js';
import { UsageError } from '../flags.js';
import type { Command } from '../command.js';
import { DEVICE_FLAG, resolveDevice } from '../device-flag.js';

export const synthCommand: Command = {
  name: 'synth',
  summary: 'synthesise fundus photos with a trained DR-GAN from given or sampled lesion masks, as a prepared data set',
  usage: 'drgan synth --model CKPT --out DIR [--grade K | --data-grades] [--masks DIR|FILE|dataset:DIR|photo:FILE [--seg-models DIR[,DIR]]] [--sample-lesions --lesion-model FILE] [--n N] [--seed S] [--size S] [--batch B] [--grading-space FILE] [--device cpu|cuda[:N]]',
  flags: {
    model: { kind: 'string', required: true, help: 'DR-GAN checkpoint (drgan train gan: latest.safetensors or step-*.safetensors) or an exported model (drgan export)' },
    out: { kind: 'string', required: true, help: 'output folder: a prepared data set (re-running resumes; existing images are skipped)' },
    grade: { kind: 'int', min: 0, max: NUM_GRADES - 1, help: 'target ICDR grade; omitted: all five grades with --sample-lesions, else predicted from the masks by the grade head' },
    'data-grades': { kind: 'bool', default: false, help: "with --masks dataset:DIR: each image at its sample's own grade (re-render a real set; ungraded samples: predicted)" },
    masks: { kind: 'string', help: 'condition masks: dataset:DIR (every sample), a folder of channel PNGs (vessel.png, MA.png, ...), one painted PNG (colour key in docs/synthesis.md), or photo:FILE (a real fundus photo; --seg-models predict its masks); with --sample-lesions the vessel trees to draw lesions on' },
    'seg-models': { kind: 'string', help: 'with --masks photo:FILE: segmentation / CAM models that predict its masks (drgan train seg / train cam folders or best.safetensors files, comma-separated)' },
    structure: { kind: 'string', help: 'for a painted PNG: vessel/optic disc/FOV from a folder of channel PNGs or dataset:DIR#ID' },
    'sample-lesions': { kind: 'bool', default: false, help: 'draw lesion masks for the target grade with the lesion model' },
    'lesion-model': { kind: 'string', help: 'lesion model (drgan fit-lesions) for --sample-lesions' },
    n: { kind: 'int', min: 1, help: 'images per grade with --sample-lesions (default 1); with given masks: images in all (default: one per data set sample, 1 for a folder/painting)' },
    seed: { kind: 'int', default: 0, min: 0, help: 'seeds lesion layouts, grading vectors and AGM noise' },
    size: { kind: 'int', min: 8, max: 8192, help: 'side of the written images and masks (default: the generator output size)' },
    batch: { kind: 'int', min: 1, max: 1024, help: 'images per generator pass (default: 8 up to R = 256, fewer above: the pixels of 8 images at 256); the same value makes the same pixels on a resume, 1 exactly the one-image library call' },
    'grading-space': { kind: 'string', help: "grading space file (drgan latent); default an exported model's embedded one, else the one the model was trained with" },
    quiet: { kind: 'bool', default: false, help: 'no progress bar' },
    device: DEVICE_FLAG,
  },
  async run(flags) {
    const sample = flags['sample-lesions'] as boolean;
    const masks = flags.masks as string | undefined;
    const grade = flags.grade as number | undefined;
    const seed = flags.seed as number;
    const n = flags.n as number | undefined;
    if (sample && !flags['lesion-model']) throw new UsageError('drgan synth: --sample-lesions needs --lesion-model FILE (make one with drgan fit-lesions)');
    if (!sample && flags['lesion-model']) throw new UsageError('drgan synth: --lesion-model is only used with --sample-lesions');
    if (!sample && !masks) throw new UsageError('drgan synth: give --masks (dataset:DIR, a folder or a painted PNG), or --sample-lesions --lesion-model FILE');
    if (flags['data-grades'] && (sample || grade !== undefined || !masks || conditionSourceKind(masks) !== 'dataset')) {
      throw new UsageError('drgan synth: --data-grades needs --masks dataset:DIR, without --grade or --sample-lesions');
    }
    if (flags.structure && (sample || !masks || conditionSourceKind(masks) !== 'painted')) throw new UsageError('drgan synth: --structure is only used with a painted --masks PNG');

    const isPhoto = masks?.startsWith(PHOTO_PREFIX) ?? false;
    if (isPhoto && !flags['seg-models']) throw new UsageError('drgan synth: --masks photo:FILE needs --seg-models DIR[,DIR] to predict its masks');
    if (!isPhoto && flags['seg-models']) throw new UsageError('drgan synth: --seg-models is only used with --masks photo:FILE');
    const device = resolveDevice(flags.device, 'drgan synth');
    const model = await loadSynthesisModel(flags.model as string, { device });
    const space = resolveGradingSpace(model, flags['grading-space'] as string | undefined, (m) => console.log(m));
    const R = model.config.resolution;
    let photo: ConditionMasks | undefined;
    if (isPhoto) {
      const p = await loadPhotoCondition(masks!.slice(PHOTO_PREFIX.length), { models: (flags['seg-models'] as string).split(',').filter(Boolean), size: R, device });
      console.log(`photo: masks predicted for ${p.predicted.join(', ') || 'no channel'}${p.missing.length ? `; no model gives ${p.missing.join(', ')} (left empty)` : ''}`);
      photo = p.condition;
    }
    let jobs: SynthJob[];
    if (sample) {
      const lesionModel = LesionModel.load(flags['lesion-model'] as string);
      const grades = grade !== undefined ? [grade] : lesionModel.grades;
      if (grade === undefined && grades.length < NUM_GRADES) console.log(`note: the lesion model has no images of grade(s) ${[0, 1, 2, 3, 4].filter((g) => !grades.includes(g)).join(', ')}; those are skipped`);
      const structures = photo ? fixedStructure(photo) : masks ? await structureSource(masks) : phantomStructures(seed, R);
      console.log(`lesions sampled for grade(s) ${grades.join(', ')} on ${structures.describe}`);
      jobs = sampledLesionJobs({ lesionModel, structures, grades, perGrade: n ?? 1, seed, size: R });
    } else {
      let structure: ConditionMasks | undefined;
      const st = flags.structure as string | undefined;
      if (st) {
        if (st.startsWith('dataset:')) {
          const [dir, id] = splitDatasetId(st.slice('dataset:'.length));
          structure = await loadDatasetCondition(dir, id);
        } else structure = await loadFolderCondition(st);
      }
      jobs = givenMaskJobs({ spec: masks!, grade, dataGrades: flags['data-grades'] as boolean, n, seed, size: R, structure, photo });
    }
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once('SIGINT', onSigint);
    try {
      const r = await generateSyntheticSet({ model, gradingSpace: space, out: flags.out as string, jobs, size: flags.size as number | undefined, batchSize: flags.batch as number | undefined, progress: !(flags.quiet as boolean), signal: ac.signal });
      console.log(`${r.written} written, ${r.skipped} already there${r.stopped ? ' (interrupted: run again to continue)' : ''}; model ${model.modelId.slice(0, 12)}; channels ${CONDITION_CHANNELS.length}; data set in ${flags.out as string}`);
      return r.stopped ? 130 : 0;
    } finally {
      process.off('SIGINT', onSigint);
      space?.dispose();
    }
  },
};

function splitDatasetId(s: string): [string, string] {
  const at = s.lastIndexOf('#');
  if (at <= 0 || at === s.length - 1) throw new UsageError(`drgan synth: --structure dataset:DIR#ID needs a sample id after "#", got "dataset:${s}"`);
  return [s.slice(0, at), s.slice(at + 1)];
}
