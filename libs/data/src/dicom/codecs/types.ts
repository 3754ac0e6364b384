/** What a frame codec needs to know about the image, from the data set. */
export interface FrameInfo {
  rows: number;
  cols: number;
  samplesPerPixel: 1 | 3;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  photometric: string;
  planar: number;
}

/** A decoded frame: samples in stored order, before Bits Stored masking and the VOI pipeline. */
export interface DecodedFrame {
  samples: ArrayLike<number>;
  /** Colour samples as RGBRGB… (true) or as three planes (false). */
  interleaved: boolean;
  /** True when the codec already turned YCbCr into RGB (JPEG, JPEG 2000 colour transforms). */
  rgb: boolean;
}

/** Decodes the first frame of one compressed transfer syntax. */
export type FrameCodec = (frame: Uint8Array, info: FrameInfo) => Promise<DecodedFrame>;
