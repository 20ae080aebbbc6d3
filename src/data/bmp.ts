// A small BMP decoder: libvips as bundled with sharp cannot read BMP (it needs ImageMagick),
// and some fundus archives ship BMP. Covers what cameras and scripts write: uncompressed
// 24- and 32-bit (BI_RGB, or BI_BITFIELDS with the usual masks), and 1/4/8-bit palettised;
// bottom-up and top-down rows. Anything else is refused with the reason.

export interface RgbImage {
  /** HWC, 3 channels, 8 bit. */
  data: Uint8Array;
  width: number;
  height: number;
}

export function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d;
}

export function decodeBmp(buf: Buffer): RgbImage {
  if (!isBmp(buf)) throw new Error('not a BMP file (no "BM" signature)');
  if (buf.length < 26) throw new Error('truncated BMP header');
  const dataOffset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  let width: number, height: number, bpp: number, compression = 0, paletteCount = 0;
  let paletteEntrySize = 4;
  if (headerSize === 12) {
    // OS/2 BITMAPCOREHEADER: 16-bit sizes and 3-byte palette entries.
    width = buf.readUInt16LE(18);
    height = buf.readInt16LE(20);
    bpp = buf.readUInt16LE(24);
    paletteEntrySize = 3;
  } else if (headerSize >= 40) {
    if (buf.length < 54) throw new Error('truncated BMP header');
    width = buf.readInt32LE(18);
    height = buf.readInt32LE(22);
    bpp = buf.readUInt16LE(28);
    compression = buf.readUInt32LE(30);
    paletteCount = buf.readUInt32LE(46);
  } else {
    throw new Error(`unsupported BMP header size ${headerSize}`);
  }
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535) throw new Error(`bad BMP dimensions ${width}x${height}`);

  // Channel masks: BI_RGB implies BGR(X) byte order; BI_BITFIELDS (3) states them.
  let masks: [number, number, number] | null = null;
  if (compression === 3 || compression === 6) {
    if (bpp !== 32 && bpp !== 16) throw new Error(`BMP BI_BITFIELDS with ${bpp} bits per pixel is not supported`);
    const at = 14 + 40; // the masks follow the first 40 header bytes in every header version
    if (buf.length < at + 12) throw new Error('truncated BMP bit-field masks');
    masks = [buf.readUInt32LE(at), buf.readUInt32LE(at + 4), buf.readUInt32LE(at + 8)];
  } else if (compression !== 0) {
    const names: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'JPEG', 5: 'PNG' };
    throw new Error(`compressed BMP (${names[compression] ?? `compression ${compression}`}) is not supported; convert it to PNG`);
  }

  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    const n = paletteCount || 1 << bpp;
    const start = 14 + headerSize;
    if (buf.length < start + n * paletteEntrySize) throw new Error('truncated BMP palette');
    palette = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const o = start + i * paletteEntrySize;
      palette[i * 3] = buf[o + 2];
      palette[i * 3 + 1] = buf[o + 1];
      palette[i * 3 + 2] = buf[o];
    }
  } else if (bpp !== 24 && bpp !== 32 && bpp !== 16) {
    throw new Error(`BMP with ${bpp} bits per pixel is not supported`);
  }

  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (buf.length < dataOffset + stride * (height - 1) + Math.ceil((width * bpp) / 8)) {
    throw new Error(`truncated BMP pixel data (${buf.length} bytes, need ${dataOffset + stride * height})`);
  }
  const out = new Uint8Array(width * height * 3);
  const fieldReaders = masks?.map(maskReader);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    const o = y * width * 3;
    for (let x = 0; x < width; x++) {
      const d = o + x * 3;
      if (palette) {
        const bitPos = x * bpp;
        const byte = buf[row + (bitPos >> 3)];
        const idx = bpp === 8 ? byte : (byte >> (8 - bpp - (bitPos & 7))) & ((1 << bpp) - 1);
        if (idx * 3 + 2 >= palette.length) throw new Error(`BMP palette index ${idx} out of range`);
        out[d] = palette[idx * 3];
        out[d + 1] = palette[idx * 3 + 1];
        out[d + 2] = palette[idx * 3 + 2];
      } else if (fieldReaders) {
        const v = bpp === 32 ? buf.readUInt32LE(row + x * 4) : buf.readUInt16LE(row + x * 2);
        out[d] = fieldReaders[0](v);
        out[d + 1] = fieldReaders[1](v);
        out[d + 2] = fieldReaders[2](v);
      } else if (bpp === 16) {
        // BI_RGB 16-bit is X1R5G5B5.
        const v = buf.readUInt16LE(row + x * 2);
        out[d] = (((v >> 10) & 31) * 255 + 15) / 31;
        out[d + 1] = (((v >> 5) & 31) * 255 + 15) / 31;
        out[d + 2] = ((v & 31) * 255 + 15) / 31;
      } else {
        const s = row + x * (bpp >> 3);
        out[d] = buf[s + 2];
        out[d + 1] = buf[s + 1];
        out[d + 2] = buf[s];
      }
    }
  }
  return { data: out, width, height };
}

/** Extracts one channel given its bit mask and scales it to 0..255. */
function maskReader(mask: number): (v: number) => number {
  if (mask === 0) return () => 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  return (v) => Math.round((((v & mask) >>> shift) * 255) / max);
}
