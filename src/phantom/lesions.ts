// DR lesions: how many of each a grade calls for (the severity plan), where they go and what
// shape they take. Everything here is geometry in FOV radii; appearance lives in render.ts.
import { pointInQuadrant, quadrantOf, type Anatomy } from './anatomy.js';
import { SEVERE_BEADED_QUADRANTS, SEVERE_HE_PER_QUADRANT, type LesionSummary } from './grading.js';
import type { Rng } from './random.js';
import type { VesselSegment } from './vessels.js';

/** One ellipse of a lesion; a lesion is the union of its lobes. */
export interface Lobe {
  u: number;
  v: number;
  rx: number;
  ry: number;
  angle: number;
}

export type LesionKind = 'MA' | 'HE' | 'EX' | 'SE' | 'LM' | 'PM';

export interface Lesion {
  kind: LesionKind;
  u: number;
  v: number;
  lobes: Lobe[];
  /** Haemorrhage shape, drawn differently: dot/blot deep (under vessels), flame in the nerve fibre layer. */
  shape?: 'dot' | 'blot' | 'flame';
  /** 0..1: how dark (HE, MA), how opaque (SE, fibrous PM) or how pigmented (LM) this one is. */
  tone: number;
  /** PM only: the tangle of fine new vessels, as polylines of [u, v] with one radius each. */
  tangles?: { points: [number, number][]; r: number }[];
}

/** How many lesions of each kind a sample gets, chosen from its grade before placing any. */
export interface SeverityPlan {
  MA: number;
  hePerQuadrant: [number, number, number, number];
  exClusters: number;
  SE: number;
  beadedQuadrants: number[];
  laser: 'none' | 'prp' | 'grid';
  PM: number;
}

const NONE: SeverityPlan = { MA: 0, hePerQuadrant: [0, 0, 0, 0], exClusters: 0, SE: 0, beadedQuadrants: [], laser: 'none', PM: 0 };

/** Lesion counts consistent, by construction, with grading.ts's rules for the wanted grade. */
export function planSeverity(rng: Rng, grade: number): SeverityPlan {
  switch (grade) {
    case 0:
      return { ...NONE };
    case 1:
      return { ...NONE, MA: rng.int(1, 8) };
    case 2:
      return moderate(rng);
    case 3:
      return severe(rng);
    case 4: {
      const background = rng.chance(0.5) ? moderate(rng) : severe(rng);
      const u = rng.float();
      const pm = u < 0.5 || u >= 0.8;
      const lm = u >= 0.5;
      return { ...background, PM: pm ? rng.int(1, 3) : 0, laser: lm ? (rng.chance(0.75) ? 'prp' : 'grid') : 'none' };
    }
    default:
      throw new Error(`grade ${grade} is outside 0..4`);
  }
}

function moderate(rng: Rng): SeverityPlan {
  let he = rng.chance(0.75);
  const ex = rng.chance(0.5);
  const se = rng.chance(0.35);
  if (!he && !ex && !se) he = true;
  const hePerQuadrant: [number, number, number, number] = [0, 0, 0, 0];
  if (he) {
    // At least one quadrant stays below the severe threshold, so the 4-quadrant rule never fires.
    const sparse = rng.int(0, 3);
    const total = rng.int(1, 14);
    for (let i = 0; i < total; i++) {
      const q = rng.int(0, 3);
      if (q === sparse && hePerQuadrant[q] >= SEVERE_HE_PER_QUADRANT - 1) continue;
      hePerQuadrant[q]++;
    }
    if (hePerQuadrant.reduce((s, n) => s + n, 0) === 0) hePerQuadrant[(sparse + 1) % 4] = 1;
  }
  return {
    MA: rng.int(2, 25),
    hePerQuadrant,
    exClusters: ex ? rng.int(1, 2) : 0,
    SE: se ? rng.int(1, 4) : 0,
    // One beaded quadrant is a moderate sign; SEVERE_BEADED_QUADRANTS (2) would make it severe.
    beadedQuadrants: rng.chance(0.15) ? [rng.int(0, 3)] : [],
    laser: 'none',
    PM: 0,
  };
}

