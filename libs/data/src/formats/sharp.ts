import type { RawImage } from './types';

type Sharp = (typeof import('sharp'))['default'];
let sharpModule: Promise<Sharp> | null = null;

/** sharp, loaded once on first use (it brings libvips). */
export function loadSharp(): Promise<Sharp> {
  if (!sharpModule) sharpModule = import('sharp').then((m) => m.default);
  return sharpModule;
}

/**
 * A view of 16-bit samples in a byte buffer. Never `new Uint16Array(buf.buffer)` alone: a Node
 * Buffer may be a slice of a larger pool, so its bytes start at `byteOffset`, which may even be odd.
 */
export function u16Samples(buf: Uint8Array): Uint16Array {
  if (buf.byteOffset % 2 === 0) return new Uint16Array(buf.buffer, buf.byteOffset, buf.length >> 1);
  return new Uint16Array(new Uint8Array(buf).buffer, 0, buf.length >> 1); // a copy: Buffer#slice would share
}

/** Raw 8- or 16-bit samples to [0, 1] floats, dropping anything beyond the colour channels (alpha). */
export function fromRaw(buf: Uint8Array, width: number, height: number, channels: number, max: number): RawImage {
  const n = width * height;
  const c = channels >= 3 ? 3 : 1;
  const data = new Float32Array(n * c);
  const src = max > 255 ? u16Samples(buf) : buf;
  const inv = 1 / max;
  if (channels === c) {
    for (let i = 0; i < data.length; i++) data[i] = src[i] * inv;
  } else {
    for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) data[i * c + k] = src[i * channels + k] * inv;
  }
  return { width, height, channels: c, data };
}
