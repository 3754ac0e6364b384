import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DataError } from './errors';
import { formatOf, NOT_AN_IMAGE } from './formats/registry';
import type { DecodeTarget, FormatModule, ImageInfo, NativeImage, RawImage } from './formats/types';
import { SNIFF_BYTES } from './formats/types';

export type { ImageInfo, RawImage };

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

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

async function toBytes(pathOrBuffer: string | Uint8Array): Promise<Uint8Array> {
  if (typeof pathOrBuffer !== 'string') return pathOrBuffer;
  try {
    return await readFile(pathOrBuffer);
  } catch (err) {
    throw new DataError(`unreadable (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** The file's bytes and the format module that recognised them; a DataError when none did. */
async function open(pathOrBuffer: string | Uint8Array): Promise<{ bytes: Uint8Array; format: FormatModule }> {
  const bytes = await toBytes(pathOrBuffer);
  if (bytes.length === 0) throw new DataError('empty file (0 bytes)');
  const format = formatOf(bytes.subarray(0, SNIFF_BYTES));
  if (!format) throw new DataError(NOT_AN_IMAGE);
  return { bytes, format };
}

/** A format module's own errors pass; anything else a library threw becomes one DataError line. */
async function guarded<T>(format: FormatModule, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`undecodable ${format.label} (${(err instanceof Error ? err.message : String(err)).split('\n')[0]})`);
  }
}

/**
 * Decodes any supported image and resizes it to `size`×`size`, keeping 16-bit precision through
 * the resize. Values come out in [0, 1]; grayscale stays one channel unless `channels` is 3 and
 * the source has colour (the caller repeats gray to RGB after augmenting, which is 3× cheaper).
 * Transparency is ignored: every pixel keeps its stored colour, resized or not.
 */
export async function decodeResized(pathOrBuffer: string | Uint8Array, size: number, options: { channels?: 1 | 3; resize?: 'fill' | 'letterbox' } = {}): Promise<RawImage> {
  const { bytes, format } = await open(pathOrBuffer);
  const target: DecodeTarget = { size, channels: options.channels, resize: options.resize };
  return guarded(format, () => format.decode(bytes, target));
}

/**
 * Decodes an image at its own size: gray as one channel, colour as RGB, values in [0, 1] (DICOM
 * after its modality and VOI transforms), with the bit depth its values carry.
 */
export async function decodeNative(pathOrBuffer: string | Uint8Array): Promise<NativeImage> {
  const { bytes, format } = await open(pathOrBuffer);
  return (await guarded(format, () => format.decode(bytes))) as NativeImage;
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
  const { bytes, format } = await open(pathOrBuffer);
  return guarded(format, () => format.probe(bytes));
}
