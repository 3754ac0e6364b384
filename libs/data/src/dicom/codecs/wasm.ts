import { DataError } from '../../errors';

/** The shape shared by the cornerstone WebAssembly decoders (OpenJPEG, CharLS). */
export interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
  delete(): void;
}

export const quiet = { print: (_line: string): void => undefined, printErr: (_line: string): void => undefined };

/**
 * Runs one WebAssembly decoder over a frame and copies its output out of the wasm heap (the next
 * decode reuses that memory). Samples wider than 8 bits come back as 16-bit words.
 */
export function runWasmDecoder(dec: WasmDecoder, frame: Uint8Array, what: string, rows: number, cols: number): { samples: Uint8Array | Uint16Array | Int16Array; components: number } {
  try {
    dec.getEncodedBuffer(frame.length).set(frame);
    try {
      dec.decode();
    } catch (err) {
      throw new DataError(`undecodable ${what} frame (${typeof err === 'number' ? `decoder error ${err}` : err instanceof Error ? err.message : String(err)})`);
    }
    const fi = dec.getFrameInfo();
    if (fi.width !== cols || fi.height !== rows) throw new DataError(`${what} frame is ${fi.width}×${fi.height} but the DICOM header says ${cols}×${rows}`);
    const copy = new Uint8Array(dec.getDecodedBuffer()); // a copy: the next decode reuses the wasm heap
    const samples = fi.bitsPerSample > 8 ? (fi.isSigned ? new Int16Array(copy.buffer, 0, copy.length >> 1) : new Uint16Array(copy.buffer, 0, copy.length >> 1)) : copy;
    return { samples, components: fi.componentCount };
  } finally {
    dec.delete();
  }
}
