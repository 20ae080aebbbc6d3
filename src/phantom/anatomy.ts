// The fundus anatomy of one phantom eye: which eye, where the optic disc and the fovea sit,
// and the colour of the background. All lengths are in FOV radii (the FOV is the unit disc,
// v points down, so "superior" is v < 0).
import type { Rng } from './random.js';

export type EyeSide = 'left' | 'right';

export interface Anatomy {
  eye: EyeSide;
  /**
   * +1 where nasal is to the image's right. Fundus photographs are viewed as the examiner
   * sees the eye, so the optic disc (nasal to the fovea) is on the right of a right eye's image.
   */
  nasal: 1 | -1;
  /** FOV diameter as a fraction of the image side. */
  fovFraction: number;
  disc: { u: number; v: number; rx: number; ry: number; cup: number; cupShift: number; pallor: number };
  fovea: { u: number; v: number; r: number; depth: number; reflex: number };
  background: {
    /** Base fundus colour in linear [0,1] RGB (orange-red, darker and browner with more pigment). */
    rgb: [number, number, number];
    /** Strength of the mottled choroidal texture. */
    mottle: number;
    /** Strength of the tigroid pattern (choroidal vessels seen through a thin RPE). */
    tigroid: number;
    seed: number;
  };
}

/** Mean optic disc diameter in FOV radii (a 45-degree camera shows the disc at ~1/7 of the FOV). */
export const DISC_DIAMETER = 0.27;
/** Distance disc centre to fovea in disc diameters (textbook: about 2.5). */
export const DISC_FOVEA_DD = 2.5;

export function sampleAnatomy(rng: Rng): Anatomy {
  const eye: EyeSide = rng.chance(0.5) ? 'left' : 'right';
  const nasal = eye === 'right' ? 1 : -1;
  const dd = DISC_DIAMETER * rng.range(0.88, 1.12);
  const dist = DISC_FOVEA_DD * dd * rng.range(0.92, 1.08);
  // Where the camera was aimed: from macula-centred (fovea at the centre) to half way to the disc.
  const fu = -nasal * rng.range(0.0, 0.2);
  const fv = rng.range(-0.06, 0.08);
  // The fovea lies slightly below the disc (about 0.3 DD); the disc-fovea line tilts ~7 degrees.
  const tilt = rng.range(3, 11) * (Math.PI / 180);
  const du = fu + nasal * dist * Math.cos(tilt);
  const dv = fv - dist * Math.sin(tilt);
  const pigment = rng.float(); // 0 light, 1 heavily pigmented
  const r = rng.range(0.78, 0.94) - 0.16 * pigment;
  const g = r * rng.range(0.42, 0.56) * (1 - 0.2 * pigment);
  const b = g * rng.range(0.28, 0.5);
  return {
    eye,
    nasal,
    fovFraction: rng.range(0.93, 0.985),
    disc: {
      u: du,
      v: dv,
      rx: (dd / 2) * rng.range(0.9, 1.0),
      ry: (dd / 2) * rng.range(1.0, 1.12),
      cup: rng.range(0.25, 0.55),
      cupShift: rng.range(0.05, 0.2),
      pallor: rng.range(0.0, 1.0),
    },
    fovea: { u: fu, v: fv, r: dd * rng.range(0.75, 1.0), depth: rng.range(0.25, 0.5), reflex: rng.chance(0.6) ? rng.range(0.2, 0.6) : 0 },
    background: {
      rgb: [r, g, b],
      mottle: rng.range(0.03, 0.08),
      tigroid: rng.chance(0.45) ? rng.range(0.05, 0.2) * (1 - pigment) : 0,
      seed: rng.uint32() | 0,
    },
  };
}

/** The four retinal quadrants, split by lines through the FOV centre. */
export const QUADRANTS = ['superotemporal', 'superonasal', 'inferotemporal', 'inferonasal'] as const;
export type Quadrant = (typeof QUADRANTS)[number];

export function quadrantOf(a: Anatomy, u: number, v: number): number {
  const inferior = v >= 0 ? 2 : 0;
  const nasal = u * a.nasal > 0 ? 1 : 0;
  return inferior + nasal;
}

/** A random point inside quadrant q, between radii r0 and r1, kept off the dividing lines. */
export function pointInQuadrant(rng: Rng, a: Anatomy, q: number, r0: number, r1: number): [number, number] {
  const vs = q >= 2 ? 1 : -1;
  const us = q % 2 === 1 ? a.nasal : -a.nasal;
  const ang = rng.range(0.08, Math.PI / 2 - 0.08);
  // sqrt: uniform over the area of the annulus sector.
  const r = Math.sqrt(rng.range(r0 * r0, r1 * r1));
  return [us * r * Math.cos(ang), vs * r * Math.sin(ang)];
}
