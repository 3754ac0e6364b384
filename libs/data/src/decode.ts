import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { decodeBmp } from './bmp';
import { DataError } from './errors';
import { readDicom } from './dicom';
import { sniffFormat } from './sniff';

/** What a full decode learned about one image (filled when scanning with `verify`). */
export interface ImageInfo {
  width: number;
  height: number;
  /** Bits per sample as stored: 8 or 16 for rasters, Bits Stored for DICOM (e.g. 12). */
  bitDepth: number;
  channels: number;
}

export const DecodeOptionsSchema = z.object({
  /** Side of the square model input in pixels (the study: 224). */
  imageSize: z.number().int().min(1).max(4096).default(224),
  /** 3 (grayscale is repeated to RGB, as the study fed DenseNet) or 1. */
  channels: z.union([z.literal(1), z.literal(3)]).default(3),
  /** `fill` stretches to the square (Keras flow_from_directory); `letterbox` keeps the aspect ratio on black. */
  resize: z.enum(['fill', 'letterbox']).default('fill'),
  /** `rescale` = x/255 into [0, 1] (the study); `imagenet` = per-channel ImageNet mean/std (for ImageNet weights). */
  normalize: z.enum(['rescale', 'imagenet']).default('rescale'),
});

export interface DecodeOptions {
  imageSize: number;
  channels?: 1 | 3;
  resize?: 'fill' | 'letterbox';
  normalize?: 'rescale' | 'imagenet';
}

/** A decoded, resized image before normalisation: values in [0, 1], HWC, 1 or 3 channels. */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

type Sharp = (typeof import('sharp'))['default'];
let sharpModule: Promise<Sharp> | null = null;
function loadSharp(): Promise<Sharp> {
  if (!sharpModule) sharpModule = import('sharp').then((m) => m.default);
  return sharpModule;
}

function sharpReason(err: unknown, format: string): string {
  const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  if (/premature end|truncated|unexpected end|end of (file|stream)|not enough data|read error|Input buffer contains unsupported|corrupt|bad|invalid/i.test(msg)) {
    return `corrupt or truncated ${format.toUpperCase()} (${msg})`;
  }
  return `undecodable ${format.toUpperCase()} (${msg})`;
}

