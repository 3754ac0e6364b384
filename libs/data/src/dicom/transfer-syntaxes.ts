import { decodeJ2k } from './codecs/j2k';
import { decodeJpeg } from './codecs/jpeg';
import { decodeJpegLossless } from './codecs/jpeg-lossless';
import { decodeJpegLs } from './codecs/jpeg-ls';
import { decodeRleFrame } from './codecs/rle';
import type { FrameCodec } from './codecs/types';

/** Names of the transfer syntaxes a data set may arrive in. */
export const TRANSFER_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2': 'implicit VR little endian',
  '1.2.840.10008.1.2.1': 'explicit VR little endian',
  '1.2.840.10008.1.2.2': 'explicit VR big endian',
  '1.2.840.10008.1.2.1.99': 'deflated explicit VR little endian',
  '1.2.840.10008.1.2.5': 'RLE lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG extended (12-bit)',
  '1.2.840.10008.1.2.4.57': 'JPEG lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG lossless, first-order prediction',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS near-lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
};

/** Transfer syntaxes whose pixel data is stored as it is (not encapsulated). */
export const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99']);
export const BIG_ENDIAN = '1.2.840.10008.1.2.2';

/** The codec of each encapsulated transfer syntax we decode: one entry per syntax. */
export const FRAME_CODECS: Record<string, FrameCodec> = {
  '1.2.840.10008.1.2.5': decodeRleFrame,
  '1.2.840.10008.1.2.4.50': decodeJpeg,
  '1.2.840.10008.1.2.4.51': decodeJpeg,
  '1.2.840.10008.1.2.4.57': decodeJpegLossless,
  '1.2.840.10008.1.2.4.70': decodeJpegLossless,
  '1.2.840.10008.1.2.4.80': decodeJpegLs,
  '1.2.840.10008.1.2.4.81': decodeJpegLs,
  '1.2.840.10008.1.2.4.90': decodeJ2k,
  '1.2.840.10008.1.2.4.91': decodeJ2k,
};
