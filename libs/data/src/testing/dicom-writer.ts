// Test helper: writes DICOM Part 10 bytes in any of the transfer syntaxes the reader supports,
// so tests can check each variant against pixels they chose. Not part of the public API.
import { deflateRaw } from 'pako';

export interface DicomSpec {
  rows: number;
  cols: number;
  /** Native samples (interleaved) or, for encapsulated syntaxes, the compressed frame. */
  pixels?: Uint8Array | Uint16Array | Int16Array;
  frame?: Uint8Array;
  bitsAllocated?: number;
  bitsStored?: number;
  signed?: boolean;
  samplesPerPixel?: 1 | 3;
  planar?: 0 | 1;
  photometric?: string;
  slope?: number;
  intercept?: number;
  windowCenter?: number;
  windowWidth?: number;
  transferSyntax?: string;
  /** `part10` (default), `nopreamble` (meta group without preamble or DICM), `raw` (bare data set, no meta). */
  layout?: 'part10' | 'nopreamble' | 'raw';
}

type Vr = 'UI' | 'US' | 'CS' | 'DS' | 'OB' | 'OW' | 'UL';
const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);

class Writer {
  private chunks: Uint8Array[] = [];
  constructor(
    private readonly explicit: boolean,
    private readonly littleEndian: boolean,
  ) {}

  private u16(v: number): Uint8Array {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, this.littleEndian);
    return b;
  }

  private u32(v: number): Uint8Array {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, this.littleEndian);
    return b;
  }

  header(group: number, element: number, vr: Vr, length: number): void {
    this.chunks.push(this.u16(group), this.u16(element));
    if (!this.explicit) {
      this.chunks.push(this.u32(length));
      return;
    }
    this.chunks.push(new TextEncoder().encode(vr));
    if (LONG_VRS.has(vr)) this.chunks.push(new Uint8Array(2), this.u32(length));
    else this.chunks.push(this.u16(length));
  }

  element(group: number, element: number, vr: Vr, value: string | number | Uint8Array): void {
    let bytes: Uint8Array;
    if (typeof value === 'string') {
      let s = value;
      if (s.length % 2) s += vr === 'UI' ? '\0' : ' ';
      bytes = new TextEncoder().encode(s);
    } else if (typeof value === 'number') {
      bytes = vr === 'UL' ? this.u32(value) : this.u16(value);
    } else {
      bytes = value.length % 2 ? concat([value, new Uint8Array(1)]) : value;
    }
    this.header(group, element, vr, bytes.length);
    this.chunks.push(bytes);
  }

  raw(b: Uint8Array): void {
    this.chunks.push(b);
  }

  bytes(): Uint8Array {
    return concat(this.chunks);
  }
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const ENCAPSULATED = (ts: string) => ts.startsWith('1.2.840.10008.1.2.4') || ts === '1.2.840.10008.1.2.5';

/** Writes a single-frame image. */
export function writeDicom(spec: DicomSpec): Uint8Array {
  const ts = spec.transferSyntax ?? '1.2.840.10008.1.2.1';
  const spp = spec.samplesPerPixel ?? 1;
  const bitsAllocated = spec.bitsAllocated ?? 16;
  const explicit = ts !== '1.2.840.10008.1.2';
  const little = ts !== '1.2.840.10008.1.2.2';
  const w = new Writer(explicit, little);
  const sopClass = '1.2.840.10008.5.1.4.1.1.1.1';
  w.element(0x0008, 0x0016, 'UI', sopClass);
  w.element(0x0008, 0x0018, 'UI', '1.2.826.0.1.3680043.10.1');
  w.element(0x0028, 0x0002, 'US', spp);
  w.element(0x0028, 0x0004, 'CS', spec.photometric ?? (spp === 3 ? 'RGB' : 'MONOCHROME2'));
  if (spp === 3) w.element(0x0028, 0x0006, 'US', spec.planar ?? 0);
  w.element(0x0028, 0x0010, 'US', spec.rows);
  w.element(0x0028, 0x0011, 'US', spec.cols);
  w.element(0x0028, 0x0100, 'US', bitsAllocated);
  w.element(0x0028, 0x0101, 'US', spec.bitsStored ?? bitsAllocated);
  w.element(0x0028, 0x0102, 'US', (spec.bitsStored ?? bitsAllocated) - 1);
  w.element(0x0028, 0x0103, 'US', spec.signed ? 1 : 0);
  if (spec.windowCenter !== undefined) w.element(0x0028, 0x1050, 'DS', String(spec.windowCenter));
  if (spec.windowWidth !== undefined) w.element(0x0028, 0x1051, 'DS', String(spec.windowWidth));
  if (spec.intercept !== undefined) w.element(0x0028, 0x1052, 'DS', String(spec.intercept));
  if (spec.slope !== undefined) w.element(0x0028, 0x1053, 'DS', String(spec.slope));
  if (ENCAPSULATED(ts)) {
    const frame = spec.frame!;
    // Undefined length, an empty basic offset table, one fragment, the sequence delimiter (always little endian).
    const le = new Writer(true, true);
    le.header(0x7fe0, 0x0010, 'OB', 0xffffffff);
    const item = (len: number) => {
      const b = new Uint8Array(8);
      const dv = new DataView(b.buffer);
      dv.setUint16(0, 0xfffe, true);
      dv.setUint16(2, 0xe000, true);
      dv.setUint32(4, len, true);
      return b;
    };
    le.raw(item(0));
    const padded = frame.length % 2 ? concat([frame, new Uint8Array(1)]) : frame;
    le.raw(item(padded.length));
    le.raw(padded);
    le.raw(new Uint8Array([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]));
    w.raw(le.bytes());
  } else {
    const px = spec.pixels!;
    let bytes: Uint8Array;
    if (bitsAllocated === 8) bytes = new Uint8Array(px.buffer, px.byteOffset, px.length);
    else {
      bytes = new Uint8Array(px.length * 2);
      const dv = new DataView(bytes.buffer);
      for (let i = 0; i < px.length; i++) dv.setUint16(2 * i, px[i] & 0xffff, little);
    }
    w.element(0x7fe0, 0x0010, bitsAllocated === 8 ? 'OB' : 'OW', bytes);
  }
  let dataset = w.bytes();
  if (ts === '1.2.840.10008.1.2.1.99') dataset = deflateRaw(dataset);
  if (spec.layout === 'raw') return dataset;

  const meta = new Writer(true, true);
  meta.element(0x0002, 0x0001, 'OB', new Uint8Array([0, 1]));
  meta.element(0x0002, 0x0002, 'UI', sopClass);
  meta.element(0x0002, 0x0003, 'UI', '1.2.826.0.1.3680043.10.1');
  meta.element(0x0002, 0x0010, 'UI', ts);
  meta.element(0x0002, 0x0012, 'UI', '1.2.826.0.1.3680043.10.2');
  const body = meta.bytes();
  const groupLength = new Writer(true, true);
  groupLength.element(0x0002, 0x0000, 'UL', body.length);
  const metaBytes = concat([groupLength.bytes(), body]);
  if (spec.layout === 'nopreamble') return concat([metaBytes, dataset]);
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  return concat([preamble, metaBytes, dataset]);
}

