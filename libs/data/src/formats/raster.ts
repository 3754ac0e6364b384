import { DataError } from '../errors';
import type { ImageInfo } from './types';
import { resizeNative } from './resize';
import { fromRaw, loadSharp } from './sharp';
import type { DecodeTarget, FormatModule, ImageFormat, NativeImage, RawImage } from './types';

/** What decides the pipeline: colour or gray, more than 8 bits, an alpha channel. */
export interface RasterHeader {
  colour: boolean;
  wide: boolean;
  alpha: boolean;
}

/** A format libvips (through sharp) decodes; the module adds what libvips cannot tell us reliably. */
export interface RasterSpec {
  name: ImageFormat;
  label: string;
  sniff(head: Uint8Array): boolean;
  /** Colour, depth and alpha from the file's own header, or null to ask libvips. */
  header?(bytes: Uint8Array): RasterHeader | null;
  /**
   * The structural fault that made libvips fail, found in the file's own bytes (truncation,
   * bad lengths or checksums), or null when its structure looks complete. libvips' own message
   * cannot be the reason: its error buffer is shared by every thread of the process, so under
   * concurrency it may hold another file's error, or none.
   */
  diagnose(bytes: Uint8Array): string | null;
  /** Apply the EXIF orientation (JPEG, TIFF, WebP carry one worth applying). */
  orient: boolean;
}

function failure(spec: RasterSpec, bytes: Uint8Array, err: unknown): DataError {
  if (err instanceof DataError) return err;
  return new DataError(spec.diagnose(bytes) ?? `undecodable ${spec.label} (the image library refused it, though no fault was found in its structure)`);
}

async function headerOf(spec: RasterSpec, bytes: Uint8Array): Promise<RasterHeader> {
  const own = spec.header?.(bytes);
  if (own) return own;
  const sharp = await loadSharp();
  const meta = await sharp(bytes).metadata();
  return {
    colour: (meta.channels ?? 1) >= 3 && meta.space !== 'b-w' && meta.space !== 'grey16',
    wide: meta.depth === 'ushort' || meta.depth === 'short' || (meta.bitsPerSample ?? 8) > 8,
    alpha: meta.hasAlpha === true,
  };
}

/**
 * Decodes with libvips. Transparency is ignored everywhere: the stored colour of every pixel is
 * used, as Pillow's convert('RGB') (the study's Keras loader) does, so a transparent pixel looks
 * the same resized or not. Images with alpha are therefore decoded at their own size without
 * alpha first and resized after (libvips would premultiply alpha while resizing).
 */
async function decodeRaster(spec: RasterSpec, bytes: Uint8Array, target?: DecodeTarget): Promise<RawImage | NativeImage> {
  const sharp = await loadSharp();
  const h = await headerOf(spec, bytes);
  if (target && h.alpha) return resizeNative((await decodeRaster(spec, bytes)) as NativeImage, target);
  const colour = h.colour && target?.channels !== 1;
  // Embedded ICC profiles are ignored: the stored values are used, as Pillow (the study's loader) does.
  let p = sharp(bytes, { failOn: 'truncated', ignoreIcc: true });
  if (spec.orient) p = p.rotate();
  if (target) p = p.resize(target.size, target.size, { fit: target.resize === 'letterbox' ? 'contain' : 'fill', background: { r: 0, g: 0, b: 0, alpha: 1 } });
  p = p.removeAlpha().toColourspace(colour ? (h.wide ? 'rgb16' : 'srgb') : h.wide ? 'grey16' : 'b-w');
  const out = await p.raw(h.wide ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  const img = fromRaw(out.data, out.info.width, out.info.height, out.info.channels, h.wide ? 65535 : 255);
  return target ? img : { ...img, bitDepth: h.wide ? 16 : 8 };
}

async function probeRaster(spec: RasterSpec, bytes: Uint8Array): Promise<ImageInfo> {
  const sharp = await loadSharp();
  const meta = await sharp(bytes).metadata();
  if (!meta.width || !meta.height) throw new DataError(`${spec.label} without a size`);
  // A full decode (to a small size) reads every row, so truncation shows here.
  await sharp(bytes, { failOn: 'truncated' }).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
  const bitDepth = meta.depth === 'ushort' || meta.depth === 'short' ? 16 : meta.depth === 'uint' || meta.depth === 'int' || meta.depth === 'float' ? 32 : 8;
  const channels = meta.space === 'b-w' || meta.space === 'grey16' ? 1 : Math.min(meta.channels ?? 1, meta.hasAlpha ? (meta.channels ?? 1) - 1 : (meta.channels ?? 1));
  return { width: meta.width, height: meta.height, bitDepth, channels };
}

/** A format module whose decoding is libvips', with reasons that are the file's own. */
export function rasterFormat(spec: RasterSpec): FormatModule {
  return {
    name: spec.name,
    label: spec.label,
    sniff: spec.sniff,
    async probe(bytes) {
      try {
        return await probeRaster(spec, bytes);
      } catch (err) {
        throw failure(spec, bytes, err);
      }
    },
    async decode(bytes, target) {
      try {
        return await decodeRaster(spec, bytes, target);
      } catch (err) {
        throw failure(spec, bytes, err);
      }
    },
  };
}
