// The retinal vessel tree: arteries and veins grow from the optic disc as steered random walks
// that taper and branch. The four main trunks bend around the macula into the temporal
// arcades; smaller vessels head nasally and towards (but never into) the fovea.
import type { Anatomy } from './anatomy.js';
import type { Rng } from './random.js';

export type VesselKind = 'artery' | 'vein';

/** One tapering piece of vessel; radii in FOV radii. */
export interface VesselSegment {
  u0: number;
  v0: number;
  r0: number;
  u1: number;
  v1: number;
  r1: number;
  kind: VesselKind;
}

export interface VesselOptions {
  /** Quadrants (anatomy.ts QUADRANTS index) whose main vein is beaded (a severe NPDR sign). */
  beadedQuadrants: number[];
}

type Steer = 'arcade' | 'radial' | 'free';

interface Sprout {
  u: number;
  v: number;
  theta: number;
  r: number;
  kind: VesselKind;
  steer: Steer;
  /** -1 superior, +1 inferior: which way an arcade bends around the macula. */
  side: number;
  depth: number;
  maxLen: number;
  taper: number;
  beaded: boolean;
}

/** Step along a vessel in FOV radii: short enough that curvature looks smooth at 1280 px. */
const STEP = 0.012;
/** Vessels thinner than this (radius, FOV radii; ~0.5 px at 1280) end. */
const MIN_RADIUS = 0.0011;
const MAX_SEGMENTS = 12000;

export function growVesselTree(rng: Rng, a: Anatomy, opts: VesselOptions): VesselSegment[] {
  const segs: VesselSegment[] = [];
  const tort = rng.range(0.035, 0.09);
  const queue: Sprout[] = [];
  const dd = a.disc.rx * 2;
  const veinR = rng.range(0.0145, 0.0175);
  const arteryR = veinR * rng.range(0.7, 0.8);
  const n = a.nasal;
  // Main trunks: [quadrant, side, initial direction]. Superior = v < 0.
  const trunks: [number, number, number, number][] = [
    [0, -1, -n * 0.35, -1],
    [2, 1, -n * 0.35, 1],
    [1, -1, n * 0.9, -1],
    [3, 1, n * 0.9, 1],
  ];
  for (const [q, side, du, dv] of trunks) {
    const temporal = q % 2 === 0;
    for (const kind of ['vein', 'artery'] as const) {
      const base = Math.atan2(dv, du) + rng.normal(0, 0.12) + (kind === 'artery' ? -0.12 * side * n : 0.1 * side * n);
      queue.push({
        u: a.disc.u + rng.normal(0, 0.012),
        v: a.disc.v + side * a.disc.ry * 0.15,
        theta: base,
        r: (kind === 'vein' ? veinR : arteryR) * (temporal ? 1 : 0.8),
        kind,
        steer: temporal ? 'arcade' : 'radial',
        side,
        depth: 0,
        maxLen: 3,
        taper: temporal ? 4 : 2.2,
        beaded: kind === 'vein' && opts.beadedQuadrants.includes(q),
      });
    }
  }
  // Small macular and nasal vessels straight off the disc.
  const extra = rng.int(3, 6);
  for (let i = 0; i < extra; i++) {
    const toMacula = i < 2 || rng.chance(0.4);
    const dir = toMacula ? -n : n;
    queue.push({
      u: a.disc.u,
      v: a.disc.v + rng.normal(0, a.disc.ry * 0.3),
      theta: Math.atan2(rng.normal(0, 0.5), dir),
      r: rng.range(0.004, 0.007),
      kind: rng.chance(0.5) ? 'artery' : 'vein',
      steer: 'free',
      side: rng.sign(),
      depth: 1,
      maxLen: rng.range(0.3, 0.6),
      taper: 0.7,
      beaded: false,
    });
  }

  while (queue.length > 0 && segs.length < MAX_SEGMENTS) {
    grow(queue.shift()!, rng, a, tort, dd, segs, queue);
  }
  return segs;
}

function angleDiff(target: number, theta: number): number {
  let d = target - theta;
  while (d > Math.PI) d -= 2 * Math.PI;
  while (d < -Math.PI) d += 2 * Math.PI;
  return d;
}

