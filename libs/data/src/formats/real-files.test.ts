// Raster decoding on real third-party files: the transparency rule and stable failure reasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeNative, decodeResized, probeImage } from '../decode';
import { LIBSIXEL_IMAGES, needs, X_IMAGE_TESTDATA } from '../testing/debian-files';

const transparent = join(LIBSIXEL_IMAGES, 'pngsuite/transparency/tbrn2c08.png');

test('fully transparent pixels keep their stored colour, resized or not', { skip: needs(transparent) }, async () => {
  // PngSuite's tbrn2c08: RGB with a tRNS colour; its top-left corner is transparent white.
  const native = await decodeNative(transparent);
  assert.deepEqual([...native.data.subarray(0, 3)], [1, 1, 1]);
  for (const size of [16, 32, 64]) {
    const img = await decodeResized(transparent, size);
    assert.deepEqual([...img.data.subarray(0, 3)].map((v) => Math.round(v * 255)), [255, 255, 255], `resized to ${size}`);
  }
});

const sources = ['snake.jpg', 'egret.jpg', 'snake-progressive.jpg', 'snake-grayscale.jpg', 'snake.png', 'map16.png'].map((f) => join(LIBSIXEL_IMAGES, f));
const xSources = ['video-001.tiff', 'video-001-16bit.tiff', 'yellow_rose.lossy.webp', 'tux.lossless.webp', 'go-turns-two-280x360.jpeg', 'blue-purple-pink.lzwcompressed.tiff'].map((f) => join(X_IMAGE_TESTDATA, f));

test('the reason for a broken file is about that file, and the same in every run and at any concurrency', { skip: needs(...sources, ...xSources) }, async () => {
  // Prepare: real files cut at 30, 60 and 90 % of their length.
  const cut: { name: string; label: string; bytes: Uint8Array }[] = [];
  for (const path of [...sources, ...xSources]) {
    const b = await readFile(path);
    const label = /\.jpe?g$/.test(path) ? 'JPEG' : /\.png$/.test(path) ? 'PNG' : /\.tiff$/.test(path) ? 'TIFF' : 'WebP';
    for (const k of [0.3, 0.6, 0.9]) cut.push({ name: `${path}@${k}`, label, bytes: b.subarray(0, Math.floor(b.length * k)) });
  }
  const reasonOf = (p: Promise<unknown>) => p.then(
    () => 'decoded',
    (e: Error) => e.message,
  );
  // Execute: one file at a time, then all at once (several runs, decode and probe).
  const serial: string[] = [];
  for (const c of cut) serial.push(await reasonOf(decodeResized(c.bytes, 64)));
  const runs: string[][] = [];
  for (let run = 0; run < 4; run++) runs.push(await Promise.all(cut.map((c) => reasonOf(run % 2 ? probeImage(c.bytes) : decodeResized(c.bytes, 64)))));
  // Assert
  cut.forEach((c, i) => {
    assert.match(serial[i], new RegExp(`\\b${c.label}\\b`), `${c.name}: ${serial[i]}`);
    for (const r of runs) assert.equal(r[i], serial[i], c.name);
  });
});
