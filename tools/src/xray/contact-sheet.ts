/** A grid of rendered images, one row per class, for looking at the generator's output. */
import { XRAY_CLASSES } from './classes';
import { renderXray } from './render';

export interface ContactSheetOptions {
  /** Images per class row. @default 6 */
  columns?: number;
  /** @default 128 */
  size?: number;
  /** @default 1 */
  seed?: number;
  /** @default 2 */
  gap?: number;
}

/** Grayscale pixels of the sheet, with its width and height. */
export function renderContactSheet(options: ContactSheetOptions = {}): { pixels: Uint8Array; width: number; height: number } {
  const columns = options.columns ?? 6;
  const size = options.size ?? 128;
  const seed = options.seed ?? 1;
  const gap = options.gap ?? 2;
  const width = columns * (size + gap) + gap;
  const height = XRAY_CLASSES.length * (size + gap) + gap;
  const pixels = new Uint8Array(width * height).fill(255);
  XRAY_CLASSES.forEach((cls, row) => {
    for (let c = 0; c < columns; c++) {
      const img = renderXray(cls, seed * 1000 + c, size);
      const ox = gap + c * (size + gap);
      const oy = gap + row * (size + gap);
      for (let y = 0; y < size; y++) pixels.set(img.subarray(y * size, (y + 1) * size), (oy + y) * width + ox);
    }
  });
  return { pixels, width, height };
}

/** Writes the contact sheet as a PNG file. */
export async function writeContactSheet(file: string, options: ContactSheetOptions = {}): Promise<void> {
  const { default: sharp } = await import('sharp');
  const { pixels, width, height } = renderContactSheet(options);
  await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width, height, channels: 1 } })
    .png()
    .toFile(file);
}
