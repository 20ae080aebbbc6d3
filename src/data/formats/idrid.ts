// IDRiD (Porwal et al. 2018), both parts, found by file name anywhere under --in so the
// official tree ("A. Segmentation/1. Original Images/a. Training Set/IDRiD_01.jpg",
// "2. All Segmentation Groundtruths/.../IDRiD_01_MA.tif") and flatter copies
// (images/IDRiD_01.jpg, masks/MA/IDRiD_01_MA.png) read alike:
//   - photos: IDRiD_<digits>.<image type>, outside folders of masks or ground truth;
//   - lesion masks: <photo>_<MA|HE|EX|SE|OD>.<image type>. IDRiD omits the file of a lesion
//     an image does not have (only 26 of 54 training images have an SE file), so a photo
//     with any mask file has all five channels known, the missing ones empty;
//   - grading CSVs ("Image name, Retinopathy grade, Risk of macular edema"): each row names a
//     grading photo (IDRiD_001 ...). Training and testing sets reuse the same names, so
//     those ids carry the set: IDRiD_001_train, IDRiD_001_test.
import { basename, dirname, extname } from 'node:path';
import { findColumn } from '../csv.js';
import { DataError, type SourceProblem } from '../errors.js';
import type { ConditionChannel } from '../manifest.js';
import { isImageFile, parseGrade, readCsvFile, stem, walkFiles } from './files.js';
import type { SourceFormat, SourceListing, SourceSample } from './source.js';

const LESIONS: Record<string, ConditionChannel> = { MA: 'MA', HE: 'HE', EX: 'EX', SE: 'SE', OD: 'optic_disc' };
const ANNOTATED: ConditionChannel[] = ['optic_disc', 'MA', 'HE', 'EX', 'SE'];
const PHOTO = /^IDRiD_\d+$/i;
const MASK = /^(IDRiD_\d+)_(MA|HE|EX|SE|OD)$/i;
const NOT_PHOTO_DIR = /mask|ground ?truth|label|artifact/i;

function setOf(path: string): 'train' | 'test' | undefined {
  if (/train/i.test(path)) return 'train';
  if (/test/i.test(path)) return 'test';
  return undefined;
}

export const idrid: SourceFormat = {
  name: 'idrid',
  layout: 'IDRiD_NN.jpg photos, IDRiD_NN_<MA|HE|EX|SE|OD>.tif masks, grading CSVs (Image name, Retinopathy grade, ...), anywhere below --in',
  async list(dir: string): Promise<SourceListing> {
    const files = walkFiles(dir);
    const photos = files.filter((f) => isImageFile(f) && PHOTO.test(stem(f)) && !NOT_PHOTO_DIR.test(dirname(f).slice(dir.length)));
    const masks = new Map<string, Partial<Record<ConditionChannel, string>>>();
    const problems: SourceProblem[] = [];
    const notes: string[] = [];
    for (const f of files) {
      const m = isImageFile(f) ? MASK.exec(stem(f)) : null;
      if (!m) continue;
      const key = m[1].toLowerCase();
      const byChannel = masks.get(key) ?? {};
      const ch = LESIONS[m[2].toUpperCase()];
      if (byChannel[ch]) problems.push({ id: m[1], error: new DataError(f, `second ${m[2]} mask for ${m[1]} (first: ${byChannel[ch]})`) });
      else byChannel[ch] = f;
      masks.set(key, byChannel);
    }

    const samples: SourceSample[] = [];
    const graded = new Set<string>();
    for (const csv of files.filter((f) => extname(f).toLowerCase() === '.csv')) {
      const table = readCsvFile(csv);
      const cName = findColumn(table, 'Image name', 'image');
      const cGrade = findColumn(table, 'Retinopathy grade');
      if (cName < 0 || cGrade < 0) continue; // not a grading CSV (e.g. a copy's own notes)
      const cDme = findColumn(table, 'Risk of macular edema');
      const set = setOf(basename(csv));
      table.rows.forEach((row, i) => {
        const where = `${csv}:${table.lines[i]}`;
        const name = row[cName];
        const id = set ? `${name}_${set}` : name;
        const candidates = photos.filter((p) => stem(p).toLowerCase() === name.toLowerCase());
        const photo = candidates.find((p) => setOf(p.slice(dir.length)) === set) ?? (set ? undefined : candidates[0]);
        if (!photo) {
          problems.push({ id, error: new DataError(where, `no photo for "${name}"${set ? ` in the ${set} set` : ''} under ${dir}`) });
          return;
        }
        graded.add(photo);
        const grade = parseGrade(row[cGrade], where, name);
        if (grade instanceof DataError) {
          problems.push({ id, error: grade });
          return;
        }
        const meta: Record<string, unknown> = { part: 'grading' };
        if (set) meta.set = set;
        if (cDme >= 0 && row[cDme] !== '') meta.dme = Number(row[cDme]);
        samples.push({ id, image: photo, grade, masks: {}, known: [], meta });
      });
    }

    let withoutMasks = 0;
    const seen = new Set<string>();
    for (const photo of photos) {
      if (graded.has(photo)) continue;
      const name = stem(photo);
      seen.add(name.toLowerCase());
      const m = masks.get(name.toLowerCase());
      if (!m) withoutMasks++;
      const meta: Record<string, unknown> = { part: 'segmentation' };
      const set = setOf(photo.slice(dir.length));
      if (set) meta.set = set;
      samples.push({ id: name, image: photo, grade: null, masks: m ?? {}, known: m ? ANNOTATED : [], meta });
    }
    for (const [key, m] of masks) {
      if (seen.has(key)) continue;
      for (const f of Object.values(m)) problems.push({ id: key, error: new DataError(f!, `mask without a photo (no ${basename(f!).replace(/_(MA|HE|EX|SE|OD)\..*$/i, '')}.jpg found under ${dir})`) });
    }
    if (withoutMasks) notes.push(`${withoutMasks} segmentation photos have no lesion masks (prepared with no known channels)`);
    if (samples.length === 0 && problems.length === 0) throw new Error(`${dir}: no IDRiD photos (IDRiD_NN.jpg) or grading CSVs found`);
    return { samples, problems, notes };
  },
};
