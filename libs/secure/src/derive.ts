// Every key, associated-data string and commitment of the protocol, each bound
// to the session and the participants it is for.
import { createHash } from 'node:crypto';
import { hkdf } from './primitives';

/** The key of the mask u and v share (the same for both: the pair is ordered). */
export function pairMaskKey(shared: Uint8Array, session: string, u: number, v: number): Uint8Array {
  return hkdf(shared, session, `fedxray secagg pairwise mask ${Math.min(u, v)}-${Math.max(u, v)}`);
}

/** The key of u's self mask, from its seed. */
export function selfMaskKey(seed: Uint8Array, session: string, u: number): Uint8Array {
  return hkdf(seed, session, `fedxray secagg self mask ${u}`);
}

/** The AES-GCM key of the shares u and v send each other. */
export function shareBoxKey(shared: Uint8Array, session: string, u: number, v: number): Uint8Array {
  return hkdf(shared, session, `fedxray secagg share box ${Math.min(u, v)}-${Math.max(u, v)}`);
}

/** Associated data of the sealed shares from → to: a box cannot be replayed to another pair, direction or session. */
export function shareAad(session: string, from: number, to: number): string {
  return `fedxray secagg shares\0${session}\0${from}->${to}`;
}

/** SHA-256 commitment to u's self-mask seed. */
export function seedCommitment(session: string, u: number, seed: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`fedxray secagg seed\0${session}\0${u}\0`).update(seed).digest());
}

/** The sign with which u adds the mask it shares with v: + if u < v, − otherwise, so the pair cancels. */
export function maskSign(u: number, v: number): 1 | -1 {
  return u < v ? 1 : -1;
}
