import { DataError } from '../errors';
import { resizeNative } from './resize';
import type { FormatModule, NativeImage } from './types';

/** An 8-bit image, HWC, top row first. */
export interface Bitmap {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

function maskShift(mask: number): [number, number] {
  if (mask === 0) return [0, 0];
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (((mask >>> (shift + bits)) & 1) === 1) bits++;
  return [shift, bits];
}

/**
 * Decodes an uncompressed Windows BMP (sharp's libvips build has no BMP loader): 1/4/8-bit
 * palette, 16/24/32-bit (BI_RGB or BI_BITFIELDS), bottom-up or top-down. A palette of grays
 * gives one channel. RLE-compressed BMPs are refused with a reason.
 */
export function decodeBmp(buf: Uint8Array): Bitmap {
  if (buf.length < 26 || buf[0] !== 0x42 || buf[1] !== 0x4d) throw new DataError('not a BMP');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const pixelOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  if (headerSize < 40 || 14 + headerSize > buf.length) throw new DataError(`unsupported BMP header of ${headerSize} bytes`);
  const width = dv.getInt32(18, true);
  const rawHeight = dv.getInt32(22, true);
  const bpp = dv.getUint16(28, true);
  const compression = dv.getUint32(30, true);
  const height = Math.abs(rawHeight);
  const topDown = rawHeight < 0;
  if (width <= 0 || height === 0 || width > 65535 || height > 65535) throw new DataError(`bad BMP size ${width}×${rawHeight}`);
  if (compression !== 0 && compression !== 3) throw new DataError(`unsupported BMP compression ${compression} (only uncompressed BMPs are read)`);
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (pixelOffset + stride * height > buf.length) throw new DataError(`truncated BMP (${buf.length} bytes, pixel rows need ${pixelOffset + stride * height})`);
  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    const colours = dv.getUint32(46, true) || 1 << bpp;
    palette = buf.subarray(14 + headerSize, 14 + headerSize + 4 * colours);
  }
  let masks: [number, number, number] = bpp === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0xff00, 0xff];
  if (compression === 3) {
    const at = headerSize >= 52 ? 54 : 14 + headerSize;
    masks = [dv.getUint32(at, true), dv.getUint32(at + 4, true), dv.getUint32(at + 8, true)];
  }
  const gray = palette !== null && Array.from({ length: palette.length / 4 }, (_, i) => i).every((i) => palette![4 * i] === palette![4 * i + 1] && palette![4 * i + 1] === palette![4 * i + 2]);
  const channels = gray ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  const ms = masks.map(maskShift);
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      let r: number;
      let g: number;
      let b: number;
      if (bpp <= 8) {
        const bitPos = x * bpp;
        const byte = buf[row + (bitPos >> 3)];
        const idx = (byte >> (8 - bpp - (bitPos & 7))) & ((1 << bpp) - 1);
        const p = 4 * idx;
        if (p + 2 >= palette!.length) throw new DataError(`BMP palette index ${idx} out of range`);
        b = palette![p];
        g = palette![p + 1];
        r = palette![p + 2];
      } else if (bpp === 24) {
        const p = row + 3 * x;
        b = buf[p];
        g = buf[p + 1];
        r = buf[p + 2];
      } else if (bpp === 16 || bpp === 32) {
        const v = bpp === 16 ? dv.getUint16(row + 2 * x, true) : dv.getUint32(row + 4 * x, true);
        const ch = ms.map(([shift, bits]) => (bits === 0 ? 0 : Math.round((((v >>> shift) & ((1 << bits) - 1)) * 255) / ((1 << bits) - 1))));
        [r, g, b] = ch;
      } else throw new DataError(`unsupported BMP bit depth ${bpp}`);
      const o = (y * width + x) * channels;
      if (channels === 1) out[o] = r;
      else {
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = b;
      }
    }
  }
  return { width, height, channels, data: out };
}

/** Writes an uncompressed 8-bit-gray or 24-bit BMP (bottom-up), for tests and exports. */
export function encodeBmp(img: Bitmap): Uint8Array {
  const bpp = img.channels === 1 ? 8 : 24;
  const stride = Math.ceil((img.width * bpp) / 32) * 4;
  const paletteBytes = bpp === 8 ? 1024 : 0;
  const offset = 54 + paletteBytes;
  const out = new Uint8Array(offset + stride * img.height);
  const dv = new DataView(out.buffer);
  out[0] = 0x42;
  out[1] = 0x4d;
  dv.setUint32(2, out.length, true);
  dv.setUint32(10, offset, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, img.width, true);
  dv.setInt32(22, img.height, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, bpp, true);
  if (bpp === 8) {
    dv.setUint32(46, 256, true);
    for (let i = 0; i < 256; i++) out.set([i, i, i, 0], 54 + 4 * i);
  }
  for (let y = 0; y < img.height; y++) {
    const row = offset + (img.height - 1 - y) * stride;
    for (let x = 0; x < img.width; x++) {
      const s = (y * img.width + x) * img.channels;
      if (bpp === 8) out[row + x] = img.data[s];
      else out.set([img.data[s + 2], img.data[s + 1], img.data[s]], row + 3 * x);
    }
  }
  return out;
}

function nativeBmp(bytes: Uint8Array): NativeImage {
  const b = decodeBmp(bytes);
  const data = new Float32Array(b.data.length);
  for (let i = 0; i < data.length; i++) data[i] = b.data[i] / 255;
  return { width: b.width, height: b.height, channels: b.channels, data, bitDepth: 8 };
}

/** BMP: read here (sharp's libvips build has no BMP loader), resized by libvips. */
export const bmp: FormatModule = {
  name: 'bmp',
  label: 'BMP',
  sniff: (b) => b.length >= 14 && b[0] === 0x42 && b[1] === 0x4d,
  async probe(bytes) {
    const b = decodeBmp(bytes);
    return { width: b.width, height: b.height, bitDepth: 8, channels: b.channels };
  },
  async decode(bytes, target) {
    const img = nativeBmp(bytes);
    return target ? resizeNative(img, target) : img;
  },
};
