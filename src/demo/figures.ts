// The demo's figures: labelled image grids (rows and columns named in the plot font, so the
// PNG explains itself outside the report too) and a colour picture of a condition map.
import { CONDITION_CHANNELS } from '../data/manifest.js';
import { Canvas, textWidth, type RasterImage, type Rgb } from '../report/plot.js';
import { PAINT_KEY, type ConditionMasks } from '../synth/condition-io.js';

export interface GridOptions {
  /** One label per row, drawn left of it. */
  rowLabels: string[];
  /** One label per column, drawn above it. */
  columnLabels: string[];
  /** Extra gap after these column indices (separates groups, e.g. real | synthetic). */
  gapAfter?: number[];
  /** Tiles are drawn `scale` times their size (nearest), so small images stay legible. */
  scale?: number;
}

const PAD = 3;
const GAP = 10;
const FONT_SCALE = 2;
const LINE = 7 * FONT_SCALE;
const WHITE: Rgb = [255, 255, 255];

/** tiles[row][col] (equal square sizes) as one labelled picture; a null tile stays blank. */
export function labelledGrid(tiles: (RasterImage | null)[][], o: GridOptions): RasterImage {
  const rows = tiles.length;
  const cols = Math.max(...tiles.map((r) => r.length));
  if (o.rowLabels.length !== rows || o.columnLabels.length !== cols) {
    throw new Error(`labelledGrid: ${rows} rows x ${cols} columns, but ${o.rowLabels.length} row and ${o.columnLabels.length} column labels`);
  }
  const first = tiles.flat().find((t): t is RasterImage => t !== null);
  if (!first) throw new Error('labelledGrid: no tiles');
  const scale = o.scale ?? 1;
  const S = first.width * scale;
  const gaps = new Set(o.gapAfter ?? []);
  const left = Math.max(...o.rowLabels.map((l) => textWidth(l, FONT_SCALE))) + 2 * PAD;
  const top = LINE + 2 * PAD;
  const colX: number[] = [];
  let x = left;
  for (let c = 0; c < cols; c++) {
    colX.push(x);
    x += S + PAD + (gaps.has(c) ? GAP : 0);
  }
  const cv = new Canvas(x, top + rows * (S + PAD), WHITE);
  // Column labels shrink to the small font when the big one would run into the next column.
  const colScale = o.columnLabels.every((l) => textWidth(l, FONT_SCALE) <= S) ? FONT_SCALE : 1;
  o.columnLabels.forEach((l, c) => cv.text(colX[c] + Math.max(0, (S - textWidth(l, colScale)) / 2), PAD, l, [0, 0, 0], colScale));
  for (let r = 0; r < rows; r++) {
    const y0 = top + r * (S + PAD);
    cv.text(PAD, y0 + (S - LINE) / 2, o.rowLabels[r], [0, 0, 0], FONT_SCALE);
    tiles[r].forEach((t, c) => {
      if (!t) return;
      if (t.width !== first.width || t.height !== first.height) throw new Error(`labelledGrid: tile [${r}][${c}] is ${t.width}x${t.height}, expected ${first.width}x${first.height}`);
      for (let yy = 0; yy < S; yy++) {
        for (let xx = 0; xx < S; xx++) {
          const s = (Math.floor(yy / scale) * t.width + Math.floor(xx / scale)) * 3;
          cv.data.set(t.data.subarray(s, s + 3), ((y0 + yy) * cv.width + colX[c] + xx) * 3);
        }
      }
    });
  }
  return cv.toImage();
}

// Structure in greys so the lesion colours (the painting key of condition-io.ts) stand out.
const STRUCTURE_COLOURS: Partial<Record<string, Rgb>> = { vessel: [110, 110, 110], optic_disc: [170, 170, 170] };

/** A condition map as a picture: FOV dark grey, vessels and disc grey, lesions in the paint key's colours. */
export function conditionPicture(c: ConditionMasks): RasterImage {
  const n = c.size * c.size;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) if (!c.fov || c.fov[i] >= 128) data.set([35, 35, 35], i * 3);
  // Later channels are drawn over earlier ones: lesions over the vessel tree.
  for (const ch of CONDITION_CHANNELS) {
    const m = c.channels[ch];
    if (!m) continue;
    const colour = STRUCTURE_COLOURS[ch] ?? ([...PAINT_KEY[ch]] as Rgb);
    for (let i = 0; i < n; i++) if (m[i] >= 128) data.set(colour, i * 3);
  }
  return { width: c.size, height: c.size, data };
}
