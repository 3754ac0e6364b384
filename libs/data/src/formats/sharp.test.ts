import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromRaw, u16Samples } from './sharp';

test('16-bit samples are read from where a Buffer slice starts, even at an odd offset of a shared pool', () => {
  // Prepare: two little-endian samples (1, 65535) inside a larger buffer, from byte 3.
  const odd = Buffer.from([9, 9, 9, 1, 0, 0xff, 0xff, 9, 9]).subarray(3, 7);
  // Execute / Assert
  assert.deepEqual([...u16Samples(odd)], [1, 65535]);
  assert.deepEqual([...fromRaw(odd, 2, 1, 1, 65535).data], [Math.fround(1 / 65535), 1]);
  const even = Buffer.from([9, 9, 1, 0, 0xff, 0xff]).subarray(2);
  assert.deepEqual([...u16Samples(even)], [1, 65535]);
});
