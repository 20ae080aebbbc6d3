// The reading page: its key handling (the same function the page embeds), the answers file it
// exports, and the page's own script driven in a stub DOM: keys and clicks record answers,
// progress survives a reload through localStorage, and "Export answers" downloads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { applyReadingKey, buildAnswersExport, isAnswerComplete, readingPageHtml, type KeyState } from '../../src/experiments/reading-page.js';
import { openReadingPage } from './reading-fake-browser.js';

function press(keys: string[], askGrade: boolean, start: KeyState = { answer: {}, field: 'score' }) {
  let s = start;
  let moves = 0;
  for (const k of keys) {
    const o = applyReadingKey(s, k, askGrade);
    s = { answer: o.answer, field: o.field };
    moves += o.move;
  }
  return { ...s, moves };
}

test('applyReadingKey: digits score (0 = 10), R/F call, then digits grade 0-4; Enter/arrows move', () => {
  assert.deepEqual(press(['7', 'r'], false), { answer: { score: 7, call: 'real' }, field: 'score', moves: 0 });
  assert.deepEqual(press(['0', 'F', '3'], false).answer, { score: 3, call: 'fake' });
  // With grading a score hands the digits on to the grade; 5-9 are no grade and are ignored.
  const g = press(['0', '9', '2', 'f'], true);
  assert.deepEqual(g.answer, { score: 10, grade: 2, call: 'fake' });
  assert.equal(g.field, 'grade');
  assert.equal(applyReadingKey({ answer: {}, field: 'grade' }, '7', true).handled, false);
  // S goes back to the score, G to the grade.
  assert.deepEqual(press(['8', '1', 's', '6', 'g', '4'], true).answer, { score: 6, grade: 4 });
  assert.equal(press(['Enter', 'ArrowRight', 'n'], false).moves, 3);
  assert.equal(press(['ArrowLeft', 'p'], false).moves, -2);
  assert.equal(applyReadingKey({ answer: {}, field: 'score' }, 'x', false).handled, false);
  assert.equal(applyReadingKey({ answer: {}, field: 'score' }, 'g', false).handled, false);
  // The state passed in is not changed.
  const s: KeyState = { answer: { score: 1 }, field: 'score' };
  applyReadingKey(s, '5', false);
  assert.deepEqual(s.answer, { score: 1 });
});

test('isAnswerComplete and buildAnswersExport: grade needed only when asked; page order; unseen images left out', () => {
  assert.equal(isAnswerComplete({ score: 4, call: 'real' }, false), true);
  assert.equal(isAnswerComplete({ score: 4, call: 'real' }, true), false);
  assert.equal(isAnswerComplete({ score: 4, call: 'real', grade: 0 }, true), true);
  assert.equal(isAnswerComplete({ call: 'real' }, false), false);
  assert.equal(isAnswerComplete(undefined, false), false);
  const f = buildAnswersExport('kit1', 'Dr A', ['b', 'a', 'c'], { a: { score: 2, call: 'fake' }, b: { score: 9 } }, 'T0', 'T1');
  assert.deepEqual(f, { format: 'drgan-reading-answers', version: 1, kitId: 'kit1', reader: 'Dr A', started: 'T0', exported: 'T1', answers: [{ id: 'b', score: 9 }, { id: 'a', score: 2, call: 'fake' }] });
});

const IMAGES = [{ id: 'aaaaaa', src: 'data:image/png;base64,AAAA' }, { id: 'bbbbbb', src: 'data:image/png;base64,BBBB' }, { id: 'cccccc', src: 'data:image/png;base64,CCCC' }];

test('the page script compiles and is the one the tests drive; titles are escaped', () => {
  const html = readingPageHtml({ kitId: 'k1', title: 'Study <b>&</b>', askGrade: false, images: IMAGES });
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
  assert.doesNotThrow(() => new vm.Script(script));
  assert.ok(script.includes(applyReadingKey.toString()));
  assert.match(html, /<title>Study &lt;b&gt;&amp;&lt;\/b&gt;<\/title>/);
  // A "</script>" in an id cannot end the data block early.
  const odd = readingPageHtml({ kitId: 'k1', title: 't', askGrade: false, images: [{ id: '</script>', src: 'x' }] });
  assert.ok(!odd.includes('"</script>"'));
});

