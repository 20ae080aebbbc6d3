// What every ablation variant synthesises from: `perGrade` jobs per grade for src/synth's
// batch writer, each a condition map, a target grade and a seed (which fixes the grading
// vector and the AGM noise). The paper's two ways of conditioning at test time:
//   - real condition maps: those of real training images OF THE TARGET GRADE, cycled in an
//     order shuffled by the seed (images of any grade where the grade has none, with a note);
//   - sampled lesion layouts: with a lesion model (drgan fit-lesions), lesions drawn for the
//     target grade on the vessel trees of the real training images (as `drgan synth
//     --sample-lesions`); grades the model never saw are left out, with a note.
// The plan is a pure function of (data, perGrade, seed, size, lesion model) and its jobs
// read their files afresh each time, so every variant gets the same conditions and seeds.
import { NUM_GRADES, readManifest, type ManifestEntry } from '../data/manifest.js';
import { mixSeed, mulberry32, shuffleInPlace } from '../data/rng.js';
import { sampledLesionJobs, type StructureSource, type SynthJob } from '../synth/batch.js';
import { loadEntryCondition } from '../synth/condition-io.js';
import type { LesionModel } from '../synth/lesion-sampler.js';

export interface AblationConditionOptions {
  /** Real prepared set: its train split gives the condition maps, or the vessel trees. */
  data: string;
  perGrade: number;
  seed: number;
  /** The generator's resolution R: conditions are read at this side. */
  size: number;
  /** Sample lesion layouts with this model instead of reusing real condition maps. */
  lesionModel?: LesionModel | null;
}

export interface AblationConditions {
  jobs: SynthJob[];
  /** One line for results.json and tables.md: where the conditions come from. */
  describe: string;
  notes: string[];
}

const jobId = (grade: number, i: number) => `synth-g${grade}-${String(i).padStart(6, '0')}`;

export function ablationConditions(o: AblationConditionOptions): AblationConditions {
  const train = readManifest(o.data).filter((e) => e.split === 'train');
  return o.lesionModel ? sampledConditions(o, o.lesionModel, train) : realConditions(o, train);
}

function realConditions(o: AblationConditionOptions, train: ManifestEntry[]): AblationConditions {
  const graded = train.filter((e) => e.grade !== null);
  if (graded.length === 0) throw new Error(`${o.data}: the train split has no graded samples to take condition maps from`);
  const jobs: SynthJob[] = [];
  const notes: string[] = [];
  for (let g = 0; g < NUM_GRADES; g++) {
    const own = graded.filter((e) => e.grade === g);
    if (own.length === 0) notes.push(`no training image of grade ${g}: its images are made from condition maps of other grades`);
    const pool = shuffleInPlace([...(own.length ? own : graded)], mulberry32(mixSeed(o.seed, g, 0x5e)));
    for (let i = 0; i < o.perGrade; i++) {
      const entry = pool[i % pool.length];
      jobs.push({ id: jobId(g, i), grade: g, seed: mixSeed(o.seed, g, i), condition: () => loadEntryCondition(o.data, entry, o.size) });
    }
  }
  return { jobs, describe: `condition maps of real training images of the target grade (${o.data})`, notes };
}

function sampledConditions(o: AblationConditionOptions, lesionModel: LesionModel, train: ManifestEntry[]): AblationConditions {
  const trees = train.filter((e) => e.masks.vessel && (e.known.includes('vessel') || e.predicted.includes('vessel')));
  if (trees.length === 0) throw new Error(`${o.data}: no training sample has a vessel mask to draw sampled lesions on (run drgan masks to predict them)`);
  shuffleInPlace(trees, mulberry32(mixSeed(o.seed, 0x57)));
  const structures: StructureSource = {
    count: trees.length,
    get: (i) => loadEntryCondition(o.data, trees[i % trees.length]),
    describe: `${trees.length} vessel trees of the train split of ${o.data}`,
  };
  const grades = lesionModel.grades;
  const notes = Array.from({ length: NUM_GRADES }, (_, g) => g).filter((g) => !grades.includes(g)).map((g) => `the lesion model has no images of grade ${g}: no images of that grade are made`);
  const jobs = sampledLesionJobs({ lesionModel, structures, grades, perGrade: o.perGrade, seed: o.seed, size: o.size });
  return { jobs, describe: `lesion layouts sampled for the target grade by a lesion model fit on ${lesionModel.data.source}, on ${structures.describe}`, notes };
}
