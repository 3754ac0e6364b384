/**
 * CRC-32 (IEEE 802.3, as zlib and PNG use it) over a byte buffer. Detects
 * corruption of a weights payload between the packer and the unpacker; it is
 * not a signature (authentication is the token's job, integrity on the wire
 * TLS's). Node's native zlib.crc32 (Node ≥ 20.15) does several GB/s; a
 * slicing-by-8 table version in JavaScript is the fallback.
 */
import * as zlib from 'node:zlib';

const POLY = 0xedb88320;
let T: Uint32Array | null = null;

function table(): Uint32Array {
  if (T) return T;
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) t[s * 256 + i] = (t[(s - 1) * 256 + i] >>> 8) ^ t[t[(s - 1) * 256 + i] & 0xff];
  }
  T = t;
  return t;
}

/** The portable implementation (also what the native one is tested against). */
export function crc32Js(bytes: Uint8Array, seed = 0): number {
  const t = table();
  let crc = ~seed >>> 0;
  let i = 0;
  const n = bytes.length;
  const aligned = n - (n % 8);
  for (; i < aligned; i += 8) {
    const a = (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) ^ crc;
    crc =
      t[7 * 256 + (a & 0xff)] ^
      t[6 * 256 + ((a >>> 8) & 0xff)] ^
      t[5 * 256 + ((a >>> 16) & 0xff)] ^
      t[4 * 256 + (a >>> 24)] ^
      t[3 * 256 + bytes[i + 4]] ^
      t[2 * 256 + bytes[i + 5]] ^
      t[256 + bytes[i + 6]] ^
      t[bytes[i + 7]];
  }
  for (; i < n; i++) crc = (crc >>> 8) ^ t[(crc ^ bytes[i]) & 0xff];
  return ~crc >>> 0;
}

const native = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

export function crc32(bytes: Uint8Array, seed = 0): number {
  return native ? native(bytes, seed) >>> 0 : crc32Js(bytes, seed);
}
