import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refused } from './testing';
import { hkdf, openGcm, sealGcm, x25519Agree, x25519FromPrivate } from './primitives';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('X25519 from raw keys matches RFC 7748 section 6.1', () => {
  // Alice's and Bob's keys and their shared secret, RFC 7748 §6.1.
  const alice = x25519FromPrivate(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
  const bob = x25519FromPrivate(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
  assert.equal(toHex(alice.publicRaw), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  assert.equal(toHex(bob.publicRaw), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const expected = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  assert.equal(toHex(x25519Agree(alice.privateKey, bob.publicRaw)), expected);
  assert.equal(toHex(x25519Agree(bob.privateKey, alice.publicRaw)), expected);
});

test('X25519 refuses a low-order public key and keys of the wrong length', () => {
  const alice = x25519FromPrivate(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
  refused(() => x25519Agree(alice.privateKey, new Uint8Array(32)), 'bad_message', /all-zero|failed/);
  refused(() => x25519Agree(alice.privateKey, new Uint8Array(31)), 'wrong_length', /32 bytes, got 31/);
  refused(() => x25519FromPrivate(new Uint8Array(33)), 'wrong_length');
});

test('HKDF-SHA-256 matches RFC 5869 test case 1', () => {
  const okm = hkdf(hex('0b'.repeat(22)), hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42);
  assert.equal(toHex(okm), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
});

test('AES-GCM boxes open with the same key and associated data, and nothing else', () => {
  const key = new Uint8Array(32).fill(7);
  const nonce = new Uint8Array(12).fill(1);
  const plain = Uint8Array.from({ length: 66 }, (_, i) => i);
  const sealed = sealGcm(key, nonce, plain, 'a->b');
  assert.equal(sealed.length, 12 + 66 + 16);
  assert.deepEqual(openGcm(key, sealed, 'a->b'), plain);
  refused(() => openGcm(key, sealed, 'b->a'), 'decrypt_failed');
  refused(() => openGcm(new Uint8Array(32).fill(8), sealed, 'a->b'), 'decrypt_failed');
  for (const at of [0, 20, sealed.length - 1]) {
    const bad = Uint8Array.from(sealed);
    bad[at] ^= 1;
    refused(() => openGcm(key, bad, 'a->b'), 'decrypt_failed');
  }
  refused(() => openGcm(key, sealed.subarray(0, 20), 'a->b'), 'wrong_length');
});
