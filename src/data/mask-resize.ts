// Nearest-neighbour resizing of one mask plane, shared by the layers that read masks at
// another size (synthesis conditions, evaluation). Nearest keeps binary masks binary.

/** src [sh x sw] -> [dh x dw], pixel centres aligned (no half-pixel shift at any scale). */
export function resizeNearest(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  if (src.length !== sw * sh) throw new Error(`resizeNearest: ${src.length} values for ${sw}x${sh}`);
  if (sw === dw && sh === dh) return src.slice();
  const out = new Uint8Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const sy = Math.min(sh - 1, Math.floor(((y + 0.5) * sh) / dh));
    for (let x = 0; x < dw; x++) {
      const sx = Math.min(sw - 1, Math.floor(((x + 0.5) * sw) / dw));
      out[y * dw + x] = src[sy * sw + sx];
    }
  }
  return out;
}