function severe(rng: Rng): SeverityPlan {
  const route = rng.float();
  const byHe = route < 0.85;
  const byBeading = route >= 0.6;
  const base = moderate(rng);
  const hePerQuadrant = byHe
    ? (base.hePerQuadrant.map(() => rng.int(SEVERE_HE_PER_QUADRANT, SEVERE_HE_PER_QUADRANT + 7)) as [number, number, number, number])
    : base.hePerQuadrant;
  const beaded: number[] = [];
  if (byBeading) {
    const want = rng.int(SEVERE_BEADED_QUADRANTS, 4);
    const order = [0, 1, 2, 3];
    while (beaded.length < want) {
      const q = order.splice(rng.int(0, order.length - 1), 1)[0];
      beaded.push(q);
    }
  }
  return {
    MA: rng.int(10, 40),
    hePerQuadrant,
    exClusters: rng.chance(0.6) ? rng.int(1, 4) : base.exClusters,
    SE: rng.chance(0.6) ? rng.int(1, 6) : base.SE,
    beadedQuadrants: byBeading ? beaded : base.beadedQuadrants,
    laser: 'none',
    PM: 0,
  };
}

/** Lesion centres stay this far inside the FOV so that every lesion is whole and visible. */
const MAX_RADIUS = 0.86;

function offDisc(a: Anatomy, u: number, v: number, margin: number): boolean {
  return Math.hypot((u - a.disc.u) / a.disc.rx, (v - a.disc.v) / a.disc.ry) > margin;
}

/** Rejection sampling with a fixed number of tries, so the stream of draws stays deterministic. */
function findPoint(rng: Rng, propose: () => [number, number], ok: (u: number, v: number) => boolean): [number, number] {
  let p = propose();
  for (let i = 0; i < 50 && !ok(p[0], p[1]); i++) p = propose();
  return p;
}

export function placeLesions(rng: Rng, a: Anatomy, plan: SeverityPlan, vessels: VesselSegment[]): Lesion[] {
  const out: Lesion[] = [];
  const inField = (u: number, v: number) => u * u + v * v < MAX_RADIUS * MAX_RADIUS;
  const nearFovea = (sd: number): [number, number] => [a.fovea.u + rng.normal(0, sd), a.fovea.v + rng.normal(0, sd * 0.8)];

  // Microaneurysms cluster at the posterior pole, around the macula.
  for (let i = 0; i < plan.MA; i++) {
    const [u, v] = findPoint(rng, () => nearFovea(0.3), (u, v) => inField(u, v) && offDisc(a, u, v, 1.4) && Math.hypot(u - a.fovea.u, v - a.fovea.v) > 0.04);
    const r = rng.range(0.006, 0.01);
    out.push({ kind: 'MA', u, v, lobes: [{ u, v, rx: r, ry: r, angle: 0 }], tone: rng.range(0.7, 1) });
  }

  plan.hePerQuadrant.forEach((count, q) => {
    for (let i = 0; i < count; i++) {
      const [u, v] = findPoint(rng, () => pointInQuadrant(rng, a, q, 0.12, MAX_RADIUS), (u, v) => offDisc(a, u, v, 1.6));
      out.push(haemorrhage(rng, a, u, v));
    }
  });

  for (let c = 0; c < plan.exClusters; c++) out.push(...exudateCluster(rng, a, inField));

  for (let i = 0; i < plan.SE; i++) out.push(cottonWool(rng, a, vessels, inField));

  if (plan.laser !== 'none') out.push(...laserScars(rng, a, plan.laser));

  for (let i = 0; i < plan.PM; i++) out.push(proliferation(rng, a, vessels, i === 0 && rng.chance(0.6)));
  return out;
}

