import dicomParser from 'dicom-parser';
import { inflateRaw } from 'pako';
import { DataError } from './errors';
import { decodeRle } from './rle';
import { dicomLayout } from './sniff';

/** A DICOM image after the modality and VOI transforms: values in [0, 1], HWC. */
export interface DicomImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
  bitsStored: number;
  transferSyntax: string;
  photometric: string;
}

export const TRANSFER_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2': 'implicit VR little endian',
  '1.2.840.10008.1.2.1': 'explicit VR little endian',
  '1.2.840.10008.1.2.2': 'explicit VR big endian',
  '1.2.840.10008.1.2.1.99': 'deflated explicit VR little endian',
  '1.2.840.10008.1.2.5': 'RLE lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG extended (12-bit)',
  '1.2.840.10008.1.2.4.57': 'JPEG lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG lossless, first-order prediction',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS near-lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
};

const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99']);
const BIG_ENDIAN = '1.2.840.10008.1.2.2';

function describeParserError(err: unknown): string {
  const msg = typeof err === 'string' ? err : err instanceof Error ? err.message : (err as { exception?: string })?.exception ?? String(err);
  return msg.replace(/^dicomParser\.\w+: /, '');
}

function parse(bytes: Uint8Array): { ds: dicomParser.DataSet; ts: string } {
  const layout = dicomLayout(bytes);
  if (!layout) throw new DataError('not DICOM (no DICM prefix and no recognisable data set)');
  let input = bytes;
  let options: dicomParser.ParseDicomOptions = {
    inflater: ((arr: Uint8Array, position: number) => {
      const inflated = inflateRaw(arr.subarray(position));
      const full = new Uint8Array(position + inflated.length);
      full.set(arr.subarray(0, position), 0);
      full.set(inflated, position);
      return full;
    }) as unknown as dicomParser.ParseDicomOptions['inflater'],
  };
  let rawTs: string | undefined;
  if (layout === 'prefix' || layout === 'meta') {
    input = new Uint8Array(132 + bytes.length - (layout === 'prefix' ? 4 : 0));
    input.set([0x44, 0x49, 0x43, 0x4d], 128);
    input.set(layout === 'prefix' ? bytes.subarray(4) : bytes, 132);
  } else if (layout === 'raw') {
    const explicit = /^[A-Z]{2}$/.test(String.fromCharCode(bytes[4], bytes[5]));
    rawTs = explicit ? '1.2.840.10008.1.2.1' : '1.2.840.10008.1.2';
    options = { ...options, TransferSyntaxUID: rawTs };
  }
  let ds: dicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(input, options);
  } catch (err) {
    throw new DataError(`corrupt DICOM (${describeParserError(err)})`);
  }
  const ts = rawTs ?? ds.string('x00020010')?.replace(/\0/g, '').trim();
  if (!ts) throw new DataError('DICOM without a transfer syntax');
  return { ds, ts };
}

const ignore = (_line: string): void => undefined;
let openJpeg: Promise<Pick<import('@cornerstonejs/codec-openjpeg/wasmjs').OpenJpegModule, 'J2KDecoder'>> | null = null;

async function decodeJ2k(frame: Uint8Array): Promise<{ samples: Uint8Array | Uint16Array | Int16Array; width: number; height: number; components: number }> {
  if (!openJpeg) openJpeg = import('@cornerstonejs/codec-openjpeg/decodewasmjs').then((m) => m.default({ print: ignore, printErr: ignore })); // quiet: its log would corrupt JSON output
  const mod = await openJpeg;
  const dec = new mod.J2KDecoder();
  try {
    dec.getEncodedBuffer(frame.length).set(frame);
    dec.decode();
    const fi = dec.getFrameInfo();
    const out = dec.getDecodedBuffer();
    const copy = new Uint8Array(out.length);
    copy.set(out);
    const samples = fi.bitsPerSample > 8 ? (fi.isSigned ? new Int16Array(copy.buffer) : new Uint16Array(copy.buffer)) : copy;
    return { samples, width: fi.width, height: fi.height, components: fi.componentCount };
  } finally {
    dec.delete();
  }
}

async function decodeJpegBaseline(frame: Uint8Array, wantChannels: number): Promise<Uint8Array> {
  const { default: sharp } = await import('sharp');
  const pipeline = sharp(frame);
  const out = wantChannels === 1 ? await pipeline.toColourspace('b-w').raw().toBuffer() : await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function frameBytes(ds: dicomParser.DataSet, el: dicomParser.Element, frames: number): Uint8Array {
  if (!el.fragments || el.fragments.length === 0) throw new DataError('encapsulated pixel data without fragments');
  if (frames > 1 && el.basicOffsetTable && el.basicOffsetTable.length > 0) return dicomParser.readEncapsulatedImageFrame(ds, el, 0);
  return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, frames > 1 ? 1 : el.fragments.length);
}

