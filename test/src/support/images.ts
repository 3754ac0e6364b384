import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '@fedxray/runtime';

/** Seeded PRNG for test data. */
export const rng = mulberry32;

/**
 * A small image data set in class folders: each class is a bright blob in its
 * own region (left, right, top) on a noisy background. Easy to learn, so a
 * tiny model's loss falls within a round or two.
 */
export async function makeBlobDataset(options: { perClass?: number; size?: number; seed?: number; classes?: string[]; dir?: string } = {}): Promise<{ dir: string; classes: string[] }> {
  const { perClass = 30, size = 16, seed = 1, classes = ['left', 'right', 'top'] } = options;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'fedxray-blobs-'));
  const random = rng(seed);
  const centers: Record<string, [number, number]> = { left: [0.25, 0.5], right: [0.75, 0.5], top: [0.5, 0.2], bottom: [0.5, 0.8] };
  const writes: Promise<unknown>[] = [];
  for (const cls of classes) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = new Uint8Array(size * size);
      const [cx, cy] = centers[cls] ?? [random(), random()];
      const x0 = (cx + (random() - 0.5) * 0.15) * size;
      const y0 = (cy + (random() - 0.5) * 0.15) * size;
      const r = size * (0.12 + random() * 0.06);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const d = Math.hypot(x - x0, y - y0);
          const v = 40 + random() * 40 + (d < r ? 150 : d < r * 1.5 ? 60 : 0);
          px[y * size + x] = Math.min(255, v);
        }
      }
      writes.push(sharp(Buffer.from(px), { raw: { width: size, height: size, channels: 1 } }).png().toFile(join(dir, cls, `${cls}-${i}.png`)));
    }
  }
  await Promise.all(writes);
  return { dir, classes };
}

export function tempDir(prefix = 'fedxray-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
