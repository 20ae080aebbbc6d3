// The generic layout for anything else: one CSV in --in (labels.csv, or the only CSV there)
// with a column `image` (path relative to the CSV), optional `grade` (0..4, empty for none),
// optional `id`, optional `fov`, and optional mask columns named like the condition
// channels (vessel, optic_disc, MA, HE, EX, SE, LM, PM). A non-empty mask cell makes that
// channel known for the row; an empty one leaves it unknown.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findColumn } from '../csv.js';
import { DataError, type SourceProblem } from '../errors.js';
import { CONDITION_CHANNELS, type ConditionChannel } from '../manifest.js';
import { parseGrade, readCsvFile } from './files.js';
import type { SourceFormat, SourceListing, SourceSample } from './source.js';

function findCsv(dir: string): string {
  if (existsSync(join(dir, 'labels.csv'))) return join(dir, 'labels.csv');
  const csvs = readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.csv'));
  if (csvs.length === 1) return join(dir, csvs[0]);
  throw new Error(`${dir}: folder format needs labels.csv or exactly one CSV file (found ${csvs.length ? csvs.join(', ') : 'none'})`);
}

/** Ids become file names: keep them to a portable character set. */
function safeId(s: string): string {
  return s.replace(/\.[A-Za-z0-9]+$/, '').replace(/[^A-Za-z0-9._-]+/g, '_');
}

export const folder: SourceFormat = {
  name: 'folder',
  layout: 'labels.csv with columns image, grade (optional), id, fov, and mask columns vessel|optic_disc|MA|HE|EX|SE|LM|PM (optional)',
  async list(dir: string): Promise<SourceListing> {
    const csv = findCsv(dir);
    const table = readCsvFile(csv);
    const cImage = findColumn(table, 'image', 'path', 'file');
    if (cImage < 0) throw new DataError(csv, `needs a column "image", found: ${table.header.join(', ')}`);
    const cGrade = findColumn(table, 'grade', 'level');
    const cId = findColumn(table, 'id');
    const cFov = findColumn(table, 'fov');
    const maskCols = CONDITION_CHANNELS.map((ch) => [ch, findColumn(table, ch)] as const).filter(([, c]) => c >= 0);
    const samples: SourceSample[] = [];
    const problems: SourceProblem[] = [];
    table.rows.forEach((row, i) => {
      const where = `${csv}:${table.lines[i]}`;
      const rel = row[cImage] ?? '';
      const id = safeId(cId >= 0 && row[cId] ? row[cId] : rel);
      if (!rel) {
        problems.push({ id, error: new DataError(where, 'empty "image" cell') });
        return;
      }
      const image = resolve(dir, rel);
      if (!existsSync(image)) {
        problems.push({ id, error: new DataError(where, `no file ${rel} (resolved to ${image})`) });
        return;
      }
      const grade = cGrade >= 0 ? parseGrade(row[cGrade], where, rel) : null;
      if (grade instanceof DataError) {
        problems.push({ id, error: grade });
        return;
      }
      const masks: Partial<Record<ConditionChannel, string>> = {};
      const known: ConditionChannel[] = [];
      for (const [ch, c] of maskCols) {
        if (!row[c]) continue;
        const p = resolve(dir, row[c]);
        if (!existsSync(p)) {
          problems.push({ id, error: new DataError(where, `no ${ch} mask file ${row[c]} (resolved to ${p})`) });
          return;
        }
        masks[ch] = p;
        known.push(ch);
      }
      let fov: string | undefined;
      if (cFov >= 0 && row[cFov]) {
        fov = resolve(dir, row[cFov]);
        if (!existsSync(fov)) {
          problems.push({ id, error: new DataError(where, `no FOV mask file ${row[cFov]}`) });
          return;
        }
      }
      samples.push({ id, image, grade, masks, known, fov });
    });
    return { samples, problems, notes: [] };
  },
};
