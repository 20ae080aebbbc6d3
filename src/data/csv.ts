// RFC 4180 CSV with the dialects real label files come in: a UTF-8 byte-order mark, CRLF or
// LF, quoted fields with doubled quotes and embedded newlines, and header names with spaces
// or odd case ("Image name", "Retinopathy grade"): columns are looked up by normalised name.

export interface CsvTable {
  /** Header cells as written (BOM removed, trimmed). */
  header: string[];
  /** Data rows; each row as long as its line (may be shorter or longer than the header). */
  rows: string[][];
  /** 1-based line number in the file where each row starts (for error messages). */
  lines: number[];
}

export function parseCsv(text: string): CsvTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: string[][] = [];
  const starts: number[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowStart = 1;
  let fieldStarted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
      fieldStarted = false;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      records.push(row);
      starts.push(rowStart);
      row = [];
      field = '';
      fieldStarted = false;
      line++;
      rowStart = line;
    } else {
      field += ch;
      if (ch !== ' ' && ch !== '\t') fieldStarted = true;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    records.push(row);
    starts.push(rowStart);
  }
  // Blank lines (and the all-empty rows spreadsheets leave behind) carry nothing.
  const keep = records.map((r) => r.some((c) => c.trim() !== ''));
  const kept = records.filter((_, i) => keep[i]);
  const keptLines = starts.filter((_, i) => keep[i]);
  if (kept.length === 0) return { header: [], rows: [], lines: [] };
  return {
    header: kept[0].map((h) => h.trim()),
    rows: kept.slice(1).map((r) => r.map((c) => c.trim())),
    lines: keptLines.slice(1),
  };
}

/** "Retinopathy grade" -> "retinopathygrade": case, spaces, '_' and '-' do not distinguish columns. */
export function normaliseHeader(name: string): string {
  return name.toLowerCase().replace(/[\s_\-]+/g, '');
}

/** Index of the first column whose normalised name is one of `names`, or -1. */
export function findColumn(table: CsvTable, ...names: string[]): number {
  const want = new Set(names.map(normaliseHeader));
  return table.header.findIndex((h) => want.has(normaliseHeader(h)));
}
