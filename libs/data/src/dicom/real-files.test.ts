// The DICOM defects found on real files, each tested on the third-party file that showed it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImage, decodeNative, probeImage } from '../decode';
import { DataError } from '../errors';
import { sniffFormat } from '../formats/registry';
import { GDCM_EXAMPLE, needs, PYDICOM_FILES } from '../testing/debian-files';
import { readDicom } from './read';

const pd = (name: string) => join(PYDICOM_FILES, name);

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const dual = ['CT_small.dcm', 'MR_small.dcm', 'MR_small_RLE.dcm', 'MR_small_bigendian.dcm'];
test('DICOM with a TIFF header in its preamble is read as DICOM (DICM at 128 wins)', { skip: needs(...dual.map(pd)) }, async () => {
  for (const name of dual) {
    const bytes = await readFile(pd(name));
    assert.deepEqual([...bytes.subarray(0, 4)], [0x49, 0x49, 0x2a, 0x00], `${name} starts like a TIFF`);
    assert.equal(sniffFormat(bytes.subarray(0, 256)), 'dicom', name);
    const info = await probeImage(pd(name));
    assert.ok(info.width > 0 && info.bitDepth === 16, name);
    assert.equal((await decodeImage(pd(name), { imageSize: 32 })).length, 32 * 32 * 3, name);
  }
});

test('JPEG lossless read from a file decodes (the frame is not decoded from byte 0 of the file)', { skip: needs(pd('SC_rgb_jpeg_gdcm.dcm'), pd('SC_rgb_rle.dcm')) }, async () => {
  // gdcm's JPEG lossless (.70) copy of the RGB test pattern whose RLE copy is lossless too.
  const jpeg = await decodeNative(pd('SC_rgb_jpeg_gdcm.dcm'));
  const rle = await decodeNative(pd('SC_rgb_rle.dcm'));
  assert.equal(maxDiff(jpeg.data, rle.data), 0);
});

test('JPEG 2000 with Bits Stored < Bits Allocated and signed pixels is masked and sign-extended', { skip: needs(pd('J2K_pixelrep_mismatch.dcm')) }, async () => {
  const img = await readDicom(await readFile(pd('J2K_pixelrep_mismatch.dcm')));
  assert.deepEqual(img.valueRange, [-2000, 1896]);
});

test('a multi-frame XA whose basic offset table is a few bytes off is read as gdcm reads it', { skip: needs(GDCM_EXAMPLE) }, async () => {
  const img = await readDicom(await readFile(GDCM_EXAMPLE));
  assert.deepEqual([img.width, img.height, img.transferSyntax], [512, 512, '1.2.840.10008.1.2.4.70']);
  // Its first frame alone: the other three frames are different images.
  assert.ok(img.valueRange![1] > img.valueRange![0]);
});

test('parser and codec failures come out as one DataError line', { skip: needs(pd('MR_truncated.dcm'), pd('nested_priv_SQ.dcm'), pd('JPEG2000-embedded-sequence-delimiter.dcm')) }, async () => {
  for (const name of ['MR_truncated.dcm', 'nested_priv_SQ.dcm', 'JPEG2000-embedded-sequence-delimiter.dcm']) {
    await assert.rejects(decodeNative(pd(name)), (err: unknown) => err instanceof DataError && !err.message.includes('\n') && err.message.length > 10, name);
  }
});

test('baseline JPEG in RGB without a colour transform keeps its RGB (no YCbCr conversion)', { skip: needs(pd('SC_jpeg_no_color_transform.dcm')) }, async () => {
  const img = await decodeNative(pd('SC_jpeg_no_color_transform.dcm'));
  // pydicom's own expectation for this slide tile: its first row starts near-white (244, 244, 244);
  // taken for YCbCr, those samples would come out magenta (255, 121, 255).
  for (let x = 0; x < 4; x++) assert.deepEqual([...img.data.subarray(3 * x, 3 * x + 3)].map((v) => Math.round(v * 255)), [244, 244, 244]);
});

test('uncompressed YBR_FULL_422 decodes to the RGB test pattern', { skip: needs(pd('SC_ybr_full_422_uncompressed.dcm'), pd('SC_rgb_rle.dcm')) }, async () => {
  const ybr = await decodeNative(pd('SC_ybr_full_422_uncompressed.dcm'));
  const rgb = await decodeNative(pd('SC_rgb_rle.dcm'));
  // A lossy JPEG copy of the pattern, chroma subsampled: close to it, not equal.
  let sum = 0;
  for (let i = 0; i < rgb.data.length; i++) sum += Math.abs(ybr.data[i] - rgb.data[i]);
  assert.ok(sum / rgb.data.length < 0.02, `mean difference ${sum / rgb.data.length}`);
});

test('JPEG-LS lossless decodes to exactly the uncompressed image', { skip: needs(pd('MR_small_jpeg_ls_lossless.dcm'), pd('MR_small.dcm')) }, async () => {
  const ls = await readDicom(await readFile(pd('MR_small_jpeg_ls_lossless.dcm')));
  const raw = await readDicom(await readFile(pd('MR_small.dcm')));
  assert.equal(ls.transferSyntax, '1.2.840.10008.1.2.4.80');
  assert.deepEqual(ls.valueRange, raw.valueRange);
  assert.equal(maxDiff(ls.data, raw.data), 0);
});

test('12-bit JPEG extended decodes with its full range', { skip: needs(pd('JPGExtended.dcm')) }, async () => {
  const img = await readDicom(await readFile(pd('JPGExtended.dcm')));
  assert.deepEqual([img.transferSyntax, img.bitsStored, img.valueRange], ['1.2.840.10008.1.2.4.51', 12, [0, 264]]);
});
