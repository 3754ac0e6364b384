import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { Keystream, applyMasks } from './keystream';
import { refused } from './testing';

const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);

test('The keystream is AES-256-CTR from a zero counter, the same through every method and chunking', () => {
  const n = 300_001; // more than one 256 KiB chunk of words, not a multiple of 4
  const reference = createCipheriv('aes-256-ctr', key, new Uint8Array(16)).update(new Uint8Array(n * 4));
  const words = new Uint32Array(n);
  new Keystream(key).fillWords(words);
  assert.deepEqual(new Uint8Array(words.buffer), new Uint8Array(reference));
  const stream = new Keystream(key);
  const first = stream.bytes(5);
  const rest = stream.bytes(n * 4 - 5);
  assert.deepEqual([...first, ...rest.subarray(0, 11)], [...reference.subarray(0, 16)]);
  const acc = new Uint32Array(n);
  applyMasks(acc, [{ key, sign: 1 }]);
  assert.deepEqual(acc, words);
});

test('Adding and subtracting the same mask wraps mod 2³² and restores the vector', () => {
  const v = Uint32Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 0);
  const masked = Uint32Array.from(v);
  applyMasks(masked, [{ key, sign: 1 }]);
  assert.notDeepEqual(masked, v);
  const words = new Uint32Array(v.length);
  new Keystream(key).fillWords(words);
  for (const i of [0, 1, 69_999]) assert.equal(masked[i], (v[i] + words[i]) % 2 ** 32);
  applyMasks(masked, [{ key, sign: -1 }]);
  assert.deepEqual(masked, v);
});

test('Several masks in one pass equal the masks applied one after another', () => {
  const keys = [1, 2, 3].map((k) => new Uint8Array(32).fill(k));
  const v = Uint32Array.from({ length: 200_003 }, (_, i) => i);
  const together = Uint32Array.from(v);
  applyMasks(together, [
    { key: keys[0], sign: 1 },
    { key: keys[1], sign: -1 },
    { key: keys[2], sign: 1 },
  ]);
  const apart = Uint32Array.from(v);
  applyMasks(apart, [{ key: keys[2], sign: 1 }]);
  applyMasks(apart, [{ key: keys[0], sign: 1 }]);
  applyMasks(apart, [{ key: keys[1], sign: -1 }]);
  assert.deepEqual(together, apart);
  applyMasks(together, [
    { key: keys[0], sign: -1 },
    { key: keys[1], sign: 1 },
    { key: keys[2], sign: -1 },
  ]);
  assert.deepEqual(together, v);
});

test('A key of the wrong length is refused', () => {
  refused(() => new Keystream(new Uint8Array(16)), 'wrong_length', /32-byte/);
});
