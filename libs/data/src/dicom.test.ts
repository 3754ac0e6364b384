import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import dcmjs from 'dcmjs';
import { readDicom } from './dicom/read';
import { decodeImage } from './decode';
import { DataError } from './errors';
import { scanDataset } from './scan';
import { encodeJpegLossless, encodeRle, writeDicom } from './testing/dicom-writer';

const R = 64;
const C = 64;
const TS = {
  implicit: '1.2.840.10008.1.2',
  explicit: '1.2.840.10008.1.2.1',
  bigEndian: '1.2.840.10008.1.2.2',
  deflate: '1.2.840.10008.1.2.1.99',
  rle: '1.2.840.10008.1.2.5',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  jpegLossless: '1.2.840.10008.1.2.4.70',
};

/** A 16-bit ramp using the whole range: pixel i = round(i × 65535 / (n-1)). */
function ramp16(): Uint16Array {
  const n = R * C;
  return Uint16Array.from({ length: n }, (_, i) => Math.round((i * 65535) / (n - 1)));
}

function assertMinMax(data: Float32Array, px: ArrayLike<number>, tol = 1e-6) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < px.length; i++) {
    lo = Math.min(lo, px[i]);
    hi = Math.max(hi, px[i]);
  }
  for (let i = 0; i < px.length; i++) assert.ok(Math.abs(data[i] - (px[i] - lo) / (hi - lo)) <= tol, `pixel ${i}: ${data[i]} vs ${(px[i] - lo) / (hi - lo)}`);
}

for (const [name, ts] of [
  ['explicit VR little endian', TS.explicit],
  ['implicit VR little endian', TS.implicit],
  ['explicit VR big endian', TS.bigEndian],
  ['deflated explicit VR little endian', TS.deflate],
] as const) {
  test(`${name}: 16-bit pixels come back exactly, scaled by the image's range`, async () => {
    const px = ramp16();
    const img = await readDicom(writeDicom({ rows: R, cols: C, pixels: px, transferSyntax: ts }));
    assert.equal(img.transferSyntax, ts);
    assert.deepEqual([img.width, img.height, img.channels, img.bitsStored], [C, R, 1, 16]);
    assertMinMax(img.data, px);
    // 16-bit keeps its range: neighbours one step of 16 apart stay distinct (8 bits would merge them).
    assert.ok(img.data[1] > img.data[0] && img.data[2] > img.data[1]);
  });
}

test('RLE lossless: 16-bit gray and 8-bit RGB', async () => {
  const px = ramp16();
  px.fill(777, 100, 400); // long runs exercise the replicate path
  const gray = await readDicom(writeDicom({ rows: R, cols: C, frame: encodeRle(px, 1, 16), transferSyntax: TS.rle }));
  assertMinMax(gray.data, px);
  const rgb = Uint8Array.from({ length: R * C * 3 }, (_, i) => (i % 3 === 0 ? 255 : i % 3 === 1 ? (i >> 4) & 0xff : 0));
  const col = await readDicom(writeDicom({ rows: R, cols: C, bitsAllocated: 8, samplesPerPixel: 3, frame: encodeRle(rgb, 3, 8), transferSyntax: TS.rle }));
  assert.equal(col.channels, 3);
  for (let i = 0; i < rgb.length; i++) assert.ok(Math.abs(col.data[i] - rgb[i] / 255) < 1e-6);
});

