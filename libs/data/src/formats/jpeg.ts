import { rasterFormat } from './raster';

const hex = (m: number) => `FF${m.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * The fault in a JPEG that libvips refused, found by walking its marker segments and entropy-coded
 * data up to the end-of-image marker. Null when the walk reaches it with a frame and a scan seen.
 */
export function diagnoseJpeg(b: Uint8Array): string | null {
  const truncated = `truncated JPEG (the file ends at byte ${b.length} before its end-of-image marker)`;
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return 'corrupt JPEG (no start-of-image marker)';
  let p = 2;
  let frame = false;
  let scan = false;
  for (;;) {
    if (p >= b.length) return truncated;
    if (b[p] !== 0xff) return `corrupt JPEG (expected a marker at byte ${p}, found 0x${b[p].toString(16)})`;
    while (p < b.length && b[p] === 0xff) p++;
    if (p >= b.length) return truncated;
    const m = b[p++];
    if (m === 0xd9) return frame && scan ? null : 'corrupt JPEG (it ends without a frame header and a scan)';
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue;
    if (p + 2 > b.length) return truncated;
    const len = (b[p] << 8) | b[p + 1];
    if (len < 2) return `corrupt JPEG (marker ${hex(m)} at byte ${p - 2} has length ${len})`;
    if (p + len > b.length) return `truncated JPEG (marker ${hex(m)} at byte ${p - 2} needs ${len} bytes, the file ends after ${b.length - p})`;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) frame = true;
    p += len;
    if (m === 0xda) {
      if (!frame) return `corrupt JPEG (a scan at byte ${p - len - 2} before any frame header)`;
      scan = true;
      // Entropy-coded data runs to the next marker that is neither a stuffed 0xFF00 nor a restart.
      while (p + 1 < b.length && !(b[p] === 0xff && b[p + 1] !== 0 && !(b[p + 1] >= 0xd0 && b[p + 1] <= 0xd7))) p++;
      if (p + 1 >= b.length) return truncated;
    }
  }
}

export const jpeg = rasterFormat({
  name: 'jpeg',
  label: 'JPEG',
  sniff: (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  diagnose: diagnoseJpeg,
  orient: true,
});
