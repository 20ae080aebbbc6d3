// File-finding and label-parsing helpers shared by the format readers.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseCsv, type CsvTable } from '../csv.js';
import { DataError } from '../errors.js';
import { NUM_GRADES } from '../manifest.js';

export const IMAGE_EXTENSIONS = ['.jpeg', '.jpg', '.png', '.tif', '.tiff', '.gif', '.bmp'];

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

export function stem(path: string): string {
  const b = basename(path);
  const e = extname(b);
  return e ? b.slice(0, -e.length) : b;
}

/** Every file under dir (recursive, sorted so listings are stable), skipping dot-files. */
export function walkFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) visit(p);
      else if (st.isFile()) out.push(p);
    }
  };
  visit(dir);
  return out;
}

export function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** Image files in one folder (not recursive), keyed by stem; first extension in IMAGE_EXTENSIONS order wins. */
export function imagesByStem(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!isDir(dir)) return m;
  const names = readdirSync(dir).filter((n) => !n.startsWith('.') && isImageFile(n));
  names.sort((a, b) => IMAGE_EXTENSIONS.indexOf(extname(a).toLowerCase()) - IMAGE_EXTENSIONS.indexOf(extname(b).toLowerCase()) || a.localeCompare(b));
  for (const n of names) if (!m.has(stem(n))) m.set(stem(n), join(dir, n));
  return m;
}

export function readCsvFile(path: string): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DataError(path, `cannot read CSV (${(err as Error).message})`);
  }
  return parseCsv(text);
}

/** ICDR grade 0..4 from a CSV cell; '' is no grade; anything else is an error naming the row. */
export function parseGrade(cell: string | undefined, where: string, what: string): number | null | DataError {
  if (cell === undefined || cell === '') return null;
  const g = Number(cell);
  if (!Number.isInteger(g) || g < 0 || g >= NUM_GRADES) return new DataError(where, `grade "${cell}" of "${what}" is outside 0..${NUM_GRADES - 1}`);
  return g;
}