/** Typed view over little- or big-endian sample bytes. */
function samplesFrom(bytes: Uint8Array, bitsAllocated: number, signed: boolean, bigEndian: boolean): ArrayLike<number> {
  if (bitsAllocated === 8) return signed ? new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length) : bytes;
  const width = bitsAllocated / 8;
  if (width !== 2 && width !== 4) throw new DataError(`unsupported Bits Allocated ${bitsAllocated} (expected 8, 16 or 32)`);
  const n = Math.floor(bytes.length / width);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n * width);
  const le = !bigEndian;
  if (width === 2) {
    const out = signed ? new Int16Array(n) : new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = signed ? dv.getInt16(2 * i, le) : dv.getUint16(2 * i, le);
    return out;
  }
  const out = signed ? new Int32Array(n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = signed ? dv.getInt32(4 * i, le) : dv.getUint32(4 * i, le);
  return out;
}

function num(ds: dicomParser.DataSet, tag: string, fallback: number): number {
  const v = ds.floatString(tag);
  return v === undefined || !Number.isFinite(v) ? fallback : v;
}

/**
 * Reads the first frame of a DICOM file and brings it to [0, 1]: stored values masked to Bits
 * Stored (sign-extended when Pixel Representation is 1), Rescale Slope/Intercept applied, then the
 * first VOI window (Window Center/Width, linear as in PS3.3 C.11.2.1.2) or, without one, the
 * image's own min..max; MONOCHROME1 is inverted so bone is bright as in MONOCHROME2.
 * Colour images (RGB, YBR) come out as RGB scaled by their bit depth.
 */
