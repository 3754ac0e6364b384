import sharp from 'sharp';
import { ModelError } from './errors';
import { GLYPH_HEIGHT, drawText, fillRect, fitText, type RgbCanvas } from './bitmap-font';
import type { FlatMap } from './gradcam';

export interface RawImage {
  /** Interleaved 8-bit pixels, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  channels: number;
}

/** The 'jet' colour map: blue (0) → cyan → yellow → red (1). */
export function jet(v: number): [number, number, number] {
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

export interface OverlayOptions {
  /** Opacity of the hottest colour. @default 0.5 */
  alpha?: number;
  /** First line of the legend, e.g. the class explained and its probability. */
  title?: string;
  /** Marks this point of the heatmap (its own pixel coordinates) with a cross, and names it in the legend. */
  peak?: { x: number; y: number; label?: string };
  /** A flat map (see FlatMap) is said so in the legend instead of a peak. */
  flat?: FlatMap | null;
}

const STRIP_BACKGROUND = [24, 32, 44] as const;
const STRIP_TEXT = [235, 240, 245] as const;
const WARNING = [255, 196, 61] as const;
const FLAT_TEXT: Record<FlatMap, string> = {
  empty: 'FLAT MAP: NO EVIDENCE FOR THIS CLASS',
  uniform: 'FLAT MAP: SAME EVIDENCE EVERYWHERE',
};

/** Legend strip geometry for an image `width` pixels wide: font scale, padding, line pitch, height. */
export function legendLayout(width: number): { scale: number; pad: number; pitch: number; height: number } {
  const scale = Math.max(1, Math.floor(width / 256));
  const pad = 3 * scale;
  const pitch = (GLYPH_HEIGHT + 3) * scale;
  return { scale, pad, pitch, height: 2 * pad + 3 * pitch - 3 * scale };
}

/**
 * Blends a heatmap (values in [0, 1], any resolution) over an image as a PNG:
 * the map is stretched to the image, coloured with 'jet', and mixed in with
 * weight `alpha` × its value, so cold regions leave the X-ray visible. Below
 * the image, a legend strip: the title, a colour bar from low (0) to high (1),
 * and the peak's location or, for a flat map, a warning that it shows nothing.
 */
export async function heatmapOverlayPng(image: RawImage, heat: { heatmap: Float32Array; width: number; height: number }, options: OverlayOptions = {}): Promise<Buffer> {
  const { width, height, channels, data } = image;
  if (data.length !== width * height * channels) {
    throw new ModelError(`Expected ${width}×${height}×${channels} = ${width * height * channels} pixel values, but got ${data.length}`);
  }
  if (heat.heatmap.length !== heat.width * heat.height) throw new ModelError('Heatmap size does not match its width × height');
  const alpha = options.alpha ?? 0.5;
  const legend = legendLayout(width);
  const canvas: RgbCanvas = { data: new Uint8Array(width * (height + legend.height) * 3), width, height: height + legend.height };
  const out = canvas.data;
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
  const flat = options.flat ?? null;
  if (options.peak && flat !== 'empty') markPeak(canvas, height, (options.peak.x + 0.5) / sx, (options.peak.y + 0.5) / sy);
  drawLegend(canvas, height, legend, options.title ?? 'GRAD-CAM', flat ? FLAT_TEXT[flat] : options.peak?.label ?? '', flat !== null);
  return sharp(Buffer.from(out.buffer, out.byteOffset, out.length), { raw: { width, height: canvas.height, channels: 3 } })
    .png()
    .toBuffer();
}

/** A cross at (x, y): white arms outlined in black, so it shows on any colour. */
function markPeak(canvas: RgbCanvas, imageHeight: number, x: number, y: number): void {
  const cx = Math.round(x);
  const cy = Math.round(y);
  const arm = Math.max(3, Math.round(canvas.width / 40));
  const t = Math.max(1, Math.round(canvas.width / 256));
  const clip: RgbCanvas = { data: canvas.data, width: canvas.width, height: imageHeight };
  for (const [colour, grow] of [
    [[0, 0, 0], t],
    [[255, 255, 255], 0],
  ] as const) {
    fillRect(clip, cx - arm - grow, cy - Math.floor(t / 2) - grow, 2 * arm + 1 + 2 * grow, t + 2 * grow, colour);
    fillRect(clip, cx - Math.floor(t / 2) - grow, cy - arm - grow, t + 2 * grow, 2 * arm + 1 + 2 * grow, colour);
  }
}

function drawLegend(canvas: RgbCanvas, top: number, layout: ReturnType<typeof legendLayout>, title: string, note: string, warn: boolean): void {
  const { scale, pad, pitch } = layout;
  const w = canvas.width;
  fillRect(canvas, 0, top, w, canvas.height - top, STRIP_BACKGROUND);
  drawText(canvas, fitText(title.toUpperCase(), w - 2 * pad, scale), pad, top + pad, scale, STRIP_TEXT);
  // The colour bar, labelled at its ends when there is room.
  const y = top + pad + pitch;
  const low = 'LOW';
  const high = 'HIGH';
  const labelled = w - 2 * pad > (low.length + high.length + 2) * 6 * scale + 20;
  const x0 = pad + (labelled ? (low.length + 1) * 6 * scale : 0);
  const x1 = w - pad - (labelled ? (high.length + 1) * 6 * scale : 0);
  if (labelled) {
    drawText(canvas, low, pad, y, scale, STRIP_TEXT);
    drawText(canvas, high, x1 + 6 * scale, y, scale, STRIP_TEXT);
  }
  for (let x = x0; x < x1; x++) fillRect(canvas, x, y, 1, GLYPH_HEIGHT * scale, jet((x - x0) / Math.max(1, x1 - x0 - 1)));
  drawText(canvas, fitText(note.toUpperCase(), w - 2 * pad, scale), pad, y + pitch, scale, warn ? WARNING : STRIP_TEXT);
}