function haemorrhage(rng: Rng, a: Anatomy, u: number, v: number): Lesion {
  const discDist = Math.hypot(u - a.disc.u, v - a.disc.v);
  // Flame haemorrhages follow the nerve fibres, which run radially out of the disc; they are
  // commonest near it. Dot and blot haemorrhages sit deeper and are round or lobulated.
  const pFlame = discDist < 0.6 ? 0.35 : 0.1;
  const x = rng.float();
  const shape: Lesion['shape'] = x < pFlame ? 'flame' : x < pFlame + (1 - pFlame) * 0.5 ? 'dot' : 'blot';
  const lobes: Lobe[] = [];
  if (shape === 'dot') {
    const r = rng.range(0.011, 0.02);
    lobes.push({ u, v, rx: r, ry: r * rng.range(0.85, 1), angle: rng.range(0, Math.PI) });
  } else if (shape === 'blot') {
    const r = rng.range(0.018, 0.038);
    const n = rng.int(3, 6);
    lobes.push({ u, v, rx: r * 0.8, ry: r * 0.7, angle: rng.range(0, Math.PI) });
    for (let i = 0; i < n; i++) {
      const ang = rng.range(0, 2 * Math.PI);
      const d = r * rng.range(0.2, 0.55);
      const lr = r * rng.range(0.35, 0.65);
      lobes.push({ u: u + d * Math.cos(ang), v: v + d * Math.sin(ang), rx: lr, ry: lr * rng.range(0.7, 1), angle: rng.range(0, Math.PI) });
    }
  } else {
    const angle = Math.atan2(v - a.disc.v, u - a.disc.u) + rng.normal(0, 0.25);
    const len = rng.range(0.035, 0.07);
    const w = len * rng.range(0.3, 0.45);
    lobes.push({ u, v, rx: len, ry: w, angle });
    // A feathered tail: smaller lobes continuing along the fibre direction.
    for (const k of [0.6, 1.0]) {
      lobes.push({ u: u + k * len * Math.cos(angle), v: v + k * len * Math.sin(angle), rx: len * 0.55, ry: w * 0.6, angle: angle + rng.normal(0, 0.1) });
    }
  }
  return { kind: 'HE', u, v, lobes, shape, tone: rng.range(0.6, 1) };
}

function exudateCluster(rng: Rng, a: Anatomy, inField: (u: number, v: number) => boolean): Lesion[] {
  const out: Lesion[] = [];
  // Hard exudates gather at the posterior pole, often as a circinate ring around leaking MAs.
  const [cu, cv] = findPoint(
    rng,
    () => {
      const ang = rng.range(0, 2 * Math.PI);
      const d = rng.range(0.08, 0.5);
      return [a.fovea.u + d * Math.cos(ang), a.fovea.v + d * Math.sin(ang)];
    },
    (u, v) => inField(u, v) && offDisc(a, u, v, 2.2),
  );
  const circinate = rng.chance(0.4);
  const n = rng.int(circinate ? 8 : 3, circinate ? 24 : 16);
  const ringR = rng.range(0.05, 0.11);
  const spread = rng.range(0.025, 0.07);
  for (let i = 0; i < n; i++) {
    let u: number;
    let v: number;
    if (circinate) {
      const ang = (2 * Math.PI * i) / n + rng.normal(0, 0.15);
      const d = ringR * rng.range(0.85, 1.15);
      u = cu + d * Math.cos(ang);
      v = cv + d * Math.sin(ang);
    } else {
      u = cu + rng.normal(0, spread);
      v = cv + rng.normal(0, spread);
    }
    if (!inField(u, v) || !offDisc(a, u, v, 1.4)) continue;
    const r = rng.range(0.004, 0.012) * (rng.chance(0.15) ? 1.8 : 1);
    const lobes: Lobe[] = [{ u, v, rx: r, ry: r * rng.range(0.6, 1), angle: rng.range(0, Math.PI) }];
    // Plaques: a few spots are irregular, a main lobe with a satellite or two.
    const extra = rng.chance(0.35) ? rng.int(1, 2) : 0;
    for (let k = 0; k < extra; k++) {
      const ang = rng.range(0, 2 * Math.PI);
      lobes.push({ u: u + r * Math.cos(ang), v: v + r * Math.sin(ang), rx: r * 0.6, ry: r * 0.5, angle: ang });
    }
    out.push({ kind: 'EX', u, v, lobes, tone: rng.range(0.75, 1) });
  }
  if (out.length === 0) {
    // The cluster fell outside the usable field: keep one spot at its centre so the plan holds.
    const r = 0.008;
    out.push({ kind: 'EX', u: cu, v: cv, lobes: [{ u: cu, v: cv, rx: r, ry: r, angle: 0 }], tone: 0.9 });
  }
  return out;
}

