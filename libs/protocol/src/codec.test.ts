import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWeights, encodeWeights } from './codec';
import { ProtocolError } from './errors';
import { fromFloat16Bits, toFloat16Bits } from './float16';
import type { NamedWeights } from './weights';

function sample(): NamedWeights {
  return [
    { name: 'conv1/conv/kernel', shape: [3, 3, 1, 2], values: Float32Array.from({ length: 18 }, (_, i) => i / 7 - 1) },
    { name: 'bn/gamma', shape: [3], values: new Float32Array([1, -2.5, 3e-5]) },
    { name: 'scalar', shape: [], values: new Float32Array([42]) },
  ];
}

test('float32 round trip is exact and carries the manifest', () => {
  const w = sample();
  const p = encodeWeights(w);
  assert.equal(p.byteLength, (18 + 3 + 1) * 4);
  assert.deepEqual(
    p.manifest.map((t) => t.name),
    w.map((t) => t.name),
  );
  const back = decodeWeights(p);
  for (let i = 0; i < w.length; i++) {
    assert.deepEqual(back[i].shape, w[i].shape);
    assert.deepEqual(Array.from(back[i].values), Array.from(w[i].values));
  }
});

test('decoding from an unaligned Buffer (as a socket delivers it) works', () => {
  const p = encodeWeights(sample());
  const big = Buffer.alloc(p.data.length + 1);
  big.set(p.data, 1);
  const back = decodeWeights({ ...p, data: big.subarray(1) });
  assert.equal(back[1].values[1], -2.5);
  // …and at an aligned non-zero offset, viewed in place.
  const big4 = Buffer.alloc(p.data.length + 8);
  big4.set(p.data, 8);
  const back4 = decodeWeights({ ...p, data: big4.subarray(8) });
  assert.deepEqual(Array.from(back4[0].values), Array.from(sample()[0].values));
});

test('float16 halves the bytes and stays within half precision', () => {
  const w = sample();
  const p = encodeWeights(w, { dtype: 'float16' });
  assert.equal(p.byteLength, 22 * 2);
  const back = decodeWeights(p);
  for (let i = 0; i < w.length; i++) {
    for (let k = 0; k < w[i].values.length; k++) {
      const x = w[i].values[k];
      assert.ok(Math.abs(back[i].values[k] - x) <= Math.max(Math.abs(x) * 2 ** -11, 2 ** -24), `${x} -> ${back[i].values[k]}`);
    }
  }
});

test('float16 conversion: exact values, rounding, overflow, subnormals, NaN', () => {
  assert.equal(fromFloat16Bits(toFloat16Bits(1)), 1);
  assert.equal(fromFloat16Bits(toFloat16Bits(65504)), 65504);
  assert.equal(fromFloat16Bits(toFloat16Bits(1e6)), Infinity);
  assert.equal(fromFloat16Bits(toFloat16Bits(-1e6)), -Infinity);
  assert.equal(fromFloat16Bits(toFloat16Bits(2 ** -24)), 2 ** -24);
  assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to even (1).
  assert.equal(fromFloat16Bits(toFloat16Bits(1 + 2 ** -11)), 1);
  assert.equal(fromFloat16Bits(toFloat16Bits(1 + 3 * 2 ** -11)), 1 + 2 * 2 ** -10);
});

test('a corrupted byte is caught by the checksum', () => {
  const p = encodeWeights(sample());
  const data = new Uint8Array(p.data);
  data[5] ^= 0x10;
  assert.throws(
    () => decodeWeights({ ...p, data }),
    (e: unknown) => e instanceof ProtocolError && e.code === 'checksum_mismatch',
  );
});

test('a payload shorter than its manifest is refused', () => {
  const p = encodeWeights(sample());
  assert.throws(
    () => decodeWeights({ ...p, data: p.data.subarray(0, 10), byteLength: 10 }),
    (e: unknown) => e instanceof ProtocolError && e.code === 'bad_weights' && /Expected 88 bytes/.test(e.message),
  );
});

test('encoding refuses values that do not fill the shape', () => {
  assert.throws(() => encodeWeights([{ name: 'x', shape: [2, 2], values: new Float32Array(3) }]), /holds 4 values, but got 3/);
});

test('CRC-32: native and portable agree, and match the standard check value', async () => {
  const { crc32, crc32Js } = await import('./checksum');
  const check = new TextEncoder().encode('123456789');
  assert.equal(crc32Js(check), 0xcbf43926);
  assert.equal(crc32(check), 0xcbf43926);
  const big = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 31 + 7) & 0xff);
  assert.equal(crc32(big), crc32Js(big));
});

test('decoding into given arrays writes them (float32 and float16) and refuses a wrong-sized target', () => {
  const weights: NamedWeights = [
    { name: 'a', shape: [2, 3], values: Float32Array.from([1, -2, 3.5, 0.25, -0.125, 7]) },
    { name: 'b', shape: [3], values: Float32Array.from([9, 8, 7]) },
  ];
  for (const dtype of ['float32', 'float16'] as const) {
    const target = new Float32Array(6);
    const out = decodeWeights(encodeWeights(weights, { dtype }), (name, size) => (name === 'a' ? (assert.equal(size, 6), target) : undefined));
    assert.equal(out[0].values, target, `${dtype}: tensor a is the given array`);
    assert.deepEqual(Array.from(target), Array.from(weights[0].values));
    assert.notEqual(out[1].values.buffer, target.buffer);
    assert.deepEqual(Array.from(out[1].values), [9, 8, 7]);
  }
  assert.throws(
    () => decodeWeights(encodeWeights(weights), () => new Float32Array(5)),
    (e: unknown) => e instanceof ProtocolError && e.code === 'shape_mismatch' && /holds 5 values/.test(e.message),
  );
});
