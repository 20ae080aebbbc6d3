// EyePACS as published on Kaggle ("Diabetic Retinopathy Detection", 2015):
//   trainLabels.csv (image,level) beside train/<image>.jpeg
//   test/<image>.jpeg with its solution, retinopathy_solution.csv (image,level,Usage) or
//   testLabels.csv; without one the test photos come in ungraded.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findColumn } from '../csv.js';
import { DataError, type SourceProblem } from '../errors.js';
import { imagesByStem, isDir, parseGrade, readCsvFile } from './files.js';
import type { SourceFormat, SourceListing, SourceSample } from './source.js';

const SETS = [
  { set: 'train', folder: 'train', csvs: ['trainLabels.csv'] },
  { set: 'test', folder: 'test', csvs: ['retinopathy_solution.csv', 'testLabels.csv'] },
] as const;

export const eyepacs: SourceFormat = {
  name: 'eyepacs',
  layout: 'trainLabels.csv + train/<image>.jpeg; optional test/ + retinopathy_solution.csv (or testLabels.csv)',
  async list(dir: string): Promise<SourceListing> {
    const samples: SourceSample[] = [];
    const problems: SourceProblem[] = [];
    const notes: string[] = [];
    let found = false;
    for (const s of SETS) {
      const folder = join(dir, s.folder);
      const csv = s.csvs.map((c) => join(dir, c)).find((p) => existsSync(p));
      if (!csv && !isDir(folder)) continue;
      found = true;
      const files = imagesByStem(folder);
      const listed = new Set<string>();
      if (!csv) {
        notes.push(`${folder}: no label CSV (${s.csvs.join(' or ')}); ${files.size} photos prepared without a grade`);
        for (const [name, path] of files) samples.push({ id: name, image: path, grade: null, masks: {}, known: [], meta: { set: s.set } });
        continue;
      }
      const table = readCsvFile(csv);
      const cImage = findColumn(table, 'image');
      const cLevel = findColumn(table, 'level');
      const cUsage = findColumn(table, 'usage');
      if (cImage < 0 || cLevel < 0) throw new DataError(csv, `needs columns "image" and "level", found: ${table.header.join(', ')}`);
      table.rows.forEach((row, i) => {
        const where = `${csv}:${table.lines[i]}`;
        const name = row[cImage] ?? '';
        listed.add(name);
        const path = files.get(name);
        if (!path) {
          problems.push({ id: name, error: new DataError(where, `no photo for "${name}" in ${folder} (looked for ${name}.jpeg and other image types)`) });
          return;
        }
        const grade = parseGrade(row[cLevel], where, name);
        if (grade instanceof DataError) {
          problems.push({ id: name, error: grade });
          return;
        }
        const meta: Record<string, unknown> = { set: s.set };
        if (cUsage >= 0 && row[cUsage]) meta.usage = row[cUsage];
        samples.push({ id: name, image: path, grade, masks: {}, known: [], meta });
      });
      const unlisted = [...files.keys()].filter((n) => !listed.has(n)).length;
      if (unlisted) notes.push(`${folder}: ${unlisted} photos have no row in ${csv} and were not prepared`);
    }
    if (!found) throw new Error(`${dir}: not an EyePACS folder (expected trainLabels.csv and train/, or test/)`);
    return { samples, problems, notes };
  },
};