export async function readDicom(bytes: Uint8Array): Promise<DicomImage> {
  const { ds, ts } = parse(bytes);
  const rows = ds.uint16('x00280010');
  const cols = ds.uint16('x00280011');
  const el = ds.elements.x7fe00010;
  if (!rows || !cols || !el) throw new DataError('DICOM without an image (no Rows/Columns/Pixel Data)');
  const spp = ds.uint16('x00280002') ?? 1;
  const bitsAllocated = ds.uint16('x00280100') ?? 16;
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const signed = (ds.uint16('x00280103') ?? 0) === 1;
  const photometric = (ds.string('x00280004') ?? (spp === 3 ? 'RGB' : 'MONOCHROME2')).trim().toUpperCase();
  const planar = ds.uint16('x00280006') ?? 0;
  const frames = Math.max(1, ds.intString('x00280008') ?? 1);
  if (spp !== 1 && spp !== 3) throw new DataError(`unsupported Samples per Pixel ${spp}`);
  if (photometric === 'PALETTE COLOR') throw new DataError('unsupported photometric interpretation PALETTE COLOR');
  const pixels = rows * cols;

  let samples: ArrayLike<number>;
  let interleaved = planar === 0;
  let alreadyRgb = false;
  if (NATIVE.has(ts)) {
    if (el.encapsulatedPixelData) throw new DataError(`encapsulated pixel data under native transfer syntax ${ts}`);
    const frameLen = (pixels * spp * bitsAllocated) / 8;
    if (el.dataOffset + frameLen > ds.byteArray.length || el.length < frameLen) {
      throw new DataError(`truncated DICOM pixel data (${Math.min(el.length, ds.byteArray.length - el.dataOffset)} of ${frameLen} bytes)`);
    }
    const raw = ds.byteArray.subarray(el.dataOffset, el.dataOffset + frameLen);
    samples = samplesFrom(raw, bitsAllocated, signed, ts === BIG_ENDIAN);
  } else if (ts === '1.2.840.10008.1.2.5') {
    samples = samplesFrom(decodeRle(frameBytes(ds, el, frames), rows, cols, spp, bitsAllocated), bitsAllocated, signed, false);
    interleaved = true;
  } else if (ts === '1.2.840.10008.1.2.4.50' || ts === '1.2.840.10008.1.2.4.51') {
    try {
      samples = await decodeJpegBaseline(frameBytes(ds, el, frames), spp);
    } catch (err) {
      throw new DataError(`undecodable ${TRANSFER_SYNTAXES[ts]} pixel data (${err instanceof Error ? err.message : String(err)})`);
    }
    interleaved = true;
    alreadyRgb = true;
  } else if (ts === '1.2.840.10008.1.2.4.57' || ts === '1.2.840.10008.1.2.4.70') {
    const { Decoder } = await import('jpeg-lossless-decoder-js');
    const frame = frameBytes(ds, el, frames);
    const copy = frame.slice();
    const out = new Decoder().decode(copy.buffer, 0, copy.length);
    samples = bitsAllocated > 8 && out instanceof Uint8Array ? new Uint16Array(out.buffer, out.byteOffset, out.length >> 1) : out;
    if (signed && samples instanceof Uint16Array) samples = new Int16Array(samples.buffer, samples.byteOffset, samples.length);
    interleaved = true;
  } else if (ts === '1.2.840.10008.1.2.4.90' || ts === '1.2.840.10008.1.2.4.91') {
    const j = await decodeJ2k(frameBytes(ds, el, frames));
    if (j.width !== cols || j.height !== rows) throw new DataError(`JPEG 2000 frame is ${j.width}×${j.height} but the header says ${cols}×${rows}`);
    samples = j.samples;
    interleaved = true;
    alreadyRgb = true;
  } else {
    throw new DataError(`unsupported transfer syntax ${ts}${TRANSFER_SYNTAXES[ts] ? ` (${TRANSFER_SYNTAXES[ts]})` : ''}`);
  }
  if (samples.length < pixels * spp) throw new DataError(`pixel data holds ${samples.length} samples, expected ${pixels * spp}`);

  const data = new Float32Array(pixels * spp);
  if (spp === 3) {
    const max = 2 ** Math.min(bitsStored, bitsAllocated) - 1;
    for (let i = 0; i < pixels; i++) {
      for (let c = 0; c < 3; c++) data[3 * i + c] = samples[interleaved ? 3 * i + c : c * pixels + i] / max;
    }
    if (!alreadyRgb && photometric.startsWith('YBR_FULL')) ybrToRgb(data);
    clamp01(data);
    return { width: cols, height: rows, channels: 3, data, bitsStored, transferSyntax: ts, photometric };
  }

  // Modality LUT: mask to Bits Stored, sign-extend, slope/intercept.
  const slope = num(ds, 'x00281053', 1);
  const intercept = num(ds, 'x00281052', 0);
  const mask = bitsStored >= 32 ? 0xffffffff : 2 ** bitsStored - 1;
  const signBit = 2 ** (bitsStored - 1);
  const needsMask = !alreadyRgb && bitsStored < bitsAllocated;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < pixels; i++) {
    let v = samples[i];
    if (needsMask) {
      v = v >= 0 ? v % (mask + 1) : (v >>> 0) % (mask + 1);
      if (signed && v >= signBit) v -= mask + 1;
    }
    const m = v * slope + intercept;
    data[i] = m;
    if (m < lo) lo = m;
    if (m > hi) hi = m;
  }
  // VOI LUT: the first window, else the image's range.
  const center = ds.floatString('x00281050', 0);
  const width = ds.floatString('x00281051', 0);
  if (center !== undefined && width !== undefined && Number.isFinite(center) && Number.isFinite(width) && width >= 1) {
    const c = center - 0.5;
    const w = width - 1;
    const low = c - w / 2;
    for (let i = 0; i < pixels; i++) {
      const x = data[i];
      data[i] = w === 0 ? (x <= low ? 0 : 1) : x <= low ? 0 : x > c + w / 2 ? 1 : (x - c) / w + 0.5;
    }
  } else {
    const span = hi - lo;
    for (let i = 0; i < pixels; i++) data[i] = span > 0 ? (data[i] - lo) / span : 0;
  }
  if (photometric === 'MONOCHROME1') for (let i = 0; i < pixels; i++) data[i] = 1 - data[i];
  clamp01(data);
  return { width: cols, height: rows, channels: 1, data, bitsStored, transferSyntax: ts, photometric };
}

function clamp01(a: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i] = a[i] < 0 ? 0 : a[i] > 1 ? 1 : a[i];
}

/** YBR_FULL (values in [0,1]) to RGB in place, PS3.3 C.7.6.3.1.2. */
function ybrToRgb(a: Float32Array): void {
  for (let i = 0; i < a.length; i += 3) {
    const y = a[i];
    const cb = a[i + 1] - 0.5;
    const cr = a[i + 2] - 0.5;
    a[i] = y + 1.402 * cr;
    a[i + 1] = y - 0.344136 * cb - 0.714136 * cr;
    a[i + 2] = y + 1.772 * cb;
  }
}
