import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest, type ManifestEntry } from '../../src/data/manifest.js';
import { renderPhantom } from '../../src/phantom/render.js';
import { gradeFromLesions, SEVERE_HE_PER_QUADRANT, type LesionSummary } from '../../src/phantom/grading.js';
import { bankPathFor, countLesions, LESION_TYPES, LesionModel, type SampledLesions, type StructureMasks } from '../../src/synth/lesion-sampler.js';
import { connectedComponents, quadrantOf, retinaFrame } from '../../src/synth/mask-geometry.js';
import { phantomSet } from './fixtures.js';

let dir = '';
let model: LesionModel;
let entries: ManifestEntry[];
const SIZE = 128;

before(async () => {
  dir = await phantomSet(30, SIZE);
  entries = readManifest(dir);
  model = await LesionModel.fit(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function structure(index: number, size = SIZE): StructureMasks {
  const s = renderPhantom(77, index, size, { grade: 0, photographic: false });
  return { size, vessel: s.masks.vessel, optic_disc: s.masks.optic_disc, fov: s.fov };
}

/** The phantom's LesionSummary of sampled masks: components per type, HE per quadrant about the FOV centre. */
function summarize(s: SampledLesions, st: StructureMasks): LesionSummary {
  const c = countLesions(s.masks, st.size);
  const f = retinaFrame(st.optic_disc, st.fov ?? null, st.size);
  const heQuadrants: [number, number, number, number] = [0, 0, 0, 0];
  for (const comp of connectedComponents(s.masks.HE, st.size, st.size)) heQuadrants[quadrantOf(f, comp.cx, comp.cy)]++;
  return { ...c, heQuadrants, beadedQuadrants: 0 };
}

test('fit recovers per-grade lesion counts of the phantom (its manifest meta) and orders sizes', () => {
  const d = model.data;
  for (let g = 0; g < 5; g++) {
    const eg = entries.filter((e) => e.grade === g);
    assert.equal(d.imagesPerGrade[g], eg.length);
    for (const t of LESION_TYPES) {
      const truth = eg.reduce((a, e) => a + (e.meta!.lesions as Record<string, number>)[t], 0) / Math.max(1, eg.length);
      const fitted = d.stats[g][t].countMean;
      if (truth === 0) assert.equal(fitted, 0, `grade ${g} ${t}: no lesions drawn, none fitted`);
      // MA, HE and SE are separate spots: components are lesions (a few touch and merge).
      else if (t === 'MA' || t === 'HE' || t === 'SE') assert.ok(Math.abs(fitted - truth) <= 0.15 * truth + 0.3, `grade ${g} ${t}: fitted ${fitted}, drawn ${truth}`);
      // Exudate spots in a cluster and laser scars in rows touch: fewer components than lesions, never more.
      else assert.ok(fitted > 0 && fitted <= truth + 0.5, `grade ${g} ${t}: fitted ${fitted}, drawn ${truth}`);
      // Components counted per image add up to the components measured.
      const sum = d.counts[g].reduce((a, r) => a + (r[LESION_TYPES.indexOf(t)] ?? 0), 0);
      assert.equal(sum, d.stats[g][t].components);
    }
  }
  assert.equal(d.stats[0].MA.countMax, 0);
  assert.ok(d.stats[1].MA.countMin >= 1, 'every grade-1 phantom has MAs');
  const area = (t: (typeof LESION_TYPES)[number]) => d.stats[4][t].areaPixelsMean;
  assert.ok(area('MA') < area('HE') && area('HE') < area('PM'), `MA ${area('MA')} < HE ${area('HE')} < PM ${area('PM')} px`);
  assert.ok(d.stats[3].MA.areaPixelsMean <= 3, 'microaneurysms are a pixel or two at 128 px');
  assert.equal(d.discAssumed, 0);
});

test('learned positions: EX near the fovea, LM in the periphery, PM near the disc; SE closer to vessels than chance', () => {
  const d = model.data;
  const dist = (ps: [number, number][], to: [number, number]) => ps.reduce((a, p) => a + Math.hypot(p[0] - to[0], p[1] - to[1]), 0) / ps.length;
  const all = (t: (typeof LESION_TYPES)[number]) => d.positions.flatMap((p) => p[t]);
  // Frame: fovea at (0, 0), disc at (1, 0).
  assert.ok(dist(all('EX'), [0, 0]) < dist(all('LM'), [0, 0]), 'EX closer to the fovea than laser scars');
  assert.ok(dist(all('PM'), [1, 0]) < dist(all('LM'), [1, 0]), 'PM closer to the disc than laser scars');
  const mean = (h: number[]) => h.reduce((a, v, i) => a + v * i, 0) / h.reduce((a, v) => a + v, 0);
  assert.ok(mean(d.vesselDistance.SE) < mean(d.vesselDistance.background), 'cotton-wool spots sit beside vessels');
  assert.ok(d.clustering.EX.near > 0.5, `exudates cluster (${d.clustering.EX.near})`);
});

test('sampled masks lie inside the FOV, are deterministic by seed, and differ across seeds', () => {
  const st = structure(0);
  const a = model.sample(st, 3, 11);
  const b = model.sample(st, 3, 11);
  const c = model.sample(st, 3, 12);
  for (const t of LESION_TYPES) assert.deepEqual(a.masks[t], b.masks[t], `${t} same for the same seed`);
  assert.ok(LESION_TYPES.some((t) => !a.masks[t].every((v, i) => v === c.masks[t][i])), 'another seed, other masks');
  assert.deepEqual(a.masks.vessel, st.vessel);
  for (const g of [1, 2, 3, 4]) {
    const s = model.sample(st, g, 5);
    for (const t of LESION_TYPES) s.masks[t].forEach((v, i) => { if (v > 0) assert.ok(st.fov![i] >= 128, `grade ${g} ${t} pixel ${i} outside the FOV`); });
  }
});

test('sampled masks follow the grading rules (judged by the phantom grader)', () => {
  for (let k = 0; k < 6; k++) {
    const st = structure(k);
    for (const g of [0, 1, 2, 3, 4]) {
      const s = model.sample(st, g, 100 + k);
      const summary = summarize(s, st);
      const judged = gradeFromLesions(summary);
      if (g === 0) assert.equal(judged, 0, 'grade 0: no lesion');
      if (g === 1) assert.equal(judged, 1, `grade 1: MAs only (${JSON.stringify(summary)})`);
      if (g === 4) assert.equal(judged, 4, 'grade 4: PM or LM present');
      if (g === 2 || g === 3) {
        assert.ok(judged === 2 || judged === 3, `grade ${g} judged ${judged}`);
        assert.equal(summary.PM + summary.LM, 0);
      }
      if (g >= 2) assert.ok(s.placed.MA > 0 || s.placed.HE > 0, 'NPDR and PDR layouts carry red lesions');
    }
  }
});

test('sampled exudates sit nearer the target eye\'s fovea than sampled laser scars', () => {
  const frac = { exNearFovea: 0, lmNearFovea: 0, ex: 0, lm: 0 };
  for (let k = 0; k < 6; k++) {
    const st = structure(k);
    const f = retinaFrame(st.optic_disc, st.fov ?? null, SIZE);
    const s = model.sample(st, 4, 200 + k);
    for (const comp of connectedComponents(s.masks.EX, SIZE, SIZE)) { frac.ex++; if (Math.hypot(comp.cx - f.foveaX, comp.cy - f.foveaY) < 0.8 * f.unit) frac.exNearFovea++; }
    for (const comp of connectedComponents(s.masks.LM, SIZE, SIZE)) { frac.lm++; if (Math.hypot(comp.cx - f.foveaX, comp.cy - f.foveaY) < 0.8 * f.unit) frac.lmNearFovea++; }
  }
  assert.ok(frac.ex > 0 && frac.lm > 0, `both kinds drawn: ${JSON.stringify(frac)}`);
  assert.ok(frac.exNearFovea / frac.ex > frac.lmNearFovea / frac.lm, JSON.stringify(frac));
});

test('save and load round-trip the model and its bank; a damaged bank is refused', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lesion-model-'));
  try {
    const path = join(tmp, 'lesions.json');
    model.save(path);
    const loaded = LesionModel.load(path);
    const st = structure(3, 96);
    const a = model.sample(st, 4, 9), b = loaded.sample(st, 4, 9);
    for (const t of LESION_TYPES) assert.deepEqual(b.masks[t], a.masks[t]);
    const bank = readFileSync(bankPathFor(path));
    bank[0] ^= 0xff;
    writeFileSync(bankPathFor(path), bank);
    assert.throws(() => LesionModel.load(path), /patch bank does not match/);
    writeFileSync(path, '{"format":"other"}');
    assert.throws(() => LesionModel.load(path), /not a lesion model/);
    assert.throws(() => LesionModel.load(join(tmp, 'none.json')), /not found/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('bad sampling input gives clear errors', () => {
  const st = structure(0);
  assert.throws(() => model.sample(st, 5, 1), /grade must be an integer in 0\.\.4, got 5/);
  assert.throws(() => model.sample(st, -1, 1), /grade must be/);
  assert.throws(() => model.sample({ ...st, vessel: new Uint8Array(10) }, 2, 1), /"vessel" has 10 pixels, expected 128x128/);
});

test('per-quadrant counts: each image\'s split adds up to its count and follows the phantom\'s drawn haemorrhages per quadrant', () => {
  const d = model.data;
  const he = LESION_TYPES.indexOf('HE');
  for (let g = 0; g < 5; g++) {
    const eg = entries.filter((e) => e.grade === g);
    d.counts[g].forEach((row, i) => {
      row.forEach((n, t) => {
        const q = d.quadrants![g][i][t];
        if (n === null) assert.equal(q, null);
        else assert.equal(q!.reduce((a, b) => a + b, 0), n, `grade ${g} image ${i} type ${LESION_TYPES[t]}`);
      });
      // The phantom numbers its quadrants its own way: compare the sorted splits.
      const drawn = [...(eg[i].meta!.heQuadrants as number[])].sort((a, b) => a - b);
      const learned = [...d.quadrants![g][i][he]!].sort((a, b) => a - b);
      const off = drawn.reduce((a, v, k) => a + Math.abs(v - learned[k]), 0);
      assert.ok(off <= 0.2 * drawn.reduce((a, b) => a + b, 0) + 2, `grade ${g} image ${i}: drawn ${drawn}, learned ${learned}`);
    });
  }
});

test('grade-3 layouts keep severe NPDR\'s haemorrhages in every quadrant as often as the fitted photos do', () => {
  // The fitted set's grade-3 photos judged from their masks alone (venous beading is not a mask).
  const severeByHe = entries.filter((e) => e.grade === 3).map((e) => (e.meta!.heQuadrants as number[]).every((n) => n >= SEVERE_HE_PER_QUADRANT));
  const realShare = severeByHe.filter(Boolean).length / severeByHe.length;
  assert.ok(realShare > 0, 'the fixture has grade-3 photos by the haemorrhage route');
  let severe = 0;
  const n = 30;
  for (let k = 0; k < n; k++) {
    const st = structure(k);
    if (gradeFromLesions(summarize(model.sample(st, 3, 300 + k), st)) === 3) severe++;
  }
  assert.ok(severe / n >= realShare - 0.25, `sampled ${severe}/${n} severe, fitted photos ${realShare.toFixed(2)}`);
});

test('sampled lesions of a type keep clear of each other: components after pasting match those placed', () => {
  let placed = 0, found = 0, lmPlaced = 0, lmFound = 0;
  for (let k = 0; k < 10; k++) {
    const st = structure(k);
    const s3 = model.sample(st, 3, 400 + k);
    placed += s3.placed.HE + s3.placed.MA;
    found += s3.counts.HE + s3.counts.MA;
    const s4 = model.sample(st, 4, 400 + k);
    lmPlaced += s4.placed.LM;
    lmFound += s4.counts.LM;
  }
  assert.ok(found >= 0.9 * placed, `HE + MA: ${found} components of ${placed} placed`);
  assert.ok(lmPlaced === 0 || lmFound >= 0.6 * lmPlaced, `LM: ${lmFound} components of ${lmPlaced} placed`);
});

test('a version-1 model (no per-quadrant counts) still loads and samples; mismatched quadrant rows are refused', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lesion-model-v1-'));
  try {
    const path = join(tmp, 'lesions.json');
    model.save(path);
    const data = JSON.parse(readFileSync(path, 'utf8'));
    const { quadrants, ...v1 } = data;
    assert.ok(quadrants);
    writeFileSync(path, JSON.stringify({ ...v1, version: 1 }));
    const old = LesionModel.load(path);
    const st = structure(2);
    const s = old.sample(st, 3, 9);
    assert.ok(s.placed.HE > 0);
    writeFileSync(path, JSON.stringify({ ...data, quadrants: quadrants.map((q: unknown[]) => q.slice(1)) }));
    assert.throws(() => LesionModel.load(path), /per-quadrant counts do not match the count vectors/);
    writeFileSync(path, JSON.stringify({ ...data, version: 3 }));
    assert.throws(() => LesionModel.load(path), /lesion model version 3, this build reads 1 and 2/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
