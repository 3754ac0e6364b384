import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodeBmp } from './formats/bmp';
import { decodeImage } from './decode';
import { scanDataset } from './scan';
import { splitDataset } from './split';
import { blocks, gray16Png, grayPng, put, writeClassFolders } from './testing/images';

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-scan-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('class folders: every format is recognised by content; bad files are skipped with reasons', async () => {
  await withDir(async (dir) => {
    const px = blocks(32, 7);
    const png = await grayPng(px, 32);
    await put(join(dir, 'normal', 'a.png'), png);
    await put(join(dir, 'normal', 'b.jpg'), await sharp(blocks(32, 8), { raw: { width: 32, height: 32, channels: 1 } }).jpeg().toBuffer());
    await put(join(dir, 'normal', 'c.bmp'), encodeBmp({ width: 32, height: 32, channels: 1, data: blocks(32, 9) }));
    await put(join(dir, 'covid', 'd.tif'), await sharp(blocks(32, 10), { raw: { width: 32, height: 32, channels: 1 } }).tiff().toBuffer());
    await put(join(dir, 'covid', 'e.webp'), await sharp(blocks(32, 11), { raw: { width: 32, height: 32, channels: 1 } }).webp({ lossless: true }).toBuffer());
    await put(join(dir, 'covid', 'f16.png'), await gray16Png(Uint16Array.from({ length: 32 * 32 }, (_, i) => i * 60), 32));
    await put(join(dir, 'covid', 'misnamed.dcm'), png); // content wins over the name
    // Bad input.
    await put(join(dir, 'covid', 'empty.png'), '');
    await put(join(dir, 'covid', 'notes.txt'), 'not an image');
    await put(join(dir, 'covid', 'truncated.png'), png.subarray(0, Math.floor(png.length / 2)));
    const jpg = await sharp(blocks(64, 12), { raw: { width: 64, height: 64, channels: 1 } }).jpeg().toBuffer();
    await put(join(dir, 'covid', 'corrupt.jpg'), Buffer.concat([jpg.subarray(0, 200), Buffer.alloc(64, 0xff)]));
    await put(join(dir, 'stray.png'), png);

    const quick = await scanDataset(dir);
    assert.deepEqual(quick.classes, ['covid', 'normal']);
    assert.equal(quick.presplit, false);
    const reasons = Object.fromEntries(quick.skipped.map((s) => [s.path.slice(dir.length + 1), s.reason]));
    assert.match(reasons['covid/empty.png'], /empty file/);
    assert.match(reasons['covid/notes.txt'], /not an image/);
    assert.match(reasons['stray.png'], /not inside a class folder/);
    assert.equal(quick.items.length, 9, 'truncated/corrupt files look like images until decoded');

    const full = await scanDataset(dir, { verify: true });
    const fullReasons = Object.fromEntries(full.skipped.map((s) => [s.path.slice(dir.length + 1), s.reason]));
    assert.match(fullReasons['covid/truncated.png'], /PNG/);
    assert.match(fullReasons['covid/corrupt.jpg'], /JPEG/);
    assert.equal(full.skipped.length, 5);
    const byName = Object.fromEntries(full.items.map((i) => [i.path.slice(dir.length + 1), i]));
    assert.deepEqual(
      Object.entries(byName).map(([k, v]) => [k, v.format, v.label]),
      [
        ['covid/d.tif', 'tiff', 0],
        ['covid/e.webp', 'webp', 0],
        ['covid/f16.png', 'png', 0],
        ['covid/misnamed.dcm', 'png', 0],
        ['normal/a.png', 'png', 1],
        ['normal/b.jpg', 'jpeg', 1],
        ['normal/c.bmp', 'bmp', 1],
      ],
    );
    assert.equal(byName['covid/f16.png'].info?.bitDepth, 16);
    assert.equal(byName['normal/a.png'].info?.bitDepth, 8);
    assert.deepEqual(full.duplicates.map((d) => d.paths.map((p) => p.slice(dir.length + 1))), [['covid/misnamed.dcm', 'normal/a.png']]);
  });
});

