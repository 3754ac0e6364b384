import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '@fedxray/runtime';

/** Seeded PRNG for the test images. */
const rng = mulberry32;

/** Three classes, each a bright blob in its own place on a noisy background, as grey PNGs. */
export async function makeBlobs(dir: string, perClass: number, size: number): Promise<void> {
  const random = rng(3);
  const centers: Record<string, [number, number]> = { left: [0.25, 0.5], right: [0.75, 0.5], top: [0.5, 0.2] };
  const writes: Promise<unknown>[] = [];
  for (const [cls, [cx, cy]] of Object.entries(centers)) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = new Uint8Array(size * size);
      const r = size * 0.15;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const d = Math.hypot(x - cx * size, y - cy * size);
          px[y * size + x] = Math.min(255, 40 + random() * 40 + (d < r ? 150 : 0));
        }
      }
      writes.push(sharp(Buffer.from(px), { raw: { width: size, height: size, channels: 1 } }).png().toFile(join(dir, cls, `${cls}-${i}.png`)));
    }
  }
  await Promise.all(writes);
}
