// Test data for this lib's trainer tests: a bright blob on the left or the right of a 16 px image.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

/** A data set in class folders `left` and `right`, `perClass` PNGs each, every image different. */
export async function blobs(perClass: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fedxray-hospital-'));
  for (const [c, cx] of [
    ['left', 4],
    ['right', 12],
  ] as const) {
    mkdirSync(join(dir, c));
    for (let i = 0; i < perClass; i++) {
      const px = Buffer.alloc(16 * 16);
      for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) px[y * 16 + x] = 30 + ((x * 7 + y * 13 + i * 17) % 40) + (Math.hypot(x - cx, y - 8) < 3 ? 160 : 0);
      await sharp(px, { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(dir, c, `${c}-${i}.png`));
    }
  }
  return dir;
}
