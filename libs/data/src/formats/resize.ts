import { fromRaw, loadSharp } from './sharp';
import type { DecodeTarget, NativeImage, RawImage } from './types';

/**
 * Resizes a decoded image to the target square with libvips (lanczos3), in 8 bits when the
 * samples had no more, else in 16 bits, so levels closer than 1/255 stay apart. Colour becomes
 * luminance when the target asks for one channel.
 */
export async function resizeNative(img: NativeImage, target: DecodeTarget): Promise<RawImage> {
  const sharp = await loadSharp();
  const wide = img.bitDepth > 8;
  const max = wide ? 65535 : 255;
  const samples = wide ? new Uint16Array(img.data.length) : new Uint8Array(img.data.length);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(img.data[i] * max);
  const colour = img.channels === 3 && target.channels !== 1;
  const space = colour ? (wide ? 'rgb16' : 'srgb') : wide ? 'grey16' : 'b-w';
  // 16-bit raw input: libvips takes the depth from the Uint16Array.
  const out = await sharp(samples, { raw: { width: img.width, height: img.height, channels: img.channels } })
    .toColourspace(space)
    .resize(target.size, target.size, { fit: target.resize === 'letterbox' ? 'contain' : 'fill', background: { r: 0, g: 0, b: 0, alpha: 1 } })
    .raw(wide ? { depth: 'ushort' } : {})
    .toBuffer({ resolveWithObject: true });
  return fromRaw(out.data, target.size, target.size, out.info.channels, max);
}
