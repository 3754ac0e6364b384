import { DataError } from '../errors';

/**
 * Unsigned samples from stored bytes, little- or big-endian (sign comes later, from Bits Stored).
 * Bits Allocated 1 (segmentations, overlays stored as pixels) unpacks eight pixels per byte,
 * least significant bit first (PS3.5 8.1.1).
 */
export function nativeSamples(bytes: Uint8Array, bitsAllocated: number, bigEndian: boolean, count = Infinity): ArrayLike<number> {
  if (bitsAllocated === 1) {
    const n = Math.min(count, bytes.length * 8);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (bytes[i >> 3] >> (i & 7)) & 1;
    return out;
  }
  if (bitsAllocated === 8) return bytes;
  const width = bitsAllocated / 8;
  if (width !== 2 && width !== 4) throw new DataError(`unsupported Bits Allocated ${bitsAllocated} (expected 1, 8, 16 or 32)`);
  const n = Math.floor(bytes.length / width);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n * width);
  const le = !bigEndian;
  if (width === 2) {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, le);
    return out;
  }
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getUint32(4 * i, le);
  return out;
}

/**
 * YBR_FULL_422 as stored uncompressed (PS3.3 C.7.6.3.1.2): each pair of pixels is Y1 Y2 Cb Cr.
 * Returns YBR_FULL, three samples per pixel, each pair sharing its chroma (as pydicom does).
 */
export function upsample422(s: ArrayLike<number>, pixels: number): Uint32Array {
  const out = new Uint32Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const pair = 4 * (p >> 1);
    out[3 * p] = s[pair + (p & 1)];
    out[3 * p + 1] = s[pair + 2];
    out[3 * p + 2] = s[pair + 3];
  }
  return out;
}
