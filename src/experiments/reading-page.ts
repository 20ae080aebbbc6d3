// The page a reader works through (Table I's human reading): one self-contained HTML file
// with every image inlined, shown one at a time under an anonymous id, a realness score 1-10,
// a real/fake call and optionally an ICDR grade per image, all keyboard driven. Progress is
// kept in the browser's localStorage; "Export answers" downloads the answers file that
// reading-score.ts reads. Nothing in the page says where an image came from: that is in
// key.json only.
import { escapeHtml } from '../report/html-report.js';

export const ANSWERS_FORMAT = 'drgan-reading-answers';

export type Call = 'real' | 'fake';

/** One reader's answer for one image as the page holds it (fields missing until given). */
export interface PageAnswer {
  score?: number;
  call?: Call;
  grade?: number;
}

export interface KeyState {
  answer: PageAnswer;
  /** The question number keys go to: the score first, then the grade. */
  field: 'score' | 'grade';
}

export interface KeyOutcome extends KeyState {
  /** -1 previous image, 1 next, 0 stay. */
  move: number;
  /** False: the key means nothing here and the browser keeps its default. */
  handled: boolean;
}

// The three functions below run in the reader's browser too: the page embeds their source
// (Function.prototype.toString), so they must stay self-contained (no imports, no closures)
// and the tests of them test what the page runs.

/**
 * Keys: 1-9 and 0 (= 10) give the score; R / F call the image real or fake; with grading,
 * a score moves the number keys on to the grade (0-4), S and G pick which question they
 * answer; Enter, right arrow or N go to the next image, left arrow or P to the previous one.
 */
export function applyReadingKey(state: KeyState, key: string, askGrade: boolean): KeyOutcome {
  const answer = { ...state.answer };
  let field = state.field;
  let move = 0;
  let handled = true;
  if (/^[0-9]$/.test(key)) {
    const d = Number(key);
    if (askGrade && field === 'grade') {
      if (d <= 4) answer.grade = d;
      else handled = false;
    } else {
      answer.score = d === 0 ? 10 : d;
      if (askGrade) field = 'grade';
    }
  } else if (key === 'r' || key === 'R') answer.call = 'real';
  else if (key === 'f' || key === 'F') answer.call = 'fake';
  else if (key === 's' || key === 'S') field = 'score';
  else if (askGrade && (key === 'g' || key === 'G')) field = 'grade';
  else if (key === 'Enter' || key === 'ArrowRight' || key === 'n' || key === 'N') move = 1;
  else if (key === 'ArrowLeft' || key === 'p' || key === 'P') move = -1;
  else handled = false;
  return { answer, field, move, handled };
}

export function isAnswerComplete(a: PageAnswer | undefined, askGrade: boolean): boolean {
  return !!a && Number.isInteger(a.score) && (a.call === 'real' || a.call === 'fake') && (!askGrade || Number.isInteger(a.grade));
}

export interface AnswersFile {
  format: typeof ANSWERS_FORMAT;
  version: 1;
  kitId: string;
  reader: string;
  started: string | null;
  exported: string;
  answers: ({ id: string } & PageAnswer)[];
}

/** The exported file: answers in page order, images not yet looked at left out. */
export function buildAnswersExport(kitId: string, reader: string, ids: readonly string[], answers: Record<string, PageAnswer | undefined>, started: string | null, exported: string): AnswersFile {
  const list: ({ id: string } & PageAnswer)[] = [];
  for (const id of ids) {
    const a = answers[id];
    if (!a) continue;
    const row: { id: string } & PageAnswer = { id };
    if (a.score !== undefined) row.score = a.score;
    if (a.call !== undefined) row.call = a.call;
    if (a.grade !== undefined) row.grade = a.grade;
    list.push(row);
  }
  return { format: 'drgan-reading-answers', version: 1, kitId, reader, started, exported, answers: list };
}

const GRADE_NAMES = ['no DR', 'mild NPDR', 'moderate NPDR', 'severe NPDR', 'proliferative DR'];

