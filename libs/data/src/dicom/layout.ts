/**
 * How a DICOM stream starts: `part10` (128-byte preamble + "DICM"), `prefix` ("DICM" without the
 * preamble), `meta` (the group 0002 meta elements without preamble or prefix) or `raw` (a bare
 * data set, as some exporters write it). Null when the bytes do not look like DICOM at all.
 * The preamble may hold anything, a TIFF header included ("dual-personality" files), so
 * "DICM" at 128 is checked before every other signature.
 */
export function dicomLayout(b: Uint8Array): 'part10' | 'prefix' | 'meta' | 'raw' | null {
  const dicm = (i: number) => b.length >= i + 4 && b[i] === 0x44 && b[i + 1] === 0x49 && b[i + 2] === 0x43 && b[i + 3] === 0x4d;
  if (dicm(128)) return 'part10';
  if (dicm(0)) return 'prefix';
  if (b.length < 8) return null;
  const group = b[0] | (b[1] << 8);
  const element = b[2] | (b[3] << 8);
  const explicit = isVr(b, 4);
  if (group === 0x0002 && explicit) return 'meta';
  // A bare data set begins with a low group (0008 identifying, or a command/length group) and a
  // small element number; the value length or VR that follows must be plausible.
  if (group === 0x0008 && element < 0x0100) {
    if (explicit) return 'raw';
    const len = b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24);
    if (len >= 0 && len < 1 << 16) return 'raw';
  }
  return null;
}

/** True when the two bytes at `i` are an explicit VR (two upper-case letters). */
export function isVr(b: Uint8Array, i: number): boolean {
  return b.length >= i + 2 && b[i] >= 0x41 && b[i] <= 0x5a && b[i + 1] >= 0x41 && b[i + 1] <= 0x5a;
}
