import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refused } from './testing';
import { bytesOf, checkLittleEndian, wordsOf } from './words';

test('Words are read little-endian from aligned and unaligned bytes alike (socket.io hands over Buffers at any offset)', () => {
  const backing = Buffer.alloc(13);
  const unaligned = backing.subarray(1, 13);
  unaligned.set([1, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual([...wordsOf(unaligned)], [1, 256, 0xffffffff]);
  const aligned = bytesOf(Uint32Array.from([1, 256, 0xffffffff]));
  assert.deepEqual([...wordsOf(aligned)], [1, 256, 0xffffffff]);
  assert.equal(wordsOf(aligned).buffer, aligned.buffer, 'aligned bytes are viewed, not copied');
});

test('A big-endian machine is refused rather than sending words in the wrong byte order', () => {
  checkLittleEndian('LE');
  refused(() => checkLittleEndian('BE'), 'bad_config', /big-endian/);
});