async function toBytes(pathOrBuffer: string | Uint8Array): Promise<Uint8Array> {
  if (typeof pathOrBuffer !== 'string') return pathOrBuffer;
  try {
    return await readFile(pathOrBuffer);
  } catch (err) {
    throw new DataError(`unreadable (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/**
 * Decodes any supported image and resizes it to `size`×`size`, keeping 16-bit precision through
 * the resize. Values come out in [0, 1]; grayscale stays one channel unless `channels` is 3 and
 * the source has colour (the caller repeats gray to RGB after augmenting, which is 3× cheaper).
 */
export async function decodeResized(pathOrBuffer: string | Uint8Array, size: number, options: { channels?: 1 | 3; resize?: 'fill' | 'letterbox' } = {}): Promise<RawImage> {
  const bytes = await toBytes(pathOrBuffer);
  if (bytes.length === 0) throw new DataError('empty file (0 bytes)');
  const format = sniffFormat(bytes.subarray(0, 256));
  if (!format) throw new DataError('not an image (content is not PNG, JPEG, BMP, TIFF, WebP or DICOM)');
  const sharp = await loadSharp();
  const fit = options.resize === 'letterbox' ? 'contain' : 'fill';
  const resizeOpts = { fit, background: { r: 0, g: 0, b: 0, alpha: 1 } } as const;
  if (format === 'dicom') {
    const d = await readDicom(bytes);
    const u16 = new Uint16Array(d.data.length);
    for (let i = 0; i < u16.length; i++) u16[i] = Math.round(d.data[i] * 65535);
    const wantColour = d.channels === 3 && options.channels !== 1;
    let p = sharp(u16, { raw: { width: d.width, height: d.height, channels: d.channels } }); // 16-bit: depth follows the Uint16Array
    if (d.channels === 3 && !wantColour) p = p.toColourspace('grey16');
    else p = p.toColourspace(d.channels === 3 ? 'rgb16' : 'grey16');
    const out = await p.resize(size, size, resizeOpts).raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    return fromRaw(out.data, out.info.channels, size, 65535);
  }
  if (format === 'bmp') {
    const b = decodeBmp(bytes);
    const wantColour = b.channels === 3 && options.channels !== 1;
    const p = sharp(b.data, { raw: { width: b.width, height: b.height, channels: b.channels } }).resize(size, size, resizeOpts);
    const out = await p.toColourspace(wantColour ? 'srgb' : 'b-w').raw().toBuffer({ resolveWithObject: true });
    return fromRaw(out.data, out.info.channels, size, 255);
  }
  try {
    // PNG states depth and colour in its header; other formats ask libvips (a header read).
    const png = format === 'png' ? pngHeader(bytes) : null;
    const meta = png ? null : await sharp(bytes).metadata();
    const colour = png ? png.colour : (meta!.channels ?? 1) >= 3 && meta!.space !== 'b-w' && meta!.space !== 'grey16';
    const wide = png ? png.bitDepth > 8 : meta!.depth === 'ushort' || meta!.depth === 'short' || (meta!.bitsPerSample ?? 8) > 8;
    const wantColour = colour && options.channels !== 1;
    let p = sharp(bytes, { failOn: 'truncated' });
    // Only JPEG, TIFF and WebP carry an EXIF orientation worth applying.
    if (format !== 'png') p = p.rotate();
    p = p.resize(size, size, resizeOpts);
    if (wantColour) p = p.removeAlpha().toColourspace(wide ? 'rgb16' : 'srgb');
    else p = p.toColourspace(wide ? 'grey16' : 'b-w');
    const out = await p.raw(wide ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
    return fromRaw(out.data, out.info.channels, size, wide ? 65535 : 255);
  } catch (err) {
    throw new DataError(sharpReason(err, format));
  }
}

/** Bit depth and whether a PNG has colour, from its IHDR chunk (colour types 2, 3, 6 have colour). */
function pngHeader(b: Uint8Array): { bitDepth: number; colour: boolean } | null {
  if (b.length < 26 || b[12] !== 0x49 || b[13] !== 0x48 || b[14] !== 0x44 || b[15] !== 0x52) return null;
  const colourType = b[25];
  return { bitDepth: b[24], colour: colourType === 2 || colourType === 3 || colourType === 6 };
}

function fromRaw(buf: Buffer, channels: number, size: number, max: number): RawImage {
  const n = size * size;
  const c = channels >= 3 ? 3 : 1;
  const data = new Float32Array(n * c);
  const src = max > 255 ? new Uint16Array(buf.buffer, buf.byteOffset, buf.length >> 1) : buf;
  const inv = 1 / max;
  if (channels === c) {
    for (let i = 0; i < data.length; i++) data[i] = src[i] * inv;
  } else {
    // Drop alpha (or anything beyond the colour channels).
    for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) data[i * c + k] = src[i * channels + k] * inv;
  }
  return { width: size, height: size, channels: c, data };
}

/**
 * Brings a [0, 1] image to the model's input: channel count (gray repeated to RGB, RGB to
 * luminance) and normalisation. Returns a new HWC Float32Array.
 */
export function toModelInput(img: RawImage, channels: 1 | 3 = 3, normalize: 'rescale' | 'imagenet' = 'rescale', out?: Float32Array, outOffset = 0): Float32Array {
  const n = img.width * img.height;
  const dst = out ?? new Float32Array(n * channels);
  const src = img.data;
  const mean = normalize === 'imagenet' ? (channels === 3 ? IMAGENET_MEAN : [0.449]) : [0, 0, 0];
  const istd = normalize === 'imagenet' ? (channels === 3 ? IMAGENET_STD : [0.226]).map((s) => 1 / s) : [1, 1, 1];
  if (img.channels === channels) {
    for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) dst[outOffset + i * channels + c] = (src[i * channels + c] - mean[c]) * istd[c];
  } else if (img.channels === 1) {
    for (let i = 0; i < n; i++) {
      const v = src[i];
      const o = outOffset + 3 * i;
      dst[o] = (v - mean[0]) * istd[0];
      dst[o + 1] = (v - mean[1]) * istd[1];
      dst[o + 2] = (v - mean[2]) * istd[2];
    }
  } else {
    for (let i = 0; i < n; i++) {
      const y = 0.2126 * src[3 * i] + 0.7152 * src[3 * i + 1] + 0.0722 * src[3 * i + 2];
      dst[outOffset + i] = (y - mean[0]) * istd[0];
    }
  }
  return dst;
}

/** Checks decode options once, filling defaults; a bad value is refused naming the field. */
export function parseDecodeOptions(options: DecodeOptions): z.infer<typeof DecodeOptionsSchema> {
  const r = DecodeOptionsSchema.safeParse(options);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new DataError(`Bad decode option ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}

/** Decodes one image to the model's input: `imageSize`×`imageSize`×`channels`, HWC, normalised. */
export async function decodeImage(pathOrBuffer: string | Uint8Array, options: DecodeOptions): Promise<Float32Array> {
  const o = parseDecodeOptions(options);
  const img = await decodeResized(pathOrBuffer, o.imageSize, { channels: o.channels, resize: o.resize });
  return toModelInput(img, o.channels, o.normalize);
}

/**
 * Decodes an image once, fully, to prove it is readable, and reports its size and bit depth.
 * Throws a {@link DataError} whose message is the reason to list when it is not.
 */
export async function probeImage(pathOrBuffer: string | Uint8Array): Promise<ImageInfo> {
  const bytes = await toBytes(pathOrBuffer);
  if (bytes.length === 0) throw new DataError('empty file (0 bytes)');
  const format = sniffFormat(bytes.subarray(0, 256));
  if (!format) throw new DataError('not an image (content is not PNG, JPEG, BMP, TIFF, WebP or DICOM)');
  if (format === 'dicom') {
    const d = await readDicom(bytes);
    return { width: d.width, height: d.height, bitDepth: d.bitsStored, channels: d.channels };
  }
  if (format === 'bmp') {
    const b = decodeBmp(bytes);
    return { width: b.width, height: b.height, bitDepth: 8, channels: b.channels };
  }
  const sharp = await loadSharp();
  try {
    const meta = await sharp(bytes).metadata();
    if (!meta.width || !meta.height) throw new DataError(`${format.toUpperCase()} without a size`);
    // A full decode (to a small size) reads every row, so truncation shows here.
    await sharp(bytes, { failOn: 'truncated' }).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
    const bitDepth = meta.depth === 'ushort' || meta.depth === 'short' ? 16 : meta.depth === 'uint' || meta.depth === 'int' || meta.depth === 'float' ? 32 : 8;
    const channels = meta.space === 'b-w' || meta.space === 'grey16' ? 1 : Math.min(meta.channels ?? 1, meta.hasAlpha ? (meta.channels ?? 1) - 1 : (meta.channels ?? 1));
    return { width: meta.width, height: meta.height, bitDepth, channels };
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(sharpReason(err, format));
  }
}
