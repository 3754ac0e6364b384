import type dicomParser from 'dicom-parser';
import { DataError } from '../errors';
import type { DecodedFrame, FrameInfo } from './codecs/types';
import { firstFrame } from './frames';
import { describeError, parseDicom } from './parse';
import { toImage } from './pixels';
import type { DicomImage } from './pixels';
import { nativeSamples, upsample422 } from './samples';
import { BIG_ENDIAN, FRAME_CODECS, NATIVE, TRANSFER_SYNTAXES } from './transfer-syntaxes';

function frameInfo(ds: dicomParser.DataSet): FrameInfo {
  const rows = ds.uint16('x00280010');
  const cols = ds.uint16('x00280011');
  if (!rows || !cols || !ds.elements.x7fe00010) throw new DataError('DICOM without an image (no Rows/Columns/Pixel Data)');
  const spp = ds.uint16('x00280002') ?? 1;
  if (spp !== 1 && spp !== 3) throw new DataError(`unsupported Samples per Pixel ${spp} (expected 1 or 3)`);
  const bitsAllocated = ds.uint16('x00280100') ?? 16;
  const photometric = (ds.string('x00280004') ?? (spp === 3 ? 'RGB' : 'MONOCHROME2')).trim().toUpperCase();
  if (photometric === 'PALETTE COLOR') throw new DataError('unsupported photometric interpretation PALETTE COLOR');
  return {
    rows,
    cols,
    samplesPerPixel: spp,
    bitsAllocated,
    bitsStored: ds.uint16('x00280101') ?? bitsAllocated,
    signed: (ds.uint16('x00280103') ?? 0) === 1,
    photometric,
    planar: ds.uint16('x00280006') ?? 0,
  };
}

/** The first frame of native (uncompressed) pixel data. */
function nativeFrame(ds: dicomParser.DataSet, el: dicomParser.Element, info: FrameInfo, ts: string): DecodedFrame {
  if (el.encapsulatedPixelData) throw new DataError(`encapsulated pixel data under native transfer syntax ${ts}`);
  const pixels = info.rows * info.cols;
  const subsampled = info.photometric === 'YBR_FULL_422' && info.samplesPerPixel === 3;
  const samplesStored = subsampled ? 2 * pixels : pixels * info.samplesPerPixel;
  const frameLen = Math.ceil((samplesStored * info.bitsAllocated) / 8);
  const available = Math.min(el.length, ds.byteArray.length - el.dataOffset);
  if (available < frameLen) throw new DataError(`truncated DICOM pixel data (${available} of ${frameLen} bytes)`);
  const raw = ds.byteArray.subarray(el.dataOffset, el.dataOffset + frameLen);
  const samples = nativeSamples(raw, info.bitsAllocated, ts === BIG_ENDIAN, samplesStored);
  if (subsampled) return { samples: upsample422(samples, pixels), interleaved: true, rgb: false };
  return { samples, interleaved: info.planar === 0, rgb: false };
}

async function decodeFirstFrame(ds: dicomParser.DataSet, info: FrameInfo, ts: string): Promise<DecodedFrame> {
  const el = ds.elements.x7fe00010;
  if (NATIVE.has(ts)) return nativeFrame(ds, el, info, ts);
  const codec = FRAME_CODECS[ts];
  if (!codec) throw new DataError(`unsupported transfer syntax ${ts}${TRANSFER_SYNTAXES[ts] ? ` (${TRANSFER_SYNTAXES[ts]})` : ''}`);
  if (!el.encapsulatedPixelData) throw new DataError(`native pixel data under compressed transfer syntax ${ts} (${TRANSFER_SYNTAXES[ts]})`);
  const frames = Math.max(1, ds.intString('x00280008') ?? 1);
  return codec(firstFrame(ds, el, frames), info);
}

/**
 * Reads the first frame of a DICOM file and brings it to [0, 1] (see pixels.ts for the pipeline).
 * Every failure is a DataError with one line saying why, whatever library it came from.
 */
export async function readDicom(bytes: Uint8Array): Promise<DicomImage> {
  try {
    const { ds, ts } = parseDicom(bytes);
    const info = frameInfo(ds);
    const frame = await decodeFirstFrame(ds, info, ts);
    const needed = info.rows * info.cols * info.samplesPerPixel;
    if (frame.samples.length < needed) throw new DataError(`pixel data holds ${frame.samples.length} samples, expected ${needed}`);
    return toImage(frame, info, ds, ts);
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`undecodable DICOM (${describeError(err).split('\n')[0]})`);
  }
}
