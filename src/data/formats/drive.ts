// DRIVE (Staal et al. 2004) in its original layout, --in at the DRIVE folder (both sets) or at
// one set folder:
//   training/images/NN_training.tif  training/1st_manual/NN_manual1.gif  training/mask/NN_training_mask.gif
//   test/images/NN_test.tif          test/1st_manual/NN_manual1.gif      test/mask/NN_test_mask.gif
// Vessels (observer 1) become the `vessel` channel; the shipped FOV mask is kept as the FOV.
import { basename, join } from 'node:path';
import { imagesByStem, isDir } from './files.js';
import type { SourceFormat, SourceListing, SourceSample } from './source.js';

export const drive: SourceFormat = {
  name: 'drive',
  layout: '{training,test}/images/NN_<set>.tif, 1st_manual/NN_manual1.gif, mask/NN_<set>_mask.gif',
  async list(dir: string): Promise<SourceListing> {
    const sets = isDir(join(dir, 'images')) ? [dir] : ['training', 'test'].map((s) => join(dir, s)).filter((d) => isDir(join(d, 'images')));
    if (sets.length === 0) throw new Error(`${dir}: not a DRIVE folder (expected images/, or training/images/ and test/images/)`);
    const samples: SourceSample[] = [];
    const notes: string[] = [];
    for (const setDir of sets) {
      const manual = imagesByStem(join(setDir, '1st_manual'));
      const fovs = imagesByStem(join(setDir, 'mask'));
      let unannotated = 0;
      for (const [name, path] of imagesByStem(join(setDir, 'images'))) {
        const nn = name.split('_')[0];
        const vessel = manual.get(`${nn}_manual1`);
        if (!vessel) unannotated++;
        samples.push({
          id: name,
          image: path,
          grade: null,
          masks: vessel ? { vessel } : {},
          known: vessel ? ['vessel'] : [],
          fov: fovs.get(`${name}_mask`),
          meta: { set: basename(setDir) },
        });
      }
      if (unannotated) notes.push(`${setDir}: ${unannotated} photos have no 1st_manual vessel mask (prepared without one)`);
    }
    return { samples, problems: [], notes };
  },
};
