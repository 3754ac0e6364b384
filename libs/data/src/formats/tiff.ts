import { rasterFormat } from './raster';

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8 };

/**
 * The fault in a classic TIFF that libvips refused: the first IFD and its entries, and every
 * strip or tile its offsets and byte counts point at, must lie inside the file.
 */
export function diagnoseTiff(b: Uint8Array): string | null {
  const le = b[0] === 0x49;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 8) return `truncated TIFF (${b.length} bytes, shorter than a TIFF header)`;
  const ifd = dv.getUint32(4, le);
  if (ifd + 2 > b.length) return `truncated TIFF (its first directory is at byte ${ifd}, the file has ${b.length})`;
  const n = dv.getUint16(ifd, le);
  if (ifd + 2 + 12 * n > b.length) return `truncated TIFF (its first directory of ${n} entries runs past the end of the file)`;
  const values = (tag: number): number[] | null => {
    for (let i = 0; i < n; i++) {
      const e = ifd + 2 + 12 * i;
      if (dv.getUint16(e, le) !== tag) continue;
      const type = dv.getUint16(e + 2, le);
      const count = dv.getUint32(e + 4, le);
      const size = TYPE_SIZE[type] ?? 0;
      if (type !== 3 && type !== 4) return [];
      const at = count * size <= 4 ? e + 8 : dv.getUint32(e + 8, le);
      if (at + count * size > b.length) return null;
      return Array.from({ length: count }, (_, k) => (type === 3 ? dv.getUint16(at + 2 * k, le) : dv.getUint32(at + 4 * k, le)));
    }
    return [];
  };
  for (const [offTag, countTag, what] of [
    [273, 279, 'strip'],
    [324, 325, 'tile'],
  ] as const) {
    const offsets = values(offTag);
    const counts = values(countTag);
    if (offsets === null || counts === null) return `truncated TIFF (the ${what} table runs past the end of the file)`;
    for (let k = 0; k < Math.min(offsets.length, counts.length); k++) {
      if (offsets[k] + counts[k] > b.length) return `truncated TIFF (${what} ${k} at byte ${offsets[k]} needs ${counts[k]} bytes, the file has ${b.length})`;
    }
  }
  return null;
}

export const tiff = rasterFormat({
  name: 'tiff',
  label: 'TIFF',
  sniff: (b) => b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a)),
  diagnose: diagnoseTiff,
  orient: true,
});
