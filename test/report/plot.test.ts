// The raster chart helper: lines and bars land where the axes say, text is drawn, and the
// PNG decodes at the requested size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { barChart, BACKGROUND, Canvas, encodePng, lineChart, niceTicks, SERIES_COLOURS, toPixel, type RasterImage } from '../../src/report/plot.js';

const at = (img: RasterImage, x: number, y: number) => Array.from(img.data.subarray((Math.round(y) * img.width + Math.round(x)) * 3, (Math.round(y) * img.width + Math.round(x)) * 3 + 3));

test('a line chart of y = 2x draws the series colour along the line and nowhere far from it', () => {
  const x = Array.from({ length: 11 }, (_, i) => i * 10);
  const { image, area } = lineChart({ title: 'loss', xLabel: 'step', yLabel: 'value', series: [{ name: 'G/adv', x, y: x.map((v) => 2 * v) }] });
  assert.equal(image.width, 640);
  assert.equal(image.height, 360);
  const colour = SERIES_COLOURS[0];
  // (The legend box sits top right, over the end of the line.)
  for (const v of [5, 33, 50, 71]) {
    const [px, py] = toPixel(area, v, 2 * v);
    assert.deepEqual(at(image, px, py), colour, `no line pixel at x=${v}`);
    // The point mirrored through the plot's centre (off the line) keeps the background or grid.
    const [qx, qy] = toPixel(area, v, 2 * (100 - v));
    if (Math.abs(qy - py) > 6) assert.notDeepEqual(at(image, qx, qy), colour);
  }
  // Axes and labels put ink on the canvas outside the plot area.
  let ink = 0;
  for (let yy = area.bottom + 2; yy < image.height; yy++) for (let xx = 0; xx < image.width; xx++) if (at(image, xx, yy).every((c) => c < 60)) ink++;
  assert.ok(ink > 50, `tick labels should be drawn below the axis (${ink} dark pixels)`);
});

test('a bar chart fills bars to their value and draws error bars; the PNG has the requested size', async () => {
  const c = barChart({ categories: ['0', '1', '2'], series: [{ name: 'a', values: [0.2, 0.8, null], errors: [0.1, 0, null] }, { name: 'b', values: [0.5, 0.5, 0.5] }], yMin: 0, yMax: 1, width: 300, height: 200 });
  const [, y08] = toPixel(c.area, 0, 0.78);
  const [, y02] = toPixel(c.area, 0, 0.18);
  assert.deepEqual(at(c.image, c.barCentre(0, 1) + 2, y08), SERIES_COLOURS[0]);
  assert.deepEqual(at(c.image, c.barCentre(0, 0) + 2, y02), SERIES_COLOURS[0]);
  const [, y06] = toPixel(c.area, 0, 0.6);
  assert.notDeepEqual(at(c.image, c.barCentre(0, 0) + 2, y06), SERIES_COLOURS[0], 'bar of 0.2 must not reach 0.6');
  const [, y028] = toPixel(c.area, 0, 0.28);
  assert.deepEqual(at(c.image, c.barCentre(0, 0), y028), [0, 0, 0], 'error bar of 0.2 +- 0.1 reaches 0.28');
  const [, y03] = toPixel(c.area, 0, 0.3);
  assert.notDeepEqual(at(c.image, c.barCentre(0, 2) + 2, y03), SERIES_COLOURS[0], 'a null value has no bar');
  const png = await encodePng(c.image);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 300, 200]);
  const raw = await sharp(png).raw().toBuffer();
  assert.deepEqual(Array.from(raw.subarray(0, 3)), BACKGROUND);
  assert.throws(() => barChart({ categories: ['a'], series: [{ name: 's', values: [1, 2] }] }), /2 values for 1 categories/);
});

test('text draws glyph pixels; ticks are round numbers covering the range', () => {
  const cv = new Canvas(40, 20);
  cv.text(1, 1, 'A1', [0, 0, 0]);
  let dark = 0;
  for (let i = 0; i < cv.data.length; i += 3) if (cv.data[i] === 0) dark++;
  assert.ok(dark > 15 && dark < 60, `glyph pixels ${dark}`);
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 97, 5), [20, 40, 60, 80]);
  assert.throws(() => niceTicks(0, Number.NaN), /finite/);
});
