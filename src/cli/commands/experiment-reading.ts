// `drgan experiment reading|reading-score`: Table I's human reading (method.md section 9).
// The first writes a page of mixed real and synthetic images for readers plus the answer
// key; the second scores the answers files the readers send back.
import { parseReadingSources, writeReadingKit, type ImageFormat } from '../../experiments/reading-kit.js';
import { jsonSafe } from '../../experiments/summary.js';
import { runReadingScore } from '../../experiments/reading-score.js';
import type { Split } from '../../data/manifest.js';
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';

const log = (line: string) => console.error(line);
const SPLITS = ['all', 'train', 'val', 'test'];

export const experimentReadingCommand: Command = {
  name: 'experiment reading',
  summary: 'Table I: a reader-study page (real and synthetic images mixed, anonymous ids) and its answer key',
  usage: 'drgan experiment reading --real DATA --fake SYNTH[,NAME=SYNTH2...] --out DIR [--n 100] [--fake-share 0.5] [--seed 0] [--size 512] [--grade]',
  flags: {
    real: { kind: 'string', required: true, help: 'prepared real data set' },
    fake: { kind: 'string', required: true, help: 'synthetic sets (drgan synth), comma-separated; each PATH (named after its folder) or NAME=PATH' },
    out: { kind: 'string', required: true, help: 'output folder: reading.html (for readers) and key.json (keep it from them)' },
    n: { kind: 'int', default: 100, min: 2, max: 100000, help: 'images in the kit' },
    'fake-share': { kind: 'number', default: 0.5, min: 0, max: 1, help: 'share of synthetic images, split evenly over the synthetic sets' },
    seed: { kind: 'int', default: 0, min: 0, help: 'seeds the draw, the order and the anonymous ids' },
    size: { kind: 'int', default: 512, min: 16, max: 4096, help: 'side in pixels every image is shown at' },
    grade: { kind: 'bool', default: false, help: 'also ask each reader for the ICDR grade 0-4' },
    'real-split': { kind: 'choice', choices: SPLITS, default: 'test', help: 'split of the real set drawn from' },
    'fake-split': { kind: 'choice', choices: SPLITS, default: 'all', help: 'split of the synthetic sets drawn from' },
    'natural-real': { kind: 'bool', default: false, help: 'draw real images at the split\'s own grade mix (default: evenly across grades, like the synthetic ones)' },
    format: { kind: 'choice', choices: ['jpeg', 'png'], default: 'jpeg', help: 'encoding of every embedded image' },
    quality: { kind: 'int', default: 90, min: 1, max: 100, help: 'JPEG quality' },
    title: { kind: 'string', default: 'Fundus photograph reading', help: 'page title (shown to readers: say nothing about the sources)' },
  },
  async run(f) {
    let fake;
    try {
      fake = parseReadingSources(f.fake as string);
    } catch (err) {
      throw new UsageError(`drgan experiment reading: ${(err as Error).message}`);
    }
    const fakeShare = f['fake-share'] as number;
    if (fakeShare <= 0 || fakeShare >= 1) throw new UsageError(`drgan experiment reading: --fake-share must be strictly between 0 and 1, got ${fakeShare}`);
    const t0 = Date.now();
    const r = await writeReadingKit({
      real: f.real as string, fake, out: f.out as string, n: f.n as number, fakeShare, seed: f.seed as number, size: f.size as number,
      askGrade: f.grade as boolean, realSplit: f['real-split'] as Split | 'all', fakeSplit: f['fake-split'] as Split | 'all',
      stratifyReal: !(f['natural-real'] as boolean), format: f.format as ImageFormat, quality: f.quality as number, title: f.title as string, log,
    });
    for (const s of r.key.sets) {
      const grades = Object.entries(s.drawnPerGrade).map(([g, c]) => `${g}: ${c}`).join(', ');
      console.log(`${s.truth === 'real' ? 'real' : 'synthetic'} "${s.name}": ${s.drawn} of ${s.available} (${grades})`);
    }
    console.log(`kit ${r.key.kitId}: ${r.key.items.length} images -> ${r.htmlPath} (${(r.htmlBytes / 1048576).toFixed(1)} MiB), key -> ${r.keyPath} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    console.log('send readers reading.html only; score their exported answers with drgan experiment reading-score');
    return 0;
  },
};

export const experimentReadingScoreCommand: Command = {
  name: 'experiment reading-score',
  summary: 'Table I: realness scores and real/fake accuracy of readers\' answers against the reading key',
  usage: 'drgan experiment reading-score --key DIR/key.json --answers A.json[,B.json] [more.json ...] [--out DIR] [--json]',
  flags: {
    key: { kind: 'string', required: true, help: 'key.json written by drgan experiment reading' },
    answers: { kind: 'string', required: true, help: 'answers files exported from the page, comma-separated (further files may follow as arguments)' },
    out: { kind: 'string', help: 'folder for results.json and tables.md (default: the key\'s folder)' },
    json: { kind: 'bool', default: false, help: 'print results.json to stdout instead of the tables' },
  },
  async run(f, positional) {
    const answers = [...(f.answers as string).split(','), ...positional].map((s) => s.trim()).filter((s) => s !== '');
    if (answers.length === 0) throw new UsageError('drgan experiment reading-score: --answers needs at least one answers file');
    const r = runReadingScore({ key: f.key as string, answers, out: f.out as string | undefined });
    if (f.json) console.log(JSON.stringify(jsonSafe(r.results), null, 2));
    else console.log(r.tables);
    log(`results: ${r.out}/results.json, ${r.out}/tables.md`);
    return 0;
  },
};
