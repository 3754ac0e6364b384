import { quiet, runWasmDecoder } from './wasm';
import type { WasmDecoder } from './wasm';
import type { FrameCodec } from './types';

let charls: Promise<{ JpegLSDecoder: new () => WasmDecoder }> | null = null;

/** JPEG-LS (lossless and near-lossless) by CharLS in WebAssembly; output is sample-interleaved. */
export const decodeJpegLs: FrameCodec = async (frame, info) => {
  if (!charls) charls = import('@cornerstonejs/codec-charls/decodewasmjs').then((m) => m.default(quiet));
  const mod = await charls;
  const { samples } = runWasmDecoder(new mod.JpegLSDecoder(), frame, 'JPEG-LS', info.rows, info.cols);
  return { samples, interleaved: true, rgb: false };
};