/** PackBits as DICOM RLE uses it: replicate runs of ≥ 3, literals otherwise, ≤ 128 each. */
function packBits(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < src.length) {
    let run = 1;
    while (i + run < src.length && run < 128 && src[i + run] === src[i]) run++;
    if (run >= 3) {
      out.push((257 - run) & 0xff, src[i]);
      i += run;
      continue;
    }
    const start = i;
    while (i < src.length && i - start < 128) {
      if (i + 2 < src.length && src[i] === src[i + 1] && src[i] === src[i + 2]) break;
      i++;
    }
    out.push(i - start - 1, ...src.subarray(start, i));
  }
  if (out.length % 2) out.push(0x80); // pad with a no-op
  return Uint8Array.from(out);
}

/** Encodes interleaved samples as one DICOM RLE frame (segments MSB first, one per byte plane). */
export function encodeRle(pixels: Uint8Array | Uint16Array, samplesPerPixel: number, bitsAllocated: 8 | 16): Uint8Array {
  const n = pixels.length / samplesPerPixel;
  const bytesPer = bitsAllocated / 8;
  const segments: Uint8Array[] = [];
  for (let s = 0; s < samplesPerPixel; s++) {
    for (let b = bytesPer - 1; b >= 0; b--) {
      const plane = new Uint8Array(n);
      for (let i = 0; i < n; i++) plane[i] = (pixels[i * samplesPerPixel + s] >> (8 * b)) & 0xff;
      segments.push(packBits(plane));
    }
  }
  const header = new Uint8Array(64);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, segments.length, true);
  let off = 64;
  segments.forEach((seg, k) => {
    dv.setUint32(4 + 4 * k, off, true);
    off += seg.length;
  });
  return concat([header, ...segments]);
}

/**
 * A minimal lossless JPEG (ITU T.81 process 14, SOF3) encoder: one component, predictor 1
 * (left; the first column predicts from above), one Huffman table with every category 0..16 at
 * 5 bits. Enough to produce real JPEG-lossless frames for tests.
 */
export function encodeJpegLossless(pixels: Uint16Array | Uint8Array, width: number, height: number, precision: number): Uint8Array {
  const out: number[] = [];
  const u16 = (v: number) => out.push((v >> 8) & 0xff, v & 0xff);
  out.push(0xff, 0xd8); // SOI
  out.push(0xff, 0xc4); // DHT: class 0, table 0, 17 codes of length 5
  u16(2 + 1 + 16 + 17);
  out.push(0x00);
  for (let len = 1; len <= 16; len++) out.push(len === 5 ? 17 : 0);
  for (let s = 0; s <= 16; s++) out.push(s);
  out.push(0xff, 0xc3); // SOF3
  u16(8 + 3);
  out.push(precision);
  u16(height);
  u16(width);
  out.push(1, 1, 0x11, 0);
  out.push(0xff, 0xda); // SOS: one component, table 0, predictor 1, Se 0, Ah/Al 0
  u16(6 + 2);
  out.push(1, 1, 0x00, 1, 0, 0);
  let acc = 0;
  let nbits = 0;
  const put = (value: number, bits: number) => {
    for (let b = bits - 1; b >= 0; b--) {
      acc = (acc << 1) | ((value >> b) & 1);
      nbits++;
      if (nbits === 8) {
        out.push(acc);
        if (acc === 0xff) out.push(0x00);
        acc = 0;
        nbits = 0;
      }
    }
  };
  const mod = 1 << 16;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = pixels[y * width + x];
      const pred = x === 0 && y === 0 ? 1 << (precision - 1) : x === 0 ? pixels[(y - 1) * width] : pixels[y * width + x - 1];
      let d = (v - pred) % mod;
      if (d > 32768) d -= mod;
      if (d < -32767) d += mod;
      const ssss = d === 0 ? 0 : Math.floor(Math.log2(Math.abs(d))) + 1;
      put(ssss, 5); // code for category s is s itself (canonical order, all length 5)
      if (ssss > 0 && ssss < 16) put(d > 0 ? d : d + (1 << ssss) - 1, ssss);
    }
  }
  if (nbits > 0) put(0xff, 8 - nbits); // pad with ones
  out.push(0xff, 0xd9); // EOI
  return Uint8Array.from(out);
}
