// 2-D maps of the grading features (method.md section 1, step 2: do the grades separate?):
// PCA through libtorch's SVD, exact t-SNE (van der Maaten & Hinton 2008) on tensors for up
// to a few thousand points, and a scatter plot coloured by grade written as a PNG.
import sharp from 'sharp';
import * as torch from '../torch/index.js';
import { SeededStream } from '../eval/seeded.js';

type Tensor = torch.Tensor;

const SVD = torch.aten('linalg_svd');

function checkPoints(x: Tensor, what: string): void {
  const s = x.shape;
  if (s.length !== 2 || s[0] < 2) throw new Error(`${what}: expected features [N >= 2, D], got shape [${s.join(', ')}]`);
}

/** First two principal components of x [N, D] (centred): [N, 2] float64, signs fixed. */
export function pca2(x: Tensor): Tensor {
  checkPoints(x, 'pca2');
  return torch.noGrad(() => torch.tidy(() => {
    const xc = x.double().sub(x.double().mean(0));
    const [, , vh] = SVD(xc, false) as Tensor[];
    const k = Math.min(2, vh.shape[0]);
    let comps = vh.narrow(0, 0, k);
    // Singular vectors have arbitrary sign; make each one's largest entry positive.
    const sign = comps.gather(1, comps.abs().argmax(1, true)).sign();
    comps = comps.mul(sign);
    let y = xc.matmul(comps.transpose(0, 1));
    if (k < 2) y = torch.cat([y, torch.zeros([y.shape[0], 2 - k], { dtype: 'float64' })], 1);
    return y;
  }));
}

export interface TsneOptions {
  perplexity?: number;
  iterations?: number;
  seed?: number;
  /** 'auto' = max(N / 12 / 4, 50), as scikit-learn. */
  learningRate?: number | 'auto';
  /** Early exaggeration and how long it lasts. */
  exaggeration?: number;
  exaggerationIterations?: number;
}

export const TSNE_MAX_POINTS = 2000;

