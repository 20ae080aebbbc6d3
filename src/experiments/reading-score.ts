// Scores a reader study (Table I, method.md section 9): the answers files the reading page
// exports, checked against the kit's key.json. Per reader and pooled: the mean realness score
// of the real images and of each synthetic set (Table I's "Score"), how often the readers
// told real from synthetic (Table I's "Accuracy", with a Wilson interval and a binomial test
// against chance), sensitivity and specificity for spotting fakes, agreement of the readers'
// grades with the true or target grade, and agreement among readers (Fleiss' kappa).
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { proportionSummary, type ProportionSummary } from '../eval/binomial.js';
import { gradingReport, NUM_GRADES, type GradingReport } from '../eval/grading-metrics.js';
import { categoryCounts, fleissKappa, type FleissKappa } from '../eval/rater-agreement.js';
import { KEY_FORMAT, REAL_SET_NAME, type KeyItem, type ReadingKey } from './reading-kit.js';
import { ANSWERS_FORMAT, type Call } from './reading-page.js';
import { jsonSafe, markdownTable, meanStd, type MeanStd } from './summary.js';

/** Problems listed in one error before the rest are counted. */
const MAX_LISTED = 12;

function fail(file: string, problems: string[]): never {
  const shown = problems.slice(0, MAX_LISTED).map((p) => `  ${p}`);
  if (problems.length > MAX_LISTED) shown.push(`  ... and ${problems.length - MAX_LISTED} more`);
  throw new Error(`${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n${shown.join('\n')}`}`);
}

function parseJson(text: string, file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${file}: expected a JSON object`);
  return v as Record<string, unknown>;
}

const isGrade = (g: unknown) => Number.isInteger(g) && (g as number) >= 0 && (g as number) < NUM_GRADES;

/** Reads and checks key.json as `drgan experiment reading` wrote it. */
export function parseReadingKey(text: string, file: string): ReadingKey {
  const k = parseJson(text, file);
  if (k.format !== KEY_FORMAT) throw new Error(`${file}: not a reading key (format is ${JSON.stringify(k.format)}, expected "${KEY_FORMAT}"; answers files go to --answers)`);
  if (k.version !== 1) throw new Error(`${file}: key version ${JSON.stringify(k.version)} is not supported (expected 1)`);
  if (typeof k.kitId !== 'string' || !Array.isArray(k.items) || k.items.length === 0) throw new Error(`${file}: key needs "kitId" and a non-empty "items" list`);
  const problems: string[] = [];
  if (k.sets !== undefined && !Array.isArray(k.sets)) problems.push('"sets" must be a list');
  const ids = new Set<string>();
  (k.items as Record<string, unknown>[]).forEach((it, i) => {
    const where = `items[${i}]`;
    if (typeof it?.id !== 'string' || it.id === '') return void problems.push(`${where}: no id`);
    if (ids.has(it.id)) problems.push(`${where}: id "${it.id}" appears twice`);
    ids.add(it.id);
    if (it.truth !== 'real' && it.truth !== 'fake') problems.push(`${where} ("${it.id}"): truth ${JSON.stringify(it.truth)} is not "real" or "fake"`);
    if (typeof it.set !== 'string' || it.set === '') problems.push(`${where} ("${it.id}"): no set name`);
    if (it.grade !== null && !isGrade(it.grade)) problems.push(`${where} ("${it.id}"): grade ${JSON.stringify(it.grade)} is not null or 0..4`);
  });
  if (problems.length) fail(file, problems);
  return k as unknown as ReadingKey;
}

/** One reader's complete, checked answers. */
export interface ReaderAnswers {
  file: string;
  reader: string;
  exported: string | null;
  answers: Map<string, { score: number; call: Call; grade: number | null }>;
}

