import dicomParser from 'dicom-parser';
import { inflateRaw } from 'pako';
import { DataError } from '../errors';
import { dicomLayout, isVr } from './layout';

export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';

/** The text of whatever dicom-parser threw (it throws strings and objects as well as Errors). */
export function describeError(err: unknown): string {
  const msg = typeof err === 'string' ? err : err instanceof Error ? err.message : ((err as { exception?: string; message?: string })?.exception ?? (err as { message?: string })?.message ?? String(err));
  return msg.replace(/^dicomParser\.\w+: /, '');
}

const inflater = ((arr: Uint8Array, position: number) => {
  const inflated = inflateRaw(arr.subarray(position));
  const full = new Uint8Array(position + inflated.length);
  full.set(arr.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
}) as unknown as dicomParser.ParseDicomOptions['inflater'];

/** Where the meta group of a part 10 stream ends (its last element's end). */
function metaEnd(input: Uint8Array): number {
  const meta = dicomParser.readPart10Header(input);
  let end = 132;
  for (const el of Object.values(meta.elements)) end = Math.max(end, el.dataOffset + el.length);
  return end;
}

function parseWith(input: Uint8Array, options: dicomParser.ParseDicomOptions): dicomParser.DataSet {
  try {
    return dicomParser.parseDicom(input, options);
  } catch (err) {
    const msg = describeError(err);
    if (/buffer overrun|cannot be greater than|maxPosition/i.test(msg)) throw new DataError(`truncated or corrupt DICOM (an element runs past the end of the file: ${msg})`);
    throw new DataError(`corrupt DICOM (${msg})`);
  }
}

/**
 * In implicit VR, dicom-parser takes Pixel Data of undefined length for a sequence of items;
 * read it again as what it is, encapsulated fragments.
 */
function rereadEncapsulated(ds: dicomParser.DataSet): void {
  const el = ds.elements.x7fe00010;
  if (!el?.hadUndefinedLength || el.encapsulatedPixelData) return;
  const pixelData: dicomParser.Element = { tag: el.tag, length: 0xffffffff, dataOffset: el.dataOffset, hadUndefinedLength: true } as dicomParser.Element;
  const stream = new dicomParser.ByteStream(dicomParser.littleEndianByteArrayParser, ds.byteArray, el.dataOffset);
  try {
    dicomParser.findEndOfEncapsulatedElement(stream, pixelData, []);
  } catch (err) {
    throw new DataError(`corrupt DICOM pixel data (${describeError(err)})`);
  }
  ds.elements.x7fe00010 = pixelData;
}

/**
 * Parses a DICOM stream of any layout into dicom-parser's data set and its transfer syntax. A
 * data set written in implicit VR under a meta header that names an explicit transfer syntax (a
 * known exporter mistake, which pydicom also reads) is parsed as implicit VR.
 */
export function parseDicom(bytes: Uint8Array): { ds: dicomParser.DataSet; ts: string } {
  const layout = dicomLayout(bytes);
  if (!layout) throw new DataError('not DICOM (no DICM prefix and no recognisable data set)');
  // A plain Uint8Array view: slices of it copy, subarrays share, whatever Buffer it came from.
  let input = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  if (layout === 'raw') {
    const ts = isVr(input, 4) ? EXPLICIT_LE : IMPLICIT_LE;
    return { ds: parseWith(input, { inflater, TransferSyntaxUID: ts }), ts };
  }
  if (layout === 'prefix' || layout === 'meta') {
    const full = new Uint8Array(132 + input.length - (layout === 'prefix' ? 4 : 0));
    full.set([0x44, 0x49, 0x43, 0x4d], 128);
    full.set(layout === 'prefix' ? input.subarray(4) : input, 132);
    input = full;
  }
  let meta: dicomParser.DataSet;
  try {
    meta = dicomParser.readPart10Header(input);
  } catch (err) {
    throw new DataError(`corrupt DICOM meta header (${describeError(err)})`);
  }
  const ts = meta.string('x00020010')?.replace(/\0/g, '').trim();
  if (!ts) throw new DataError('DICOM without a transfer syntax (its meta header has no 0002,0010)');
  const start = metaEnd(input);
  const explicitDeclared = ts !== IMPLICIT_LE && ts !== '1.2.840.10008.1.2.1.99';
  if (explicitDeclared && start + 6 <= input.length && !isVr(input, start + 4)) {
    const ds = parseWith(input.subarray(start), { TransferSyntaxUID: IMPLICIT_LE });
    rereadEncapsulated(ds);
    return { ds, ts };
  }
  return { ds: parseWith(input, { inflater }), ts };
}
