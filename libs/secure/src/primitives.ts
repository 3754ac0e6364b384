// The node:crypto primitives the protocol is built from: X25519 key agreement,
// HKDF-SHA-256 and AES-256-GCM. Keys travel as raw 32-byte strings.
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';
import { SecureError } from './errors';

export const KEY_BYTES = 32;
const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;

// DER prefixes of an X25519 private key (PKCS#8) and public key (SPKI), RFC 8410:
// the raw 32 bytes follow them.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

/** An X25519 key pair with the raw bytes of both halves. */
export interface X25519KeyPair {
  privateKey: KeyObject;
  /** The raw 32-byte private scalar (what gets secret-shared). */
  privateRaw: Uint8Array;
  /** The raw 32-byte public key (what gets advertised). */
  publicRaw: Uint8Array;
}

function checkKey(bytes: Uint8Array, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== KEY_BYTES) {
    throw new SecureError('wrong_length', `Expected ${what} of ${KEY_BYTES} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`);
  }
}

/** The X25519 key pair whose private scalar is these 32 bytes (clamped by X25519 itself). */
export function x25519FromPrivate(privateRaw: Uint8Array): X25519KeyPair {
  checkKey(privateRaw, 'an X25519 private key');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, privateRaw]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, privateRaw: Uint8Array.from(privateRaw), publicRaw: new Uint8Array(spki.subarray(SPKI_X25519.length)) };
}

function publicKeyObject(publicRaw: Uint8Array): KeyObject {
  checkKey(publicRaw, 'an X25519 public key');
  return createPublicKey({ key: Buffer.concat([SPKI_X25519, publicRaw]), format: 'der', type: 'spki' });
}

/** X25519(private, public): the 32-byte shared secret. Refuses low-order public keys (all-zero output). */
export function x25519Agree(privateKey: KeyObject, publicRaw: Uint8Array): Uint8Array {
  const publicKey = publicKeyObject(publicRaw);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey });
  } catch (e) {
    throw new SecureError('bad_message', `X25519 agreement failed: ${(e as Error).message}`);
  }
  if (shared.every((b) => b === 0)) throw new SecureError('bad_message', 'X25519 agreement gave the all-zero secret (a low-order public key)');
  return new Uint8Array(shared);
}

/** HKDF-SHA-256 (RFC 5869); strings are taken as UTF-8. */
export function hkdf(ikm: Uint8Array, salt: string | Uint8Array, info: string | Uint8Array, length = KEY_BYTES): Uint8Array {
  const bytes = (v: string | Uint8Array) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
  return new Uint8Array(hkdfSync('sha256', ikm, bytes(salt), bytes(info), length));
}

/** AES-256-GCM: nonce ‖ ciphertext ‖ tag, the associated data authenticated but not sent. */
export function sealGcm(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, associated: string): Uint8Array {
  checkKey(key, 'an AES-256 key');
  if (nonce.length !== GCM_NONCE_BYTES) throw new SecureError('wrong_length', `Expected a ${GCM_NONCE_BYTES}-byte nonce, got ${nonce.length}`);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(associated, 'utf8'));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return new Uint8Array(Buffer.concat([nonce, body, c.getAuthTag()]));
}

/** Opens what `sealGcm` sealed; a wrong key, associated data or any flipped bit is refused. */
export function openGcm(key: Uint8Array, sealed: Uint8Array, associated: string): Uint8Array {
  checkKey(key, 'an AES-256 key');
  if (sealed.length < GCM_NONCE_BYTES + GCM_TAG_BYTES) {
    throw new SecureError('wrong_length', `Expected a sealed message of at least ${GCM_NONCE_BYTES + GCM_TAG_BYTES} bytes, got ${sealed.length}`);
  }
  const nonce = sealed.subarray(0, GCM_NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - GCM_TAG_BYTES);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(Buffer.from(associated, 'utf8'));
  d.setAuthTag(tag);
  try {
    return new Uint8Array(Buffer.concat([d.update(sealed.subarray(GCM_NONCE_BYTES, sealed.length - GCM_TAG_BYTES)), d.final()]));
  } catch {
    throw new SecureError('decrypt_failed', `AES-GCM authentication failed (${associated})`);
  }
}