function grow(sp: Sprout, rng: Rng, a: Anatomy, tort: number, dd: number, segs: VesselSegment[], queue: Sprout[]): void {
  let { u, v, theta, r } = sp;
  let kappa = 0;
  let s = 0;
  let nextBranch = rng.range(0.06, 0.16) * (sp.depth === 0 ? 1.3 : 1);
  // The foveal avascular zone: about 0.5 mm across, ~1/3 disc diameter.
  const avoid = dd * 0.45;
  const beadPeriod = rng.range(0.045, 0.07);
  let branchSide = rng.sign();
  while (s < sp.maxLen && r > MIN_RADIUS && segs.length < MAX_SEGMENTS) {
    let target: number | null = null;
    let pull = 0;
    const fu = u - a.fovea.u;
    const fv = v - a.fovea.v;
    const fd = Math.hypot(fu, fv);
    if (sp.steer === 'arcade') {
      // Tangent of a circle around the fovea (moving temporally), plus an outward term that
      // holds the arcade at a slowly widening distance: the arcades spiral out to the periphery.
      const k = -sp.side * a.nasal;
      const tu = k * fv;
      const tv = -k * fu;
      const want = 0.55 * discFoveaDistance(a) + 0.45 * s;
      const out = Math.max(-0.6, Math.min(1.5, 0.15 + 3 * (want - fd)));
      target = Math.atan2(tv / fd + out * (fv / fd), tu / fd + out * (fu / fd));
      pull = s < 0.08 ? 0.04 : 0.14;
    } else if (sp.steer === 'radial') {
      target = Math.atan2(v - a.disc.v, u - a.disc.u);
      pull = 0.05;
    } else {
      pull = 0;
    }
    // Small vessels wander less per step than their size would suggest; trunks are smoother still.
    kappa = 0.75 * kappa + rng.normal(0, sp.depth === 0 ? tort * 0.8 : tort * 0.7);
    theta += kappa;
    if (target !== null) theta += pull * angleDiff(target, theta);
    // Vessels bend away from the avascular fovea rather than cross it.
    if (fd < avoid * 2.5) theta += 0.25 * angleDiff(Math.atan2(fv, fu), theta) * (1 - fd / (avoid * 2.5));
    const u1 = u + STEP * Math.cos(theta);
    const v1 = v + STEP * Math.sin(theta);
    const r1 = r * Math.exp(-STEP / sp.taper);
    if (Math.hypot(u1 - a.fovea.u, v1 - a.fovea.v) < avoid) break;
    const bead = (t: number) => (sp.beaded && t > 0.25 ? 1 + 0.4 * Math.max(0, Math.sin((2 * Math.PI * t) / beadPeriod)) ** 2 : 1);
    segs.push({ u0: u, v0: v, r0: r * bead(s), u1, v1, r1: r1 * bead(s + STEP), kind: sp.kind });
    u = u1;
    v = v1;
    r = r1;
    s += STEP;
    if (u * u + v * v > 1.03) break;
    nextBranch -= STEP;
    if (nextBranch <= 0 && sp.depth < 4) {
      // Trunks give off mostly small branches; side branches split more evenly.
      const ratio = sp.depth === 0 ? rng.range(0.3, 0.6) : rng.range(0.45, 0.8);
      const childR = r * ratio;
      if (childR > MIN_RADIUS * 1.5) {
        // Arcade trunks alternate sides; others branch at random, at 25-75 degrees (Murray-like).
        branchSide = sp.steer === 'arcade' ? -branchSide : rng.sign();
        queue.push({
          u,
          v,
          theta: theta + branchSide * rng.range(0.45, 1.3),
          r: childR,
          kind: sp.kind,
          steer: rng.chance(0.6) ? 'radial' : 'free',
          side: sp.side,
          depth: sp.depth + 1,
          maxLen: rng.range(0.25, 0.9) / (1 + 0.3 * sp.depth),
          taper: rng.range(0.45, 0.9),
          // Drawn unconditionally so a beaded and a plain tree consume the same random stream.
          beaded: rng.chance(0.5) && sp.beaded && sp.depth === 0,
        });
        r *= Math.sqrt(1 - 0.3 * ratio * ratio);
      }
      nextBranch = rng.range(0.07, 0.2) * (sp.depth === 0 ? 1.2 : 1);
    }
  }
}

function discFoveaDistance(a: Anatomy): number {
  return Math.hypot(a.disc.u - a.fovea.u, a.disc.v - a.fovea.v);
}
