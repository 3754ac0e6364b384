import { quiet, runWasmDecoder } from './wasm';
import type { FrameCodec } from './types';

type OpenJpeg = Pick<import('@cornerstonejs/codec-openjpeg/wasmjs').OpenJpegModule, 'J2KDecoder'>;
let openJpeg: Promise<OpenJpeg> | null = null;

/** JPEG 2000 (lossless and lossy) by OpenJPEG in WebAssembly; colour transforms are undone by it. */
export const decodeJ2k: FrameCodec = async (frame, info) => {
  if (!openJpeg) openJpeg = import('@cornerstonejs/codec-openjpeg/decodewasmjs').then((m) => m.default(quiet)); // quiet: its log would corrupt JSON output
  const mod = await openJpeg;
  const { samples } = runWasmDecoder(new mod.J2KDecoder(), frame, 'JPEG 2000', info.rows, info.cols);
  return { samples, interleaved: true, rgb: true };
};