/** Checks an answers file against the key: every image answered once, every value in range. */
export function parseAnswers(text: string, file: string, key: ReadingKey): ReaderAnswers {
  const a = parseJson(text, file);
  if (a.format !== ANSWERS_FORMAT) throw new Error(`${file}: not a reading answers file (format is ${JSON.stringify(a.format)}, expected "${ANSWERS_FORMAT}")`);
  if (a.kitId !== key.kitId) throw new Error(`${file}: answers are for kit ${JSON.stringify(a.kitId)}, the key is for kit "${key.kitId}" (a page and key from another drgan experiment reading run?)`);
  if (typeof a.reader !== 'string' || a.reader.trim() === '') throw new Error(`${file}: no reader name`);
  if (!Array.isArray(a.answers)) throw new Error(`${file}: "answers" must be a list`);
  const known = new Set(key.items.map((it) => it.id));
  const problems: string[] = [];
  const answers: ReaderAnswers['answers'] = new Map();
  (a.answers as Record<string, unknown>[]).forEach((row, i) => {
    const id = row?.id;
    if (typeof id !== 'string') return void problems.push(`answers[${i}]: no image id`);
    if (!known.has(id)) return void problems.push(`image "${id}": unknown id (not in this kit's key)`);
    if (answers.has(id)) return void problems.push(`image "${id}": answered twice`);
    const bad: string[] = [];
    if (row.score === undefined) bad.push('no realness score');
    else if (!Number.isInteger(row.score) || (row.score as number) < 1 || (row.score as number) > 10) bad.push(`score ${JSON.stringify(row.score)} is not an integer in 1..10`);
    if (row.call === undefined) bad.push('no real/fake call');
    else if (row.call !== 'real' && row.call !== 'fake') bad.push(`call ${JSON.stringify(row.call)} is not "real" or "fake"`);
    if (key.askGrade) {
      if (row.grade === undefined) bad.push('no grade');
      else if (!isGrade(row.grade)) bad.push(`grade ${JSON.stringify(row.grade)} is not an integer in 0..4`);
    }
    if (bad.length) return void problems.push(`image "${id}": ${bad.join('; ')}`);
    answers.set(id, { score: row.score as number, call: row.call as Call, grade: key.askGrade ? (row.grade as number) : null });
  });
  const missing = key.items.filter((it) => !answers.has(it.id) && !problems.some((p) => p.startsWith(`image "${it.id}"`)));
  if (missing.length) problems.push(`no answer for ${missing.length} of ${key.items.length} images: ${missing.slice(0, MAX_LISTED).map((it) => `"${it.id}" (image ${it.position})`).join(', ')}${missing.length > MAX_LISTED ? ', ...' : ''}`);
  if (problems.length) fail(file, problems);
  return { file, reader: a.reader.trim(), exported: typeof a.exported === 'string' ? a.exported : null, answers };
}

interface Rating {
  item: KeyItem;
  score: number;
  call: Call;
  grade: number | null;
}

export interface GradeAgreement {
  /** Readers' grades against the true grade of the real images (graded ones only). */
  real: GradingReport | null;
  /** Against the target grade of the synthetic images. */
  fake: GradingReport | null;
  fakePerSet: Record<string, GradingReport | null>;
}

export interface ReaderResult {
  reader: string;
  /** Readings that entered (images x readers for the pooled row). */
  ratings: number;
  /** Realness 1-10 per set, the real images under "Real": mean and sample sd over readings. */
  score: Record<string, MeanStd>;
  /** Correct real/fake calls over all images, against 50%. */
  accuracy: ProportionSummary;
  /** Table I's accuracy: correct calls over the real images plus that set's synthetic ones. */
  accuracyPerSet: Record<string, ProportionSummary>;
  /** Synthetic images called synthetic (fake detection's sensitivity). */
  sensitivity: ProportionSummary;
  sensitivityPerSet: Record<string, ProportionSummary>;
  /** Real images called real. */
  specificity: ProportionSummary;
  /** (sensitivity + specificity) / 2: accuracy as if real and synthetic were equally many. */
  balancedAccuracy: number;
  /** Null when the kit did not ask for grades. */
  grading: GradeAgreement | null;
}

export interface ReadingResults {
  kitId: string;
  askGrade: boolean;
  images: { total: number; real: number; fake: Record<string, number> };
  fakeSets: string[];
  readers: ReaderResult[];
  /** All readings together, each one trial (see notes). */
  pooled: ReaderResult;
  /** Agreement among readers on real/fake; null with one reader. */
  interReader: FleissKappa | null;
  notes: string[];
}

function proportion(ratings: readonly Rating[], hit: (r: Rating) => boolean): ProportionSummary {
  return proportionSummary(ratings.filter(hit).length, ratings.length);
}

function gradeReport(ratings: readonly Rating[]): GradingReport | null {
  const graded = ratings.filter((r) => r.item.grade !== null && r.grade !== null);
  return graded.length ? gradingReport(graded.map((r) => r.item.grade!), graded.map((r) => r.grade!)) : null;
}

