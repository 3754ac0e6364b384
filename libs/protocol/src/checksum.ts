/**
 * CRC-32C (Castagnoli) over a byte buffer, slicing-by-8. Detects corruption of a
 * weights payload between the packer and the unpacker; it is not a signature
 * (authentication is the session token's job, integrity on the wire TLS's).
 */
const POLY = 0x82f63b78;
const T = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) t[s * 256 + i] = (t[(s - 1) * 256 + i] >>> 8) ^ t[t[(s - 1) * 256 + i] & 0xff];
  }
  return t;
})();

export function crc32c(bytes: Uint8Array, seed = 0): number {
  let crc = ~seed >>> 0;
  let i = 0;
  const n = bytes.length;
  const aligned = n - (n % 8);
  for (; i < aligned; i += 8) {
    const a = (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) ^ crc;
    crc =
      T[7 * 256 + (a & 0xff)] ^
      T[6 * 256 + ((a >>> 8) & 0xff)] ^
      T[5 * 256 + ((a >>> 16) & 0xff)] ^
      T[4 * 256 + (a >>> 24)] ^
      T[3 * 256 + bytes[i + 4]] ^
      T[2 * 256 + bytes[i + 5]] ^
      T[256 + bytes[i + 6]] ^
      T[bytes[i + 7]];
  }
  for (; i < n; i++) crc = (crc >>> 8) ^ T[(crc ^ bytes[i]) & 0xff];
  return ~crc >>> 0;
}
