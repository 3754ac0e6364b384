import { DataError } from '../../errors';
import { diagnoseJpeg } from '../../formats/jpeg';
import { loadSharp, u16Samples } from '../../formats/sharp';
import type { FrameCodec, FrameInfo } from './types';

interface JpegMarkers {
  precision: number;
  jfif: boolean;
  adobe: boolean;
  componentIds: number[];
}

/** The markers that decide a JPEG's colour space and precision, read up to the first scan. */
export function jpegMarkers(b: Uint8Array): JpegMarkers {
  const out: JpegMarkers = { precision: 8, jfif: false, adobe: false, componentIds: [] };
  let p = 2;
  while (p + 4 <= b.length && b[p] === 0xff) {
    const m = b[p + 1];
    const len = (b[p + 2] << 8) | b[p + 3];
    const at = p + 4;
    const is = (text: string) => [...text].every((ch, k) => b[at + k] === ch.charCodeAt(0));
    // libjpeg's own thresholds: a JFIF segment counts from 14 bytes of data, an Adobe one from 12.
    if (m === 0xe0 && len - 2 >= 14 && is('JFIF\0')) out.jfif = true;
    if (m === 0xee && len - 2 >= 12 && is('Adobe')) out.adobe = true;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      out.precision = b[at];
      out.componentIds = Array.from({ length: b[at + 5] }, (_, k) => b[at + 6 + 3 * k]);
    }
    if (m === 0xda) break;
    p += 2 + len;
  }
  return out;
}

/** An Adobe APP14 segment with transform 0: "these three components are RGB, not YCbCr". */
const ADOBE_NO_TRANSFORM = [0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00];

/**
 * A colour JPEG whose own markers leave its colour space open (no JFIF, no Adobe segment, no
 * "RGB" component ids) is YCbCr to libjpeg. DICOM says otherwise when Photometric
 * Interpretation is RGB (PS3.5 8.2.1: the components were not transformed), so an Adobe segment
 * saying so is put in front. The file's own markers win whenever it has them.
 */
function withDicomColourSpace(frame: Uint8Array, info: FrameInfo, m: JpegMarkers): Uint8Array {
  const rgbIds = m.componentIds.length === 3 && m.componentIds[0] === 0x52 && m.componentIds[1] === 0x47 && m.componentIds[2] === 0x42;
  if (info.samplesPerPixel !== 3 || info.photometric !== 'RGB' || m.jfif || m.adobe || rgbIds) return frame;
  const out = new Uint8Array(frame.length + ADOBE_NO_TRANSFORM.length);
  out.set(frame.subarray(0, 2), 0);
  out.set(ADOBE_NO_TRANSFORM, 2);
  out.set(frame.subarray(2), 2 + ADOBE_NO_TRANSFORM.length);
  return out;
}

/** 12-bit JPEG (extended, process 4) by DCMTK's IJG 12-bit decoder in WebAssembly (dcmjs-codecs). */
async function decodeJpeg12(frame: Uint8Array, info: FrameInfo): Promise<Uint16Array> {
  // A CommonJS bundle: its exports arrive as the default export.
  const mod = (await import('dcmjs-codecs')) as unknown as { default: typeof import('dcmjs-codecs') };
  const { NativeCodecs, Context } = mod.default;
  if (!NativeCodecs.isInitialized()) await NativeCodecs.initializeAsync();
  const ctx = new Context({
    width: info.cols,
    height: info.rows,
    bitsAllocated: 16,
    bitsStored: info.bitsStored,
    samplesPerPixel: info.samplesPerPixel,
    pixelRepresentation: info.signed ? 1 : 0,
    planarConfiguration: 0,
    photometricInterpretation: info.photometric,
    encodedBuffer: frame,
  });
  const out = NativeCodecs.decodeJpeg(ctx, { convertColorspaceToRgb: true }).getDecodedBuffer();
  if (!out || out.length < info.rows * info.cols * info.samplesPerPixel * 2) throw new DataError(`12-bit JPEG frame decoded to ${out?.length ?? 0} bytes, expected ${info.rows * info.cols * info.samplesPerPixel * 2}`);
  return u16Samples(new Uint8Array(out)); // a copy out of the wasm heap
}

/** JPEG baseline and extended: 8-bit frames by libjpeg-turbo (sharp), 12-bit ones by DCMTK's decoder. */
export const decodeJpeg: FrameCodec = async (frame, info) => {
  const markers = jpegMarkers(frame);
  try {
    if (markers.precision > 8) return { samples: await decodeJpeg12(frame, info), interleaved: true, rgb: true };
    const sharp = await loadSharp();
    const p = sharp(withDicomColourSpace(frame, info, markers));
    const out = info.samplesPerPixel === 1 ? await p.toColourspace('b-w').raw().toBuffer() : await p.removeAlpha().toColourspace('srgb').raw().toBuffer();
    return { samples: new Uint8Array(out.buffer, out.byteOffset, out.length), interleaved: true, rgb: true };
  } catch (err) {
    if (err instanceof DataError) throw err;
    // Not libvips' message: its error buffer is shared between threads (see formats/raster.ts).
    throw new DataError(`undecodable ${markers.precision}-bit JPEG frame: ${diagnoseJpeg(frame) ?? 'the image library refused it, though no fault was found in its structure'}`);
  }
};