function summariseRatings(reader: string, ratings: readonly Rating[], fakeSets: readonly string[], askGrade: boolean): ReaderResult {
  const real = ratings.filter((r) => r.item.truth === 'real');
  const fake = ratings.filter((r) => r.item.truth === 'fake');
  const ofSet = (s: string) => fake.filter((r) => r.item.set === s);
  const correct = (r: Rating) => r.call === r.item.truth;
  const perSet = <T>(f: (s: string) => T) => Object.fromEntries(fakeSets.map((s) => [s, f(s)])) as Record<string, T>;
  const sensitivity = proportion(fake, correct);
  const specificity = proportion(real, correct);
  return {
    reader,
    ratings: ratings.length,
    score: { [REAL_SET_NAME]: meanStd(real.map((r) => r.score)), ...perSet((s) => meanStd(ofSet(s).map((r) => r.score))) },
    accuracy: proportion(ratings, correct),
    accuracyPerSet: perSet((s) => proportion([...real, ...ofSet(s)], correct)),
    sensitivity,
    sensitivityPerSet: perSet((s) => proportion(ofSet(s), correct)),
    specificity,
    balancedAccuracy: (sensitivity.rate + specificity.rate) / 2,
    grading: askGrade ? { real: gradeReport(real), fake: gradeReport(fake), fakePerSet: perSet((s) => gradeReport(ofSet(s))) } : null,
  };
}