/** Row-wise Gaussian affinities with the bandwidth found by bisection for the perplexity. */
function conditionalAffinities(d2: Float64Array, n: number, perplexity: number): Float64Array {
  const p = new Float64Array(n * n);
  const target = Math.log(perplexity);
  for (let i = 0; i < n; i++) {
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    const row = d2.subarray(i * n, (i + 1) * n);
    let minD = Infinity;
    for (let j = 0; j < n; j++) if (j !== i && row[j] < minD) minD = row[j];
    for (let iter = 0; iter < 100; iter++) {
      let sum = 0;
      let dSum = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const v = Math.exp(-(row[j] - minD) * beta);
        p[i * n + j] = v;
        sum += v;
        dSum += (row[j] - minD) * v;
      }
      const entropy = Math.log(sum) + (beta * dSum) / sum;
      for (let j = 0; j < n; j++) p[i * n + j] /= sum;
      const diff = entropy - target;
      if (Math.abs(diff) < 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
    p[i * n + i] = 0;
  }
  return p;
}

function squaredDistances(y: Tensor): Tensor {
  const sq = y.square().sum(1);
  return sq.unsqueeze(1).add(sq.unsqueeze(0)).sub(y.matmul(y.transpose(0, 1)).mul(2)).clamp(0);
}

/** Exact t-SNE of x [N, D] to [N, 2] float64 (N <= 2000; the cost is N^2 per iteration). */
export function tsne(x: Tensor, o: TsneOptions = {}): Tensor {
  checkPoints(x, 'tsne');
  const n = x.shape[0];
  if (n > TSNE_MAX_POINTS) throw new Error(`tsne: ${n} points is more than the ${TSNE_MAX_POINTS} exact t-SNE handles here; subsample, or use PCA`);
  const perplexity = o.perplexity ?? 30;
  if (!(perplexity > 0) || perplexity >= n) throw new Error(`tsne: perplexity must be in (0, N = ${n}), got ${perplexity}`);
  const iterations = o.iterations ?? 1000;
  const lr = o.learningRate === undefined || o.learningRate === 'auto' ? Math.max(n / 12 / 4, 50) : o.learningRate;
  const exaggeration = o.exaggeration ?? 12;
  const exIters = o.exaggerationIterations ?? 250;

  return torch.noGrad(() => {
    const d2 = torch.tidy(() => squaredDistances(x.double()).dataSync() as Float64Array);
    const cond = conditionalAffinities(d2, n, perplexity);
    const stream = new SeededStream(o.seed ?? 0);
    let y = torch.keep(stream.draw(() => torch.randn([n, 2], { dtype: 'float64' })).mul(1e-4));
    stream.dispose();
    const pSym = torch.keep(torch.tidy(() => {
      const pc = torch.tensor(cond, [n, n]);
      return pc.add(pc.transpose(0, 1)).div(2 * n).clamp(1e-12);
    }));
    const eyeMask = torch.keep(torch.eye(n, n, { dtype: 'float64' }).rsub(1));
    let update = torch.keep(torch.zerosLike(y));
    let gains = torch.keep(torch.onesLike(y));
    try {
      for (let it = 0; it < iterations; it++) {
        const momentum = it < exIters ? 0.5 : 0.8;
        const exag = it < exIters ? exaggeration : 1;
        const [ny, nu, ng] = torch.tidy(() => {
          const num = squaredDistances(y).add(1).reciprocal().mul(eyeMask);
          const q = num.div(num.sum()).clamp(1e-12);
          const pq = pSym.mul(exag).sub(q).mul(num);
          const grad = pq.sum(1).unsqueeze(1).mul(y).sub(pq.matmul(y)).mul(4);
          const same = grad.gt(0).eq(update.gt(0)).double();
          const g = gains.add(0.2).mul(same.rsub(1)).add(gains.mul(0.8).mul(same)).clamp(0.01);
          const u = update.mul(momentum).sub(g.mul(grad).mul(lr));
          const yn = y.add(u);
          return [yn.sub(yn.mean(0)), u, g];
        });
        y.dispose(); update.dispose(); gains.dispose();
        y = torch.keep(ny); update = torch.keep(nu); gains = torch.keep(ng);
      }
      return torch.tidy(() => y.clone());
    } finally {
      for (const t of [y, update, gains, pSym, eyeMask]) t.dispose();
    }
  });
}

/** Colours of grades 0..4 (colour-blind-safe Okabe-Ito), then ungraded. */
export const GRADE_COLOURS: [number, number, number][] = [
  [0, 114, 178], [86, 180, 233], [0, 158, 115], [230, 159, 0], [213, 94, 0],
];
const UNGRADED: [number, number, number] = [150, 150, 150];

// 3x5 digits for the legend, one string of 15 bits per glyph, row by row.
const DIGITS = ['111101101101111', '010110010010111', '111001111100111', '111001111001111', '101101111001001', '111100111001111', '111100111101111', '111001001001001', '111101111101111', '111101111001111'];

export interface ScatterOptions {
  width?: number;
  height?: number;
  /** Dot radius in pixels. */
  radius?: number;
}

/**
 * An RGBA scatter plot of points [N, 2] coloured by label (grade 0..4; anything else grey)
 * with a legend of the grades present, top left. Returns the raw pixels.
 */
export function drawScatter(points: Float64Array | Float32Array, labels: ArrayLike<number>, o: ScatterOptions = {}): { data: Uint8Array; width: number; height: number } {
  const W = o.width ?? 800;
  const H = o.height ?? 800;
  const r = o.radius ?? Math.max(2, Math.round(Math.min(W, H) / 250));
  const n = labels.length;
  if (points.length !== 2 * n) throw new Error(`drawScatter: ${points.length / 2} points but ${n} labels`);
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 64 || H < 64) throw new Error(`drawScatter: width and height must be integers >= 64, got ${W} x ${H}`);
  const data = new Uint8Array(W * H * 4).fill(255);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, points[2 * i]); x1 = Math.max(x1, points[2 * i]);
    y0 = Math.min(y0, points[2 * i + 1]); y1 = Math.max(y1, points[2 * i + 1]);
  }
  const margin = 0.06 * Math.min(W, H);
  const sx = (W - 2 * margin) / Math.max(x1 - x0, 1e-12);
  const sy = (H - 2 * margin) / Math.max(y1 - y0, 1e-12);
  const dot = (cx: number, cy: number, rad: number, c: [number, number, number], alpha: number) => {
    for (let y = Math.max(0, Math.floor(cy - rad)); y <= Math.min(H - 1, Math.ceil(cy + rad)); y++) {
      for (let x = Math.max(0, Math.floor(cx - rad)); x <= Math.min(W - 1, Math.ceil(cx + rad)); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 > rad * rad) continue;
        const k = (y * W + x) * 4;
        for (let ch = 0; ch < 3; ch++) data[k + ch] = Math.round(data[k + ch] * (1 - alpha) + c[ch] * alpha);
      }
    }
  };
  const rect = (x: number, y: number, w: number, h: number, c: [number, number, number]) => {
    for (let yy = Math.max(0, y); yy < Math.min(H, y + h); yy++) {
      for (let xx = Math.max(0, x); xx < Math.min(W, x + w); xx++) {
        const k = (yy * W + xx) * 4;
        data[k] = c[0]; data[k + 1] = c[1]; data[k + 2] = c[2]; data[k + 3] = 255;
      }
    }
  };
  const colourOf = (g: number) => (Number.isInteger(g) && g >= 0 && g < GRADE_COLOURS.length ? GRADE_COLOURS[g] : UNGRADED);
  // Rare grades last, so the majority grade does not bury them.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => labels[b] === labels[a] ? a - b : (labels[a] === 0 ? -1 : labels[b] === 0 ? 1 : labels[a] - labels[b]));
  for (const i of order) {
    const px = margin + (points[2 * i] - x0) * sx;
    const py = H - margin - (points[2 * i + 1] - y0) * sy;
    dot(px, py, r, colourOf(labels[i]), 0.8);
  }
  // Legend: a swatch and the grade's digit per grade present.
  const present = [...new Set(Array.from(labels, (g) => (colourOf(g) === UNGRADED ? -1 : g)))].sort((a, b) => a - b);
  const s = Math.max(2, Math.round(Math.min(W, H) / 200));
  present.forEach((g, row) => {
    const top = 6 + row * 7 * s;
    rect(6, top, 5 * s, 5 * s, colourOf(g));
    const glyph = g >= 0 ? DIGITS[g] : '000000111000000';
    for (let gy = 0; gy < 5; gy++) for (let gx = 0; gx < 3; gx++) if (glyph[gy * 3 + gx] === '1') rect(6 + 7 * s + gx * s, top + gy * s, s, s, [0, 0, 0]);
  });
  return { data, width: W, height: H };
}

/** drawScatter, written as a PNG. */
export async function writeScatterPng(path: string, points: Float64Array | Float32Array, labels: ArrayLike<number>, o: ScatterOptions = {}): Promise<void> {
  const img = drawScatter(points, labels, o);
  await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 4 } }).png().toFile(path);
}