function cottonWool(rng: Rng, a: Anatomy, vessels: VesselSegment[], inField: (u: number, v: number) => boolean): Lesion {
  // Nerve fibre layer infarcts: next to a larger vessel within a few disc diameters of the disc.
  const big = vessels.filter((s) => s.r0 > 0.006 && Math.hypot(s.u0 - a.disc.u, s.v0 - a.disc.v) > 0.2 && Math.hypot(s.u0 - a.disc.u, s.v0 - a.disc.v) < 0.8);
  const [u, v] = findPoint(
    rng,
    () => {
      if (big.length === 0) return pointInQuadrant(rng, a, rng.int(0, 3), 0.2, 0.7);
      const s = rng.pick(big);
      const ang = Math.atan2(s.v1 - s.v0, s.u1 - s.u0) + (rng.chance(0.5) ? 1 : -1) * (Math.PI / 2);
      const d = s.r0 + rng.range(0.01, 0.035);
      return [s.u0 + d * Math.cos(ang), s.v0 + d * Math.sin(ang)];
    },
    (u, v) => inField(u, v) && offDisc(a, u, v, 1.6),
  );
  const r = rng.range(0.022, 0.045);
  const angle = Math.atan2(v - a.disc.v, u - a.disc.u) + Math.PI / 2 + rng.normal(0, 0.4);
  const lobes: Lobe[] = [{ u, v, rx: r, ry: r * rng.range(0.55, 0.85), angle }];
  if (rng.chance(0.5)) lobes.push({ u: u + r * 0.5 * Math.cos(angle), v: v + r * 0.5 * Math.sin(angle), rx: r * 0.7, ry: r * 0.5, angle });
  return { kind: 'SE', u, v, lobes, tone: rng.range(0.45, 0.75) };
}

function laserScars(rng: Rng, a: Anatomy, pattern: 'prp' | 'grid'): Lesion[] {
  const out: Lesion[] = [];
  const r = rng.range(0.018, 0.03);
  const gap = r * rng.range(2.3, 3.2);
  const pigmented = rng.range(0.2, 1); // older treatment: more pigment, less white
  // Panretinal photocoagulation spares the posterior pole: the disc, and the macula within the arcades.
  const ok = (u: number, v: number) => {
    const rr = Math.hypot(u, v);
    return rr < 0.93 && rr > 0.25 && Math.hypot(u - a.fovea.u, v - a.fovea.v) > 0.55 && offDisc(a, u, v, 2.2);
  };
  // Partial treatment covers an arc only.
  const arcStart = rng.range(0, 2 * Math.PI);
  const arcLen = rng.chance(0.6) ? 2 * Math.PI : rng.range(Math.PI * 0.6, Math.PI * 1.5);
  const inArc = (u: number, v: number) => {
    let t = Math.atan2(v - a.fovea.v, u - a.fovea.u) - arcStart;
    while (t < 0) t += 2 * Math.PI;
    return t <= arcLen;
  };
  const push = (u: number, v: number) => {
    if (rng.chance(0.12)) return; // skipped or faded burns
    if (!ok(u, v) || !inArc(u, v)) return;
    const jr = r * rng.range(0.7, 1.2);
    u += rng.normal(0, r * 0.25);
    v += rng.normal(0, r * 0.25);
    out.push({ kind: 'LM', u, v, lobes: [{ u, v, rx: jr, ry: jr * rng.range(0.85, 1), angle: rng.range(0, Math.PI) }], tone: Math.min(1, pigmented * rng.range(0.6, 1.3)) });
  };
  if (pattern === 'prp') {
    // Concentric rows around the fovea, each row staggered against the last.
    for (let ring = 0.6, row = 0; ring < 1.5; ring += gap * 0.9, row++) {
      const count = Math.floor((2 * Math.PI * ring) / gap);
      const phase = (row % 2) * 0.5 + rng.range(-0.1, 0.1);
      for (let k = 0; k < count; k++) {
        const ang = (2 * Math.PI * (k + phase)) / count;
        push(a.fovea.u + ring * Math.cos(ang) + rng.normal(0, r * 0.15), a.fovea.v + ring * Math.sin(ang) + rng.normal(0, r * 0.15));
      }
    }
  } else {
    const rot = rng.range(0, Math.PI / 2);
    const c = Math.cos(rot);
    const s = Math.sin(rot);
    for (let i = -20; i <= 20; i++) {
      for (let j = -20; j <= 20; j++) {
        const x = i * gap;
        const y = j * gap;
        push(x * c - y * s + rng.normal(0, r * 0.1), x * s + y * c + rng.normal(0, r * 0.1));
      }
    }
  }
  if (out.length === 0) {
    // Every candidate fell out (a tiny FOV fraction): keep one scar so the plan's grade holds.
    const u = a.fovea.u - a.nasal * 0.7;
    out.push({ kind: 'LM', u, v: 0, lobes: [{ u, v: 0, rx: r, ry: r, angle: 0 }], tone: pigmented });
  }
  return out;
}