/** Every number of the study from the key and the readers' checked answers. */
export function scoreReading(key: ReadingKey, readers: readonly ReaderAnswers[]): ReadingResults {
  if (readers.length === 0) throw new Error('no answers files to score');
  const byName = new Map<string, string>();
  for (const r of readers) {
    const other = byName.get(r.reader.toLowerCase());
    if (other) throw new Error(`${r.file}: reader "${r.reader}" already answered in ${other} (one answers file per reader)`);
    byName.set(r.reader.toLowerCase(), r.file);
  }
  // Sets in the order they were given on the command line (key.sets), not the shuffled page order.
  const inItems = new Set(key.items.filter((it) => it.truth === 'fake').map((it) => it.set));
  const fakeSets = [...new Set([...(key.sets ?? []).filter((s) => s.truth === 'fake' && inItems.has(s.name)).map((s) => s.name), ...inItems])];
  const ratingsOf = (r: ReaderAnswers): Rating[] => key.items.map((item) => ({ item, ...r.answers.get(item.id)! }));
  const perReader = readers.map((r) => summariseRatings(r.reader, ratingsOf(r), fakeSets, key.askGrade));
  const pooled = summariseRatings(`all ${readers.length} reader${readers.length > 1 ? 's' : ''}`, readers.flatMap(ratingsOf), fakeSets, key.askGrade);
  const interReader = readers.length >= 2
    ? fleissKappa(categoryCounts(readers.map((r) => key.items.map((it) => (r.answers.get(it.id)!.call === 'fake' ? 1 : 0))), 2))
    : null;
  const fakeCounts = Object.fromEntries(fakeSets.map((s) => [s, key.items.filter((it) => it.set === s).length]));
  const notes = [
    'Accuracy per synthetic set (Table I) counts the real images and that set\'s synthetic images; chance is 50% only when both are equally many (balanced accuracy does not depend on the mix).',
    'p: two-sided exact binomial test against 50%; intervals: Wilson 95%.',
  ];
  if (readers.length > 1) notes.push('Pooled rows count every reading as one trial; the readers saw the same images, so pooled intervals and p-values are narrower than independent readings would give.');
  return {
    kitId: key.kitId,
    askGrade: key.askGrade,
    images: { total: key.items.length, real: key.items.filter((it) => it.truth === 'real').length, fake: fakeCounts },
    fakeSets,
    readers: perReader,
    pooled,
    interReader,
    notes,
  };
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const ci = (p: ProportionSummary) => `${(100 * p.ci95.low).toFixed(1)}-${(100 * p.ci95.high).toFixed(1)}`;

/** "3.2e-5" for small p, "0.041" otherwise. */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return '-';
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

const scoreCell = (m: MeanStd) => (Number.isFinite(m.mean) ? `${m.mean.toFixed(2)} ± ${m.std.toFixed(2)}` : '-');
const accCell = (p: ProportionSummary) => `${pct(p.rate)} (${ci(p)}; p ${formatP(p.pValue)})`;

/** Table I's layout (pooled), then per reader, detection, grading and inter-reader agreement. */
export function readingTables(r: ReadingResults): string {
  const P = r.pooled;
  const rows = [[REAL_SET_NAME, scoreCell(P.score[REAL_SET_NAME]), '-'], ...r.fakeSets.map((s) => [s, scoreCell(P.score[s]), accCell(P.accuracyPerSet[s])])];
  const everyone = [...r.readers, ...(r.readers.length > 1 ? [P] : [])];
  const out = [
    `## Table I: human evaluation of the fidelity (${P.reader}, ${r.images.total} images: ${r.images.real} real, ${r.fakeSets.map((s) => `${r.images.fake[s]} ${s}`).join(', ')})`,
    '',
    markdownTable(['Method', 'Score', 'Accuracy (95% CI; p vs 50%)'], rows),
    '',
    'Score: realness 1-10, mean ± sd over readings. Accuracy: real and that method\'s synthetic images told apart correctly (50% = chance).',
    '',
    '## Per reader',
    '',
    markdownTable(
      ['Reader', `${REAL_SET_NAME} score`, ...r.fakeSets.flatMap((s) => [`${s} score`, `${s} acc.`]), 'All acc.'],
      everyone.map((x) => [x.reader, scoreCell(x.score[REAL_SET_NAME]), ...r.fakeSets.flatMap((s) => [scoreCell(x.score[s]), pct(x.accuracyPerSet[s].rate)]), pct(x.accuracy.rate)]),
    ),
    '',
    '## Detecting synthetic images',
    '',
    markdownTable(
      ['Reader', 'Accuracy (95% CI)', 'p vs 50%', 'Sensitivity (95% CI)', 'Specificity (95% CI)', 'Balanced acc.', ...r.fakeSets.map((s) => `${s} sensitivity`)],
      everyone.map((x) => [x.reader, `${pct(x.accuracy.rate)} (${ci(x.accuracy)})`, formatP(x.accuracy.pValue), `${pct(x.sensitivity.rate)} (${ci(x.sensitivity)})`,
        `${pct(x.specificity.rate)} (${ci(x.specificity)})`, pct(x.balancedAccuracy), ...r.fakeSets.map((s) => pct(x.sensitivityPerSet[s].rate))]),
    ),
    '',
    'Sensitivity: synthetic images called synthetic; specificity: real images called real.',
  ];
  if (r.askGrade) {
    const g = (rep: GradingReport | null | undefined) => (rep ? `${rep.kappa.toFixed(3)} / ${pct(rep.accuracy)} (n ${rep.n})` : '-');
    out.push('', '## Readers\' grades (quadratic weighted kappa / accuracy)', '',
      markdownTable(
        ['Reader', 'Real vs true grade', 'Synthetic vs target grade', ...r.fakeSets.map((s) => `${s} vs target`)],
        everyone.map((x) => [x.reader, g(x.grading?.real), g(x.grading?.fake), ...r.fakeSets.map((s) => g(x.grading?.fakePerSet[s]))]),
      ));
  }
  out.push('', '## Agreement among readers', '',
    r.interReader
      ? `Fleiss' kappa on real/synthetic: ${r.interReader.kappa.toFixed(3)} (${r.interReader.raters} readers, ${r.interReader.items} images; observed agreement ${r.interReader.observed.toFixed(3)}, chance ${r.interReader.chance.toFixed(3)}).`
      : 'One reader: no inter-reader agreement.',
    '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

export interface ReadingScoreOptions {
  key: string;
  answers: readonly string[];
  /** Folder for results.json and tables.md; default the key's folder. */
  out?: string;
}

/** Reads key and answers, scores, writes OUT/results.json and OUT/tables.md. */
export function runReadingScore(o: ReadingScoreOptions): { results: ReadingResults; tables: string; out: string } {
  const readText = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const key = parseReadingKey(readText(o.key), o.key);
  const readers = o.answers.map((path) => parseAnswers(readText(path), path, key));
  const results = scoreReading(key, readers);
  const tables = readingTables(results);
  const out = o.out ?? dirname(o.key);
  mkdirSync(out, { recursive: true });
  const record = { format: 'drgan-reading-results', created: new Date().toISOString(), key: o.key, answers: readers.map((r) => ({ file: r.file, reader: r.reader, exported: r.exported })), ...results };
  writeFileSync(join(out, 'results.json'), JSON.stringify(jsonSafe(record), null, 2) + '\n');
  writeFileSync(join(out, 'tables.md'), `# Human reading (Table I)\n\n${tables}`);
  return { results, tables, out };
}