test('every format decodes to the same pixels (lossless ones exactly)', async () => {
  const px = blocks(32, 3);
  const want = Array.from(px, (v) => v / 255);
  const inputs: [string, Uint8Array][] = [
    ['png', await grayPng(px, 32)],
    ['bmp', encodeBmp({ width: 32, height: 32, channels: 1, data: px })],
    ['tiff', await sharp(px, { raw: { width: 32, height: 32, channels: 1 } }).toColourspace('b-w').tiff({ compression: 'lzw' }).toBuffer()],
    ['webp', await sharp(px, { raw: { width: 32, height: 32, channels: 1 } }).webp({ lossless: true }).toBuffer()],
  ];
  for (const [name, bytes] of inputs) {
    const x = await decodeImage(Buffer.from(bytes), { imageSize: 32, channels: 1 });
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(x[i] - want[i]) < 1e-6, `${name} pixel ${i}: ${x[i]} vs ${want[i]}`);
  }
  const rgb = encodeBmp({ width: 2, height: 2, channels: 3, data: new Uint8Array([255, 0, 0, 0, 0, 255, 0, 255, 0, 255, 255, 255]) });
  const x = await decodeImage(Buffer.from(rgb), { imageSize: 2, channels: 3 });
  assert.deepEqual(Array.from(x), [1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1]);
});

test('decode: gray repeats to RGB, letterbox keeps the aspect ratio, imagenet normalises', async () => {
  const wide = await grayPng(new Uint8Array(64 * 16).fill(200), 64, 16);
  const fill = await decodeImage(wide, { imageSize: 16 });
  assert.equal(fill.length, 16 * 16 * 3);
  assert.ok(fill.every((v) => Math.abs(v - 200 / 255) < 1e-6));
  const box = await decodeImage(wide, { imageSize: 16, resize: 'letterbox', channels: 1 });
  assert.equal(box[0], 0, 'top rows are the black bar');
  assert.ok(Math.abs(box[8 * 16 + 8] - 200 / 255) < 1e-6, 'middle row is the image');
  const net = await decodeImage(wide, { imageSize: 4, normalize: 'imagenet' });
  assert.ok(Math.abs(net[0] - (200 / 255 - 0.485) / 0.229) < 1e-5);
  assert.ok(Math.abs(net[2] - (200 / 255 - 0.406) / 0.225) < 1e-5);
});

test('16-bit PNG keeps its precision', async () => {
  const px = new Uint16Array(16 * 16).fill(30000);
  for (let i = 0; i < 8 * 16; i++) px[i] = 30100;
  const x = await decodeImage(await gray16Png(px, 16), { imageSize: 16, channels: 1 });
  assert.ok(Math.abs(x[0] - x[16 * 15] - 100 / 65535) < 2e-6, `step ${x[0] - x[16 * 15]}`);
});

test('train/val/test folders are kept; classes can be fixed; foreign folders reported once', async () => {
  await withDir(async (dir) => {
    await writeClassFolders(dir, { normal: 3, covid: 2 }, { split: 'train', seed: 1 });
    await writeClassFolders(dir, { normal: 1, covid: 1 }, { split: 'val', seed: 100 });
    await writeClassFolders(dir, { normal: 1, covid: 1, other: 2 }, { split: 'test', seed: 200 });
    await put(join(dir, 'extra', 'x.png'), await grayPng(blocks(8, 300), 8));
    const ds = await scanDataset(dir, { classes: ['normal', 'covid', 'tuberculosis'] });
    assert.equal(ds.presplit, true);
    assert.deepEqual(ds.classes, ['normal', 'covid', 'tuberculosis']);
    assert.deepEqual(
      ds.skipped.map((s) => s.path.slice(dir.length + 1)),
      ['extra', 'test/other'],
    );
    assert.deepEqual(ds.unlisted, ['other'], 'a class folder the list does not name is reported by name');
    const s = splitDataset(ds);
    assert.deepEqual([s.train.length, s.val.length, s.test.length], [5, 2, 2]);
    assert.ok(s.train.every((i) => i.split === 'train') && s.test.every((i) => i.split === 'test'));
    assert.deepEqual(s.train.map((i) => i.label).sort(), [0, 0, 0, 1, 1]);
  });
});

test('a subset of the listed classes keeps the list\'s labels; nothing is unlisted without a list', async () => {
  await withDir(async (dir) => {
    await writeClassFolders(dir, { pneumonia: 2, normal: 1 }, { seed: 5 });
    const fixed = await scanDataset(dir, { classes: ['covid19', 'normal', 'pneumonia', 'tuberculosis'] });
    assert.deepEqual(fixed.unlisted, []);
    assert.deepEqual(fixed.items.map((i) => `${i.className}:${i.label}`).sort(), ['normal:1', 'pneumonia:2', 'pneumonia:2']);
    const own = await scanDataset(dir);
    assert.deepEqual([own.classes, own.unlisted], [['normal', 'pneumonia'], []]);
  });
});

test('a folder with no class folders is refused with a clear message', async () => {
  await withDir(async (dir) => {
    await put(join(dir, 'x.png'), await grayPng(blocks(8, 1), 8));
    await assert.rejects(scanDataset(dir), /Expected class folders/);
    await assert.rejects(scanDataset(join(dir, 'missing')), /Expected a readable folder/);
  });
});
