/** Image formats the data set may hold, recognised by their first bytes, never by the file name. */
export type ImageFormat = 'png' | 'jpeg' | 'bmp' | 'tiff' | 'webp' | 'dicom';

/** Bytes needed by {@link sniffFormat}. */
export const SNIFF_BYTES = 256;

/** Names the format of a file from its first bytes, or null when it is no image we read. */
export function sniffFormat(head: Uint8Array): ImageFormat | null {
  const b = head;
  const at = (i: number, ...xs: number[]) => xs.every((x, k) => b[i + k] === x);
  if (b.length >= 8 && at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (b.length >= 3 && at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (b.length >= 14 && at(0, 0x42, 0x4d)) return 'bmp';
  if (b.length >= 4 && (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a))) return 'tiff';
  if (b.length >= 12 && at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  if (dicomLayout(b) !== null) return 'dicom';
  return null;
}

/**
 * How a DICOM stream starts: `part10` (128-byte preamble + "DICM"), `prefix` ("DICM" without the
 * preamble), `meta` (the group 0002 meta elements without preamble or prefix) or `raw` (a bare
 * data set, as some exporters write it). Null when the bytes do not look like DICOM at all.
 */
export function dicomLayout(b: Uint8Array): 'part10' | 'prefix' | 'meta' | 'raw' | null {
  const dicm = (i: number) => b.length >= i + 4 && b[i] === 0x44 && b[i + 1] === 0x49 && b[i + 2] === 0x43 && b[i + 3] === 0x4d;
  if (dicm(128)) return 'part10';
  if (dicm(0)) return 'prefix';
  if (b.length < 8) return null;
  const group = b[0] | (b[1] << 8);
  const element = b[2] | (b[3] << 8);
  const vr = String.fromCharCode(b[4], b[5]);
  const explicit = /^[A-Z]{2}$/.test(vr);
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
