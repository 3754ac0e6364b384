import sharp from 'sharp';
import { ModelError } from './errors';

export interface RawImage {
  /** Interleaved 8-bit pixels, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  channels: number;
}

/** The 'jet' colour map: blue (0) → cyan → yellow → red (1). */
function jet(v: number): [number, number, number] {
  const c = (x: number) => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [c(1.5 - Math.abs(4 * v - 3)), c(1.5 - Math.abs(4 * v - 2)), c(1.5 - Math.abs(4 * v - 1))];
}

/** Bilinear sample of a row-major map at fractional coordinates (edges clamped). */
function sample(map: Float32Array, w: number, h: number, x: number, y: number): number {
  const x0 = Math.max(0, Math.min(w - 1, Math.floor(x)));
  const y0 = Math.max(0, Math.min(h - 1, Math.floor(y)));
  const x1 = Math.min(w - 1, x0 + 1);
  const y1 = Math.min(h - 1, y0 + 1);
  const fx = Math.max(0, Math.min(1, x - x0));
  const fy = Math.max(0, Math.min(1, y - y0));
  const top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx;
  const bottom = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx;
  return top * (1 - fy) + bottom * fy;
}

/**
 * Blends a heatmap (values in [0, 1], any resolution) over an image as a PNG:
 * the map is stretched to the image, coloured with 'jet', and mixed in with
 * weight `alpha` × its value, so cold regions leave the X-ray visible.
 */
export async function heatmapOverlayPng(
  image: RawImage,
  heat: { heatmap: Float32Array; width: number; height: number },
  options: { alpha?: number } = {},
): Promise<Buffer> {
  const { width, height, channels, data } = image;
  if (data.length !== width * height * channels) {
    throw new ModelError(`Expected ${width}×${height}×${channels} = ${width * height * channels} pixel values, but got ${data.length}`);
  }
  if (heat.heatmap.length !== heat.width * heat.height) throw new ModelError('Heatmap size does not match its width × height');
  const alpha = options.alpha ?? 0.5;
  const out = Buffer.alloc(width * height * 3);
  const sx = heat.width / width;
  const sy = heat.height / height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = sample(heat.heatmap, heat.width, heat.height, (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5);
      const [r, g, b] = jet(v);
      const a = alpha * Math.min(1, Math.max(0, v));
      const base = i * channels;
      const pr = data[base];
      const pg = channels >= 3 ? data[base + 1] : pr;
      const pb = channels >= 3 ? data[base + 2] : pr;
      out[i * 3] = Math.round(pr * (1 - a) + r * a);
      out[i * 3 + 1] = Math.round(pg * (1 - a) + g * a);
      out[i * 3 + 2] = Math.round(pb * (1 - a) + b * a);
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
