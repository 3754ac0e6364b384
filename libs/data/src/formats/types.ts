
/** Image formats the data set may hold, recognised by their content, never by the file name. */
export type ImageFormat = 'png' | 'jpeg' | 'bmp' | 'tiff' | 'webp' | 'dicom';

/** A decoded image: values in [0, 1], HWC, gray as one channel, colour as RGB. */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
}

/** A decoded image at its own size, with the precision its samples had (8 or 16 for the resize). */
export interface NativeImage extends RawImage {
  /** Bits per sample the values carry: ≤ 8 resizes in 8 bits, more in 16. */
  bitDepth: number;
}

/** What a caller wants out of a decode: a `size`×`size` square, and whether colour may stay colour. */
export interface DecodeTarget {
  size: number;
  /** 1: colour becomes luminance; 3 (default): colour stays RGB, gray stays one channel. */
  channels?: 1 | 3;
  /** `fill` stretches to the square; `letterbox` keeps the aspect ratio on black. */
  resize?: 'fill' | 'letterbox';
}

/**
 * One image format: how to recognise it, probe it and decode it. The registry asks each module
 * in turn; a module only ever sees bytes its own `sniff` accepted.
 */
export interface FormatModule {
  readonly name: ImageFormat;
  /** The name used in reasons: "corrupt or truncated PNG (…)". */
  readonly label: string;
  /** True when the first bytes (at least {@link SNIFF_BYTES}, or the whole file if shorter) are this format. */
  sniff(head: Uint8Array): boolean;
  /** Size, bit depth and channels after a full decode; throws a DataError saying why not. */
  probe(bytes: Uint8Array): Promise<ImageInfo>;
  /** Decodes to `target` (resized), or at the image's own size when `target` is absent. */
  decode(bytes: Uint8Array, target?: DecodeTarget): Promise<RawImage | NativeImage>;
}

/** Bytes the registry reads to recognise a format: DICOM's "DICM" sits at 128..131. */
export const SNIFF_BYTES = 256;

/** What a full decode learned about one image (filled when scanning with `verify`). */
export interface ImageInfo {
  width: number;
  height: number;
  /** Bits per sample as stored: 8 or 16 for rasters, Bits Stored for DICOM (e.g. 12). */
  bitDepth: number;
  channels: number;
}