test('JPEG baseline: an 8-bit gray frame decodes close to its source', async () => {
  const px = Uint8Array.from({ length: R * C }, (_, i) => (i % C) * 4);
  const jpeg = await sharp(px, { raw: { width: C, height: R, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 100 }).toBuffer();
  const img = await readDicom(writeDicom({ rows: R, cols: C, bitsAllocated: 8, frame: jpeg, transferSyntax: TS.jpegBaseline }));
  assert.equal(img.channels, 1);
  // No window: min..max of the decoded values; the ramp 0..252 maps close to x/252.
  let err = 0;
  for (let i = 0; i < px.length; i++) err = Math.max(err, Math.abs(img.data[i] - px[i] / 252));
  assert.ok(err < 0.03, `max error ${err}`);
});

test('JPEG lossless (process 14, first-order prediction): 16- and 8-bit frames come back exactly', async () => {
  const px = Uint16Array.from({ length: R * C }, (_, i) => (i * 37) % 4096 + ((i >> 6) & 1) * 20000);
  const img = await readDicom(writeDicom({ rows: R, cols: C, frame: encodeJpegLossless(px, C, R, 16), transferSyntax: TS.jpegLossless }));
  assertMinMax(img.data, px);
  const px8 = Uint8Array.from({ length: R * C }, (_, i) => (i * 7) % 256);
  const img8 = await readDicom(writeDicom({ rows: R, cols: C, bitsAllocated: 8, frame: encodeJpegLossless(px8, C, R, 8), transferSyntax: TS.jpegLossless }));
  assertMinMax(img8.data, px8);
});

test('JPEG 2000 lossless: a 16-bit frame comes back exactly', async () => {
  const { default: factory } = await import('@cornerstonejs/codec-openjpeg/wasmjs');
  const m = await factory();
  const enc = new m.J2KEncoder();
  const px = ramp16();
  const target = enc.getDecodedBuffer({ width: C, height: R, bitsPerSample: 16, componentCount: 1, isSigned: false });
  new Uint16Array(target.buffer, target.byteOffset, px.length).set(px);
  enc.encode();
  const frame = enc.getEncodedBuffer().slice();
  enc.delete();
  const img = await readDicom(writeDicom({ rows: R, cols: C, frame, transferSyntax: TS.j2kLossless }));
  assertMinMax(img.data, px);
});

test('Rescale Slope/Intercept and the VOI window follow PS3.3 (CT-like signed 12-bit)', async () => {
  // Stored s in [-2048, 2047], HU = 2s - 1024; window 40/400 maps HU -160..240 to 0..1.
  const stored = Int16Array.from({ length: R * C }, (_, i) => (i % 4096) - 2048);
  const img = await readDicom(
    writeDicom({ rows: R, cols: C, pixels: stored, bitsStored: 12, signed: true, slope: 2, intercept: -1024, windowCenter: 40, windowWidth: 400, transferSyntax: TS.explicit }),
  );
  for (let i = 0; i < stored.length; i++) {
    const hu = 2 * stored[i] - 1024;
    const c = 40 - 0.5;
    const w = 399;
    const want = hu <= c - w / 2 ? 0 : hu > c + w / 2 ? 1 : (hu - c) / w + 0.5;
    assert.ok(Math.abs(img.data[i] - want) < 1e-5, `stored ${stored[i]} → ${img.data[i]}, want ${want}`);
  }
});

test('Bits Stored below Bits Allocated: high bits (overlay junk) are masked away', async () => {
  const px = Uint16Array.from({ length: R * C }, (_, i) => (i % 4096) | 0xf000);
  const img = await readDicom(writeDicom({ rows: R, cols: C, pixels: px, bitsStored: 12, transferSyntax: TS.explicit }));
  assertMinMax(
    img.data,
    Array.from(px, (v) => v & 0x0fff),
  );
});

test('MONOCHROME1 comes out inverted', async () => {
  const px = ramp16();
  const m2 = await readDicom(writeDicom({ rows: R, cols: C, pixels: px }));
  const m1 = await readDicom(writeDicom({ rows: R, cols: C, pixels: px, photometric: 'MONOCHROME1' }));
  for (let i = 0; i < px.length; i += 97) assert.ok(Math.abs(m1.data[i] - (1 - m2.data[i])) < 1e-6);
  assert.equal(m1.data[0], 1);
});

test('files without preamble, bare data sets and files without extension are read', async () => {
  const px = ramp16();
  for (const layout of ['nopreamble', 'raw'] as const) {
    for (const ts of [TS.explicit, TS.implicit]) {
      const img = await readDicom(writeDicom({ rows: R, cols: C, pixels: px, transferSyntax: ts, layout }));
      assertMinMax(img.data, px);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-dicom-'));
  try {
    await mkdir(join(dir, 'normal'));
    await writeFile(join(dir, 'normal', 'IM0001'), writeDicom({ rows: R, cols: C, pixels: px, layout: 'nopreamble' }));
    await writeFile(join(dir, 'normal', 'IM0002'), writeDicom({ rows: R, cols: C, pixels: px, transferSyntax: TS.implicit, layout: 'raw' }));
    const ds = await scanDataset(dir, { verify: true });
    assert.deepEqual(
      ds.items.map((i) => [i.format, i.info?.bitDepth]),
      [
        ['dicom', 16],
        ['dicom', 16],
      ],
    );
    assert.deepEqual(ds.skipped, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a file written by dcmjs (another writer) reads the same', async () => {
  const { DicomDict, DicomMetaDictionary } = (dcmjs as any).data;
  const px = ramp16();
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1',
    MediaStorageSOPInstanceUID: '1.2.3.4',
    TransferSyntaxUID: TS.explicit,
    ImplementationClassUID: '1.2.3.4.5',
  };
  const ds = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1',
    SOPInstanceUID: '1.2.3.4',
    Rows: R,
    Columns: C,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME1',
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 0,
    PixelData: px.buffer,
    _vrMap: { PixelData: 'OW' },
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(ds);
  const img = await readDicom(new Uint8Array(dict.write()));
  assertMinMax(
    img.data,
    Array.from(px, (v) => 65535 - v),
  );
});

test('decodeImage keeps 16-bit precision through the resize', async () => {
  // Two gray levels 100/65535 apart (less than one 8-bit step), plus black and white corners.
  const px = new Uint16Array(R * C);
  for (let y = 0; y < R; y++) for (let x = 0; x < C; x++) px[y * C + x] = x < C / 2 ? 30000 : 30100;
  px[0] = 0;
  px[px.length - 1] = 65535;
  const x = await decodeImage(Buffer.from(writeDicom({ rows: R, cols: C, pixels: px })), { imageSize: 32, channels: 1 });
  const left = x[16 * 32 + 4];
  const right = x[16 * 32 + 28];
  assert.ok(Math.abs(left - 30000 / 65535) < 2e-4, `left ${left}`);
  assert.ok(Math.abs(right - left - 100 / 65535) < 1e-4, `step ${right - left}`);
});

test('broken DICOM is refused with a reason', async () => {
  const full = writeDicom({ rows: R, cols: C, pixels: ramp16() });
  await assert.rejects(readDicom(full.subarray(0, full.length - 1000)), (e: unknown) => e instanceof DataError && /truncated|corrupt/.test(e.message));
  await assert.rejects(readDicom(full.subarray(0, 200)), DataError);
  await assert.rejects(readDicom(writeDicom({ rows: R, cols: C, frame: new Uint8Array([1, 2, 3, 4]), transferSyntax: TS.rle })), DataError);
});
