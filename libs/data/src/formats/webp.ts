import { rasterFormat } from './raster';

const u32le = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
const fourcc = (b: Uint8Array, i: number) => String.fromCharCode(b[i], b[i + 1], b[i + 2], b[i + 3]);

/** The fault in a WebP that libvips refused: the RIFF size, the chunk sizes, an image chunk. */
export function diagnoseWebp(b: Uint8Array): string | null {
  const riff = u32le(b, 4);
  if (8 + riff > b.length) return `truncated WebP (its RIFF header promises ${8 + riff} bytes, the file has ${b.length})`;
  let image = false;
  for (let p = 12; p + 8 <= 8 + riff; ) {
    const type = fourcc(b, p);
    const size = u32le(b, p + 4);
    if (p + 8 + size > b.length) return `truncated WebP (chunk ${type.trim()} at byte ${p} needs ${size + 8} bytes, the file ends after ${b.length - p})`;
    if (type === 'VP8 ' || type === 'VP8L' || type === 'ANMF') image = true;
    p += 8 + size + (size & 1);
  }
  return image ? null : 'corrupt WebP (no VP8 or VP8L image chunk)';
}

export const webp = rasterFormat({
  name: 'webp',
  label: 'WebP',
  sniff: (b) => b.length >= 12 && fourcc(b, 0) === 'RIFF' && fourcc(b, 8) === 'WEBP',
  diagnose: diagnoseWebp,
  orient: true,
});
