import { DataError } from '../../errors';
import { u16Samples } from '../../formats/sharp';
import type { FrameCodec } from './types';

/**
 * JPEG lossless (processes 14, any predictor, and SV1) by jpeg-lossless-decoder-js. It reads an
 * ArrayBuffer from byte 0, so the frame must own its memory: a frame sliced from a Node Buffer
 * shares the whole file's ArrayBuffer, and decoding `frame.buffer` would start at the file's
 * first byte ("Not a JPEG file").
 */
export const decodeJpegLossless: FrameCodec = async (frame, info) => {
  const { Decoder } = await import('jpeg-lossless-decoder-js');
  // new Uint8Array(x) copies; Buffer#slice would not.
  const own = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : new Uint8Array(frame);
  let out: Uint8Array | Uint16Array | Int16Array;
  try {
    out = new Decoder().decode(own.buffer, 0, own.length);
  } catch (err) {
    throw new DataError(`undecodable JPEG lossless frame (${err instanceof Error ? err.message : String(err)})`);
  }
  const samples = info.bitsAllocated > 8 && out instanceof Uint8Array ? u16Samples(out) : out;
  return { samples, interleaved: true, rgb: false };
};