function proliferation(rng: Rng, a: Anatomy, vessels: VesselSegment[], atDisc: boolean): Lesion {
  let u = a.disc.u;
  let v = a.disc.v;
  if (!atDisc) {
    // New vessels elsewhere grow from the main arcades, one to three disc diameters out.
    const arcade = vessels.filter((s) => s.kind === 'vein' && s.r0 > 0.007 && Math.hypot(s.u0 - a.disc.u, s.v0 - a.disc.v) > 0.3 && s.u0 * s.u0 + s.v0 * s.v0 < 0.7);
    if (arcade.length > 0) {
      const s = rng.pick(arcade);
      u = s.u0;
      v = s.v0;
    } else {
      v = a.disc.v + rng.sign() * 0.35;
    }
  }
  const size = rng.range(0.07, 0.13);
  const tangles: { points: [number, number][]; r: number }[] = [];
  const n = rng.int(14, 34);
  for (let i = 0; i < n; i++) {
    let x = u + rng.normal(0, size * 0.45);
    let y = v + rng.normal(0, size * 0.45);
    let th = rng.range(0, 2 * Math.PI);
    const pts: [number, number][] = [[x, y]];
    const steps = rng.int(10, 30);
    for (let k = 0; k < steps; k++) {
      th += rng.normal(0, 0.9);
      // Loops stay in their net: turn back towards the centre when wandering off.
      if (Math.hypot(x - u, y - v) > size) th = Math.atan2(v - y, u - x) + rng.normal(0, 0.5);
      x += 0.005 * Math.cos(th);
      y += 0.005 * Math.sin(th);
      pts.push([x, y]);
    }
    tangles.push({ points: pts, r: rng.range(0.0012, 0.0026) });
  }
  const angle = Math.atan2(v - a.disc.v, u - a.disc.u) + rng.normal(0, 0.4);
  return {
    kind: 'PM',
    u,
    v,
    lobes: [{ u, v, rx: size * rng.range(0.8, 1.3), ry: size * rng.range(0.45, 0.8), angle }],
    tangles,
    tone: rng.range(0.25, 0.65),
  };
}

export function summarize(a: Anatomy, lesions: Lesion[], beadedQuadrants: number[]): LesionSummary {
  const s: LesionSummary = { MA: 0, HE: 0, EX: 0, SE: 0, LM: 0, PM: 0, heQuadrants: [0, 0, 0, 0], beadedQuadrants: new Set(beadedQuadrants).size };
  for (const l of lesions) {
    s[l.kind]++;
    if (l.kind === 'HE') s.heQuadrants[quadrantOf(a, l.u, l.v)]++;
  }
  return s;
}
