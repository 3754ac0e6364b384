import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { inspectDataset } from './inspect';
import { previewGrid, writeAugmented } from './preview';
import { scanDataset } from './scan';
import { LIBSIXEL_IMAGES, needs } from './testing/debian-files';
import { writeDicom } from './testing/dicom-writer';
import { blocks, gray16Png, grayPng, put, writeClassFolders } from './testing/images';

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-inspect-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('inspect: counts per class and split, skipped with reasons, duplicates, sizes and bit depths', async () => {
  await withDir(async (dir) => {
    await writeClassFolders(dir, { covid: 4, normal: 6 }, { size: 16 });
    const dup = await grayPng(blocks(24, 99), 24);
    await put(join(dir, 'covid', 'dup-a.png'), dup);
    await put(join(dir, 'normal', 'dup-b.png'), dup);
    await put(join(dir, 'normal', 'ct'), writeDicom({ rows: 20, cols: 30, pixels: new Uint16Array(600).fill(5), bitsStored: 12 }));
    await put(join(dir, 'normal', 'wide.png'), await gray16Png(new Uint16Array(40 * 10).fill(1000), 40, 10));
    await put(join(dir, 'normal', 'zero.png'), '');
    await put(join(dir, 'covid', 'half.png'), dup.subarray(0, 60));
    const { report: r } = await inspectDataset(dir);
    assert.deepEqual(r.classes, ['covid', 'normal']);
    const perClass: Record<string, number> = r.perClass;
    for (const c of r.classes) assert.equal(r.perSplit.train[c] + r.perSplit.val[c] + r.perSplit.test[c], perClass[c]);
    assert.deepEqual(r.perClass, { covid: 5, normal: 9 });
    assert.equal(r.images, 14);
    assert.deepEqual(r.bitDepth, { '8': 12, '12': 1, '16': 1 });
    assert.deepEqual(r.formats, { png: 13, dicom: 1 });
    assert.deepEqual(r.width, { min: 16, max: 40, mean: Math.round(((10 * 16 + 2 * 24 + 30 + 40) / 14) * 10) / 10 });
    assert.equal(r.commonSizes['16x16'], 10);
    assert.deepEqual(
      r.skipped.files.map((f) => f.path),
      ['covid/half.png', 'normal/zero.png'],
    );
    assert.match(r.skipped.files[1].reason, /empty/);
    assert.deepEqual(r.duplicates, { groups: 1, extraCopies: 1, crossClass: 1, list: [{ paths: ['covid/dup-a.png', 'normal/dup-b.png'], classes: ['covid', 'normal'] }] });
  });
});

test('preview grid and on-disk balancing write what they promise', async () => {
  await withDir(async (dir) => {
    await writeClassFolders(join(dir, 'in'), { a: 5, b: 2 }, { size: 32 });
    const ds = await scanDataset(join(dir, 'in'));
    const { png, rows } = await previewGrid(ds.items, { images: 3, perImage: 2, imageSize: 20, seed: 1 });
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height], [3 * 20 + 2 * 2, 3 * 20 + 2 * 2]);
    assert.equal(rows.length, 3);
    assert.deepEqual(new Set(rows.map((r) => r.path.includes('/a/'))), new Set([true, false]), 'both classes shown');

    const out = join(dir, 'out');
    const { written, skipped } = await writeAugmented(ds.items, out, { target: 'max', imageSize: 24, seed: 2 });
    assert.deepEqual(written, { b: 3 });
    assert.deepEqual(skipped, []);
    const files = await readdir(join(out, 'b'));
    assert.equal(files.length, 3);
    const m = await sharp(join(out, 'b', files[0])).metadata();
    assert.deepEqual([m.width, m.height, m.format], [24, 24, 'png']);
  });
});

test('on-disk balancing plans from decodable files only, and reports the others', { skip: needs(join(LIBSIXEL_IMAGES, 'snake.jpg')) }, async () => {
  await withDir(async (dir) => {
    // Prepare: class a has 4 images; class b has 1 image and a real JPEG cut short.
    await writeClassFolders(dir, { a: 4, b: 1 }, { size: 16 });
    const jpeg = await readFile(join(LIBSIXEL_IMAGES, 'snake.jpg'));
    await put(join(dir, 'b', 'cut.jpg'), jpeg.subarray(0, jpeg.length >> 1));
    const ds = await scanDataset(dir);
    // Execute
    const { written, sources, skipped } = await writeAugmented(ds.items, join(dir, 'out'), { target: 'max', imageSize: 16, seed: 1 });
    // Assert: b reaches the target from its one decodable image; the cut file is reported, never drawn.
    assert.deepEqual(sources, { a: 4, b: 1 });
    assert.deepEqual(written, { b: 3 });
    assert.deepEqual(skipped.map((s) => [basename(s.path), /^truncated JPEG/.test(s.reason)]), [['cut.jpg', true]]);
  });
});
