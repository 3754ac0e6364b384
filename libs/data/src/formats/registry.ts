import { dicom } from '../dicom/format';
import { bmp } from './bmp';
import { jpeg } from './jpeg';
import { png } from './png';
import { tiff } from './tiff';
import { webp } from './webp';
import type { FormatModule, ImageFormat } from './types';

/**
 * Every format we read, in the order they are tried. DICOM comes first: its 128-byte preamble
 * may hold anything, including a TIFF header ("dual-personality" files), and "DICM" at offset
 * 128 must win over whatever signature the preamble starts with.
 */
export const FORMATS: readonly FormatModule[] = [dicom, png, jpeg, bmp, tiff, webp];

/** The reason given for a file no format recognises. */
export const NOT_AN_IMAGE = `not an image (content is not ${FORMATS.map((f) => f.label).join(', ').replace(/, (\w+)$/, ' or $1')})`;

/** The module that recognises these first bytes, or null when none does. */
export function formatOf(head: Uint8Array): FormatModule | null {
  return FORMATS.find((f) => f.sniff(head)) ?? null;
}

/** Names the format of a file from its first bytes, or null when it is no image we read. */
export function sniffFormat(head: Uint8Array): ImageFormat | null {
  return formatOf(head)?.name ?? null;
}
