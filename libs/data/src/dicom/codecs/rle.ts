import { DataError } from '../../errors';
import { nativeSamples } from '../samples';
import type { FrameCodec } from './types';

/**
 * Decodes one frame of DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header with up to 15
 * segment offsets, each segment a PackBits stream of one byte plane (most significant byte
 * first for 16-bit samples; one plane per colour sample). Returns the samples as little-endian
 * bytes, sample-interleaved (planar configuration 0), `rows × cols × samples × bytesPerSample`.
 */
export function decodeRle(frame: Uint8Array, rows: number, cols: number, samplesPerPixel: number, bitsAllocated: number): Uint8Array {
  if (frame.length < 64) throw new DataError(`Expected an RLE header of 64 bytes, but the frame has ${frame.length}`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  const bytesPerSample = bitsAllocated / 8;
  if (!Number.isInteger(bytesPerSample)) throw new DataError(`Expected RLE bits allocated of 8, 16 or 32, but got ${bitsAllocated}`);
  const expected = samplesPerPixel * bytesPerSample;
  if (segments !== expected) throw new DataError(`Expected ${expected} RLE segments, but the header names ${segments}`);
  const pixels = rows * cols;
  const out = new Uint8Array(pixels * expected);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || start > frame.length || end > frame.length || end < start) throw new DataError(`RLE segment ${s} has a bad offset (${start}..${end} in ${frame.length} bytes)`);
    const sample = Math.floor(s / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample); // segments go MSB first; we write little endian
    const stride = expected;
    let o = sample * bytesPerSample + byteInSample;
    let p = start;
    let written = 0;
    while (written < pixels && p < end) {
      const n = (frame[p++] << 24) >> 24;
      if (n >= 0) {
        for (let k = 0; k <= n && written < pixels; k++, written++, o += stride) out[o] = frame[p++];
      } else if (n !== -128) {
        const v = frame[p++];
        for (let k = 0; k < 1 - n && written < pixels; k++, written++, o += stride) out[o] = v;
      }
    }
    if (written < pixels) throw new DataError(`RLE segment ${s} is truncated: ${written} of ${pixels} pixels`);
  }
  return out;
}

/** RLE lossless as a frame codec: byte planes back to little-endian samples, interleaved. */
export const decodeRleFrame: FrameCodec = async (frame, info) => {
  const bytes = decodeRle(frame, info.rows, info.cols, info.samplesPerPixel, info.bitsAllocated);
  return { samples: nativeSamples(bytes, info.bitsAllocated, false), interleaved: true, rgb: false };
};
