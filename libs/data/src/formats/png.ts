import { crc32, inflateSync } from 'node:zlib';
import { DataError } from '../errors';
import { rasterFormat } from './raster';
import type { RasterHeader } from './raster';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

interface Chunk {
  type: string;
  at: number;
  data: Uint8Array;
}

const u32 = (b: Uint8Array, i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;

/** The chunks of a PNG in order, or the first fault found walking them. */
function chunks(b: Uint8Array): { chunks: Chunk[]; fault: string | null } {
  const out: Chunk[] = [];
  let p = 8;
  while (p < b.length) {
    if (p + 8 > b.length) return { chunks: out, fault: `truncated PNG (the file ends inside a chunk header at byte ${p})` };
    const len = u32(b, p);
    const type = String.fromCharCode(b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    if (!/^[A-Za-z]{4}$/.test(type)) return { chunks: out, fault: `corrupt PNG (no chunk type at byte ${p})` };
    if (p + 12 + len > b.length) return { chunks: out, fault: `truncated PNG (chunk ${type} at byte ${p} needs ${len + 12} bytes, the file ends after ${b.length - p})` };
    const data = b.subarray(p + 8, p + 8 + len);
    if (crc32(b.subarray(p + 4, p + 8 + len)) !== u32(b, p + 8 + len)) return { chunks: out, fault: `corrupt PNG (chunk ${type} at byte ${p} fails its CRC check)` };
    out.push({ type, at: p, data });
    p += 12 + len;
    if (type === 'IEND') break;
  }
  return { chunks: out, fault: null };
}

/** Colour type → samples per pixel (PNG 11.2.2); bit depths allowed for it. */
const COLOUR_TYPES: Record<number, { samples: number; depths: number[] }> = {
  0: { samples: 1, depths: [1, 2, 4, 8, 16] },
  2: { samples: 3, depths: [8, 16] },
  3: { samples: 1, depths: [1, 2, 4, 8] },
  4: { samples: 2, depths: [8, 16] },
  6: { samples: 4, depths: [8, 16] },
};

/** Bytes the image data must inflate to: one filter byte per row of every interlace pass. */
function inflatedSize(width: number, height: number, bits: number, interlaced: boolean): number {
  const rowBytes = (w: number) => Math.ceil((w * bits) / 8) + 1;
  if (!interlaced) return height * rowBytes(width);
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w > 0 && h > 0) total += h * rowBytes(w);
  }
  return total;
}

/**
 * The fault in a PNG that libvips refused: chunk lengths, CRCs, the header's fields, the image
 * data's zlib stream and its size, the end chunk. Null when all of that is sound.
 */
export function diagnosePng(b: Uint8Array): string | null {
  if (b.length < 33) return `truncated PNG (${b.length} bytes, shorter than a PNG header)`;
  const { chunks: cs, fault } = chunks(b);
  if (fault) return fault;
  if (cs[0]?.type !== 'IHDR' || cs[0].data.length !== 13) return 'corrupt PNG (it does not start with a 13-byte IHDR chunk)';
  const ihdr = cs[0].data;
  const width = u32(ihdr, 0);
  const height = u32(ihdr, 4);
  const depth = ihdr[8];
  const colourType = ihdr[9];
  const ct = COLOUR_TYPES[colourType];
  if (width === 0 || height === 0) return `corrupt PNG (IHDR gives a size of ${width}×${height})`;
  if (!ct || !ct.depths.includes(depth)) return `corrupt PNG (IHDR: bit depth ${depth} with colour type ${colourType} is not allowed)`;
  if (ihdr[10] !== 0 || ihdr[11] !== 0 || ihdr[12] > 1) return `corrupt PNG (IHDR: unknown compression ${ihdr[10]}, filter ${ihdr[11]} or interlace ${ihdr[12]} method)`;
  if (colourType === 3 && !cs.some((c) => c.type === 'PLTE')) return 'corrupt PNG (a palette image without a PLTE chunk)';
  const idat = cs.filter((c) => c.type === 'IDAT');
  if (idat.length === 0) return 'corrupt PNG (no IDAT chunk: no image data)';
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(Buffer.concat(idat.map((c) => c.data)));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return /unexpected end/i.test(msg) ? 'truncated PNG (the image data stops before its end)' : `corrupt PNG (the image data does not inflate: ${msg})`;
  }
  const expected = inflatedSize(width, height, depth * ct.samples, ihdr[12] === 1);
  if (inflated.length < expected) return `truncated PNG (the image data holds ${inflated.length} of ${expected} bytes)`;
  if (cs[cs.length - 1].type !== 'IEND') return `truncated PNG (no IEND chunk: the file ends at byte ${b.length})`;
  return null;
}

/**
 * Colour, depth and alpha from the IHDR chunk (colour types 2, 3, 6 have colour; 4, 6 or a tRNS
 * chunk, alpha). The chunks before the image data are checked against their CRCs on the way (as
 * Pillow does): a damaged header is refused rather than trusted.
 */
export function pngHeader(b: Uint8Array): RasterHeader | null {
  if (b.length < 26 || b[12] !== 0x49 || b[13] !== 0x48 || b[14] !== 0x44 || b[15] !== 0x52) return null;
  const colourType = b[25];
  let trns = false;
  for (let p = 8; p + 12 <= b.length; ) {
    const len = u32(b, p);
    const type = String.fromCharCode(b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    if (type === 'IDAT' || type === 'IEND' || p + 12 + len > b.length) break;
    if (crc32(b.subarray(p + 4, p + 8 + len)) !== u32(b, p + 8 + len)) throw new DataError(`corrupt PNG (chunk ${type} at byte ${p} fails its CRC check)`);
    if (type === 'tRNS') trns = true;
    p += 12 + len;
  }
  return { colour: colourType === 2 || colourType === 3 || colourType === 6, wide: b[24] > 8, alpha: colourType === 4 || colourType === 6 || trns };
}

export const png = rasterFormat({
  name: 'png',
  label: 'PNG',
  sniff: (b) => b.length >= 8 && SIGNATURE.every((x, i) => b[i] === x),
  header: pngHeader,
  diagnose: diagnosePng,
  orient: false,
});
