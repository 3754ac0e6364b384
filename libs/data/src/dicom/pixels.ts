import type dicomParser from 'dicom-parser';
import type { DecodedFrame, FrameInfo } from './codecs/types';

/** A DICOM image after the modality and VOI transforms: values in [0, 1], HWC. */
export interface DicomImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
  bitsStored: number;
  transferSyntax: string;
  photometric: string;
  /** Gray images: the frame's least and greatest value after the modality transform (e.g. HU for CT). */
  valueRange?: [number, number];
}

function num(ds: dicomParser.DataSet, tag: string, fallback: number): number {
  const v = ds.floatString(tag);
  return v === undefined || !Number.isFinite(v) ? fallback : v;
}

function clamp01(a: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i] = a[i] < 0 ? 0 : a[i] > 1 ? 1 : a[i];
}

/**
 * Colour to [0, 1] RGB. YBR_FULL samples the codec left as they were (uncompressed and RLE data)
 * become RGB with the coefficients of PS3.3 C.7.6.3.1.2, rounded to whole levels as pydicom's
 * convert_color_space does; then every sample is divided by 2^Bits Stored − 1.
 */
function colour(frame: DecodedFrame, info: FrameInfo, pixels: number): Float32Array {
  const { samples, interleaved } = frame;
  const bits = Math.min(info.bitsStored, info.bitsAllocated);
  const max = 2 ** bits - 1;
  const half = 2 ** (bits - 1);
  const ybr = !frame.rgb && info.photometric.startsWith('YBR_FULL');
  const data = new Float32Array(pixels * 3);
  const at = (i: number, c: number) => samples[interleaved ? 3 * i + c : c * pixels + i];
  const level = (v: number) => (v < 0 ? 0 : v > max ? max : Math.round(v)) / max;
  for (let i = 0; i < pixels; i++) {
    if (ybr) {
      const y = at(i, 0);
      const cb = at(i, 1) - half;
      const cr = at(i, 2) - half;
      data[3 * i] = level(y + 1.402 * cr);
      data[3 * i + 1] = level(y + ((-0.114 * 1.772) / 0.587) * cb + ((-0.299 * 1.402) / 0.587) * cr);
      data[3 * i + 2] = level(y + 1.772 * cb);
    } else {
      for (let c = 0; c < 3; c++) data[3 * i + c] = at(i, c) / max;
    }
  }
  clamp01(data);
  return data;
}

/**
 * Gray to [0, 1]: stored values masked to Bits Stored and sign-extended when Pixel
 * Representation is 1 (whatever the codec returned: some JPEG 2000 writers mark signed data
 * unsigned), Rescale Slope/Intercept, then the first VOI window (PS3.3 C.11.2.1.2.1) or, without
 * one, the frame's own min..max; MONOCHROME1 inverted so bone is bright.
 */
function gray(samples: ArrayLike<number>, info: FrameInfo, ds: dicomParser.DataSet, pixels: number): { data: Float32Array; range: [number, number] } {
  const slope = num(ds, 'x00281053', 1);
  const intercept = num(ds, 'x00281052', 0);
  const bits = Math.min(info.bitsStored, info.bitsAllocated, 32);
  const range = 2 ** bits;
  const signBit = 2 ** (bits - 1);
  const data = new Float32Array(pixels);
  const modality = new Float64Array(pixels);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < pixels; i++) {
    let v = samples[i];
    v = (v >= 0 ? v : v + 2 ** 32) % range;
    if (info.signed && v >= signBit) v -= range;
    const m = v * slope + intercept;
    modality[i] = m;
    if (m < lo) lo = m;
    if (m > hi) hi = m;
  }
  const center = ds.floatString('x00281050', 0);
  const width = ds.floatString('x00281051', 0);
  if (center !== undefined && width !== undefined && Number.isFinite(center) && Number.isFinite(width) && width >= 1) {
    const c = center - 0.5;
    const w = width - 1;
    for (let i = 0; i < pixels; i++) {
      const x = modality[i];
      data[i] = w === 0 ? (x <= c ? 0 : 1) : x <= c - w / 2 ? 0 : x > c + w / 2 ? 1 : (x - c) / w + 0.5;
    }
  } else {
    const span = hi - lo;
    for (let i = 0; i < pixels; i++) data[i] = span > 0 ? (modality[i] - lo) / span : 0;
  }
  if (info.photometric === 'MONOCHROME1') for (let i = 0; i < pixels; i++) data[i] = 1 - data[i];
  clamp01(data);
  return { data, range: [lo, hi] };
}

/** A decoded frame through the DICOM pixel pipeline to a [0, 1] image. */
export function toImage(frame: DecodedFrame, info: FrameInfo, ds: dicomParser.DataSet, ts: string): DicomImage {
  const pixels = info.rows * info.cols;
  const spp = info.samplesPerPixel;
  const base = { width: info.cols, height: info.rows, bitsStored: info.bitsStored, transferSyntax: ts, photometric: info.photometric };
  if (spp === 3) return { ...base, channels: 3, data: colour(frame, info, pixels) };
  const g = gray(frame.samples, info, ds, pixels);
  return { ...base, channels: 1, data: g.data, valueRange: g.range };
}