const STYLE = `
body{margin:0;background:#111;color:#ddd;font:15px/1.4 system-ui,sans-serif}
header{display:flex;flex-wrap:wrap;gap:12px;align-items:center;padding:8px 16px;background:#1d1d1d;border-bottom:1px solid #333}
header h1{font-size:17px;margin:0 12px 0 0}
input{background:#222;color:#eee;border:1px solid #555;padding:4px 6px;font:inherit}
button{background:#2a2a2a;color:#ddd;border:1px solid #555;border-radius:4px;padding:5px 9px;font:inherit;cursor:pointer}
button.on{background:#2f6fb5;border-color:#8cc0ff;color:#fff}
main{display:flex;flex-wrap:wrap;gap:16px;padding:12px 16px}
#photo{max-width:min(80vh,100%);max-height:80vh;background:#000}
.q{margin:0 0 14px;padding:8px;border:1px solid transparent;border-radius:6px}
.q.active{border-color:#8cc0ff}
.q h2{font-size:15px;margin:0 0 6px}
.help{color:#999;font-size:13px;max-width:42em}
#overview{display:flex;flex-wrap:wrap;gap:3px;padding:8px 16px}
#overview button{width:3.2em;padding:2px;font-size:12px}
#overview button.done{background:#24502f}
#overview button.here{outline:2px solid #8cc0ff}
`;

// The page logic; KIT is the JSON block of the page. Runs in the browser only.
const SCRIPT = `
(function () {
  'use strict';
  var KIT = JSON.parse(document.getElementById('kit').textContent);
  var STORE = 'drgan-reading:' + KIT.kitId;
  var state = { reader: '', answers: {}, pos: 0, started: null };
  try {
    var saved = JSON.parse(localStorage.getItem(STORE) || 'null');
    if (saved && typeof saved.answers === 'object') state = Object.assign(state, saved);
  } catch (e) { /* nothing saved, or storage blocked */ }
  if (!(state.pos >= 0 && state.pos < KIT.images.length)) state.pos = 0;
  var field = 'score';
  function $(id) { return document.getElementById(id); }
  function save() {
    try { localStorage.setItem(STORE, JSON.stringify(state)); $('saved').textContent = 'progress saved in this browser'; }
    catch (e) { $('saved').textContent = 'this browser does not keep progress: export your answers before closing'; }
  }
  function current() { return state.answers[KIT.images[state.pos].id] || {}; }
  function render() {
    var a = current();
    $('photo').src = KIT.images[state.pos].src;
    $('where').textContent = 'Image ' + (state.pos + 1) + ' of ' + KIT.images.length;
    var done = 0;
    var cells = $('overview').children;
    for (var i = 0; i < KIT.images.length; i++) {
      var ok = isAnswerComplete(state.answers[KIT.images[i].id], KIT.askGrade);
      if (ok) done++;
      cells[i].classList.toggle('done', ok);
      cells[i].classList.toggle('here', i === state.pos);
    }
    $('progress').textContent = done + ' of ' + KIT.images.length + ' answered';
    document.querySelectorAll('[data-score]').forEach(function (b) { b.classList.toggle('on', Number(b.dataset.score) === a.score); });
    document.querySelectorAll('[data-call]').forEach(function (b) { b.classList.toggle('on', b.dataset.call === a.call); });
    document.querySelectorAll('[data-grade]').forEach(function (b) { b.classList.toggle('on', Number(b.dataset.grade) === a.grade); });
    $('q-score').classList.toggle('active', field === 'score');
    if (KIT.askGrade) $('q-grade').classList.toggle('active', field === 'grade');
  }
  function setAnswer(answer) {
    state.answers[KIT.images[state.pos].id] = answer;
    if (!state.started) state.started = new Date().toISOString();
    save();
  }
  function go(pos) {
    if (pos < 0 || pos >= KIT.images.length) return;
    state.pos = pos;
    field = 'score';
    save();
    render();
  }
  function exportAnswers() {
    var reader = state.reader.trim();
    if (!reader) { alert('Please type your name first.'); $('reader').focus(); return; }
    var missing = KIT.images.filter(function (im) { return !isAnswerComplete(state.answers[im.id], KIT.askGrade); }).length;
    if (missing && !confirm(missing + ' image(s) are not fully answered yet. Export anyway?')) return;
    var now = new Date().toISOString();
    var file = buildAnswersExport(KIT.kitId, reader, KIT.images.map(function (im) { return im.id; }), state.answers, state.started, now);
    var blob = new Blob([JSON.stringify(file, null, 1)], { type: 'application/json' });
    var link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = 'answers-' + reader.replace(/[^A-Za-z0-9_-]+/g, '_') + '-' + now.replace(/[:.]/g, '-') + '.json';
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }
  var grid = $('overview');
  KIT.images.forEach(function (im, i) {
    var b = document.createElement('button');
    b.textContent = String(i + 1);
    b.dataset.goto = String(i);
    grid.appendChild(b);
  });
  $('reader').value = state.reader;
  $('reader').addEventListener('input', function (e) { state.reader = e.target.value; save(); });
  document.addEventListener('click', function (e) {
    var b = e.target.closest('button');
    if (!b) return;
    var a = Object.assign({}, current());
    if (b.dataset.score) { a.score = Number(b.dataset.score); field = KIT.askGrade ? 'grade' : 'score'; setAnswer(a); }
    else if (b.dataset.call) { a.call = b.dataset.call; setAnswer(a); }
    else if (b.dataset.grade) { a.grade = Number(b.dataset.grade); field = 'grade'; setAnswer(a); }
    else if (b.dataset.goto) { go(Number(b.dataset.goto)); return; }
    else if (b.id === 'prev') { go(state.pos - 1); return; }
    else if (b.id === 'next') { go(state.pos + 1); return; }
    else if (b.id === 'export') { exportAnswers(); return; }
    else return;
    b.blur();
    render();
  });
  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || (e.target && e.target.tagName === 'INPUT')) return;
    var out = applyReadingKey({ answer: current(), field: field }, e.key, KIT.askGrade);
    if (!out.handled) return;
    e.preventDefault();
    field = out.field;
    if (JSON.stringify(out.answer) !== JSON.stringify(current())) setAnswer(out.answer);
    if (out.move) go(state.pos + out.move);
    else render();
  });
  render();
})();
`;

