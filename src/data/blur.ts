// Separable box blurs on float planes, and a Gaussian made of three of them (within a few
// percent of a true Gaussian, at a cost independent of sigma: Graham's sigma = size/30 is
// 17 px at 512, where a direct kernel would be ~100 taps).

/** Blurs `v` (w x h, one plane) in place with a box of radius r along rows then columns. */
export function boxBlur(v: Float32Array, w: number, h: number, r: number): void {
  if (r <= 0) return;
  const tmp = new Float32Array(Math.max(w, h));
  for (let y = 0; y < h; y++) boxLine(v, y * w, 1, w, r, tmp);
  for (let x = 0; x < w; x++) boxLine(v, x, w, h, r, tmp);
}

/** Gaussian of the given sigma approximated by three box blurs (Kovesi's box sizes). */
export function gaussianBlur(v: Float32Array, w: number, h: number, sigma: number): void {
  const n = 3;
  const ideal = Math.sqrt((12 * sigma * sigma) / n + 1);
  let wl = Math.floor(ideal);
  if (wl % 2 === 0) wl--;
  const wu = wl + 2;
  const m = Math.round((12 * sigma * sigma - n * wl * wl - 4 * n * wl - 3 * n) / (-4 * wl - 4));
  for (let i = 0; i < n; i++) boxBlur(v, w, h, ((i < m ? wl : wu) - 1) / 2);
}

// Mean over the window clipped to the line: no dark halo at the image edge.
function boxLine(v: Float32Array, start: number, step: number, n: number, r: number, tmp: Float32Array): void {
  for (let i = 0; i < n; i++) tmp[i] = v[start + i * step];
  let sum = 0;
  let count = 0;
  for (let i = 0; i <= Math.min(r, n - 1); i++) {
    sum += tmp[i];
    count++;
  }
  for (let i = 0; i < n; i++) {
    v[start + i * step] = sum / count;
    const add = i + r + 1;
    const drop = i - r;
    if (add < n) {
      sum += tmp[add];
      count++;
    }
    if (drop >= 0) {
      sum -= tmp[drop];
      count--;
    }
  }
}