test('in the page: keys and clicks answer, progress survives a reload, export downloads the answers with reader and time', () => {
  const html = readingPageHtml({ kitId: 'kit42', title: 'Reading', askGrade: true, images: IMAGES });
  const page = openReadingPage(html);
  assert.equal(page.shownSrc(), IMAGES[0].src);
  for (const k of ['7', '2', 'r', 'Enter']) page.key(k);
  assert.equal(page.shownSrc(), IMAGES[1].src);
  for (const k of ['0', '9', '4', 'f', 'ArrowLeft']) page.key(k);
  assert.equal(page.shownSrc(), IMAGES[0].src);
  const saved = JSON.parse(page.storage.get('drgan-reading:kit42')!);
  assert.deepEqual(saved.answers, { aaaaaa: { score: 7, grade: 2, call: 'real' }, bbbbbb: { score: 10, grade: 4, call: 'fake' } });
  assert.deepEqual(page.overviewDone(), [true, true, false]);

  // A reload in the same browser starts where the reader left off.
  const again = openReadingPage(html, page.storage);
  assert.equal(again.shownSrc(), IMAGES[0].src);
  assert.deepEqual(again.overviewDone(), [true, true, false]);
  again.click({ dataset: { goto: '2' } });
  assert.equal(again.shownSrc(), IMAGES[2].src);
  again.click({ dataset: { score: '3' } });
  again.click({ dataset: { call: 'fake' } });
  again.click({ dataset: { grade: '1' } });
  assert.deepEqual(again.overviewDone(), [true, true, true]);

  // Export needs a name; then the download holds every answer, in page order.
  again.click({ id: 'export' });
  assert.equal(again.downloads.length, 0);
  assert.match(again.alerts[0], /type your name/);
  again.typeReader('Dr. Ada L.');
  again.click({ id: 'export' });
  assert.equal(again.downloads.length, 1);
  assert.match(again.downloads[0].name, /^answers-Dr_Ada_L_-\d{4}-\d\d-\d\dT[\d-]+Z\.json$/);
  const file = JSON.parse(again.downloads[0].text);
  assert.equal(file.format, 'drgan-reading-answers');
  assert.equal(file.kitId, 'kit42');
  assert.equal(file.reader, 'Dr. Ada L.');
  assert.ok(!Number.isNaN(Date.parse(file.exported)) && !Number.isNaN(Date.parse(file.started)));
  assert.deepEqual(file.answers, [
    { id: 'aaaaaa', score: 7, call: 'real', grade: 2 },
    { id: 'bbbbbb', score: 10, call: 'fake', grade: 4 },
    { id: 'cccccc', score: 3, call: 'fake', grade: 1 },
  ]);
  // The name is kept with the progress, too.
  assert.equal(JSON.parse(again.storage.get('drgan-reading:kit42')!).reader, 'Dr. Ada L.');
  // Another kit in the same browser keeps its own progress.
  const otherKit = openReadingPage(readingPageHtml({ kitId: 'kit43', title: 'R', askGrade: true, images: IMAGES }), again.storage);
  assert.deepEqual(otherKit.overviewDone(), [false, false, false]);
});

test('in the page: exporting unfinished answers asks first, and a "no" downloads nothing', () => {
  const html = readingPageHtml({ kitId: 'k9', title: 'R', askGrade: false, images: IMAGES });
  const no = openReadingPage(html, new Map(), false);
  no.typeReader('B');
  for (const k of ['5', 'f']) no.key(k);
  no.click({ id: 'export' });
  assert.equal(no.downloads.length, 0);
  const yes = openReadingPage(html, no.storage, true);
  yes.click({ id: 'export' });
  assert.deepEqual(JSON.parse(yes.downloads[0].text).answers, [{ id: 'aaaaaa', score: 5, call: 'fake' }]);
});