export interface ReadingPageOptions {
  kitId: string;
  title: string;
  askGrade: boolean;
  /** In page order: anonymous id and the image as a data URI. */
  images: readonly { id: string; src: string }[];
}

/** JSON inside <script>: "<" escaped so no string can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function readingPageHtml(o: ReadingPageOptions): string {
  const scoreButtons = Array.from({ length: 10 }, (_, i) => `<button data-score="${i + 1}">${i + 1}</button>`).join('');
  const gradeBlock = o.askGrade
    ? `<div class="q" id="q-grade"><h2>ICDR grade <span class="help">(keys 0-4 after the score; G to come back here)</span></h2>${GRADE_NAMES.map((g, i) => `<button data-grade="${i}">${i} ${g}</button>`).join(' ')}</div>`
    : '';
  const keys = o.askGrade
    ? 'Keys: 1-9 and 0 (= 10) score, then 0-4 grade; R real, F synthetic; S back to the score; Enter or &rarr; next, &larr; previous.'
    : 'Keys: 1-9 and 0 (= 10) score; R real, F synthetic; Enter or &rarr; next, &larr; previous.';
  const code = [applyReadingKey, isAnswerComplete, buildAnswersExport].map((f) => f.toString()).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(o.title)}</title><style>${STYLE}</style></head>
<body>
<header><h1>${escapeHtml(o.title)}</h1>
<label>Reader <input id="reader" placeholder="your name" autocomplete="name"></label>
<span id="progress"></span><button id="export">Export answers</button><span id="saved" class="help"></span></header>
<main>
<div><img id="photo" alt="fundus photograph"><div><button id="prev">&larr; previous</button> <span id="where"></span> <button id="next">next &rarr;</button></div></div>
<div>
<p class="help">Some of these fundus photographs are real and some were made by a computer. Judge each on its own: details such as vessels, lesion textures and colours.</p>
<div class="q" id="q-score"><h2>Realness, 1 (surely synthetic) to 10 (surely a real photograph)</h2>${scoreButtons}</div>
<div class="q" id="q-call"><h2>Real or synthetic?</h2><button data-call="real">R real</button> <button data-call="fake">F synthetic</button></div>
${gradeBlock}
<p class="help">${keys} Your answers stay in this browser until you press "Export answers" and send the downloaded file.</p>
</div>
</main>
<div id="overview"></div>
<script type="application/json" id="kit">${scriptJson({ kitId: o.kitId, askGrade: o.askGrade, images: o.images })}</script>
<script>
${code}
${SCRIPT}
</script>
</body></html>
`;
}
