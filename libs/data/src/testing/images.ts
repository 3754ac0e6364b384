// Test helper: small images the tests write themselves. Not part of the public API.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../rng';

/** A gray 8-bit image of 4×4-pixel random blocks: distinct per seed, so every file has its own hash. */
export function blocks(size: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const cells = Math.ceil(size / 4);
  const v = Array.from({ length: cells * cells }, () => Math.floor(rng() * 256));
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[y * size + x] = v[(y >> 2) * cells + (x >> 2)];
  return out;
}

export async function grayPng(pixels: Uint8Array, width: number, height = width): Promise<Buffer> {
  return sharp(pixels, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

export async function gray16Png(pixels: Uint16Array, width: number, height = width): Promise<Buffer> {
  return sharp(pixels, { raw: { width, height, channels: 1 } }).toColourspace('grey16').png().toBuffer();
}

export async function put(path: string, bytes: Uint8Array | string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return path;
}

/** Writes `counts[class]` distinct PNGs per class under root (or root/<split>/ when split is given). */
export async function writeClassFolders(root: string, counts: Record<string, number>, options: { size?: number; seed?: number; split?: string } = {}): Promise<string[]> {
  const size = options.size ?? 16;
  let seed = options.seed ?? 1;
  const paths: string[] = [];
  for (const [cls, n] of Object.entries(counts)) {
    for (let i = 0; i < n; i++) {
      const p = join(root, ...(options.split ? [options.split] : []), cls, `${cls}-${seed}.png`);
      paths.push(await put(p, await grayPng(blocks(size, seed++), size)));
    }
  }
  return paths;
}
